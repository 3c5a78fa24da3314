"""GitHub's REST API -> a REST-dump folder that `load_github` reads, fetched incrementally.

`fetch_*` functions talk to the network and write files; loading is the
existing loader's (github-to-sqlite's split of fetch and save). A run writes
one folder under the drop folder (`fetch.dir`, default ``<db dir>/fetched``):

    github/<owner>__<repo>/<run stamp>/
        pulls.json reviews.json review_comments.json issue_comments.json
        events.json files.json      the REST dump (written last), what is ingested
        pages/NNNNN.http            every page as it came (URL, status, headers, body)
        work/run.json               what this run lists from (its cursor and since)
        work/listing.ndjson         the PRs it fetches, once the listing is complete
        work/pr-NNNNN.ndjson        one PR's records, once all five of its endpoints are in
        FETCHED, LOADED             markers: the dump is complete; its ingest was published
    github/<owner>__<repo>/http-cache/   ETags and bodies of earlier pages

Incremental: `/pulls?state=all&sort=updated&direction=desc` is read until a
PR updated before the stored cursor (the newest `updated_at` the last fetch
listed); a listed PR whose `updated_at` equals the one stored when it was
last fetched is skipped, the others get their per-PR endpoints. A review
or comment bumps its PR's `updated_at`, so that is enough. Cursors live in
`raw.fetch_state`, written in the transaction of the ingest.

Resumable: each PR is written whole (`work/pr-N.ndjson`, atomically) once
all its pages are in; a fetch killed at any point leaves its run folder
without FETCHED, and the next call continues it, skipping the PRs already
written and re-reading the listing pages from the ETag cache. Nothing is
ingested before every listed PR is complete, so a half-fetched PR never
loads.

Per-PR endpoints rather than the repository-wide ones: `/issues/events`
and `/issues/comments` cover every issue and cannot be limited to the PRs
that changed. `/issues/{n}/events` records do not say their issue, so each
gets `pull_number`, as files.json entries do (the README's REST dump layout).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

import orjson

from pipelines.sources.fetch_state import (
    PageLog,
    StateRow,
    folder_lock,
    new_run_dir,
    pending_run,
    write_state,
)
from pipelines.sources.http import Client, FetchError, Progress, write_atomic

if TYPE_CHECKING:
    import duckdb

    from pipelines.loads import LoadReport

SOURCE = "github"
# (dump file, per-PR endpoint): reviews, inline comments, conversation comments, events, files
PR_ENDPOINTS = (
    ("reviews.json", "pulls/{n}/reviews"),
    ("review_comments.json", "pulls/{n}/comments"),
    ("issue_comments.json", "issues/{n}/comments"),
    ("events.json", "issues/{n}/events"),
    ("files.json", "pulls/{n}/files"),
)
WITH_PULL_NUMBER = ("events.json", "files.json")
DUMP_FILES = ("pulls.json", *(f for f, _ in PR_ENDPOINTS))


def github_token(api_url: str) -> str | None:
    """Return the token from GITHUB_TOKEN, GH_TOKEN or `gh auth token` (never stored), or None."""
    for var in ("GITHUB_TOKEN", "GH_TOKEN"):
        if os.environ.get(var):
            return os.environ[var]
    gh = shutil.which("gh")
    if gh is None:
        return None
    host = urlparse(api_url).hostname or ""
    cmd = [gh, "auth", "token"] + ([] if host == "api.github.com" else ["--hostname", host])
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=15, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def github_client(api_url: str, cache_dir: Path | None, **kw: Any) -> Client:
    """Return a client for the GitHub REST API at `api_url` with the user's token."""
    token = github_token(api_url)
    headers = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    client = Client(api_url, headers=headers, cache_dir=cache_dir, **kw)
    if not token:
        client.say("no GitHub token (GITHUB_TOKEN, GH_TOKEN or `gh auth login`): "
                   "anonymous requests, 60 an hour, public repositories only")
    return client


@dataclass
class FetchedRun:
    """What one fetch of a repository wrote, and the cursors to store when it is loaded."""

    repo: str
    run_dir: Path
    changed: int  # PRs fetched in this run
    state: list[StateRow] = field(default_factory=list)
    resumed: bool = False
    requests: int = 0  # made by this run
    from_cache: int = 0  # of which answered 304, from the ETag cache

    @property
    def has_data(self) -> bool:
        return self.changed > 0

    def mark_loaded(self) -> None:
        write_atomic(self.run_dir / "LOADED", b"")

    def summary(self) -> str:
        return (f"fetch github {self.repo}: {self.changed} PRs new or changed"
                f"{' (resumed)' if self.resumed else ''}; {self.requests} requests, "
                f"{self.from_cache} unchanged from the cache -> {self.run_dir}")


def repo_dir(drop: Path, repo: str) -> Path:
    """Return the folder of `repo`'s runs under the drop folder."""
    owner, _, name = repo.partition("/")
    return drop / "github" / f"{owner}__{name}"


def check_repo(repo: str) -> str:
    """Return `repo` if it reads OWNER/REPO, else raise FetchError."""
    owner, _, name = repo.partition("/")
    if not owner or not name or "/" in name or repo.startswith(".") or ".." in repo:
        raise FetchError(f"{repo!r}: expected OWNER/REPO")
    return repo


def iso_day(d: date | None) -> str | None:
    return f"{d.isoformat()}T00:00:00Z" if d else None


def fetch_repo(
    client: Client, repo: str, drop: Path, state: dict[tuple[str, str], StateRow],
    since: date | None = None, per_page: int = 100, keep: bool = False,
) -> FetchedRun:
    """Fetch what changed in `repo` since its stored cursor into a new run folder (or resume one).

    `state` is what `raw.fetch_state` holds for the repository; `keep` marks
    the run as written for the user to load (`--no-ingest`), so a later
    fetch does not take it for a pending one.
    """
    check_repo(repo)
    folder = repo_dir(drop, repo)
    c = client.counters
    requests, from_cache = c.requests, c.from_cache
    with folder_lock(folder, f"github {repo}"):
        run = _fetch_repo(client, repo, folder, state, since, per_page, keep)
    run.requests, run.from_cache = c.requests - requests, c.from_cache - from_cache
    return run


def _fetch_repo(
    client: Client, repo: str, folder: Path, state: dict[tuple[str, str], StateRow],
    since: date | None, per_page: int, keep: bool,
) -> FetchedRun:
    run = pending_run(folder)
    resumed = run is not None
    if run is None:
        run = new_run_dir(folder)
        repo_row = state.get((repo, ""))
        write_atomic(run / "work" / "run.json", orjson.dumps({
            "repo": repo, "since": iso_day(since), "per_page": per_page,
            "cursor": repo_row.cursor if repo_row else None,
            "floor": repo_row.floor if repo_row else None, "covered": repo_row is not None,
        }))
    else:
        client.say(f"fetch github {repo}: resuming the unfinished fetch in {run}")
    params = orjson.loads((run / "work" / "run.json").read_bytes())
    pages = PageLog(run / "pages")
    progress = Progress(f"fetch github {repo}", client.counters)
    if not (run / "FETCHED").exists():
        listing = _listing(client, repo, run, params, state, pages, progress)
        for i, pr in enumerate(listing["changed"]):
            unit = run / "work" / f"pr-{pr['number']:05d}.ndjson"
            if not unit.exists():
                write_atomic(unit, _fetch_pr(client, repo, pr["number"], params["per_page"], pages))
            progress("PRs fetched", i + 1, len(listing["changed"]))
        _write_dump(run, listing["changed"])
        write_atomic(run / "FETCHED", b"")
    listing = orjson.loads((run / "work" / "listing.json").read_bytes())
    if keep:
        write_atomic(run / "KEEP", b"written with --no-ingest: load it with `asyncpulse ingest github "
                     + str(run).encode() + b"`\n")
    progress("done", final=True)
    return FetchedRun(repo, run, len(listing["changed"]), _state_rows(repo, run, params, listing),
                      resumed)


def _listing(
    client: Client, repo: str, run: Path, params: dict[str, Any],
    state: dict[tuple[str, str], StateRow], pages: PageLog, progress: Progress,
) -> dict[str, Any]:
    """List the PRs updated since the cursor that changed since last fetched; kept in work/."""
    path = run / "work" / "listing.json"
    if path.exists():
        return orjson.loads(path.read_bytes())  # type: ignore[no-any-return]
    since, cursor = params["since"], params["cursor"]
    # The stored cursor vouches for everything updated after its floor (the since of the
    # fetches before); asked to go back further, list back to `since` (known PRs are skipped).
    covered = params["covered"] and (params["floor"] is None or (since is not None and since >= params["floor"]))
    stop = max(filter(None, [since, cursor if covered else None]), default=None)
    changed: dict[int, dict[str, Any]] = {}
    newest = cursor if covered else None
    url: str | None = f"repos/{repo}/pulls"
    query: dict[str, Any] | None = {"state": "all", "sort": "updated", "direction": "desc",
                                    "per_page": params["per_page"]}
    n_pages = 0
    while url:
        page = client.get(url, query)
        pages.write(page)
        n_pages += 1
        records = page.json()
        if not isinstance(records, list):
            raise FetchError(f"{page.url}: not a list of pull requests")
        done = False
        for pr in records:
            updated, number = pr.get("updated_at"), pr.get("number")
            if not isinstance(updated, str) or not isinstance(number, int):
                continue
            if stop and updated < stop:
                done = True
                break
            newest = max(filter(None, [newest, updated]))
            known = state.get((repo, str(number)))
            if (known is None or known.cursor != updated) and number not in changed:
                changed[number] = slim_pull(pr)
        progress(f"listing PRs, page {n_pages}; {len(changed)} new or changed")
        url, query = (None, None) if done else (page.next_url, None)
    floor = params["floor"] if covered else since
    listing = {"changed": sorted(changed.values(), key=lambda p: p["number"]), "newest": newest,
               "floor": floor}
    write_atomic(path, orjson.dumps(listing))
    return listing


def slim_pull(pr: dict[str, Any]) -> dict[str, Any]:
    """Return a listed PR without `head`, `_links` and the base repository's object.

    They are most of a record's bytes (two full repository objects) and the
    loader reads none of them but the base repository's name; the pages in
    `pages/` keep the records whole.
    """
    base: dict[str, Any] = pr["base"] if isinstance(pr.get("base"), dict) else {}
    repo: dict[str, Any] = base["repo"] if isinstance(base.get("repo"), dict) else {}
    slim = {k: v for k, v in pr.items() if k not in ("head", "_links", "base")}
    slim["base"] = {"ref": base.get("ref"), "repo": {"full_name": repo.get("full_name")}}
    return slim


def _fetch_pr(client: Client, repo: str, number: int, per_page: int, pages: PageLog) -> bytes:
    """Return one PR's records of every per-PR endpoint, as NDJSON lines {file, record}."""
    lines: list[bytes] = []
    for file, endpoint in PR_ENDPOINTS:
        for record in iter_all(client, f"repos/{repo}/{endpoint.format(n=number)}",
                               {"per_page": per_page}, pages):
            if file in WITH_PULL_NUMBER:
                record = {**record, "pull_number": number}
            lines.append(orjson.dumps({"file": file, "record": record}))
    return b"\n".join(lines) + b"\n" if lines else b""


def iter_all(client: Client, path: str, params: dict[str, Any], pages: PageLog) -> list[dict[str, Any]]:
    """Return every record of a paginated list endpoint, following the Link header."""
    out: list[dict[str, Any]] = []
    url: str | None = path
    query: dict[str, Any] | None = params
    while url:
        page = client.get(url, query)
        pages.write(page)
        records = page.json()
        if not isinstance(records, list):
            raise FetchError(f"{page.url}: expected a JSON array")
        out += [r for r in records if isinstance(r, dict)]
        url, query = page.next_url, None
    return out


def _write_dump(run: Path, changed: list[dict[str, Any]]) -> None:
    """Write the REST dump of the run's complete PRs (each file a JSON array)."""
    files: dict[str, list[bytes]] = {f: [] for f in DUMP_FILES}
    files["pulls.json"] = [orjson.dumps(pr) for pr in changed]
    for pr in changed:
        data = (run / "work" / f"pr-{pr['number']:05d}.ndjson").read_bytes()
        for line in data.splitlines():
            if line:
                item = orjson.loads(line)
                files[item["file"]].append(orjson.dumps(item["record"]))
    for name, records in files.items():
        write_atomic(run / name, b"[" + b",\n".join(records) + b"]\n")


def _state_rows(repo: str, run: Path, params: dict[str, Any], listing: dict[str, Any]) -> list[StateRow]:
    rows = [StateRow(SOURCE, repo, "", listing["newest"], listing["floor"], run_dir=str(run))]
    rows += [StateRow(SOURCE, repo, str(pr["number"]), pr["updated_at"], run_dir=str(run))
             for pr in listing["changed"]]
    return rows


def list_org_repos(client: Client, org: str, per_page: int = 100) -> list[str]:
    """Return owner/repo of every repository of `org` the token can see."""
    pages = PageLog(None)
    return sorted(r["full_name"] for r in iter_all(client, f"orgs/{org}/repos",
                                                   {"type": "all", "per_page": per_page}, pages)
                  if isinstance(r.get("full_name"), str))


Load = Callable[[Path, Callable[["duckdb.DuckDBPyConnection"], None]], "LoadReport"]
Store = Callable[[Callable[["duckdb.DuckDBPyConnection"], None]], None]


def fetch_and_load(
    client: Client, repo: str, drop: Path, read: Callable[[], dict[tuple[str, str], StateRow]],
    load: Load | None, store: Store, since: date | None = None, per_page: int = 100,
) -> list[tuple[FetchedRun, LoadReport | None]]:
    """Fetch `repo` and load the run with its cursors; return each run and its load report.

    `read` returns the stored cursors, `load(run_dir, also)` ingests a run
    folder calling `also(con)` in its transaction, `store(also)` writes
    cursors alone (nothing new, but the cursor moved). With `load` None
    (`--no-ingest`) the folder is only written. A pending run found first is
    finished and loaded, then the repository is fetched again from there.
    """
    out: list[tuple[FetchedRun, LoadReport | None]] = []
    for _ in range(2):
        state = read()
        run = fetch_repo(client, repo, drop, state, since, per_page, keep=load is None)
        report: LoadReport | None = None
        rows = run.state

        def also(con: duckdb.DuckDBPyConnection, rows: list[StateRow] = rows) -> None:
            write_state(con, rows)

        if load is not None and run.has_data:
            report = load(run.run_dir, also)
            run.mark_loaded()
        elif load is not None:
            old = state.get((repo, ""))
            if old is None or (old.cursor, old.floor) != (rows[0].cursor, rows[0].floor):
                store(also)
            run.mark_loaded()
        out.append((run, report))
        if not run.resumed or load is None:
            break
    return out


def drop_folder(database: Path) -> Path:
    """Return the drop folder: the `fetch.dir` setting, else `fetched/` beside the database."""
    from pipelines.settings import get_settings

    return get_settings().fetch.dir or Path(database).parent / "fetched"


def client_for(api_url: str | None, cache_repo: str | None, drop: Path) -> Client:
    """Return a GitHub client with the fetch settings (its ETag cache in the repository's folder)."""
    from pipelines.settings import get_settings

    f = get_settings().fetch
    cache = repo_dir(drop, cache_repo) / "http-cache" if cache_repo else None
    return github_client(api_url or f.github_api_url, cache, max_wait_seconds=f.max_wait_seconds,
                         backoff_seconds=f.retry_seconds)


def fetch_github(
    database: Path, repos: list[str], orgs: list[str], since: date | None = None,
    api_url: str | None = None, ingest: bool = True, work: Path | None = None,
) -> list[tuple[FetchedRun, LoadReport | None, str]]:
    """Fetch `repos` and every repository of `orgs`, each loaded into `database` as it is done.

    With `work` (the nightly run's private copy) everything is read from and
    written to it; otherwise each repository is published on its own, so a
    failure in one keeps the others. Return (run, load report, summary line).
    """
    from pipelines import jobs
    from pipelines.settings import get_settings
    from pipelines.sources.fetch_state import read_state

    f = get_settings().fetch
    drop = drop_folder(database)
    since = since or f.since
    targets = [check_repo(r) for r in repos]
    for org in orgs:
        with client_for(api_url, None, drop) as c:
            targets += [r for r in list_org_repos(c, org, f.per_page) if r not in targets]
    target_db = work or Path(database)
    out: list[tuple[FetchedRun, LoadReport | None, str]] = []
    for repo in targets:

        def load(run_dir: Path, also: Callable[[duckdb.DuckDBPyConnection], None]) -> LoadReport:
            if work is not None:
                return jobs.ingest_into(work, SOURCE, run_dir, also=also)
            return jobs.ingest_fetched(Path(database), SOURCE, run_dir, also)

        def store(also: Callable[[duckdb.DuckDBPyConnection], None]) -> None:
            jobs.store_fetch_state(target_db, also, in_copy=work is not None)

        with client_for(api_url, repo, drop) as c:
            done = fetch_and_load(
                c, repo, drop, lambda repo=repo: read_state(target_db, SOURCE, repo),  # type: ignore[misc]
                load if ingest else None, store, since, f.per_page,
            )
            for run, report in done:
                out.append((run, report, run.summary()))
    return out

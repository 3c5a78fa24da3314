"""`asyncpulse fetch github` against a GitHub API on 127.0.0.1 replaying recorded-shaped pages.

The server (tests/github_api.py) serves tests/fixtures/github-api: the
acme/widgets history of tests/github_history.py, three PRs, 2 per page. A
first fetch asks for the two listing pages (Link header) and the five per-PR
endpoints of each PR: 17 requests, worked out from the fixture.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from pytest_httpserver import HTTPServer

from pipelines import jobs
from pipelines.cli import main
from tests.conftest import query
from tests.github_api import FakeGitHub
from tests.github_history import REPO, rest_files, write_rest

RAW = ("raw.github_pull_requests", "raw.github_pr_files", "raw.github_events", "raw.github_users")
LIST = "/repos/acme/widgets/pulls?state=all&sort=updated&direction=desc&per_page=2"


def pr_paths(n: int) -> list[str]:
    """The five per-PR endpoints, in the order the fetch asks for them."""
    return [f"/repos/{REPO}/pulls/{n}/reviews?per_page=2", f"/repos/{REPO}/pulls/{n}/comments?per_page=2",
            f"/repos/{REPO}/issues/{n}/comments?per_page=2", f"/repos/{REPO}/issues/{n}/events?per_page=2",
            f"/repos/{REPO}/pulls/{n}/files?per_page=2"]


FIRST_FETCH = [LIST, LIST + "&page=2", *pr_paths(7), *pr_paths(8), *pr_paths(9)]


@pytest.fixture
def github(httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGitHub]:
    """The fake API, with the fetch settings pointed at it (2 records per page, short backoff)."""
    from pipelines.settings import get_settings

    fake = FakeGitHub()
    httpserver.expect_request(re.compile(".*")).respond_with_handler(fake)
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_test")
    monkeypatch.setenv("ASYNCPULSE_FETCH__GITHUB_API_URL", httpserver.url_for("/").rstrip("/"))
    monkeypatch.setenv("ASYNCPULSE_FETCH__PER_PAGE", "2")
    monkeypatch.setenv("ASYNCPULSE_FETCH__RETRY_SECONDS", "0.05")
    get_settings.cache_clear()
    yield fake


def fetch(db: Path, *args: str) -> int:
    return main(["fetch", "github", REPO, "--db", str(db), *args])


def raw_tables(db: Path) -> dict[str, pl.DataFrame]:
    """Every GitHub raw table without the load stamps, in key order."""
    keys = {"raw.github_events": "event_key", "raw.github_users": "login"}
    return {t: query(db, f"select * exclude (_load_id, _loaded_at) from {t} "
                         f"order by {keys.get(t, 'repo, number')}") for t in RAW}


def assert_same_raw(a: Path, b: Path, loads: int = 1) -> None:
    """Assert equal raw tables. Loaded in `loads` runs, a user's `_source_file` is the file of
    the run that named them first (a later run's same row is not replaced), so it is left out."""
    ta, tb = raw_tables(a), raw_tables(b)
    for t in RAW:
        if t == "raw.github_users" and loads > 1:
            ta[t], tb[t] = ta[t].drop("_source_file"), tb[t].drop("_source_file")
        assert_frame_equal(ta[t], tb[t], check_row_order=True), t


def dump_db(tmp_path: Path, files: dict[str, list[dict[str, Any]]] | None = None) -> Path:
    """The same history written as a REST dump and loaded by `ingest github`.

    The per-PR endpoints see only pull requests' comments, so the dump's
    comment on issue #10 (kept in raw, dropped in staging) is left out.
    """
    files = files or rest_files()
    files["issue_comments.json"] = [c for c in files["issue_comments.json"] if "/issues/10" not in c["issue_url"]]
    db = tmp_path / "dump.duckdb"
    jobs.ingest(db, "github", write_rest(tmp_path / "dump", files=files))
    return db


def run_dirs(db: Path) -> list[Path]:
    return sorted((db.parent / "fetched" / "github" / "acme__widgets").glob("2*"))


def test_fetch_loads_what_the_rest_dump_loads(github: FakeGitHub, tmp_path: Path) -> None:
    db = tmp_path / "fetch.duckdb"
    assert fetch(db) == 0
    assert github.requests == [(p, 200) for p in FIRST_FETCH]
    assert_same_raw(db, dump_db(tmp_path))
    (run,) = run_dirs(db)
    assert sorted(p.name for p in run.iterdir()) == [
        "FETCHED", "LOADED", "events.json", "files.json", "issue_comments.json", "pages", "pulls.json",
        "review_comments.json", "reviews.json", "work"]
    assert len(list((run / "pages").glob("*.http"))) == 17  # every page kept for audit
    first = (run / "pages" / "00001.http").read_text().splitlines()
    assert first[0].endswith(LIST) and first[1] == "HTTP 200" and "x-ratelimit-remaining: 4999" in first
    state = query(db, "select scope, item, cursor, floor, status, run_dir from raw.fetch_state order by item")
    assert state.rows() == [
        (REPO, "", "2024-03-12T04:00:00Z", None, "ok", str(run)),
        (REPO, "7", "2024-03-05T12:00:00Z", None, "ok", str(run)),
        (REPO, "8", "2024-03-12T04:00:00Z", None, "ok", str(run)),
        (REPO, "9", "2024-03-08T09:00:00Z", None, "ok", str(run)),
    ]
    assert query(db, "select source, status, path from raw.loads").rows() == [("github", "ok", str(run))]


def test_nothing_changed_costs_one_conditional_request(github: FakeGitHub, tmp_path: Path) -> None:
    db = tmp_path / "fetch.duckdb"
    fetch(db)
    before = raw_tables(db)
    github.requests.clear()
    assert fetch(db) == 0
    # page 1 answers 304 from the ETag cache; its second PR is older than the cursor: stop
    assert github.requests == [(LIST, 304)]
    assert github.remaining == 5000 - 17  # the 304 cost no quota
    assert query(db, "select count(*) as n from raw.loads").item() == 1  # nothing to load
    for t, frame in raw_tables(db).items():
        assert_frame_equal(frame, before[t])


def test_incremental_fetch_asks_only_for_the_changed_pr(github: FakeGitHub, tmp_path: Path) -> None:
    db = tmp_path / "fetch.duckdb"
    fetch(db)
    github.requests.clear()
    comment = {"id": 5010, "user": {"login": "ben", "id": 297, "type": "User"}, "body": "Ship it?",
               "created_at": "2024-03-20T10:00:00Z", "issue_url": f"https://api.github.com/repos/{REPO}/issues/9",
               "html_url": f"https://github.com/{REPO}/pull/9#issuecomment-5010"}
    github.add(f"/repos/{REPO}/issues/9/comments", comment)
    github.update_pr(REPO, 9, "2024-03-20T10:00:00Z")
    assert fetch(db) == 0
    reviews, comments, issue_comments, events, files = pr_paths(9)
    assert github.requests == [
        (LIST, 200),  # #9 moved up: the page changed
        (LIST + "&page=2", 304),  # #8 has the cursor's own time, so the next page is read: #7 is older
        (reviews, 304), (comments, 304), (issue_comments, 200), (events, 304), (files, 304),
    ]
    changed = rest_files()
    changed["issue_comments.json"].append(comment)
    changed["pulls.json"][0]["updated_at"] = "2024-03-20T10:00:00Z"
    assert_same_raw(db, dump_db(tmp_path, changed))
    assert query(db, "select item, cursor from raw.fetch_state where item in ('', '9') order by item").rows() == [
        ("", "2024-03-20T10:00:00Z"), ("9", "2024-03-20T10:00:00Z")]


def test_primary_rate_limit_waits_for_the_reset(
    github: FakeGitHub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "fetch.duckdb"
    github.spend(3)  # three requests left; the third says 0 and the reset a second ahead
    times: list[float] = []
    real = github._serve

    def timed(request: Any, full: str) -> Any:
        times.append(time.time())
        return real(request, full)

    github._serve = timed  # type: ignore[method-assign]
    assert fetch(db) == 0
    assert github.requests == [(p, 200) for p in FIRST_FETCH]  # it waited: no 403
    assert times[3] >= github.reset_at - 3600  # the reset the third response announced ...
    assert times[3] - times[2] >= 1.0  # ... was waited for, for real (at least a second)
    assert re.search(r"rate limit spent: rate limit 0/5,000 left; waiting until \d\d:\d\d:\d\d UTC",
                     capsys.readouterr().err)
    assert_same_raw(db, dump_db(tmp_path))


def test_a_403_for_a_spent_budget_waits_then_retries(
    github: FakeGitHub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "fetch.duckdb"
    github.spend(0)  # spent before the fetch starts: the first answer is 403
    assert fetch(db) == 0
    assert github.requests == [(LIST, 403)] + [(p, 200) for p in FIRST_FETCH]
    assert "rate limit reached (HTTP 403)" in capsys.readouterr().err
    assert_same_raw(db, dump_db(tmp_path))


def test_secondary_limit_honours_retry_after(
    github: FakeGitHub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "fetch.duckdb"
    reviews = pr_paths(8)[0]
    github.fault(reviews.split("?")[0], 403, retry_after=1)
    started = time.monotonic()
    assert fetch(db) == 0
    i = FIRST_FETCH.index(reviews)
    assert github.requests == [(p, 200) for p in FIRST_FETCH[:i]] + [(reviews, 403)] + [
        (p, 200) for p in FIRST_FETCH[i:]]
    assert time.monotonic() - started >= 1.0
    assert "secondary rate limit (HTTP 403): retrying after 1 s" in capsys.readouterr().err
    assert_same_raw(db, dump_db(tmp_path))


def test_two_502s_then_success(github: FakeGitHub, tmp_path: Path) -> None:
    db = tmp_path / "fetch.duckdb"
    github.fault(f"/repos/{REPO}/pulls", 502, times=2)
    assert fetch(db) == 0
    assert github.requests == [(LIST, 502), (LIST, 502)] + [(p, 200) for p in FIRST_FETCH]
    assert_same_raw(db, dump_db(tmp_path))


def test_5xx_past_the_retries_fails_in_one_line_and_leaves_the_database(
    github: FakeGitHub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "fetch.duckdb"
    github.fault(pr_paths(9)[4].split("?")[0], 502, times=6)
    assert fetch(db) == 1
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert re.fullmatch(r"asyncpulse: http://[^/]+/repos/acme/widgets/pulls/9/files\?per_page=2: "
                        r"HTTP 502, still after 5 retries", err)
    assert not db.exists()  # nothing loaded: the run folder waits for the next call
    github.requests.clear()
    assert fetch(db) == 0  # resumes: PRs 7 and 8 are not asked for again
    # then, the run loaded, one more look at the listing finds nothing newer
    assert github.requests == [(p, 304) for p in pr_paths(9)[:4]] + [(pr_paths(9)[4], 200), (LIST, 304)]
    assert_same_raw(db, dump_db(tmp_path))


class Killed(BaseException):
    """A kill at a page boundary (BaseException: nothing on the way catches it)."""


def test_killed_at_a_page_boundary_resumes_to_the_same_rows(
    github: FakeGitHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipelines.sources import github_fetch

    db = tmp_path / "fetch.duckdb"
    make = github_fetch.client_for
    kill_at = pr_paths(8)[3]  # PR 7 complete, PR 8 half-fetched

    def killing(*a: Any) -> Any:
        c = make(*a)

        def before(url: str) -> None:
            if url.endswith(kill_at):
                raise Killed

        c.before_request = before
        return c

    monkeypatch.setattr(github_fetch, "client_for", killing)
    with pytest.raises(Killed):
        fetch(db)
    assert not db.exists()  # a half-fetched PR is never loaded
    (run,) = run_dirs(db)
    assert sorted(p.name for p in (run / "work").iterdir()) == ["listing.json", "pr-00007.ndjson", "run.json"]
    monkeypatch.setattr(github_fetch, "client_for", make)
    github.requests.clear()
    assert fetch(db) == 0
    # the listing is kept; PR 7 is not asked for; PR 8's fetched pages come back as 304s
    assert github.requests == [(p, 304) for p in pr_paths(8)[:3]] + [
        (p, 200) for p in pr_paths(8)[3:] + pr_paths(9)] + [(LIST, 304)]
    assert run_dirs(db)[0] == run and (run / "LOADED").exists()
    assert_same_raw(db, dump_db(tmp_path))


def test_sigkill_mid_fetch_then_resume(github: FakeGitHub, tmp_path: Path) -> None:
    """A real process killed with SIGKILL while it waits for a page, then the next call."""
    db = tmp_path / "fetch.duckdb"
    reached, release = threading.Event(), threading.Event()
    github.block = (f"/repos/{REPO}/issues/9/comments", reached, release)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
    proc = subprocess.Popen([sys.executable, "-m", "pipelines.cli", "fetch", "github", REPO, "--db", str(db)],
                            env=env, stderr=subprocess.PIPE)
    try:
        assert reached.wait(60), proc.stderr.read() if proc.stderr else ""
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    finally:
        github.block = None
        release.set()
    assert proc.returncode == -signal.SIGKILL
    assert not db.exists()
    github.requests.clear()
    assert fetch(db) == 0
    assert github.requests[:2] == [(p, 304) for p in pr_paths(9)[:2]]
    assert github.requests[2:] == [(p, 200) for p in pr_paths(9)[2:]] + [(LIST, 304)]
    assert_same_raw(db, dump_db(tmp_path))


def test_org_fetches_every_repository(github: FakeGitHub, tmp_path: Path) -> None:
    db = tmp_path / "fetch.duckdb"
    assert main(["fetch", "github", "--org", "acme", "--db", str(db)]) == 0
    assert github.api_paths()[:2] == ["/orgs/acme/repos", "/repos/acme/empty/pulls"]
    assert_same_raw(db, dump_db(tmp_path))
    assert query(db, "select scope, item, cursor from raw.fetch_state where item = '' order by scope").rows() == [
        ("acme/empty", "", None), (REPO, "", "2024-03-12T04:00:00Z")]


def test_no_ingest_writes_the_folder_only(github: FakeGitHub, tmp_path: Path) -> None:
    db = tmp_path / "fetch.duckdb"
    assert fetch(db, "--no-ingest") == 0
    assert not db.exists()
    (run,) = run_dirs(db)
    assert (run / "KEEP").exists() and not (run / "LOADED").exists()
    jobs.ingest(db, "github", run)  # what `ingest github RUN` does with it
    assert_same_raw(db, dump_db(tmp_path))


def test_since_stops_the_first_listing(github: FakeGitHub, tmp_path: Path) -> None:
    db = tmp_path / "fetch.duckdb"
    assert fetch(db, "--since", "2024-03-08") == 0
    # #8 (03-12) and #9 (03-08 09:00) are on page 1; page 2 starts with #7 (03-05): stop
    assert github.api_paths() == [p.split("?")[0] for p in [LIST, LIST + "&page=2", *pr_paths(8), *pr_paths(9)]]
    assert query(db, "select number from raw.github_pull_requests order by number").rows() == [(8,), (9,)]
    assert query(db, "select floor from raw.fetch_state where item = ''").item() == "2024-03-08T00:00:00Z"
    github.requests.clear()
    assert fetch(db) == 0  # without --since now: the listing goes back to the start, for #7 only
    assert github.api_paths() == [p.split("?")[0] for p in [LIST, LIST + "&page=2", *pr_paths(7)]]
    assert_same_raw(db, dump_db(tmp_path), loads=2)


def test_bad_token_is_one_line(github: FakeGitHub, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    github.fault(f"/repos/{REPO}/pulls", 401)
    assert fetch(tmp_path / "fetch.duckdb") == 1
    assert capsys.readouterr().err.strip().splitlines()[-1].endswith("HTTP 401 Unauthorized: Bad credentials")


def test_a_link_to_another_host_is_refused(
    github: FakeGitHub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The token goes only to the API URL: a Link (or redirect) elsewhere stops the fetch."""
    from werkzeug import Response

    github.faults[f"/repos/{REPO}/pulls"] = [Response(
        b"[]", 200, content_type="application/json",
        headers={"Link": '<http://elsewhere.test/repos/acme/widgets/pulls?page=2>; rel="next"'})]
    db = tmp_path / "fetch.duckdb"
    assert fetch(db) == 1
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        "asyncpulse: http://elsewhere.test/repos/acme/widgets/pulls?page=2: not under the API URL "
        f"{github_url(github)}; refused (the token goes only there)")
    assert len(github.requests) == 1 and not db.exists()


def github_url(_: FakeGitHub) -> str:
    from pipelines.settings import get_settings

    return get_settings().fetch.github_api_url


def test_a_second_fetch_of_the_same_repository_is_refused_while_one_runs(
    github: FakeGitHub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import fcntl

    db = tmp_path / "fetch.duckdb"
    folder = tmp_path / "fetched" / "github" / "acme__widgets"
    folder.mkdir(parents=True)
    with open(folder / ".lock", "a+") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        assert fetch(db) == 1
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        f"asyncpulse: another fetch of github acme/widgets is running ({folder}); try later")
    assert github.requests == []
    assert fetch(db) == 0


def test_github_enterprise_api_url_and_the_gh_cli_token(
    httpserver: HTTPServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--api-url https://HOST/api/v3`; no token in the environment: `gh auth token --hostname HOST`."""
    fake = FakeGitHub(prefix="/api/v3")
    httpserver.expect_request(re.compile(".*")).respond_with_handler(fake)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    gh = bin_dir / "gh"  # a stand-in for the GitHub CLI: prints the token it was asked for
    gh.write_text('#!/bin/sh\n[ "$1 $2 $3" = "auth token --hostname" ] && echo "ghs_for_$4" && exit 0\nexit 1\n')
    gh.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    monkeypatch.delenv("GH_TOKEN", raising=False)
    monkeypatch.setenv("ASYNCPULSE_FETCH__PER_PAGE", "2")
    from pipelines.settings import get_settings

    get_settings.cache_clear()
    db = tmp_path / "fetch.duckdb"
    api = httpserver.url_for("/api/v3")
    assert main(["fetch", "github", REPO, "--db", str(db), "--api-url", api]) == 0
    assert fake.requests == [(p, 200) for p in FIRST_FETCH]  # Link URLs kept the /api/v3 prefix
    assert set(fake.authorizations) == {f"Bearer ghs_for_{httpserver.host}"}
    assert_same_raw(db, dump_db(tmp_path))


def test_listed_prs_are_kept_without_head_and_links(github: FakeGitHub, tmp_path: Path) -> None:
    """The dump's pulls.json drops what the loader never reads (two repository objects a PR)."""
    import orjson

    head = {"ref": "feature", "repo": {"full_name": "ana/widgets", "description": "x" * 2000}}
    for pr in github.pages[f"/repos/{REPO}/pulls"]:
        pr["head"], pr["_links"] = head, {"self": {"href": pr["url"]}}
        pr["base"]["repo"]["description"] = "y" * 2000
    db = tmp_path / "fetch.duckdb"
    assert fetch(db) == 0
    (run,) = run_dirs(db)
    pulls = orjson.loads((run / "pulls.json").read_bytes())
    assert [sorted(p) for p in pulls] == [sorted(set(p) - {"head", "_links"}) for p in rest_files()["pulls.json"][::-1]]
    assert {orjson.dumps(p["base"]) for p in pulls} == {b'{"ref":"main","repo":{"full_name":"acme/widgets"}}'}
    assert "x" * 2000 in (run / "pages" / "00001.http").read_text()  # the page keeps it whole
    assert_same_raw(db, dump_db(tmp_path))

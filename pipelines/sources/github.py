"""GitHub pull-request history -> raw.github_pull_requests, _pr_files, _events, _users.

Three layouts (README, "Load your GitHub pull requests"), told apart by their file names and, for loose JSON
files, by their content:

* ``gh pr list --json …`` output: one JSON array per file (a file, or a
  folder of them, one per repository);
* a REST API dump: a folder holding ``pulls.json`` and optionally
  ``reviews.json``, ``review_comments.json``, ``issue_comments.json``,
  ``events.json`` and ``files.json`` (each a JSON array, or the pages of
  ``gh api --paginate`` back to back, or NDJSON);
* a migration archive: ``pull_requests_NNNNNN.json``,
  ``pull_request_reviews_…``, ``pull_request_review_comments_…``,
  ``issue_comments_…``, ``issue_events_…``, ``users_…``, as a folder or a
  ``.tar.gz`` (read in memory, never extracted).

Several exports may sit side by side in one folder (one per repository);
every row carries its repository, so they load together.

Keys: a PR is (repo, number); an event is its `event_key`,
``github:<repo>#<number>:<kind>:<login>:<UTC second>`` (``:2``, ``:3`` …
for the rare second event of the same author, kind and second). Event ids
differ between layouts (GraphQL node ids in gh, numbers in REST and the
archive), so the key is built from what every layout has, and the same
review loaded from gh and then from REST is one row.
"""

from __future__ import annotations

import posixpath
import re
import tarfile
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import duckdb
import orjson

from pipelines import redact
from pipelines.exports import Export, ExportError, Member, open_export
from pipelines.loads import (
    LoadReport,
    find_unchanged,
    known_signatures,
    merge_keyed,
    record_files,
    record_load,
)
from pipelines.progress import Progress
from pipelines.settings import get_settings
from pipelines.sources import github_layouts as gl
from pipelines.sources import github_parse as gp

SOURCE = "github"
REST_FILES = ("pulls.json", "reviews.json", "review_comments.json", "issue_comments.json",
              "events.json", "files.json")
MIGRATION_FILE = re.compile(
    r"^(pull_requests|pull_request_reviews|pull_request_review_comments|issue_comments|"
    r"issue_events|users)_\d+\.json$"
)
MIGRATION_KINDS = {"pull_request_reviews": "review", "pull_request_review_comments": "review_comment",
                   "issue_comments": "comment", "issue_events": "issue_event"}


Parser = Callable[[bytes, str, gp.Parsed], int]


@dataclass
class Unit:
    """One export found inside the path: its layout and its files, in parse order."""

    layout: str  # 'gh' | 'rest' | 'migration'
    root: str  # folder prefix inside the export, '' or 'dir/'
    files: list[tuple[str, Parser]] = field(default_factory=list)  # (member, parser)


def open_github_export(path: Path) -> Export:
    """Open a folder, a tar(.gz)/ZIP archive, or a single JSON file as an export."""
    if path.is_file() and not (tarfile.is_tarfile(path) or _is_zip(path)):
        st = path.stat()
        limit = get_settings().max_file_bytes
        if st.st_size > limit:
            raise ExportError(f"{path}: {st.st_size} bytes, over the {limit}-byte limit "
                              "(max_file_bytes); refusing")
        member = Member(path.name, st.st_size, f"m{st.st_size}:{st.st_mtime_ns}")
        return Export(path.parent, "dir", {path.name: member})
    return open_export(path)


def _is_zip(path: Path) -> bool:
    import zipfile

    return zipfile.is_zipfile(path)


def read_one(export: Export, name: str) -> bytes | Exception:
    """Read one member (never several at once: memory holds one file); its error if unreadable."""
    try:
        return export.read(name)
    except (OSError, ValueError, tarfile.TarError, EOFError) as e:
        return e


def find_units(
    export: Export, report: LoadReport, known_repos: dict[str, set[str]] | None = None
) -> list[Unit]:
    """Find every GitHub export inside `export`; raise ExportError when there is none.

    A folder holding pulls.json is a REST dump; one holding pull_requests_*
    (or reviews/comments) files is a migration archive; any other JSON file
    is read and kept when it is `gh pr list` output (or REST pulls alone).
    `known_repos` ({folder: repos} of pulls.json loaded earlier) names the
    repository of REST events and files that do not say it.
    """
    known = known_repos if known_repos is not None else {}
    by_dir: dict[str, list[str]] = {}
    for name in export.members:
        d, _, _ = name.rpartition("/")
        by_dir.setdefault(d + "/" if d else "", []).append(name)
    units: list[Unit] = []
    loose: list[str] = []
    for d in sorted(by_dir):
        bases = {posixpath.basename(n): n for n in by_dir[d]}
        if "pulls.json" in bases:
            u = Unit("rest", d)
            for f, parser in _rest_parsers(known).items():
                if f in bases:
                    u.files.append((bases[f], parser))
            units.append(u)
            continue
        mig = sorted((b, n) for b, n in bases.items() if MIGRATION_FILE.match(b))
        if any(not b.startswith("users_") for b, _ in mig):
            u = Unit("migration", d)
            # users first, then PRs, then what refers to them (order only matters for reading)
            order = ("users", "pull_requests", "pull_request_reviews", "pull_request_review_comments",
                     "issue_comments", "issue_events")
            for prefix in order:
                for b, n in mig:
                    if b.rsplit("_", 1)[0] == prefix:
                        u.files.append((n, _migration_parser(prefix)))
            units.append(u)
            continue
        loose += [n for b, n in sorted(bases.items()) if b.endswith(".json")]
    if loose:
        units += _loose_units(export, loose, report)
    if not units:
        what = ", ".join(sorted(export.members)[:5]) or "nothing"
        raise ExportError(
            f"{report.path}: not a GitHub export (no gh pr list JSON, pulls.json or "
            f"pull_requests_*.json; found {what})"
        )
    return units


def _rest_parsers(known: dict[str, set[str]]) -> dict[str, Parser]:
    return {
        "pulls.json": gl.parse_rest_pulls,
        "reviews.json": gl.parse_rest_reviews,
        "review_comments.json": gl.parse_rest_review_comments,
        "issue_comments.json": gl.parse_rest_issue_comments,
        # events and files may lack the repository: the dump's own repo fills it in (see load)
        "events.json": partial(_with_default_repo, gl.parse_rest_events, known),
        "files.json": partial(_with_default_repo, gl.parse_rest_files, known),
    }


def _with_default_repo(
    fn: Callable[[bytes, str, gp.Parsed, str | None], int], known: dict[str, set[str]],
    data: bytes, member: str, out: gp.Parsed,
) -> int:
    """Call `fn` with the repository of the dump's pulls.json when it has exactly one."""
    folder = member.rpartition("/")[0]
    repos = {p["repo"] for p in out.prs if p["_source_file"].rpartition("/")[0] == folder}
    repos |= known.get(folder, set())
    return fn(data, member, out, next(iter(repos)) if len(repos) == 1 else None)


def _migration_parser(prefix: str) -> Parser:
    if prefix == "pull_requests":
        return gl.parse_migration_pull_requests
    if prefix == "users":
        return gl.parse_migration_users
    return partial(gl.parse_migration_events, kind=MIGRATION_KINDS[prefix])  # type: ignore[return-value]


def _loose_units(export: Export, names: list[str], report: LoadReport) -> list[Unit]:
    """Keep the loose JSON files that are gh output (or REST pulls on their own)."""
    units: list[Unit] = []
    ignored: list[str] = []
    first: bytes | Exception = b""
    for name in names:
        raw = read_one(export, name)
        first = first or raw
        kind = None if isinstance(raw, Exception) else sniff_layout(raw)
        if kind == "gh":
            units.append(Unit("gh", "", [(name, gl.parse_gh)]))
        elif kind == "rest":
            units.append(Unit("rest", "", [(name, gl.parse_rest_pulls)]))
        else:
            ignored.append(name)
    if ignored and units:
        report.notes.append(
            f"{len(ignored)} JSON files that are no GitHub export layout ignored: "
            + ", ".join(ignored[:5]) + (" ..." if len(ignored) > 5 else "")
        )
    if ignored and not units and len(names) == 1:
        why = _why(first) if isinstance(first, Exception) else _sniff_failure(first)
        raise ExportError(f"{export.path / names[0]}: {why}; not a GitHub export")
    return units


def sniff_layout(data: bytes) -> str | None:
    """Return 'gh' or 'rest' for a JSON file of pull requests in that layout, else None."""
    try:
        for rec in gp.iter_records(data):
            return "gh" if gl.looks_like_gh(rec) else "rest" if gl.looks_like_rest_pull(rec) else None
    except (orjson.JSONDecodeError, ValueError):
        return None
    return "gh"  # an empty array: `gh pr list` of a repository without PRs


def _sniff_failure(data: bytes) -> str:
    try:
        for _ in gp.iter_records(data):
            break
    except (orjson.JSONDecodeError, ValueError) as e:
        return _why(e)
    return "JSON, but not pull requests in the gh, REST or migration-archive layout"


def _why(e: Exception) -> str:
    if isinstance(e, orjson.JSONDecodeError):
        return "truncated or invalid JSON"
    if isinstance(e, UnicodeDecodeError):
        return "not UTF-8 text"
    return str(e)


def load_github(
    con: duckdb.DuckDBPyConnection, path: Path, progress: Progress | None = None,
    export: Export | None = None,
) -> LoadReport:
    """Load a GitHub export into raw.*; idempotent and incremental. Return the report.

    `export` is `path` opened already (`picking.open_source_export`), to list a folder once.

    Raises ExportError when the export cannot be read at all (nothing written).
    """
    report = LoadReport(SOURCE, str(path))
    export = export or open_github_export(Path(path))
    report.fingerprint = export.fingerprint()
    if find_unchanged(con, SOURCE, report.fingerprint):
        report.status = "unchanged"
        record_load(con, report)
        return report
    known_repos: dict[str, set[str]] = {}
    units = find_units(export, report, known_repos)
    report.problems.extend(export.refused)
    seen = known_signatures(con, SOURCE)
    todo = [(u, m, p) for u in units for m, p in u.files]
    fresh = [(u, m, p) for u, m, p in todo if (m, export.members[m].signature) not in seen]
    if len(fresh) < len(todo):
        report.notes.append(
            f"{len(todo) - len(fresh)} files unchanged since an earlier load, not parsed again"
        )
    known_repos.update(_earlier_pull_repos(con, [m for _, m, _ in todo if m.endswith("pulls.json")]))
    parsed = gp.Parsed()
    ledger: list[tuple[str, int, str, int]] = []
    for i, (_, member, parser) in enumerate(fresh):
        report.files_read += 1
        raw = read_one(export, member)
        before = len(parsed.dropped)
        sizes = (len(parsed.prs), len(parsed.files), len(parsed.events))
        try:
            if isinstance(raw, Exception):
                raise raw
            n = parser(raw, member, parsed)
        except (orjson.JSONDecodeError, ValueError, OSError) as e:
            # Undo whatever the file added before it failed: a file loads whole or not at all.
            del parsed.prs[sizes[0]:], parsed.files[sizes[1]:], parsed.events[sizes[2]:]
            del parsed.dropped[before:]
            report.files_skipped += 1
            report.problems.append(f"{member}: {_why(e)}; skipped")
        else:
            m = export.members[member]
            ledger.append((member, m.size, m.signature, n))
            limit = get_settings().max_text_chars
            cut = gp.cut_texts(parsed.prs[sizes[0]:], limit) + gp.cut_texts(parsed.events[sizes[2]:], limit)
            if cut:
                report.notes.append(f"{member}: {cut} titles or bodies over {limit:,} characters "
                                    "cut to that length (max_text_chars)")
            report.problems += [f"{member}: {d}; those dropped" for d in parsed.dropped[before:]]
        if progress:
            progress(i + 1, len(fresh))
    if fresh and not ledger:
        raise ExportError(f"{path}: nothing in it could be read ({report.problems[0]})")
    if get_settings().redact:  # names and e-mails become pseudonyms; logins are ids and stay
        key = redact.key_for(con)
        parsed.users = {
            k: {**u, "name": redact.pseudonym(u.get("name"), key),
                "email": redact.pseudonym(u.get("email"), key)}
            for k, u in parsed.users.items()
        }
    added, replaced = write_rows(con, parsed, report)
    report.rows_added, report.rows_replaced = added, replaced
    record_files(con, SOURCE, report, ledger)
    report.status = "partial" if report.problems else "ok"
    record_load(con, report)
    return report


def _earlier_pull_repos(con: duckdb.DuckDBPyConnection, members: list[str]) -> dict[str, set[str]]:
    """Return {folder: repos} of pulls.json files already loaded (for events/files without a repo)."""
    if not members:
        return {}
    rows = con.execute(
        "select distinct _source_file, repo from raw.github_pull_requests where _source_file in "
        "(select unnest(?::varchar[]))", [members]
    ).fetchall()
    out: dict[str, set[str]] = {}
    for member, repo in rows:
        out.setdefault(member.rpartition("/")[0], set()).add(repo)
    return out


def write_rows(con: duckdb.DuckDBPyConnection, parsed: gp.Parsed, report: LoadReport) -> tuple[int, int]:
    """Merge parsed rows into the raw tables; return (rows added, rows replaced)."""
    # Here, not at import: an unchanged export is recognised without loading pyarrow.
    from pipelines.arrow import pa
    from pipelines.sources.github_schemas import EVENT_SCHEMA, FILES_SCHEMA, PR_SCHEMA, USER_SCHEMA

    stamp = "?::varchar as _load_id, ?::timestamptz as _loaded_at"
    params = [report.load_id, report.started_at]
    added = replaced = 0

    def merge(rows: list[gp.Row], schema: pa.Schema, target: str, keys: list[str], select: str) -> None:
        nonlocal added, replaced
        if not rows:
            return
        con.register("_gh_rows", pa.Table.from_pylist(rows, schema=schema))
        try:
            con.execute(f"create or replace temp table _gh_in as {select}".replace("{stamp}", stamp), params)
        finally:
            con.unregister("_gh_rows")
        a, r = merge_keyed(con, target, "_gh_in", keys)
        added, replaced = added + a, replaced + r
        con.execute("drop table _gh_in")

    merge(parsed.prs, PR_SCHEMA, "raw.github_pull_requests", ["repo", "number"],
          "select *, {stamp}, hash(*columns(* exclude (_source_file))) as _row_hash from _gh_rows")
    merge(parsed.files, FILES_SCHEMA, "raw.github_pr_files", ["repo", "number"],
          "select *, {stamp}, hash(*columns(* exclude (_source_file))) as _row_hash from _gh_rows")
    merge(parsed.events, EVENT_SCHEMA, "raw.github_events", ["event_key"], EVENTS_IN)
    merge(list(parsed.users.values()), USER_SCHEMA, "raw.github_users", ["login"], USERS_IN)
    return added, replaced


# The stable event key: repo, number, kind, author and the UTC second, plus an ordinal for
# the rare events of one file that share all of these (two reviews submitted in the same
# second). Across files the same key is the same event: a gh file and a REST dump of one
# history, loaded together, give one row each.
EVENTS_IN = """
with keyed as (
    select *,
        'github:' || repo || '#' || number || ':' || kind || ':' || lower(author_login) || ':'
          || coalesce(strftime(timezone('UTC', try_cast("at" as timestamptz)), '%Y-%m-%dT%H:%M:%SZ'),
                      "at", 'no-time') as _base
    from _gh_rows
),
numbered as (
    select *, row_number() over (partition by _source_file, _base order by _ordinal) as _n
    from keyed
)
select _base || case when _n > 1 then ':' || _n else '' end as event_key,
       * exclude (_base, _n, _ordinal), {stamp},
       hash(*columns(* exclude (_source_file, _base, _n, _ordinal))) as _row_hash
from numbered
"""

# Users: what this export says fills in, never blanks out, what an earlier one said.
USERS_IN = """
with incoming as (
    select any_value(login) as login, lower(login) as login_key, max(name) as name,
           max(email) as email,
           case when bool_or(user_type = 'Bot') then 'Bot' else max(user_type) end as user_type,
           bool_or(is_bot) as is_bot, min(_source_file) as _source_file
    from _gh_rows group by lower(login)
),
merged as (
    select coalesce(t.login, i.login) as login, coalesce(i.name, t.name) as name,
           coalesce(i.email, t.email) as email, coalesce(i.user_type, t.user_type) as user_type,
           coalesce(i.is_bot, t.is_bot) as is_bot, i._source_file
    from incoming i left join raw.github_users t on lower(t.login) = i.login_key
)
select *, {stamp}, hash(*columns(* exclude (_source_file))) as _row_hash from merged
"""

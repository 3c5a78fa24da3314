"""Slack workspace export (ZIP or folder) -> raw.slack_users, raw.slack_conversations, raw.slack_messages.

Shape of an export (Slack's standard workspace export): users.json; channels.json / groups.json /
dms.json / mpims.json (any of the last three may be absent); one folder per
conversation, named after the channel (DMs: after their id), holding one
YYYY-MM-DD.json per day. A thread reply sits in the file of the day it was
posted, not its parent's, so threads are only assembled in SQL.
"""

from __future__ import annotations

import posixpath
import re
import tempfile
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import orjson

from pipelines import redact
from pipelines.exports import Export, ExportError, open_export
from pipelines.loads import (
    LoadReport,
    find_unchanged,
    known_signatures,
    merge_keyed,
    record_files,
    record_load,
)
from pipelines.parallel import map_batches, worker_count
from pipelines.progress import Progress
from pipelines.settings import Settings, get_settings

if TYPE_CHECKING:  # the parser and pyarrow load when there is something to parse
    from pipelines.sources.slack_parse import DayBatch

SOURCE = "slack"
METADATA_FILES = {
    "channels.json": "public",
    "groups.json": "private",
    "dms.json": "dm",
    "mpims.json": "mpim",
}
DAY_FILE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})\.json$")
DM_ID = re.compile(r"^D[A-Z0-9]{6,}$")
PARALLEL_MIN_BYTES = 96 << 20  # below this, starting workers (~1 s) costs more than it saves



@dataclass
class SlackLayout:
    """Where things are in an export: its root, metadata members and conversation folders."""

    root: str  # prefix of every member name, '' or 'folder/'
    conversations: dict[str, dict[str, Any]]  # folder -> conversation row
    day_files: dict[str, list[str]]  # folder -> member names of its day files


def find_root(names: Iterable[str]) -> str:
    """Return the folder prefix holding users.json/channels.json (the export may be wrapped)."""
    roots = [
        n[: -len(posixpath.basename(n))]
        for n in names
        if posixpath.basename(n) in ("users.json", *METADATA_FILES)
    ]
    if not roots:
        raise ExportError("not a Slack export: no users.json or channels.json in it")
    return min(roots, key=lambda r: (r.count("/"), r))


def _text(v: Any) -> str | None:
    if v is None or isinstance(v, str):
        return v
    if isinstance(v, dict):  # topic/purpose are {"value": ...}
        return _text(v.get("value"))
    return str(v)


def _int(v: Any) -> int | None:
    return v if isinstance(v, int) and not isinstance(v, bool) and abs(v) < 1 << 62 else None


def _bool(v: Any) -> bool | None:
    return v if isinstance(v, bool) else None


def parse_users(data: bytes, member: str) -> list[dict[str, Any]]:
    """Parse users.json into user rows."""
    users = orjson.loads(data)
    if not isinstance(users, list):
        raise ValueError("not a JSON array of users")
    rows = []
    for u in users:
        if not isinstance(u, dict) or not isinstance(u.get("id"), str):
            continue
        profile = u.get("profile")
        p: dict[str, Any] = profile if isinstance(profile, dict) else {}
        rows.append({
            "id": u["id"], "team_id": _text(u.get("team_id")), "name": _text(u.get("name")),
            "real_name": _text(u.get("real_name") or p.get("real_name")),
            "display_name": _text(p.get("display_name")), "email": _text(p.get("email")),
            "title": _text(p.get("title")), "deleted": _bool(u.get("deleted")),
            "is_bot": _bool(u.get("is_bot")), "is_app_user": _bool(u.get("is_app_user")),
            "tz": _text(u.get("tz")), "tz_label": _text(u.get("tz_label")),
            "tz_offset": _int(u.get("tz_offset")), "updated": _int(u.get("updated")),
            "_source_file": member,
        })
    return rows


def parse_conversations(data: bytes, conversation_type: str, member: str) -> list[dict[str, Any]]:
    """Parse one metadata file (channels/groups/dms/mpims.json) into conversation rows."""
    items = orjson.loads(data)
    if not isinstance(items, list):
        raise ValueError("not a JSON array of conversations")
    rows = []
    for c in items:
        if not isinstance(c, dict) or not isinstance(c.get("id"), str):
            continue
        name = _text(c.get("name"))
        members = c.get("members") if isinstance(c.get("members"), list) else None
        rows.append({
            "id": c["id"], "name": name, "conversation_type": conversation_type,
            # DM folders are named by id; the others by name.
            "folder": c["id"] if conversation_type == "dm" or not name else name,
            "is_listed": True, "created": _int(c.get("created")),
            "creator": _text(c.get("creator")), "is_archived": _bool(c.get("is_archived")),
            "is_general": _bool(c.get("is_general")),
            "members": [m for m in members if isinstance(m, str)] if members else None,
            "topic": _text(c.get("topic")), "purpose": _text(c.get("purpose")),
            "_source_file": member,
        })
    return rows


def guess_conversation(folder: str) -> dict[str, Any]:
    """Type a folder that no metadata file lists, from its name alone (README, "Load your own Slack workspace")."""
    ctype = "dm" if DM_ID.match(folder) else "mpim" if folder.startswith("mpdm-") else "public"
    return {
        "id": folder, "name": folder, "conversation_type": ctype, "folder": folder,
        "is_listed": False, "created": None, "creator": None, "is_archived": None,
        "is_general": None, "members": None, "topic": None, "purpose": None,
        "_source_file": folder + "/",
    }


def iter_layout(export: Export, report: LoadReport) -> tuple[SlackLayout, list[dict[str, Any]]]:
    """Read the export's metadata and list its day files; return the layout and user rows."""
    try:
        root = find_root(export.members)
    except ExportError as e:  # name the path given, not only what is missing
        raise ExportError(f"{report.path}: {e}") from None
    rel = {n[len(root):]: n for n in export.members if n.startswith(root)}
    users: list[dict[str, Any]] = []
    if "users.json" in rel:
        try:
            users = parse_users(export.read(rel["users.json"]), "users.json")
        except (orjson.JSONDecodeError, ValueError, OSError) as e:
            report.problems.append(f"users.json: {_why(e)}; users skipped")
    else:
        report.notes.append("no users.json: authors are known by id only")
    by_folder: dict[str, dict[str, Any]] = {}
    for fname, ctype in METADATA_FILES.items():
        if fname not in rel:
            continue
        try:
            for row in parse_conversations(export.read(rel[fname]), ctype, fname):
                by_folder[row["folder"]] = row
        except (orjson.JSONDecodeError, ValueError, OSError) as e:
            report.problems.append(f"{fname}: {_why(e)}; its conversations are typed by guess")
    day_files: dict[str, list[str]] = defaultdict(list)
    others: list[str] = []
    for r in sorted(rel):
        folder, _, base = r.rpartition("/")
        if not folder:
            continue  # top-level files other than the metadata are not ours to read
        if "/" in folder or not DAY_FILE.match(base):
            others.append(r)
            continue
        day_files[folder].append(r)
    if others:
        report.notes.append(
            f"{len(others)} non-message files in conversation folders skipped: "
            + ", ".join(others[:5]) + (" ..." if len(others) > 5 else "")
        )
    not_folders = sorted(c["folder"] for c in by_folder.values() if c["folder"] in rel)
    if not_folders:
        report.notes.append(
            f"{len(not_folders)} conversations have a file where their folder should be, "
            "so no messages: " + ", ".join(not_folders[:10])
        )
    unlisted = sorted(f for f in day_files if f not in by_folder)
    for folder in unlisted:
        by_folder[folder] = guess_conversation(folder)
    if unlisted:
        report.notes.append(
            f"{len(unlisted)} folders not in any metadata file, typed by name: "
            + ", ".join(f"{f} ({by_folder[f]['conversation_type']})" for f in unlisted[:10])
        )
    return SlackLayout(root, by_folder, dict(day_files)), users


def _why(e: Exception) -> str:
    return "truncated or invalid JSON" if isinstance(e, orjson.JSONDecodeError) else str(e)


def _selected(conv: dict[str, Any], s: Settings) -> bool:
    names = {conv["id"], conv["name"], conv["folder"]}
    if s.include_channels and not names & set(s.include_channels):
        return False
    return not names & set(s.exclude_channels)


def iter_day_batches(
    export: Export, layout: SlackLayout, seen: set[tuple[str, str]], s: Settings, out_dir: Path,
    redact_key: bytes | None = None,
) -> tuple[list[DayBatch], int]:
    """Group the day files still to parse into batches of about `batch_bytes`.

    Skips files already parsed with the same signature, files before
    `since`, and conversations the settings exclude. Returns the batches
    and how many files were skipped as already loaded.
    """
    since = s.since.isoformat() if s.since else None
    batches: list[DayBatch] = []
    current: list[tuple[str, str, int, str]] = []
    size = 0
    already = 0
    for folder in sorted(layout.day_files):
        conv = layout.conversations[folder]
        if not _selected(conv, s):
            continue
        for r in layout.day_files[folder]:
            if since and posixpath.basename(r)[:10] < since:
                continue
            m = export.members[layout.root + r]
            if (r, m.signature) in seen:
                already += 1
                continue
            current.append((layout.root + r, conv["id"], m.size, m.signature))
            size += m.size
            if size >= s.batch_bytes:
                batches.append(_batch(export, current, out_dir, len(batches), redact_key))
                current, size = [], 0
    if current:
        batches.append(_batch(export, current, out_dir, len(batches), redact_key))
    return batches, already


def _batch(
    export: Export, files: list[tuple[str, str, int, str]], out_dir: Path, n: int,
    redact_key: bytes | None,
) -> DayBatch:
    from pipelines.sources.slack_parse import DayBatch

    return DayBatch(str(export.path), export.kind, tuple(files), str(out_dir / f"batch-{n:06d}.parquet"),
                    redact_key)


def settings_key(s: Settings) -> str:
    """Return what of the settings changes what a load takes (part of its fingerprint)."""
    key = f"{sorted(s.include_channels)}{sorted(s.exclude_channels)}{s.since}"
    # A redacted load of an export loaded in clear is not "unchanged": it replaces the rows.
    return key + ":redact" if s.redact else key


def load_slack(
    con: duckdb.DuckDBPyConnection, path: Path, progress: Progress | None = None,
    export: Export | None = None,
) -> LoadReport:
    """Load a Slack export into raw.*; idempotent and incremental. Return the report.

    `export` is `path` opened already (`picking.open_source_export`), to list a folder once.

    Raises ExportError when the export cannot be read at all (nothing written).
    """
    s = get_settings()
    report = LoadReport(SOURCE, str(path))
    export = export or open_export(path)
    report.fingerprint = export.fingerprint(settings_key(s))
    if find_unchanged(con, SOURCE, report.fingerprint):
        report.status = "unchanged"
        record_load(con, report)
        return report
    layout, users = iter_layout(export, report)
    report.problems.extend(export.refused)
    if not layout.day_files and not users:
        raise ExportError(f"{path}: a Slack export with no users and no conversation folders")

    key = redact.key_for(con) if s.redact else None
    if key is not None:
        users = redact.redact_users(users, key)
        layout.conversations = {
            f: c for f, c in zip(layout.conversations,
                                 redact.redact_conversations(list(layout.conversations.values()), key),
                                 strict=True)
        }
    added, replaced = _load_metadata(con, layout, users, report)
    report.rows_added += added
    report.rows_replaced += replaced

    seen = {(m[len(layout.root):], sig) for m, sig in known_signatures(con, SOURCE)}
    if key is not None:  # files loaded in clear are parsed again, to replace their text
        clear = {r[0] for r in con.execute(
            "select distinct _source_file from raw.slack_messages where text_redacted is null"
        ).fetchall()}
        seen = {(m, sig) for m, sig in seen if m not in clear}
    with tempfile.TemporaryDirectory(prefix=_scratch_prefix(con), dir=scratch_dir(con)) as scratch:
        batches, already = iter_day_batches(export, layout, seen, s, Path(scratch), key)
        if already:
            report.notes.append(
                f"{already} day files unchanged since an earlier load, not parsed again"
            )
        ledger = _parse_batches(batches, report, len(layout.root), s, progress)
        _insert_parquet(con, scratch, report, len(layout.root))
    if not ledger and not users and report.files_skipped:
        raise ExportError(f"{path}: nothing in it could be read ({report.problems[0]})")
    a, r = resolve_message_keys(con, report)
    report.rows_added += a
    report.rows_replaced += r
    record_files(con, SOURCE, report, ledger)
    report.status = "partial" if report.problems else "ok"
    record_load(con, report)
    return report


def _load_metadata(
    con: duckdb.DuckDBPyConnection, layout: SlackLayout, users: list[dict[str, Any]],
    report: LoadReport,
) -> tuple[int, int]:
    """Merge users and conversations; a guessed conversation never overwrites a listed one."""
    from pipelines.arrow import pa
    from pipelines.sources.slack_schemas import CONVERSATION_SCHEMA, USER_SCHEMA

    added = replaced = 0
    stamp = "?::varchar as _load_id, ?::timestamptz as _loaded_at"
    params = [report.load_id, report.started_at]
    if users:
        con.register("_users", pa.Table.from_pylist(users, schema=USER_SCHEMA))
        con.execute(
            f"create or replace temp table _users_in as select *, {stamp}, "
            "hash(*columns(* exclude (_source_file))) as _row_hash from _users", params
        )
        a, r = merge_keyed(con, "raw.slack_users", "_users_in", ["id"])
        added, replaced = added + a, replaced + r
    convs = list(layout.conversations.values())
    if convs:
        con.register("_convs", pa.Table.from_pylist(convs, schema=CONVERSATION_SCHEMA))
        for listed in (True, False):
            con.execute(
                f"create or replace temp table _convs_in as select *, {stamp}, "
                "hash(*columns(* exclude (_source_file))) as _row_hash from _convs "
                "where is_listed = ?", [*params, listed]
            )
            a, r = merge_keyed(con, "raw.slack_conversations", "_convs_in", ["id"], replace=listed)
            added, replaced = added + a, replaced + r
    return added, replaced


def _database_path(con: duckdb.DuckDBPyConnection) -> Path | None:
    rows = con.execute(
        "select path from duckdb_databases() where database_name = current_database()"
    ).fetchall()
    return Path(rows[0][0]) if rows and rows[0][0] else None


def _scratch_prefix(con: duckdb.DuckDBPyConnection) -> str:
    """Name scratch folders after the published database, so its next writer can clean up."""
    from pipelines.db import scratch_prefix

    path = _database_path(con)
    return scratch_prefix(redact.published_database(path)) if path else ".asyncpulse-batches-"


def scratch_dir(con: duckdb.DuckDBPyConnection) -> Path | None:
    """Return where parsed batches wait: the settings' scratch_dir, else beside the database."""
    s = get_settings()
    if s.scratch_dir:
        return s.scratch_dir
    path = _database_path(con)
    return path.parent if path else None


def _parse_batches(
    batches: list[DayBatch], report: LoadReport, strip: int, s: Settings, progress: Progress | None
) -> list[tuple[str, int, str, int]]:
    """Parse the batches on every core; record each file's outcome; return the ledger rows."""
    from pipelines.sources.slack_parse import parse_day_batch

    total = sum(f[2] for b in batches for f in b.files)
    workers = worker_count(s.workers) if total >= PARALLEL_MIN_BYTES else 1
    todo = sum(len(b.files) for b in batches)
    ledger: list[tuple[str, int, str, int]] = []
    for result in map_batches(parse_day_batch, batches, workers):
        for o in result.outcomes:
            report.files_read += 1
            if o.problem:
                report.files_skipped += 1
                report.problems.append(f"{o.member[strip:]}: {o.problem}; skipped")
            else:
                ledger.append((o.member[strip:], o.size, o.signature, o.rows))
        if progress:
            progress(report.files_read, todo)
    return ledger


VALID_TS = r"regexp_full_match(ts, '\d{1,12}(\.\d{1,9})?')"


def _insert_parquet(
    con: duckdb.DuckDBPyConnection, scratch: str, report: LoadReport, strip: int,
) -> None:
    """Append every parsed batch to raw.slack_messages in one parallel insert.

    Rows without a valid ts are dropped here and reported per file. Under
    `--redact` the batches hold no text already (the parse workers dropped it).
    """
    if not any(Path(scratch).glob("*.parquet")):
        return
    src = f"read_parquet('{Path(scratch) / '*.parquet'}')"
    limit = get_settings().max_text_chars
    # strlen counts bytes (no UTF-8 decoding): a text of more bytes than the limit is measured
    # in characters; only those are cut.
    too_long = f"strlen(text) > {limit:d} and length(text) > {limit:d}"
    for member, bad_ts, long_texts in con.execute(
        f"select _source_file, count(*) filter (ts is null or not {VALID_TS}), "
        f"count(*) filter ({too_long}) from {src} "
        f"where ts is null or not {VALID_TS} or strlen(text) > {limit:d} group by all order by 1"
    ).fetchall():
        if bad_ts:
            report.problems.append(f"{member[strip:]}: {bad_ts} messages without a valid ts; those dropped")
        if long_texts:
            report.notes.append(f"{member[strip:]}: {long_texts} messages over {limit:,} characters "
                                "cut to that length (max_text_chars)")
    con.execute(
        f"""insert into raw.slack_messages by name
        select * exclude (_source_file) replace (
                   case when {too_long} then left(text, {limit:d}) else text end as text),
               substr(_source_file, ?) as _source_file,
               ?::varchar as _load_id, ?::timestamptz as _loaded_at,
               hash(subtype, "user", text, thread_ts, reply_count, edited_ts, files, reactions,
                    bot_id, username, comment_user, profile_real_name, profile_display_name)
                 as _row_hash
        from {src} where {VALID_TS}""",
        [strip + 1, report.load_id, report.started_at],
    )


def resolve_message_keys(con: duckdb.DuckDBPyConnection, report: LoadReport) -> tuple[int, int]:
    """Make (conversation_id, ts) unique again after a load appended its rows; return (added, replaced).

    Rows are appended first and reconciled after, in three set operations,
    so the data is written once: a key repeated within this load keeps one
    row; a key loaded before keeps the old row when the content hash is the
    same (nothing changed) and the new row when it differs (an edit).
    """
    t = "raw.slack_messages"
    load_id = report.load_id
    repeats = con.execute(
        f"select count(*) from (select 1 from {t} where _load_id = ? group by conversation_id, ts "
        "having count(*) > 1)", [load_id]
    ).fetchall()[0][0]
    if repeats:
        report.notes.append(
            f"{repeats} messages appear more than once (same conversation and ts); each kept once"
        )
        con.execute(
            f"""delete from {t} where rowid in (
                select rid from (
                    select rowid as rid, row_number() over (
                        partition by conversation_id, ts order by _source_file desc, _row_hash desc) as rn
                    from {t} where _load_id = ?) where rn > 1)""", [load_id]
        )
    con.execute(
        f"""create or replace temp table _clash as
        select n.rowid as new_rid, o.rowid as old_rid, n._row_hash = o._row_hash as same
        from {t} n join {t} o on n.conversation_id = o.conversation_id and n.ts = o.ts
        where n._load_id = ? and o._load_id <> ?""", [load_id, load_id]
    )
    (new_rows,) = con.execute(f"select count(*) from {t} where _load_id = ?", [load_id]).fetchall()[0]
    clashes, replaced = con.execute(
        "select count(*), count(*) filter (not same) from _clash"
    ).fetchall()[0]
    if clashes:
        con.execute(f"delete from {t} where rowid in (select new_rid from _clash where same)")
        con.execute(f"delete from {t} where rowid in (select old_rid from _clash where not same)")
    con.execute("drop table _clash")
    return int(new_rows - clashes), int(replaced)

"""Parse Slack day files into Arrow columns: the per-message hot loop, run in worker processes.

Kept free of DuckDB and of the settings so a worker imports little. A batch
is a group of day files (usually of one conversation); its result is one
Arrow table plus an outcome per file. The loop per message only appends
values; typing and validation happen once per batch, vectorised, in Arrow
and then in SQL.

Two ways to read a day file, with one result. The fast way decodes it with
msgspec straight into typed structs of only the fields we keep (the rest of
a message, blocks and attachments, is skipped unparsed), then takes each
column with a list comprehension. The reference way (`append_messages`)
parses with orjson into dicts. A file the fast way does not accept as it is
(a value of another type, nesting too deep, a number orjson would read
differently) is read again the reference way, so what is kept and what is
skipped, and why, never depends on which way read it.
"""

from __future__ import annotations

import gc
from dataclasses import dataclass
from typing import Any

import msgspec
import orjson
import pyarrow.parquet as pq

from pipelines.arrow import pa
from pipelines.exports import read_member

# Columns a day file yields, in raw.slack_messages order (before the _-columns).
MESSAGE_FIELDS: tuple[tuple[str, pa.DataType], ...] = (
    ("ts", pa.string()),
    ("type", pa.string()),
    ("subtype", pa.string()),
    ("user", pa.string()),
    ("bot_id", pa.string()),
    ("username", pa.string()),
    ("text", pa.string()),
    ("thread_ts", pa.string()),
    ("parent_user_id", pa.string()),
    ("reply_count", pa.int64()),
    ("edited_ts", pa.string()),
    ("comment_user", pa.string()),
    ("profile_name", pa.string()),
    ("profile_real_name", pa.string()),
    ("profile_display_name", pa.string()),
    ("files", pa.string()),
    ("reactions", pa.string()),
)


FREE_TEXT = {"text", "files", "reactions"}
SHORT_COLUMNS = [
    "conversation_id", *(n for n, _ in MESSAGE_FIELDS if n not in FREE_TEXT), "_source_file",
]


@dataclass(frozen=True)
class DayBatch:
    """Day files to parse together: (member, conversation_id, size, signature) each.

    The rows go to `out` as a Parquet file, so a worker (a local process or a
    Dask worker) hands back only a path and the outcomes, never the data.
    """

    export_path: str
    kind: str
    files: tuple[tuple[str, str, int, str], ...]
    out: str
    # With `--redact`, the worker drops the text before writing `out` (pipelines.redact): the
    # scratch file never holds what the database will not.
    redact_key: bytes | None = None


@dataclass(frozen=True)
class FileOutcome:
    """How one day file went: rows parsed, or the problem that made us skip it."""

    member: str
    size: int
    signature: str
    rows: int
    problem: str | None = None


@dataclass
class BatchResult:
    """A parsed batch: its Parquet file (None when no file parsed) and an outcome per file."""

    parquet: str | None
    rows: int
    outcomes: list[FileOutcome]


def _json_text(value: object, field: str) -> str | None:
    """Return `value` as JSON text; ValueError (the file is skipped) if it cannot be written back.

    orjson reads 1024 levels of nesting but writes only 254, so a deeply
    nested `files` or `reactions` parses and then fails here.
    """
    if value is None:
        return None
    try:
        return orjson.dumps(value).decode()
    except orjson.JSONEncodeError as e:
        raise ValueError(f"field '{field}' cannot be stored ({e})") from e


def append_messages(msgs: object, cols: list[list[object]]) -> int:
    """Append the messages of one parsed day file to `cols`; return how many.

    Raises ValueError when the file is not an array of message objects.
    Slack quirks handled here: an edit is only visible as `edited.ts`; the
    legacy `file_comment` keeps its author in `comment.user`; old exports
    carry a single `file` instead of `files`.
    """
    if msgs.__class__ is not list:
        raise ValueError("not a JSON array of messages")
    (ts, typ, sub, user, bot, uname, text, thr, parent, rc, ets, cuser, pn, prn, pdn,
     files, reacts) = (c.append for c in cols)
    n = 0
    for m in msgs:  # type: ignore[attr-defined]
        if m.__class__ is not dict:
            raise ValueError(f"element {n} is not a message object")
        g = m.get
        ts(g("ts"))
        typ(g("type"))
        sub(g("subtype"))
        user(g("user"))
        bot(g("bot_id"))
        uname(g("username"))
        text(g("text"))
        thr(g("thread_ts"))
        parent(g("parent_user_id"))
        rc(g("reply_count"))
        e = g("edited")
        ets(e.get("ts") if e.__class__ is dict else None)
        c = g("comment")
        cuser(c.get("user") if c.__class__ is dict else None)
        p = g("user_profile")
        if p.__class__ is dict:
            pn(p.get("name"))
            prn(p.get("real_name"))
            pdn(p.get("display_name"))
        else:
            pn(None)
            prn(None)
            pdn(None)
        f = g("files")
        if f is None and "file" in m:
            f = [m["file"]]
        files(_json_text(f, "files"))
        reacts(_json_text(g("reactions"), "reactions"))
        n += 1
    return n


class _Edited(msgspec.Struct, gc=False):
    ts: str | None = None


class _Comment(msgspec.Struct, gc=False):
    user: str | None = None


class _Profile(msgspec.Struct, gc=False):
    name: str | None = None
    real_name: str | None = None
    display_name: str | None = None


class _Message(msgspec.Struct, gc=False):
    """The fields of a Slack message that raw.slack_messages keeps; the rest is skipped."""

    ts: str | None = None
    type: str | None = None
    subtype: str | None = None
    user: str | None = None
    bot_id: str | None = None
    username: str | None = None
    text: str | None = None
    thread_ts: str | None = None
    parent_user_id: str | None = None
    reply_count: int | None = None
    edited: _Edited | None = None
    comment: _Comment | None = None
    user_profile: _Profile | None = None
    files: list[Any] | None = None
    file: Any = msgspec.UNSET  # the legacy single file; null is a value here, absence is not
    reactions: list[Any] | None = None


_decode_day = msgspec.json.Decoder(list[_Message]).decode
_dumps = orjson.dumps


def _files_text(m: _Message) -> str | None:
    f = m.files
    if f is None and m.file is not msgspec.UNSET:
        f = [m.file]
    return None if f is None else _dumps(f).decode()


def append_messages_fast(data: bytes, cols: list[list[object]]) -> int:
    """Append the messages of one day file's bytes to `cols`, as `append_messages` would.

    Raises (ValueError, TypeError or RecursionError) on anything it does not
    take as it is; the caller then reads the file the reference way.
    """
    msgs = _decode_day(data)
    (ts, typ, sub, user, bot, uname, text, thr, parent, rc, ets, cuser, pn, prn, pdn,
     files, reacts) = (c.extend for c in cols)
    ts([m.ts for m in msgs])
    typ([m.type for m in msgs])
    sub([m.subtype for m in msgs])
    user([m.user for m in msgs])
    bot([m.bot_id for m in msgs])
    uname([m.username for m in msgs])
    text([m.text for m in msgs])
    thr([m.thread_ts for m in msgs])
    parent([m.parent_user_id for m in msgs])
    rc([m.reply_count for m in msgs])
    ets([None if (e := m.edited) is None else e.ts for m in msgs])
    cuser([None if (c := m.comment) is None else c.user for m in msgs])
    profiles = [m.user_profile for m in msgs]
    pn([None if p is None else p.name for p in profiles])
    prn([None if p is None else p.real_name for p in profiles])
    pdn([None if p is None else p.display_name for p in profiles])
    files([_files_text(m) for m in msgs])
    reacts([None if (r := m.reactions) is None else _dumps(r).decode() for m in msgs])
    return len(msgs)


def _columns_to_arrays(cols: list[list[object]], lo: int, hi: int) -> list[pa.Array]:
    return [
        pa.array(c[lo:hi], type=t) for c, (_, t) in zip(cols, MESSAGE_FIELDS, strict=True)
    ]


def _wrong_type(cols: list[list[object]], lo: int, hi: int) -> str | None:
    """Name the first field of rows lo..hi whose values do not fit its type."""
    for c, (name, t) in zip(cols, MESSAGE_FIELDS, strict=True):
        try:
            pa.array(c[lo:hi], type=t)
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError, TypeError):
            return f"field '{name}' has a value of the wrong type"
    return None


def parse_day_batch(batch: DayBatch) -> BatchResult:
    """Parse every day file of `batch`; skip (and say why) any file that is not valid.

    The cyclic garbage collector is paused meanwhile: parsed JSON makes no
    cycles, and collecting while a day file's dicts are alive costs ~45% of
    the parse time.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        table, outcomes = _parse_day_batch(batch)
    finally:
        if was_enabled:
            gc.enable()
    if table is None:
        return BatchResult(None, 0, outcomes)
    if batch.redact_key is not None:
        table = _redact(table, batch.redact_key)
    # Uncompressed: the file lives for seconds on the same disk; encoding is what we want
    # done in parallel here, not compression.
    # Free text (text, files, reactions) gets neither a dictionary nor min/max statistics:
    # its values rarely repeat, and statistics of one 50 MB message cost ~5x its size in memory.
    pq.write_table(table, batch.out, compression="none", use_dictionary=SHORT_COLUMNS,
                   write_statistics=SHORT_COLUMNS)
    return BatchResult(batch.out, table.num_rows, outcomes)


def _redact(table: pa.Table, key: bytes) -> pa.Table:
    """Return the batch with text dropped and the flags the metrics need kept (pipelines.redact)."""
    import duckdb

    from pipelines import redact

    con = duckdb.connect()
    try:
        con.register("_batch", table)
        return con.sql(f"from {redact.redact_messages(con, '_batch', key)}").to_arrow_table()
    finally:
        con.close()


def _parse_day_batch(batch: DayBatch) -> tuple[pa.Table | None, list[FileOutcome]]:
    cols: list[list[object]] = [[] for _ in MESSAGE_FIELDS]
    outcomes: list[FileOutcome] = []
    spans: list[tuple[int, int, str, str]] = []  # (lo, hi, conversation_id, member)
    for member, conversation_id, size, signature in batch.files:
        lo = len(cols[0])
        try:
            data = read_member(batch.export_path, batch.kind, member)  # type: ignore[arg-type]
            try:
                n = append_messages_fast(data, cols)
            except (ValueError, TypeError, RecursionError):
                for c in cols:
                    del c[lo:]
                n = append_messages(orjson.loads(data), cols)  # the reference way, and its errors
            del data  # a day file can be large: hold its bytes no longer than its parse
        except (orjson.JSONDecodeError, ValueError, OSError, AttributeError) as e:
            for c in cols:
                del c[lo:]
            why = "truncated or invalid JSON" if isinstance(e, orjson.JSONDecodeError) else str(e)
            outcomes.append(FileOutcome(member, size, signature, 0, why))
            continue
        spans.append((lo, lo + n, conversation_id, member))
        outcomes.append(FileOutcome(member, size, signature, n))
    if not spans or not cols[0]:
        return None, outcomes
    try:
        arrays = _columns_to_arrays(cols, 0, len(cols[0]))
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError, TypeError):
        # Rare: some file has a value of the wrong type. Find it, skip it, keep the rest.
        bad: dict[str, str] = {}
        for lo, hi, _, member in spans:
            wrong = _wrong_type(cols, lo, hi)
            if wrong:
                bad[member] = wrong
        outcomes = [
            FileOutcome(o.member, o.size, o.signature, 0, bad[o.member]) if o.member in bad else o
            for o in outcomes
        ]
        keep = [s for s in spans if s[3] not in bad]
        if not keep:
            return None, outcomes
        cols = [[v for lo, hi, _, _ in keep for v in c[lo:hi]] for c in cols]
        spans, pos = [], 0
        for lo, hi, cid, member in keep:
            spans.append((pos, pos + hi - lo, cid, member))
            pos += hi - lo
        arrays = _columns_to_arrays(cols, 0, pos)
    table = pa.Table.from_arrays(arrays, names=[n for n, _ in MESSAGE_FIELDS])
    # Conversation and source file repeat for every row of a file: dictionary-encode them.
    idx: list[int] = []
    for k, (lo, hi, _, _) in enumerate(spans):
        idx.extend([k] * (hi - lo))
    indices = pa.array(idx, type=pa.int32())
    conv = pa.DictionaryArray.from_arrays(indices, pa.array([s[2] for s in spans]))
    src = pa.DictionaryArray.from_arrays(indices, pa.array([s[3] for s in spans]))
    table = table.add_column(0, "conversation_id", conv).append_column("_source_file", src)
    return table, outcomes

"""What `fetch` keeps between calls: cursors in `raw.fetch_state`, and run folders on disk.

Cursors are read before a fetch and written in the transaction of its
ingest. A run folder (one per fetch, under the drop folder) holds what the
run got; FETCHED says it is complete, LOADED that its ingest was published,
KEEP that it was written for the user to load (`--no-ingest`). The newest
folder without LOADED or KEEP is a fetch a kill interrupted: the next call
continues it.
"""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from pipelines.sources.http import FetchError, Page, write_atomic


@dataclass(frozen=True)
class StateRow:
    """One cursor: what was fetched of `item` in `scope`, as of `run_dir`."""

    source: str
    scope: str
    item: str
    cursor: str | None
    floor: str | None = None
    status: str = "ok"
    note: str | None = None
    run_dir: str | None = None


def read_state(database: Path, source: str, scope: str | None = None) -> dict[tuple[str, str], StateRow]:
    """Return {(scope, item): row} stored for `source` (empty without a database or table)."""
    if not Path(database).exists():
        return {}
    from pipelines.db import connect_reader

    con = connect_reader(Path(database))
    try:
        return read_state_con(con, source, scope)
    finally:
        con.close()


def read_state_con(
    con: duckdb.DuckDBPyConnection, source: str, scope: str | None = None
) -> dict[tuple[str, str], StateRow]:
    """`read_state` on an open connection."""
    (n,) = con.execute(
        "select count(*) from duckdb_tables() where schema_name = 'raw' and table_name = 'fetch_state'"
    ).fetchall()[0]
    if not n:
        return {}
    rows = con.execute(
        "select source, scope, item, cursor, floor, status, note, run_dir from raw.fetch_state "
        "where source = ? and (? is null or scope = ?)", [source, scope, scope]
    ).fetchall()
    return {(r[1], r[2]): StateRow(*r) for r in rows}


def write_state(con: duckdb.DuckDBPyConnection, rows: list[StateRow]) -> None:
    """Upsert `rows` into raw.fetch_state (the caller's transaction makes it atomic with its load)."""
    if not rows:
        return
    from pipelines.arrow import pa

    now = datetime.now(UTC)
    cols = ["source", "scope", "item", "cursor", "floor", "status", "note", "run_dir"]
    tbl = pa.table({c: [getattr(r, c) for r in rows] for c in cols})
    con.register("_state_in", tbl)
    try:
        con.execute(
            "delete from raw.fetch_state t using _state_in i "
            "where t.source = i.source and t.scope = i.scope and t.item = i.item"
        )
        con.execute(
            'insert into raw.fetch_state select source, scope, item, cursor, floor, status, note, '
            "run_dir, ?::timestamptz from (select distinct on (source, scope, item) * from _state_in)",
            [now],
        )
    finally:
        con.unregister("_state_in")


def pending_run(folder: Path) -> Path | None:
    """Return the newest run folder a killed fetch left unfinished (or fetched but not loaded)."""
    if not folder.is_dir():
        return None
    runs = sorted(p for p in folder.iterdir() if p.is_dir() and p.name[:1].isdigit())
    if not runs or (runs[-1] / "LOADED").exists() or (runs[-1] / "KEEP").exists():
        return None
    return runs[-1]


@contextlib.contextmanager
def folder_lock(folder: Path, what: str) -> Iterator[None]:
    """Hold `folder`'s fetch lock: two fetches of one source would write one run folder."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "a+") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise FetchError(f"another fetch of {what} is running ({folder}); try later") from None
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def new_run_dir(folder: Path) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    run, n = folder / stamp, 1
    while run.exists():
        n += 1
        run = folder / f"{stamp}-{n}"
    (run / "work").mkdir(parents=True)
    return run


class PageLog:
    """Keep every page as it came, numbered, for a user to audit (`pages/NNNNN.http`)."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder
        self.n = len(list(folder.glob("*.http"))) if folder and folder.is_dir() else 0

    def write(self, page: Page) -> None:
        if self.folder is None:
            return
        self.n += 1
        head = [f"GET {page.url}", f"HTTP {page.status}" + (" (unchanged: the body is the cached one)"
                                                          if page.from_cache else "")]
        head += [f"{k}: {v}" for k, v in sorted(page.headers.items())]
        write_atomic(self.folder / f"{self.n:05d}.http", "\n".join(head).encode() + b"\n\n" + page.body)

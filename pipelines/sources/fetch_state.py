"""The cursors of `fetch`, in `raw.fetch_state`: read before a fetch, written with its ingest."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb


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

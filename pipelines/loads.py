"""What every loader shares: the load report, `raw.loads`, the file ledger and keyed merges."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import duckdb

from pipelines.db import fetch_row
from pipelines.exitcodes import EXIT_FAILED, EXIT_OK, EXIT_PARTIAL

if TYPE_CHECKING:  # pyarrow loads when rows are written, not to find an export unchanged
    import pyarrow as pa


@dataclass
class LoadReport:
    """The outcome of one ingest, as recorded in `raw.loads`."""

    source: str
    path: str
    load_id: str = field(default_factory=lambda: uuid.uuid4().hex[:16])
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    finished_at: datetime | None = None
    fingerprint: str | None = None
    status: str = "ok"
    files_read: int = 0
    files_skipped: int = 0
    rows_added: int = 0
    rows_replaced: int = 0
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return {"ok": EXIT_OK, "unchanged": EXIT_OK, "partial": EXIT_PARTIAL}.get(
            self.status, EXIT_FAILED
        )

    def summary(self) -> str:
        """Return one line for the terminal."""
        if self.status == "unchanged":
            return f"{self.source}: {self.path} unchanged since it was last loaded; nothing to do"
        return (
            f"{self.source}: {self.status}; {self.files_read} files read, "
            f"{self.files_skipped} skipped; {self.rows_added} rows added, "
            f"{self.rows_replaced} replaced"
        )


def _has_loads(con: duckdb.DuckDBPyConnection) -> bool:
    (tables,) = fetch_row(
        con, "select count(*) from duckdb_tables() where schema_name = 'raw' and table_name = 'loads'"
    )
    return bool(tables)


def loaded_before(con: duckdb.DuckDBPyConnection, source: str) -> bool:
    """Say whether any export of `source` was loaded into this database."""
    return _has_loads(con) and bool(
        fetch_row(con, "select count(*) from raw.loads where source = ?", [source])[0]
    )


def find_unchanged(con: duckdb.DuckDBPyConnection, source: str, fingerprint: str) -> bool:
    """Say whether an export with this fingerprint was already loaded (False with no raw.loads)."""
    if not _has_loads(con):
        return False
    (n,) = fetch_row(
        con,
        "select count(*) from raw.loads where source = ? and fingerprint = ? "
        "and status in ('ok', 'partial', 'unchanged')",
        [source, fingerprint],
    )
    return bool(n)


def record_load(con: duckdb.DuckDBPyConnection, r: LoadReport) -> None:
    """Append the report as a `raw.loads` row."""
    r.finished_at = r.finished_at or datetime.now(UTC)
    con.execute(
        "insert into raw.loads values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            r.load_id, r.source, r.path, r.fingerprint, r.started_at, r.finished_at, r.status,
            r.files_read, r.files_skipped, r.rows_added, r.rows_replaced, r.problems, r.notes,
        ],
    )


def known_signatures(con: duckdb.DuckDBPyConnection, source: str) -> set[tuple[str, str]]:
    """Return (member, signature) of every file already parsed cleanly for `source`."""
    rows = con.execute(
        "select distinct member, signature from raw.export_files where source = ?", [source]
    ).fetchall()
    return {(m, s) for m, s in rows}


def record_files(
    con: duckdb.DuckDBPyConnection, source: str, r: LoadReport, files: list[tuple[str, int, str, int]]
) -> None:
    """Add (member, bytes, signature, rows) of cleanly parsed files to the ledger."""
    from pipelines.arrow import pa

    if not files:
        return
    members, sizes, sigs, rows = (list(x) for x in zip(*files, strict=True))
    tbl = pa.table({"member": members, "bytes": sizes, "signature": sigs, "rows": rows})
    con.register("_ledger_in", tbl)
    try:
        con.execute(
            "delete from raw.export_files e using _ledger_in i "
            "where e.source = ? and e.member = i.member",
            [source],
        )
        con.execute(
            "insert into raw.export_files select ?, member, bytes, signature, rows, ?, ? "
            "from _ledger_in",
            [source, r.load_id, r.started_at],
        )
    finally:
        con.unregister("_ledger_in")


def merge_keyed(
    con: duckdb.DuckDBPyConnection, target: str, incoming: str, keys: list[str],
    *, replace: bool = True,
) -> tuple[int, int]:
    """Merge relation `incoming` into table `target` by `keys`; return (added, replaced).

    `incoming` has the target's columns including `_row_hash`. Rows whose key
    is new are added; rows whose key exists with another hash replace it (or
    are left alone when `replace` is false). Duplicate keys in `incoming`
    keep one row, deterministically.
    """
    on = " and ".join(f't."{k}" = i."{k}"' for k in keys)
    part = ", ".join(f'"{k}"' for k in keys)
    con.execute(
        f"""create or replace temp table _merge as
        select i.*, t._row_hash is not null as _exists
        from (select * from {incoming}
              qualify row_number() over (partition by {part}
                                         order by _source_file desc, _row_hash desc) = 1) i
        left join {target} t on {on}
        where t._row_hash is distinct from i._row_hash"""
        + ("" if replace else " and t._row_hash is null")
    )
    added, replaced = fetch_row(
        con, "select count(*) filter (not _exists), count(*) filter (_exists) from _merge"
    )
    if replaced:
        con.execute(f"delete from {target} t using _merge i where {on}")
    con.execute(f"insert into {target} by name select * exclude (_exists) from _merge")
    con.execute("drop table _merge")
    return int(added), int(replaced)  # type: ignore[call-overload]


def as_arrow(rows: list[dict[str, Any]], schema: pa.Schema) -> pa.Table:
    """Build an Arrow table of `schema` from row dicts (metadata files are small)."""
    from pipelines.arrow import pa

    return pa.Table.from_pylist(rows, schema=schema)

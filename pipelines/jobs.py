"""The operations the CLI and the Prefect flow share: ingest, build, run.

`*_into` functions work on an open connection (the flow's tasks use them on
the run's private copy); the plain functions wrap them in the copy-and-swap
writer of `pipelines.db`, so each is atomic on its own.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path

import duckdb

from pipelines import db
from pipelines.exports import Export, ExportError
from pipelines.loads import LoadReport
from pipelines.people import load_people
from pipelines.progress import Progress, stderr_progress

Loader = Callable[[duckdb.DuckDBPyConnection, Path, Progress | None, Export | None], LoadReport]


def _loader(source: str) -> Loader:
    if source == "slack":
        from pipelines.sources.slack import load_slack

        return load_slack
    if source == "github":
        from pipelines.sources.github import load_github

        return load_github
    raise ValueError(f"unknown source {source!r}: expected 'slack' or 'github'")


def ingest_into(
    work: Path, source: str, path: Path, export: Export | None = None,
    also: Callable[[duckdb.DuckDBPyConnection], None] | None = None,
) -> LoadReport:
    """Load one export into the database at `work`, all or nothing (one transaction).

    `export` is `path` opened already, when the caller listed it (`ingest`).
    `also` writes more in the same transaction (`fetch` stores its cursors with the data).
    """
    loader = _loader(source)
    con = db.connect_writer(work)
    try:
        db.ensure_raw(con)
        con.begin()
        try:
            report = loader(con, Path(path), stderr_progress(f"parsing {source} export"), export)
            if report.status != "unchanged":
                from pipelines.forget import apply_forgotten

                apply_forgotten(con)  # a forgotten person stays forgotten
            if also is not None:
                also(con)
        except BaseException:
            con.rollback()
            raise
        con.commit()
        return report
    finally:
        con.close()


def build_into(work: Path, people: Path | None = None) -> dict[str, int]:
    """Store `people` if given, then rebuild staging, intermediate and marts at `work`.

    `work` is a private copy (`db.private_copy`): it is published only if this
    returns, so the build itself runs outside a transaction, each model
    committed as it is made. One transaction over the whole build cost 0.7 s
    more at a million messages (its commit and the checkpoint after it), for
    an atomicity the copy already gives. A build run again after a failure
    starts by dropping every derived layer. The people file is still stored
    in one transaction, so a failure there leaves the copy's people as they were.
    """
    con = db.connect_writer(work)
    try:
        db.ensure_raw(con)
        if people is not None:
            con.begin()
            try:
                load_people(con, Path(people))
                from pipelines.forget import apply_forgotten

                apply_forgotten(con)
            except BaseException:
                con.rollback()
                raise
            con.commit()
        return db.build(con)
    finally:
        con.close()


def ingest(database: Path, source: str, path: Path) -> LoadReport:
    """Load one export into `database`, atomically."""
    database = Path(database)
    if not Path(path).exists():  # before the lock: a typo makes no data/ folder and no lock file
        raise ExportError(f"{path}: no such file or folder")
    with db.writer_lock(database):
        report, export = _record_if_unchanged(database, source, Path(path))
        if report is not None:
            return report
        with db.private_copy(database) as work:
            return ingest_into(work, source, path, export)


def ingest_fetched(
    database: Path, source: str, path: Path, also: Callable[[duckdb.DuckDBPyConnection], None]
) -> LoadReport:
    """Load what `fetch` wrote at `path` and its cursors (`also`) into `database`, atomically."""
    with db.writable_copy(Path(database)) as work:
        return ingest_into(work, source, path, also=also)


def store_fetch_state(
    database: Path, write: Callable[[duckdb.DuckDBPyConnection], None], in_copy: bool = False
) -> None:
    """Write `fetch` cursors alone (nothing new was fetched, but a cursor moved), atomically.

    `in_copy`: `database` is a run's private copy already, written directly.
    """
    with contextlib.ExitStack() as stack:
        work = database if in_copy else stack.enter_context(db.writable_copy(Path(database)))
        con = db.connect_writer(work)
        try:
            db.ensure_raw(con)
            con.begin()
            write(con)
            con.commit()
        finally:
            con.close()


def _record_if_unchanged(
    database: Path, source: str, path: Path
) -> tuple[LoadReport | None, Export | None]:
    """Record an unchanged export's `raw.loads` row in place, without copying the database.

    Returns (None, the export if it was opened) when the export is new or
    changed, or when someone has the database open: the caller then loads
    through a private copy, reusing the listing. The re-run of an unchanged
    export costs its fingerprint and one row, not a copy of the whole file.
    """
    from pipelines.loads import find_unchanged, loaded_before, record_load
    from pipelines.sources.picking import fingerprint_of, open_source_export

    con = db.connect_in_place(database)
    if con is None:
        return None, None
    try:
        if not loaded_before(con, source):
            return None, None  # a first load of this source: nothing to compare with
        export = open_source_export(source, path)
        report = LoadReport(source, str(path))
        report.fingerprint = fingerprint_of(source, export)
        if not find_unchanged(con, source, report.fingerprint):
            return None, export
        report.status = "unchanged"
        con.begin()
        record_load(con, report)
        con.commit()
        return report, export
    finally:
        con.close()


def build(database: Path, people: Path | None = None) -> dict[str, int]:
    """Rebuild the derived layers of `database`, atomically."""
    with db.writable_copy(database) as work:
        return build_into(work, people)

"""A nightly run's own record, `raw.runs`: when it ran, whether it worked, and why not.

`raw.loads` says what each ingest took; `raw.runs` says how the whole run
went, so "last run" and "problems" can be shown even when a run loaded
nothing. An ok run's row is written into the run's private copy and
published with its data. A failed run's copy is discarded first, then
`record_failed_run` appends the failed row alone, in a second short
copy-and-swap of the database as it was: that row is the only change a
failed run makes.
"""

from __future__ import annotations

import sys
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from pipelines import db


@dataclass
class RunRecord:
    """One run, as recorded in `raw.runs`."""

    flow_run_id: str | None = None
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:16])
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    finished_at: datetime | None = None
    status: str = "running"
    error: str | None = None
    load_ids: list[str] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)

    def fail(self, error: BaseException) -> None:
        """Mark the run failed with the first line of `error`."""
        lines = str(error).strip().splitlines()
        self.status = "failed"
        self.load_ids = []  # discarded with the run's copy
        self.error = f"{type(error).__name__}: {lines[0] if lines else ''}".rstrip(": ")
        self.finished_at = datetime.now(UTC)


def _runs_ddl() -> str:
    (f,) = [f for f in db.sql_files("raw") if f.stem == "runs"]
    return f.read_text()


def record_run(work: Path, run: RunRecord) -> None:
    """Append `run` to raw.runs of the database at `work` (creating only that table if missing)."""
    run.finished_at = run.finished_at or datetime.now(UTC)
    if run.status == "running":
        run.status = "ok"
    con = db.connect_writer(work)
    try:
        con.execute("create schema if not exists raw")
        con.execute(_runs_ddl())
        con.execute(
            "insert into raw.runs values (?, ?, ?, ?, ?, ?, ?, ?)",
            [run.run_id, run.flow_run_id, run.started_at, run.finished_at, run.status, run.error,
             run.load_ids, run.steps],
        )
    finally:
        con.close()


def record_failed_run(database: Path, run: RunRecord) -> bool:
    """Append a failed run's row to `database` alone, atomically; return whether it was written.

    Nothing is written when there is no database yet (a failed first run
    creates nothing) or when the write itself fails (said on stderr; the
    run's own error is what matters).
    """
    if not Path(database).exists():
        return False
    try:
        with db.writable_copy(Path(database)) as work:
            record_run(work, run)
    except Exception as e:
        print(f"could not record the failed run in raw.runs: {e}", file=sys.stderr)
        return False
    return True

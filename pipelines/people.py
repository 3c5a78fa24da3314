"""The optional people file (README, "People"): who is who across sources, and their working hours."""

from __future__ import annotations

from pathlib import Path

import duckdb

from pipelines.db import fetch_row
from pipelines.loads import LoadReport, record_load
from pipelines.settings import get_settings

COLUMNS = ("person", "slack_id", "email", "github_login", "tz", "work_start", "work_end",
           "workdays", "team")


class PeopleFileError(Exception):
    """The people file cannot be used; the message is one line naming the file."""


def load_people(con: duckdb.DuckDBPyConnection, path: Path) -> LoadReport:
    """Replace raw.people with the rows of `path` (kept for later builds)."""
    report = LoadReport("people", str(path))
    if not path.is_file():
        raise PeopleFileError(f"{path}: no such file")
    try:
        rel = con.sql(
            "select * from read_csv(?, header = true, all_varchar = true, auto_detect = true)",
            params=[str(path)],
        )
        header = [c.strip().lower() for c in rel.columns]
    except duckdb.Error as e:
        raise PeopleFileError(f"{path}: not a readable CSV ({str(e).splitlines()[0]})") from e
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise PeopleFileError(f"{path}: missing column(s) {', '.join(missing)}")
    cols = ", ".join(f'nullif(trim("{rel.columns[header.index(c)]}"), \'\') as {c}' for c in COLUMNS)
    con.execute("delete from raw.people")
    con.execute(
        f"insert into raw.people select {cols}, ?, ?, ? from read_csv(?, header = true, "
        "all_varchar = true) where nullif(trim(person), '') is not null",
        [path.name, report.load_id, report.started_at, str(path)],
    )
    if get_settings().redact:
        from pipelines import redact

        redact.redact_people(con, redact.key_for(con))
    report.rows_added = int(fetch_row(con, "select count(*) from raw.people")[0])  # type: ignore[call-overload]
    report.files_read = 1
    record_load(con, report)
    return report

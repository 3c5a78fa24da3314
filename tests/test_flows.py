"""The real Prefect flow `nightly` under prefect_test_harness (one temporary server for the file)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from pipelines.db import sql_files
from tests.conftest import query
from tests.helpers import ROWS_ADDED, digest, leftovers, make_workspace, messages_per_conversation
from tests.workspace import FACTS, USERS


@pytest.fixture(scope="session")
def prefect_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Start Prefect's temporary server once (about 15 s); telemetry off, home in tmp."""
    os.environ["PREFECT_HOME"] = str(tmp_path_factory.mktemp("prefect-home"))
    os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    os.environ["DO_NOT_TRACK"] = "1"
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=60):
        yield


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    return make_workspace(tmp_path / "export")


def run_nightly(db: Path, **kw: Any) -> Any:
    """Run the flow and return its final state (a failure does not raise here)."""
    from pipelines.flows import nightly

    return nightly(db=str(db), return_state=True, **kw)


def loads(db: Path) -> list[tuple[Any, ...]]:
    return query(
        db, "select source, status, files_read, files_skipped, rows_added, rows_replaced "
        "from raw.loads order by started_at"
    ).rows()


def staging(db: Path) -> dict[str, pl.DataFrame]:
    """Every staging table, in a stable order."""
    names = query(
        db, "select table_name from duckdb_tables() where schema_name = 'staging' order by 1"
    )["table_name"].to_list()
    return {
        n: query(db, f"select * from staging.{n} order by all") for n in names
    }


OK_LOAD = ("slack", "ok", FACTS["day_files"], 0, ROWS_ADDED, 0)


@pytest.fixture
def spy_build(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Record every call of jobs.build_into (and call through)."""
    from pipelines import jobs

    calls: list[Path] = []
    real = jobs.build_into

    def build_into(work: Path, people: Path | None = None) -> dict[str, int]:
        calls.append(work)
        return real(work, people)

    monkeypatch.setattr(jobs, "build_into", build_into)
    return calls


def test_nightly_loads_and_builds_the_sample_workspace(
    prefect_server: None, db_path: Path, workspace: Path, spy_build: list[Path]
) -> None:
    state = run_nightly(db_path, slack=str(workspace))
    assert state.is_completed(), state
    (report,) = state.result()
    assert (report["status"], report["rows_added"]) == ("ok", ROWS_ADDED)
    assert len(spy_build) == 1
    assert loads(db_path) == [OK_LOAD]
    assert messages_per_conversation(db_path) == FACTS["per_conversation"]
    assert messages_per_conversation(db_path, "staging.stg_slack__messages") == FACTS["per_conversation"]
    assert query(
        db_path, "select conversation_id, conversation_type, folder, is_listed "
        "from staging.stg_slack__conversations order by conversation_id"
    ).rows() == FACTS["conversations"]
    assert query(db_path, "select count(*) filter (is_human) as n from staging.stg_slack__messages"
                 ).item() == FACTS["human"]
    assert query(db_path, "select user_id from staging.stg_slack__users order by 1")[
        "user_id"].to_list() == sorted(u["id"] for u in USERS)
    assert leftovers(db_path) == []


def test_nightly_again_is_unchanged_and_skips_the_build(
    prefect_server: None, db_path: Path, workspace: Path, spy_build: list[Path]
) -> None:
    assert run_nightly(db_path, slack=str(workspace)).is_completed()
    before = staging(db_path)
    # every staging model, and the settings row the models read
    assert set(before) == {f.stem for f in sql_files("staging")} | {"build_settings"}

    state = run_nightly(db_path, slack=str(workspace))
    assert state.is_completed(), state
    (report,) = state.result()
    assert (report["status"], report["rows_added"], report["rows_replaced"]) == ("unchanged", 0, 0)
    assert len(spy_build) == 1  # the first run's build only
    assert loads(db_path) == [OK_LOAD, ("slack", "unchanged", 0, 0, 0, 0)]
    after = staging(db_path)
    assert list(after) == list(before)
    for name in before:
        assert_frame_equal(after[name], before[name])


def test_nightly_with_a_failing_build_leaves_the_database(
    prefect_server: None, db_path: Path, workspace: Path, tmp_path: Path
) -> None:
    assert run_nightly(db_path, slack=str(workspace)).is_completed()
    before = digest(db_path)
    newer = make_workspace(tmp_path / "newer")  # another export: ingest would add a load row

    people = tmp_path / "no-such-people.csv"
    state = run_nightly(db_path, slack=str(newer), people=str(people))
    assert state.is_failed(), state
    error = state.result(raise_on_failure=False)
    assert (type(error).__name__, str(error)) == ("PeopleFileError", f"{people}: no such file")
    assert digest(db_path) == before
    assert loads(db_path) == [OK_LOAD]
    assert leftovers(db_path) == []


def test_nightly_on_a_new_database_that_fails_creates_nothing(
    prefect_server: None, db_path: Path, workspace: Path, tmp_path: Path
) -> None:
    state = run_nightly(db_path, slack=str(workspace), people=str(tmp_path / "missing.csv"))
    assert state.is_failed(), state
    assert not db_path.exists()
    assert leftovers(db_path) == []


@pytest.mark.parametrize("where", ["before the load", "inside the load transaction"])
def test_ingest_task_retries_a_transient_failure_without_duplicates(
    where: str, prefect_server: None, db_path: Path, workspace: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from pipelines import flows, jobs
    from pipelines.sources import slack

    # The real retry policy (retries=2) without its 2 s wait, so the test stays quick.
    assert flows.ingest_task.retries == 2
    monkeypatch.setattr(flows, "ingest_task", flows.ingest_task.with_options(retry_delay_seconds=0))
    attempts: list[str] = []
    if where == "before the load":
        real_ingest = jobs.ingest_into

        def ingest_into(work: Path, source: str, path: Path) -> Any:
            attempts.append(source)
            if len(attempts) == 1:
                raise OSError("network file system went away")
            return real_ingest(work, source, path)

        monkeypatch.setattr(jobs, "ingest_into", ingest_into)
    else:
        # Fail after every row was merged, just before raw.loads is written: the
        # transaction must roll back so the retry does not add the rows twice.
        real_record = slack.record_load

        def record_load(con: Any, report: Any) -> None:
            attempts.append(report.status)
            if len(attempts) == 1:
                assert con.execute("select count(*) from raw.slack_messages").fetchall() == [
                    (FACTS["messages"],)
                ]
                raise OSError("disk hiccup")
            real_record(con, report)

        monkeypatch.setattr(slack, "record_load", record_load)

    state = run_nightly(db_path, slack=str(workspace))
    assert state.is_completed(), state
    assert len(attempts) == 2
    assert loads(db_path) == [OK_LOAD]
    assert messages_per_conversation(db_path) == FACTS["per_conversation"]
    assert query(
        db_path, "select count(*) as n, count(distinct (conversation_id, ts)) as keys "
        "from raw.slack_messages"
    ).rows() == [(FACTS["messages"], FACTS["messages"])]
    assert query(db_path, "select count(*) as n from raw.export_files").item() == FACTS["day_files"]


def test_cli_run_uses_the_flow(
    prefect_server: None, db_path: Path, workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from pipelines.cli import main

    assert main(["run", "--slack", str(workspace), "--db", str(db_path)]) == 0
    err = capsys.readouterr().err
    assert (
        f"slack: ok; {FACTS['day_files']} files read, 0 skipped; {ROWS_ADDED} rows added, 0 replaced"
        in err.splitlines()
    )
    assert loads(db_path) == [OK_LOAD]
    assert messages_per_conversation(db_path, "staging.stg_slack__messages") == FACTS["per_conversation"]

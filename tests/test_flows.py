"""The real Prefect flow `nightly` under prefect_test_harness (one temporary server for the file).

Atomicity is proved by injecting failures at every step of a run (each
ingest, mid-build, the publish) and comparing every data table before and
after: a failed run changes nothing but its own row in `raw.runs`, and the
next run succeeds.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from pipelines.db import sql_files
from tests.conftest import query
from tests.github_history import gh_prs, write_gh
from tests.helpers import (
    ROWS_ADDED,
    leftovers,
    make_newer_workspace,
    make_workspace,
    messages_per_conversation,
)
from tests.workspace import FACTS, USERS


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


def run_rows(db: Path) -> list[tuple[Any, ...]]:
    """(status, error, steps) of every raw.runs row, oldest first."""
    return query(db, "select status, error, steps from raw.runs order by started_at").rows()


def data(db: Path) -> dict[str, pl.DataFrame]:
    """Every table of every schema but raw.runs (a failed run's only change), sorted."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        names = [t for (t,) in con.execute(
            "select table_schema || '.' || table_name from information_schema.tables "
            "where (table_schema, table_name) != ('raw', 'runs') order by 1"
        ).fetchall()]
        return {n: con.sql(f"select * from {n} order by all").pl() for n in names}
    finally:
        con.close()


def assert_same_data(got: dict[str, pl.DataFrame], want: dict[str, pl.DataFrame]) -> None:
    assert list(got) == list(want)
    for name in want:
        assert_frame_equal(got[name], want[name], check_row_order=True)


def staging(db: Path) -> dict[str, pl.DataFrame]:
    """Every staging relation (tables and views), in a stable order."""
    names = query(
        db, "select table_name from information_schema.tables where table_schema = 'staging' order by 1"
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
    # the run's own record: Prefect's flow run id, the load it added, its steps
    ((run_id, flow_run_id, status, error, load_ids, steps),) = query(
        db_path, "select run_id, flow_run_id, status, error, load_ids, steps from raw.runs"
    ).rows()
    assert (flow_run_id, status, error) == (str(state.state_details.flow_run_id), "ok", None)
    assert load_ids == [report["load_id"]]
    # every model of the three layers (the settings row and agreements the models read are no model)
    models = query(
        db_path, "select count(*) as n from information_schema.tables where table_schema in "
        "('staging', 'intermediate', 'marts') and table_name not in ('build_settings', 'agreements')"
    ).item()
    assert steps == [f"slack: ok {workspace}", f"build: {models} relations"]


def test_nightly_again_is_unchanged_and_skips_the_build(
    prefect_server: None, db_path: Path, workspace: Path, spy_build: list[Path]
) -> None:
    assert run_nightly(db_path, slack=str(workspace)).is_completed()
    before = staging(db_path)
    # every staging model, and the settings row and agreements the models read
    assert set(before) == {f.stem for f in sql_files("staging")} | {"build_settings", "agreements"}

    # The Prefect task cache knows the fingerprint and the database confirms it:
    # the ingest task does not run (no raw.loads row), nothing is built.
    state = run_nightly(db_path, slack=str(workspace))
    assert state.is_completed(), state
    (report,) = state.result()
    assert (report["status"], report["rows_added"], report["rows_replaced"]) == ("unchanged", 0, 0)
    assert len(spy_build) == 1  # the first run's build only
    assert loads(db_path) == [OK_LOAD]
    assert [(s, steps[0]) for s, _, steps in run_rows(db_path)] == [
        ("ok", f"slack: ok {workspace}"), ("ok", f"slack: unchanged (cached) {workspace}")]
    after = staging(db_path)
    assert list(after) == list(before)
    for name in before:
        assert_frame_equal(after[name], before[name])


def test_nightly_again_without_the_cache_is_unchanged_by_the_database(
    prefect_server: None, db_path: Path, workspace: Path, spy_build: list[Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from pipelines import flows

    assert run_nightly(db_path, slack=str(workspace)).is_completed()
    monkeypatch.setattr(flows, "ingest_task", flows.ingest_task.with_options(refresh_cache=True))
    state = run_nightly(db_path, slack=str(workspace))
    assert state.is_completed(), state
    assert loads(db_path) == [OK_LOAD, ("slack", "unchanged", 0, 0, 0, 0)]
    assert run_rows(db_path)[-1][2] == [f"slack: unchanged {workspace}"]
    assert len(spy_build) == 1


def test_a_cache_hit_for_an_export_the_database_lacks_loads_it(
    prefect_server: None, db_path: Path, workspace: Path, tmp_path: Path
) -> None:
    """The cache is keyed by the export alone: a new (or deleted and recreated) database still loads."""
    assert run_nightly(tmp_path / "other.duckdb", slack=str(workspace)).is_completed()
    state = run_nightly(db_path, slack=str(workspace))
    assert state.is_completed(), state
    assert loads(db_path) == [OK_LOAD]
    assert messages_per_conversation(db_path, "staging.stg_slack__messages") == FACTS["per_conversation"]
    assert run_rows(db_path)[0][2][0] == f"slack: ok {workspace}"


def test_nightly_with_a_failing_build_leaves_the_database(
    prefect_server: None, db_path: Path, workspace: Path, tmp_path: Path
) -> None:
    assert run_nightly(db_path, slack=str(workspace)).is_completed()
    before = data(db_path)
    newer = make_workspace(tmp_path / "newer")  # another export: ingest would add a load row

    people = tmp_path / "no-such-people.csv"
    state = run_nightly(db_path, slack=str(newer), people=str(people))
    assert state.is_failed(), state
    error = state.result(raise_on_failure=False)
    assert (type(error).__name__, str(error)) == ("PeopleFileError", f"{people}: no such file")
    assert_same_data(data(db_path), before)
    assert loads(db_path) == [OK_LOAD]
    assert run_rows(db_path)[-1] == (
        "failed", f"PeopleFileError: {people}: no such file", [f"slack: ok {newer}"]
    )
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


@pytest.fixture
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """The real retry policy (2 retries, only of transient errors) without its waits."""
    from pipelines import flows

    for name in ("ingest_task", "build_task"):
        t = getattr(flows, name)
        assert (t.retries, t.retry_condition_fn) == (2, flows.is_transient)
        monkeypatch.setattr(flows, name, t.with_options(retry_delay_seconds=0, retry_jitter_factor=None))


def newer_github(path: Path) -> Path:
    """The gh export again with PR 9's title edited (a newer export that changes a row)."""
    prs = gh_prs()
    (pr9,) = [pr for pr in prs if pr["number"] == 9]
    pr9["title"] = "New settings page"
    return write_gh(path, prs)


STEPS = ["slack ingest", "github ingest", "mid-build", "publish"]


@pytest.mark.parametrize("step", STEPS)
def test_a_run_failing_at_any_step_changes_no_data_and_the_next_run_succeeds(
    step: str, prefect_server: None, db_path: Path, tmp_path: Path, quick_retries: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:

    from pipelines import db, jobs

    first = {"slack": str(make_workspace(tmp_path / "s1")),
             "github": str(write_gh(tmp_path / "g1" / "prs.json"))}
    assert run_nightly(db_path, **first).is_completed()
    before = data(db_path)
    # Newer exports of both sources: a successful run would change rows of each.
    second = {"slack": str(make_newer_workspace(tmp_path / "s2")),
              "github": str(newer_github(tmp_path / "g2" / "prs.json"))}

    failing = [True]
    attempts: list[str] = []
    real_ingest, real_sql_files, real_replace = jobs.ingest_into, db.sql_files, os.replace

    def ingest_into(work: Path, source: str, path: Path) -> Any:
        if failing[0] and step == f"{source} ingest":
            attempts.append(source)
            raise OSError(f"{source} export share went away")
        return real_ingest(work, source, path)

    def sql_files(layer: str) -> list[Path]:
        # the build asks for the marts after staging and intermediate are built
        if failing[0] and step == "mid-build" and layer == "marts":
            attempts.append(layer)
            raise OSError("disk hiccup")
        return real_sql_files(layer)

    def replace(src: Any, dst: Any) -> None:
        # the run's publish fails; the failed run's own record then publishes
        if failing[0] and step == "publish" and Path(dst) == db_path and not attempts:
            attempts.append("publish")
            raise OSError("rename failed")
        real_replace(src, dst)

    monkeypatch.setattr(jobs, "ingest_into", ingest_into)
    monkeypatch.setattr(db, "sql_files", sql_files)
    monkeypatch.setattr(os, "replace", replace)

    state = run_nightly(db_path, **second)
    assert state.is_failed(), state
    # tasks were retried twice (transient errors); the publish is no task
    assert len(attempts) == (1 if step == "publish" else 3)
    assert_same_data(data(db_path), before)
    assert leftovers(db_path) == []
    statuses = [(status, error) for status, error, _ in run_rows(db_path)]
    expected_error = {"slack ingest": "OSError: slack export share went away",
                      "github ingest": "OSError: github export share went away",
                      "mid-build": "OSError: disk hiccup", "publish": "OSError: rename failed"}[step]
    assert statuses == [("ok", None), ("failed", expected_error)]

    failing[0] = False  # the share is back
    state = run_nightly(db_path, **second)
    assert state.is_completed(), state
    assert [s for s, _, _ in run_rows(db_path)] == ["ok", "failed", "ok"]
    assert [(s, st) for s, st, *_ in loads(db_path)] == [
        ("slack", "ok"), ("github", "ok"), ("slack", "ok"), ("github", "ok")]
    assert messages_per_conversation(db_path)["C1"] == FACTS["per_conversation"]["C1"] + 2
    assert query(db_path, "select title from raw.github_pull_requests where number = 9").item() == (
        "New settings page")
    assert leftovers(db_path) == []


def test_a_failed_run_is_recorded_with_its_error_and_nothing_else(
    prefect_server: None, db_path: Path, workspace: Path, tmp_path: Path
) -> None:
    assert run_nightly(db_path, slack=str(workspace)).is_completed()
    before = data(db_path)
    state = run_nightly(db_path, slack=str(tmp_path / "nowhere"))
    assert state.is_failed(), state
    assert_same_data(data(db_path), before)
    (status, error, steps), = run_rows(db_path)[1:]
    assert (status, error, steps) == ("failed", f"ExportError: {tmp_path / 'nowhere'}: no such file or folder", [])


def test_nightly_takes_the_newest_export_of_a_drop_folder(
    prefect_server: None, db_path: Path, tmp_path: Path
) -> None:

    from tests.conftest import SlackExport

    drop = tmp_path / "drop"
    drop.mkdir()
    SlackExport(make_workspace(tmp_path / "old")).zip(drop / "2024-03-07.zip")
    newer = make_newer_workspace(drop / "2024-03-08")
    os.utime(drop / "2024-03-07.zip", (1_700_000_000, 1_700_000_000))

    assert run_nightly(db_path, slack=str(drop)).is_completed()
    assert query(db_path, "select path, status from raw.loads").rows() == [(str(newer), "ok")]
    # the same newest export the next night: recognised, nothing read
    assert run_nightly(db_path, slack=str(drop)).is_completed()
    assert run_rows(db_path)[-1][2] == [f"slack: unchanged (cached) {newer}"]
    # a newer export lands: it is the one loaded
    newest = SlackExport(make_newer_workspace(tmp_path / "c")).zip(drop / "2024-03-09.zip")
    assert run_nightly(db_path, slack=str(drop)).is_completed()
    assert query(db_path, "select path from raw.loads order by started_at")["path"].to_list() == [
        str(newer), str(newest)]


def test_nightly_fetches_what_the_fetch_settings_name(
    prefect_server: None, httpserver: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    spy_build: list[Path],
) -> None:
    """`[fetch]` names a repository and Slack: each is fetched by its own task, then loaded and built."""
    import re

    from pipelines.settings import get_settings
    from tests import test_github_fetch as ghf
    from tests import test_slack_fetch as slf
    from tests.github_api import FakeGitHub
    from tests.slack_api import TOKEN, FakeSlack

    gh, sl = FakeGitHub(), FakeSlack()
    httpserver.expect_request(re.compile("^/api/")).respond_with_handler(sl)
    httpserver.expect_request(re.compile("^/repos/")).respond_with_handler(gh)
    for k, v in {"GITHUB_TOKEN": "ghp_test", "SLACK_TOKEN": TOKEN, "ASYNCPULSE_FETCH__REPOS": '["acme/widgets"]',
                 "ASYNCPULSE_FETCH__SLACK": "true", "ASYNCPULSE_FETCH__PER_PAGE": "2",
                 "ASYNCPULSE_FETCH__GITHUB_API_URL": httpserver.url_for("/").rstrip("/"),
                 "ASYNCPULSE_FETCH__SLACK_API_URL": httpserver.url_for("/api")}.items():
        monkeypatch.setenv(k, v)
    get_settings.cache_clear()
    db = tmp_path / "nightly.duckdb"
    assert run_nightly(db).is_completed()
    (gh_run,) = (tmp_path / "fetched" / "github" / "acme__widgets").glob("2*")
    (sl_run,) = (tmp_path / "fetched" / "slack" / "T01ACME").glob("2*")
    (status, error, steps), = run_rows(db)
    assert (status, error) == ("ok", None)
    assert steps[:2] == [
        f"fetch github acme/widgets: 3 PRs new or changed; 17 requests, 0 unchanged from the cache -> {gh_run}",
        "fetch slack T01ACME: 8 messages from 3 conversations; 2 the token cannot read: mpim conversations "
        f"(missing_scope), random (not_in_channel); 14 requests -> {sl_run}",
    ]
    assert re.fullmatch(r"build: \d+ relations", steps[2]) and len(steps) == 3
    assert query(db, "select load_ids from raw.runs").item().to_list() == query(
        db, "select load_id from raw.loads order by started_at")["load_id"].to_list()
    assert query(db, "select source, status, path from raw.loads order by started_at").rows() == [
        ("github", "ok", str(gh_run)), ("slack", "ok", str(sl_run))]
    (tmp_path / "gh").mkdir()
    (tmp_path / "sl").mkdir()
    ghf.assert_same_raw(db, ghf.dump_db(tmp_path / "gh"))
    slf.assert_same_raw(db, slf.export_db(tmp_path / "sl", sl))
    assert query(db, "select value from marts.coverage where item = 'conversations the token could not read'"
                 ).item() == "2"
    assert len(spy_build) == 1

    gh.requests.clear()
    sl.requests.clear()
    assert run_nightly(db).is_completed()  # nothing new: a handful of requests, no rebuild
    assert gh.requests == [(ghf.LIST, 304)]
    assert len(sl.requests) == 12
    second = run_rows(db)[1][2]
    assert [s.split(":")[0] for s in second] == ["fetch github acme/widgets", "fetch slack T01ACME"]
    assert len(spy_build) == 1


def test_a_failed_fetch_task_is_retried_and_resumes(
    prefect_server: None, httpserver: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Six 502s outlast the client's five retries: the task fails, Prefect retries it, it resumes."""
    import re

    from pipelines.settings import get_settings
    from tests import test_github_fetch as ghf
    from tests.github_api import FakeGitHub

    gh = FakeGitHub()
    httpserver.expect_request(re.compile("^/repos/")).respond_with_handler(gh)
    for k, v in {"GITHUB_TOKEN": "ghp_test", "ASYNCPULSE_FETCH__REPOS": '["acme/widgets"]',
                 "ASYNCPULSE_FETCH__PER_PAGE": "2", "ASYNCPULSE_FETCH__RETRY_SECONDS": "0.01",
                 "ASYNCPULSE_FETCH__GITHUB_API_URL": httpserver.url_for("/").rstrip("/")}.items():
        monkeypatch.setenv(k, v)
    get_settings.cache_clear()
    files8 = ghf.pr_paths(8)[4]
    gh.fault(files8.split("?")[0], 502, times=6)
    db = tmp_path / "nightly.duckdb"
    assert run_nightly(db).is_completed()
    i = ghf.FIRST_FETCH.index(files8)
    assert gh.requests == (
        [(p, 200) for p in ghf.FIRST_FETCH[:i]] + [(files8, 502)] * 6  # the first try of the task
        + [(p, 304) for p in ghf.pr_paths(8)[:4]] + [(files8, 200)]  # its retry: PR 7 is not asked again
        + [(p, 200) for p in ghf.pr_paths(9)]
        + [(ghf.LIST, 304)])  # the resumed run loaded, one more look finds nothing newer
    (tmp_path / "gh").mkdir()
    ghf.assert_same_raw(db, ghf.dump_db(tmp_path / "gh"))
    ((status, steps),) = query(db, "select status, steps from raw.runs").rows()
    first, second = sorted((tmp_path / "fetched" / "github" / "acme__widgets").glob("2*"))
    assert status == "ok" and steps[:2] == [
        f"fetch github acme/widgets: 3 PRs new or changed (resumed); 10 requests, 4 unchanged from the cache "
        f"-> {first}",
        f"fetch github acme/widgets: 0 PRs new or changed; 1 requests, 1 unchanged from the cache -> {second}",
    ]

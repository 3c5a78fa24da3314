"""The database file (README: "Tables", "How it stays safe"): other tools open it, readers never block writers, writes are atomic."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from polars.testing import assert_frame_equal

from pipelines import db as dbmod
from pipelines import jobs
from pipelines.cli import main
from pipelines.db import BuildError
from pipelines.loads import LoadReport
from tests.conftest import query
from tests.helpers import (
    digest,
    leftovers,
    load_and_build,
    make_newer_workspace,
    make_workspace,
    messages_per_conversation,
)
from tests.workspace import FACTS

BIN = Path(sys.executable).parent
DUCKDB_CLI = BIN / "duckdb"
ASYNCPULSE = BIN / "asyncpulse"
NEWER = {**FACTS["per_conversation"], "C1": FACTS["per_conversation"]["C1"] + 2}


@pytest.fixture(scope="module")
def built_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample workspace ingested and built once for the module; tests copy it."""
    root = tmp_path_factory.mktemp("built")
    db = root / "sample.duckdb"
    load_and_build(db, make_workspace(root / "export"))
    return db


@pytest.fixture
def built(tmp_path: Path, built_db: Path) -> Path:
    db = tmp_path / "built.duckdb"
    shutil.copyfile(built_db, db)
    return db


# --- other tools open the file ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("select count(*) from raw.slack_messages", str(FACTS["messages"])),
        ("select count(*) from staging.stg_slack__messages where is_human", str(FACTS["human"])),
        ("select status from raw.loads", "ok"),
    ],
)
def test_duckdb_1_5_cli_reads_the_file(sql: str, expected: str, built: Path) -> None:
    if not DUCKDB_CLI.exists():
        pytest.skip(f"{DUCKDB_CLI} missing: install the dev extra (duckdb-cli==1.5.*)")
    version = subprocess.run([str(DUCKDB_CLI), "--version"], capture_output=True, text=True, timeout=30)
    assert version.stdout.startswith("v1.5."), version.stdout
    before = digest(built)
    p = subprocess.run(
        [str(DUCKDB_CLI), "-readonly", "-csv", "-noheader", str(built), "-c", sql],
        capture_output=True, text=True, timeout=60,
    )
    assert (p.returncode, p.stderr, p.stdout) == (0, "", expected + "\n")
    assert digest(built) == before


def test_harlequin_adapter_reads_the_file(built: Path) -> None:
    from harlequin_duckdb import DuckDbAdapter

    before = digest(built)
    conn = DuckDbAdapter(conn_str=(str(built),), read_only=True, no_init=True).connect()
    try:
        cur = conn.execute(
            "select conversation_id, count(*) as messages from raw.slack_messages "
            "group by all order by conversation_id"
        )
        assert cur is not None
        assert cur.columns() == [("conversation_id", "s"), ("messages", "##")]
        assert cur.fetchall().to_pylist() == [  # type: ignore[union-attr]
            {"conversation_id": c, "messages": n} for c, n in sorted(FACTS["per_conversation"].items())
        ]
        # read-only: harlequin cannot change the file either
        from harlequin.exception import HarlequinQueryError

        with pytest.raises(HarlequinQueryError):
            conn.execute("delete from raw.slack_messages")
        schemas = [item.label for item in conn.get_catalog().items[0].fetch_children()]
        assert {"raw", "staging"} <= set(schemas)
    finally:
        conn.conn.close()
    assert digest(built) == before


# --- a reader in another process never blocks a writer ------------------------------------------

READER = """
import sys, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
def counts():
    raw = con.execute("select count(*) from raw.slack_messages").fetchall()[0][0]
    stg = con.execute("select count(*) from staging.stg_slack__messages").fetchall()[0][0]
    return f"{raw} {stg}"
print(counts(), flush=True)
sys.stdin.readline()          # hold the connection open until the test says so
print(counts(), flush=True)
"""


@contextlib.contextmanager
def reader_holding(db: Path) -> Iterator[None]:
    """Hold `db` open read-only in another process around the block; check its snapshot never moved."""
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(db)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert reader.stdout is not None and reader.stdin is not None
        old = f"{FACTS['messages']} {FACTS['messages']}"
        assert reader.stdout.readline().strip() == old  # connected and reading
        yield
        reader.stdin.write("\n")
        reader.stdin.flush()
        assert reader.stdout.readline().strip() == old  # still its old snapshot
        assert reader.wait(timeout=30) == 0, reader.stderr.read() if reader.stderr else ""
    finally:
        if reader.poll() is None:
            reader.kill()
            reader.wait()


def test_a_reader_in_another_process_keeps_its_snapshot_while_ingest_and_build_run(
    built: Path, tmp_path: Path
) -> None:
    with reader_holding(built):
        newer = make_newer_workspace(tmp_path / "newer")
        env = {**os.environ, "ASYNCPULSE_DB": str(built)}
        for argv in (["ingest", "slack", str(newer)], ["build"]):
            p = subprocess.run([str(ASYNCPULSE), *argv], capture_output=True, text=True,
                               env=env, timeout=120)
            assert p.returncode == 0, p.stderr
            assert "waiting" not in p.stderr
    # A new reader sees the new data.
    assert messages_per_conversation(built) == NEWER
    assert messages_per_conversation(built, "staging.stg_slack__messages") == NEWER
    assert leftovers(built) == []


def test_the_dashboard_reader_does_not_block_a_writer_in_process(built: Path, tmp_path: Path) -> None:
    """connect_reader's connection, open during a whole ingest and build, still sees the old file."""
    con = dbmod.connect_reader(built)
    try:
        load_and_build(built, make_newer_workspace(tmp_path / "newer"))
        assert con.execute("select count(*) from raw.slack_messages").fetchall() == [(FACTS["messages"],)]
    finally:
        con.close()
    assert messages_per_conversation(built) == NEWER


# --- an unchanged export: one row, written in place unless someone reads --------------------------


def _loads(database: Path) -> list[tuple[str, str]]:
    df = query(database, "select source, status from raw.loads order by started_at")
    return list(zip(df["source"].to_list(), df["status"].to_list(), strict=True))


def test_an_unchanged_export_is_recorded_in_place_when_nobody_reads(tmp_path: Path) -> None:
    database, export = tmp_path / "a.duckdb", make_workspace(tmp_path / "export")
    load_and_build(database, export)
    inode, mode = database.stat().st_ino, database.stat().st_mode & 0o777
    report = jobs.ingest(database, "slack", export)
    assert (report.status, report.files_read, report.rows_added) == ("unchanged", 0, 0)
    assert database.stat().st_ino == inode  # no copy was made and swapped in
    assert database.stat().st_mode & 0o777 == mode == 0o600
    assert _loads(database) == [("slack", "ok"), ("slack", "unchanged")]
    assert messages_per_conversation(database) == FACTS["per_conversation"]
    assert leftovers(database) == [] and not database.with_name(database.name + ".wal").exists()


def test_an_unchanged_export_with_a_reader_open_goes_through_a_copy(tmp_path: Path) -> None:
    database, export = tmp_path / "a.duckdb", make_workspace(tmp_path / "export")
    load_and_build(database, export)
    inode = database.stat().st_ino
    with reader_holding(database):  # the reader's snapshot never moves (checked on leaving)
        report = jobs.ingest(database, "slack", export)
    assert report.status == "unchanged"
    assert database.stat().st_ino != inode  # DuckDB's lock refused the in-place write
    assert _loads(database) == [("slack", "ok"), ("slack", "unchanged")]
    assert leftovers(database) == []


def test_a_changed_export_is_listed_once_for_the_check_and_the_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pipelines.exports as exports

    database = tmp_path / "a.duckdb"
    load_and_build(database, make_workspace(tmp_path / "export"))
    listed: list[Path] = []
    real = exports._open_dir

    def counted(root: Path, max_file: int) -> exports.Export:
        listed.append(root)
        return real(root, max_file)

    monkeypatch.setattr(exports, "_open_dir", counted)
    newer = make_newer_workspace(tmp_path / "newer")
    report = jobs.ingest(database, "slack", newer)
    assert (report.status, report.rows_added) == ("ok", 2)
    assert listed == [newer]  # the unchanged check's listing is the load's listing
    assert messages_per_conversation(database) == NEWER


HOLD_WRITER = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1])
print("open", flush=True)
time.sleep(1.0)
con.close()
"""


def test_a_reader_waits_for_a_short_write_in_place(built: Path) -> None:
    """While another process has the file open for writing, connect_reader waits, then reads."""
    writer = subprocess.Popen([sys.executable, "-c", HOLD_WRITER, str(built)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout is not None and writer.stdout.readline().strip() == "open"
        started = time.monotonic()
        con = dbmod.connect_reader(built)
        waited = time.monotonic() - started
        try:
            assert con.execute("select count(*) from raw.slack_messages").fetchall() == [(FACTS["messages"],)]
        finally:
            con.close()
        assert 0.2 < waited < dbmod.LOCK_WAIT_SECONDS
    finally:
        assert writer.wait(timeout=30) == 0


# --- two writers ---------------------------------------------------------------------------------


def _wait_for(path: Path, text: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while text not in (path.read_text() if path.exists() else ""):
        assert time.monotonic() < deadline, f"{path} never said {text!r}"
        time.sleep(0.05)


def test_two_ingests_at_once_take_turns_and_both_load(tmp_path: Path) -> None:
    db = tmp_path / "two.duckdb"
    first = make_workspace(tmp_path / "first")
    second = make_newer_workspace(tmp_path / "second")
    env = {**os.environ, "ASYNCPULSE_DB": str(db)}
    procs: list[tuple[subprocess.Popen[bytes], Path]] = []
    # Hold the writer lock so that both processes are certainly waiting at the same time.
    with dbmod.writer_lock(db):
        for name, export in (("first", first), ("second", second)):
            err = tmp_path / f"{name}.err"
            with open(err, "wb") as f:
                procs.append((subprocess.Popen([str(ASYNCPULSE), "ingest", "slack", str(export)],
                                               stdout=subprocess.DEVNULL, stderr=f, env=env), err))
        for _, err in procs:
            _wait_for(err, f"waiting for another asyncpulse run to finish with {db}")
        assert not db.exists()
    for p, err in procs:
        assert p.wait(timeout=120) == 0, err.read_text()
    statuses = query(db, "select status, path from raw.loads order by path").rows()
    assert statuses == [("ok", str(first)), ("ok", str(second))]
    assert messages_per_conversation(db) == NEWER  # the second export's two new messages, once
    assert query(db, "select count(*) as n, count(distinct (conversation_id, ts)) as k "
                     "from raw.slack_messages").rows() == [(FACTS["messages"] + 2,) * 2]
    assert leftovers(db) == []


def test_the_writer_lock_leaves_no_file_and_still_lets_one_writer_in_at_a_time(tmp_path: Path) -> None:
    """The holder removes <db>.lock as it lets go; a waiter that got the removed file retries.

    Each thread opens the lock file itself, so the threads contend as processes do (flock
    holds per open file).
    """
    db = tmp_path / "lock.duckdb"
    inside: list[int] = []
    most = [0]

    def writer() -> None:
        for _ in range(4):
            with dbmod.writer_lock(db):
                inside.append(1)
                most[0] = max(most[0], len(inside))
                time.sleep(0.01)
                inside.pop()

    threads = [threading.Thread(target=writer) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert (most[0], inside, leftovers(db)) == (1, [], [])


def test_a_writer_that_cannot_wait_refuses_with_one_line(
    built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    before = digest(built)
    real_lock = dbmod.writer_lock
    monkeypatch.setattr(dbmod, "writer_lock", lambda db, wait_seconds=600: real_lock(db, 0.3))
    with real_lock(built):  # flock: a second open file in this process conflicts too
        code = main(["ingest", "slack", str(make_newer_workspace(tmp_path / "newer")), "--db", str(built)])
    err = capsys.readouterr().err
    assert code == 1
    assert err.splitlines() == [
        f"waiting for another asyncpulse run to finish with {built} ...",
        f"asyncpulse: {built}: another asyncpulse run is writing it "
        f"(lock {built}.lock); try later",
    ]
    assert digest(built) == before
    assert leftovers(built) == []


# --- atomicity by failure injection ------------------------------------------------------------


def _fail_messages_merge(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make reconciling message keys raise, after every new row was appended to raw.slack_messages."""
    from pipelines.sources import slack

    def resolve_message_keys(con: duckdb.DuckDBPyConnection, report: LoadReport) -> tuple[int, int]:
        (appended,) = con.execute(
            "select count(*) from raw.slack_messages where _load_id = ?", [report.load_id]
        ).fetchall()[0]
        assert appended > 0  # the failure really is mid-write
        raise duckdb.IOException("injected: disk full")

    monkeypatch.setattr(slack, "resolve_message_keys", resolve_message_keys)


def _fail_after_staging(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
    sql: str = "select * from staging.stg_slack__messages join no_such_table using (ts)",
) -> None:
    """Add a broken model to the intermediate layer, so the build fails after staging was built."""
    broken = tmp_path / "models" / "intermediate" / "int_broken__failed.sql"
    broken.parent.mkdir(parents=True)
    broken.write_text(sql)
    real = dbmod.sql_files
    monkeypatch.setattr(
        dbmod, "sql_files",
        lambda layer: real(layer) + ([broken] if layer == "intermediate" else []),
    )


@pytest.mark.parametrize("existing", [True, False], ids=["existing database", "new database"])
@pytest.mark.parametrize("step", ["ingest", "build"])
def test_a_failure_mid_write_leaves_the_database_byte_identical(
    step: str, existing: bool, tmp_path: Path, built_db: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    db = tmp_path / "atomic.duckdb"
    if existing:
        shutil.copyfile(built_db, db)
        before = digest(db)
    newer = make_newer_workspace(tmp_path / "newer")
    if step == "ingest":
        _fail_messages_merge(monkeypatch)
        with pytest.raises(duckdb.IOException, match="injected"):
            jobs.ingest(db, "slack", newer)
    else:
        _fail_after_staging(monkeypatch, tmp_path)
        with pytest.raises(BuildError, match=r"^build failed in int_broken__failed\.sql: Catalog Error"):
            jobs.build(db)
    if existing:
        assert digest(db) == before
        assert messages_per_conversation(db) == FACTS["per_conversation"]
    else:
        assert not db.exists()
    assert leftovers(db) == []


def test_a_failed_build_through_the_cli_keeps_the_old_marts(
    built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """ingest succeeds (published), then a failing build leaves ingest's file as it was."""
    marts_before = {m: query(built, f"select * from marts.{m} order by all")
                    for m in ("threads", "weekly_mix", "openers", "people_weekly")}
    assert main(["ingest", "slack", str(make_newer_workspace(tmp_path / "newer")), "--db", str(built)]) == 0
    after_ingest = digest(built)
    _fail_after_staging(monkeypatch, tmp_path)
    capsys.readouterr()
    assert main(["build", "--db", str(built)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("asyncpulse: build failed in int_broken__failed.sql: ")
    assert digest(built) == after_ingest
    assert messages_per_conversation(built) == NEWER
    # the materialized models still hold the last successful build, not a half-built one
    # (staging's message view reads raw, so it shows the new ingest by design)
    for m, frame in marts_before.items():
        assert_frame_equal(query(built, f"select * from marts.{m} order by all"), frame)
    assert leftovers(built) == []


def test_a_build_out_of_memory_says_which_setting_to_raise(
    built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A model that needs more than memory_limit fails in one line naming the setting and its value."""
    from pipelines.settings import get_settings

    before = digest(built)
    monkeypatch.setenv("ASYNCPULSE_MEMORY_LIMIT", "64MB")
    get_settings.cache_clear()
    # a list aggregate cannot spill to disk: 30 million integers need ~240 MB of it
    _fail_after_staging(monkeypatch, tmp_path, "select list(range) as l from range(30000000)")
    assert main(["build", "--db", str(built)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1
    assert err[0].startswith("asyncpulse: build failed in int_broken__failed.sql: Out of Memory Error")
    assert err[0].endswith("(memory_limit is 64MB: raise it, e.g. ASYNCPULSE_MEMORY_LIMIT=4GB)")
    assert digest(built) == before
    assert leftovers(built) == []


def test_a_reader_open_for_the_whole_nightly_run_in_another_process(built: Path, tmp_path: Path) -> None:
    """`asyncpulse run` (the Prefect flow: ingest, build, raw.runs) never waits for a reader.

    The reader (the dashboard's kind of connection, in its own process) holds the
    published file open from before the run starts until after it ends.
    """
    with reader_holding(built):
        newer = make_newer_workspace(tmp_path / "newer")
        env = {**os.environ, "ASYNCPULSE_DB": str(built)}
        p = subprocess.run([str(ASYNCPULSE), "run", "--slack", str(newer)], capture_output=True,
                           text=True, env=env, timeout=300)
        assert p.returncode == 0, p.stderr
        assert "waiting" not in p.stderr and "Traceback" not in p.stderr
    assert messages_per_conversation(built) == NEWER
    assert messages_per_conversation(built, "staging.stg_slack__messages") == NEWER
    assert query(built, "select status from raw.runs").rows() == [("ok",)]
    assert leftovers(built) == []

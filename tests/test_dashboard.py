"""The Streamlit dashboard: every state renders under AppTest, and once in a real headless Chromium."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal
from streamlit.testing.v1 import AppTest

from pipelines import jobs
from pipelines.settings import PROJECT_ROOT
from tests.helpers import HUMAN_BY_TYPE, load_and_build, make_workspace
from tests.workspace import FACTS

APP = PROJECT_ROOT / "dashboard" / "streamlit_app.py"
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = PROJECT_ROOT / "tests" / "artifacts"
NO_DATA = "No data loaded yet."


@pytest.fixture(scope="module")
def built_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("dash")
    db = root / "sample.duckdb"
    load_and_build(db, make_workspace(root / "export"))
    return db


def run_app(db: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv("ASYNCPULSE_DB", str(db))
    at = AppTest.from_file(str(APP), default_timeout=30)
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def test_missing_database_says_no_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "missing.duckdb"
    at = run_app(db, monkeypatch)
    assert [t.value for t in at.title] == ["asyncpulse"]
    assert len(at.info) == 1 and at.info[0].value.startswith(NO_DATA)
    assert len(at.metric) == 0
    assert not db.exists()  # the dashboard never creates the database


def test_empty_database_says_no_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A database with raw tables but no load yet (e.g. a build before any ingest)."""
    db = tmp_path / "empty.duckdb"
    jobs.build(db)
    at = run_app(db, monkeypatch)
    assert len(at.info) == 1 and at.info[0].value.startswith(NO_DATA)
    assert len(at.metric) == 0


def test_loaded_but_not_built_asks_for_a_build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "unbuilt.duckdb"
    assert jobs.ingest(db, "slack", make_workspace(tmp_path / "export")).status == "ok"
    at = run_app(db, monkeypatch)
    assert [w.value for w in at.warning] == ["Data is loaded but not built yet: run `asyncpulse build`."]
    assert len(at.metric) == 0
    (history,) = (d.value for d in at.dataframe)
    assert [tuple(r) for r in history[["source", "status", "files_skipped"]].itertuples(index=False)] == [
        ("slack", "ok", 0)
    ]


def test_built_workspace_shows_human_messages_per_type(
    built_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = run_app(built_db, monkeypatch)
    assert len(at.info) == 0 and len(at.warning) == 0
    # Hand-worked counts (tests/helpers.py), largest first as the page orders them.
    assert [(m.label, m.value) for m in at.metric] == [
        (f"{t} messages", str(n))
        for t, n in HUMAN_BY_TYPE.select("conversation_type", "human_messages").iter_rows()
    ]
    counts, history = (pl.from_pandas(d.value) if not isinstance(d.value, pl.DataFrame) else d.value
                       for d in at.dataframe)
    assert_frame_equal(counts, HUMAN_BY_TYPE, check_dtypes=False)
    assert history.select("source", "status", "files_read", "files_skipped", "problems").rows() == [
        ("slack", "ok", FACTS["day_files"], 0, 0)
    ]


def test_the_page_sees_a_new_build_on_the_next_run(
    built_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Results are cached per file version: a swapped-in file is read afresh."""
    db = tmp_path / "live.duckdb"
    shutil.copyfile(built_db, db)
    at = run_app(db, monkeypatch)
    assert len(at.metric) == 4
    # What the nightly writer does: change a copy, then swap it in under the same name.
    copy = tmp_path / "copy.duckdb"
    shutil.copyfile(db, copy)
    con = duckdb.connect(str(copy))
    con.execute("delete from staging.stg_slack__messages where conversation_type <> 'public'")
    con.close()
    os.replace(copy, db)
    at.run()
    assert not at.exception
    assert [(m.label, m.value) for m in at.metric] == [("public messages", "9")]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_until_up(url: str, server: subprocess.Popen[bytes], log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert server.poll() is None, log.read_text()
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"streamlit did not start within {timeout} s:\n{log.read_text()}")


@pytest.mark.browser
def test_overview_in_headless_chromium(built_db: Path, tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium (CI's .ci/run does)")
    from playwright.sync_api import expect, sync_playwright

    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "streamlit.log"
    env = {**os.environ, "ASYNCPULSE_DB": str(built_db)}
    with open(log, "wb") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(APP),
             "--server.headless", "true", "--browser.gatherUsageStats", "false",
             "--server.port", str(port), "--server.address", "127.0.0.1"],
            stdout=out, stderr=subprocess.STDOUT, env=env, cwd=PROJECT_ROOT,
        )
    try:
        _wait_until_up(url, server, log)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=str(CHROMIUM),
                args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                      "--disable-background-networking", "--disable-component-update",
                      "--disable-sync", "--no-first-run"],
            )
            try:
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                page.goto(url)
                expect(page.get_by_role("heading", name="asyncpulse")).to_be_visible(timeout=30_000)
                metrics = page.locator('[data-testid="stMetric"]')
                expect(metrics).to_have_count(len(HUMAN_BY_TYPE), timeout=30_000)
                shown = [
                    (metrics.nth(i).locator('[data-testid="stMetricLabel"]').inner_text().strip(),
                     metrics.nth(i).locator('[data-testid="stMetricValue"]').inner_text().strip())
                    for i in range(len(HUMAN_BY_TYPE))
                ]
                assert shown == [
                    (f"{t} messages", str(n))
                    for t, n in HUMAN_BY_TYPE.select("conversation_type", "human_messages").iter_rows()
                ]
                tables = page.locator('[data-testid="stDataFrame"]')
                expect(tables).to_have_count(2, timeout=30_000)  # counts and the load history
                for i in range(2):  # the grid draws on a canvas once its data arrived
                    expect(tables.nth(i).locator("canvas").first).to_be_attached(timeout=30_000)
                assert page.locator('[data-testid="stException"]').count() == 0
                ARTIFACTS.mkdir(exist_ok=True)
                page.screenshot(path=str(ARTIFACTS / "overview.png"), full_page=True)
            finally:
                browser.close()
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()

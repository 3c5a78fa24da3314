"""The Streamlit dashboard: every page renders under AppTest on every kind of database, the
queries return hand-worked frames, the privacy switch hides every name and message, and a
real headless Chromium walks the pages while the nightly writer swaps the file underneath."""

from __future__ import annotations

import ast
import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from streamlit.testing.v1 import AppTest

from pipelines import jobs
from pipelines.cli import streamlit_command
from pipelines.demo import generate_demo
from pipelines.settings import PROJECT_ROOT
from tests.conftest import SlackExport, query
from tests.helpers import load_and_build, make_newer_workspace, make_workspace
from tests.test_threads import PEOPLE, T1, T2, T3, T4, T5, T6, T7, build_threads
from tests.workspace import build_workspace

APP = PROJECT_ROOT / "dashboard" / "streamlit_app.py"
CHROMIUM = Path("/usr/bin/chromium")
# The README's screenshots are refreshed on request (`make screenshots`); an ordinary run
# writes to the ignored tests/artifacts, so `make test` leaves the checkout as it was.
SCREENSHOTS = (
    PROJECT_ROOT / "docs" / "screenshots"
    if os.environ.get("ASYNCPULSE_UPDATE_SCREENSHOTS")
    else PROJECT_ROOT / "tests" / "artifacts" / "screenshots"
)
ARTIFACTS = PROJECT_ROOT / "tests" / "artifacts" / "screenshots"
NO_DATA = "No data loaded yet."
HIDDEN = "— hidden —"


def router_pages() -> list[str]:
    """Return the page files the router registers (st.Page("app_pages/...")), in order."""
    tree = ast.parse(APP.read_text())
    return [
        node.args[0].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "Page"
        and node.args and isinstance(node.args[0], ast.Constant)
    ]


PAGES = router_pages()


# --- databases ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo workspace (Slack, GitHub, a people file with teams), loaded and built."""
    root = tmp_path_factory.mktemp("demo")
    generate_demo(root / "demo")
    db = root / "demo.duckdb"
    assert jobs.ingest(db, "slack", root / "demo" / "slack").status == "ok"
    assert jobs.ingest(db, "github", root / "demo" / "github" / "prs.json").status == "ok"
    jobs.build(db, root / "demo" / "people.csv")
    return db


@pytest.fixture(scope="module")
def threads_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tests/test_threads.py's hand-worked threads, with its people file (teams SF, London, India)."""
    root = tmp_path_factory.mktemp("threads")
    export = build_threads(SlackExport(root / "export"))
    (root / "people.csv").write_text(PEOPLE)
    db = root / "threads.duckdb"
    jobs.ingest(db, "slack", export.root)
    jobs.build(db, root / "people.csv")
    return db


@pytest.fixture(scope="module")
def empty_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database with its tables but no load (a build before any ingest)."""
    db = tmp_path_factory.mktemp("empty") / "empty.duckdb"
    jobs.build(db)
    return db


def run_page(db: Path, monkeypatch: pytest.MonkeyPatch, page: str | None = None,
             privacy: bool = False) -> AppTest:
    monkeypatch.setenv("ASYNCPULSE_DB", str(db))
    at = AppTest.from_file(str(APP), default_timeout=30)
    at.session_state["privacy"] = privacy
    if page is not None:
        at.switch_page(page)
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def test_the_router_lists_every_page_file() -> None:
    on_disk = sorted(p.relative_to(APP.parent).as_posix() for p in (APP.parent / "app_pages").glob("*.py"))
    assert sorted(PAGES) == on_disk
    assert PAGES[0] == "app_pages/overview.py"


# --- every page, every state -------------------------------------------------------------------


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_on_the_demo(page: str, demo_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = run_page(demo_db, monkeypatch, page)
    assert len(at.title) == 1
    assert not [i.value for i in at.info if i.value.startswith(NO_DATA)]
    assert not at.warning, [w.value for w in at.warning]


@pytest.mark.parametrize("page", PAGES)
def test_every_page_says_what_to_load_on_an_empty_database(
    page: str, empty_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = run_page(empty_db, monkeypatch, page)
    assert [i.value for i in at.info] == [
        "No data loaded yet. Load a Slack export with `asyncpulse ingest slack export.zip` and "
        "`asyncpulse build` (and GitHub pull requests with `asyncpulse ingest github prs.json`), "
        "or try `asyncpulse demo`."]
    assert len(at.metric) == 0


def test_a_missing_database_is_never_created(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "missing.duckdb"
    at = run_page(db, monkeypatch)
    assert at.info[0].value.startswith(NO_DATA)
    assert not db.exists()


def test_loaded_but_not_built_asks_for_a_build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "unbuilt.duckdb"
    assert jobs.ingest(db, "slack", make_workspace(tmp_path / "export")).status == "ok"
    at = run_page(db, monkeypatch, "app_pages/offenders.py")
    assert [w.value for w in at.warning] == ["Data is loaded but not built yet: run `asyncpulse build`."]
    assert "slack: last good load" in " ".join(c.value for c in at.sidebar.caption)


def test_slack_only_pages_say_to_load_pull_requests(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "slack.duckdb"
    load_and_build(db, make_workspace(tmp_path / "export"))
    at = run_page(db, monkeypatch, "app_pages/pr_payoff.py")
    assert at.info[0].value.startswith("No pull requests loaded yet: `asyncpulse ingest github prs.json`")


# --- the overview ------------------------------------------------------------------------------


def test_overview_shows_last_complete_week_against_the_week_before(
    threads_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = run_page(threads_db, monkeypatch)
    # Threads run 8-14 March 2024: only the week of 4 March is complete; no week before it.
    assert [s.value for s in at.subheader] == ["Week of 04 Mar 2024"]
    assert [(m.label, m.value, m.delta, m.proto.delta_description) for m in at.metric] == [
        ("Ping-pong threads", "1", "", "of 1 thread"),
        ("Waiting on bounces", "3.2 days", "", "over 1 thread"),
        ("DM share", "—", "", "all messages"),
        ("Low-context openers", "0%", "", "of 1 opener"),
        ("PRs with good descriptions", "—", "", "0 of 0 PRs at 70+"),
        ("Median first reply (working hours)", "0 min", "", "median of 1 thread"),
    ]
    captions = " ".join(c.value for c in at.caption)
    assert "DM share cannot be measured, it is not 0" in captions  # the export has no DMs
    assert "Timezone known for 3 of 4 people" in captions


def test_overview_deltas_on_the_demo(demo_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from dashboard import queries

    monkeypatch.setenv("ASYNCPULSE_DB", str(demo_db))
    head = queries.headline(queries.Filters())
    assert head is not None and head["is_complete"].all() and head["previous"].null_count() == 0
    at = run_page(demo_db, monkeypatch)
    assert len(at.metric) == 6 and all(m.delta for m in at.metric)


def test_overview_draws_a_zero_change_grey_without_an_arrow(
    demo_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = run_page(demo_db, monkeypatch)
    cards = {m.label: m for m in at.metric}
    # The demo's last week: 2 of 3 PRs at 70+, as the week before; 11 ping-pong threads, 4 more.
    zero, rose = cards["PRs with good descriptions"], cards["Ping-pong threads"]
    assert (zero.value, zero.delta, rose.delta) == ("67%", "0 pts", "+4")
    direction = type(zero.proto).MetricDirection
    assert (zero.proto.direction, rose.proto.direction) == (direction.NONE, direction.UP)
    assert zero.proto.color != rose.proto.color


# --- queries: exact frames on the hand-worked threads ------------------------------------------


@pytest.fixture
def on_threads(threads_db: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("ASYNCPULSE_DB", str(threads_db))
    yield


def tid(ts_: str) -> str:
    return f"slack:C1:{ts_}"


def test_weekly_metrics_by_hand(on_threads: None) -> None:
    from dashboard import queries

    got = queries.weekly_metrics(queries.Filters())
    assert got is not None
    expected = pl.DataFrame({
        "week": [date(2024, 3, 4), date(2024, 3, 11)],
        "is_complete": [True, False],  # the data ends Thu 14 March
        "threads": [1, 6],  # T2 | T3 T4 T1 T5 T6 T7
        "ping_pong_threads": [1, 1],  # T2 (3 bounces) | T1 (2)
        "bounce_wait_hours": [76.0, 18.0 + 4.5 + 17.4167],
        "dm_share": [None, None],  # no DMs in the export: unknown, not 0
        "openers": [1, 5],  # the bot's T4 opens nothing
        "low_context_share": [0.0, 0.0],
        "prs": [0, 0],
        "good_prs": [0, 0],
        "good_pr_share": [None, None],
        "median_first_reply_work_hours": [0.0, (0.05 + 0.5) / 2],  # of 2.5, 0.5, 0.5, 0.05 x3
    }, schema_overrides={"dm_share": pl.Float64, "good_pr_share": pl.Float64})
    assert_frame_equal(got.with_columns(pl.col("bounce_wait_hours").round(4)), expected, check_dtypes=False)


def test_filters_narrow_every_figure(on_threads: None) -> None:
    from dashboard import queries

    only_london = queries.Filters(teams=("London",))  # Ben opened T3 only
    got = queries.weekly_metrics(only_london)
    assert got is not None
    assert got.select("week", "threads", "openers").rows() == [
        (date(2024, 3, 4), 0, 0), (date(2024, 3, 11), 1, 1)]
    one_day = queries.Filters(start=date(2024, 3, 12), end=date(2024, 3, 12))  # T1
    assert queries.worst_threads(one_day)["thread_id"].to_list() == [tid(T1)]  # type: ignore[index]
    assert queries.worst_threads(queries.Filters(channels=("C9",))).is_empty()  # type: ignore[union-attr]


def test_worst_threads_say_why_and_what_would_have_helped(on_threads: None) -> None:
    from dashboard import queries

    got = queries.worst_threads(queries.Filters())
    assert got is not None
    # What would have helped names the row: whose working day each bounce waited for (the side
    # off the clock), the rounds, the messages without a decision.
    def bounce_help(cities: str, wait: str) -> str:
        return f"a default path forward, so nobody waits for {cities} ({wait} here)"

    call_help = "a 15-minute call after round 3 of 4, the outcome written back"
    assert got.select("thread_id", "channel", "why", "would_have_helped").rows() == [
        # Ana -> Ben (Sat 00:00 UTC: London asleep), Ben -> Ana (02:00 PDT), Ana -> Dee (21:30 IST)
        (tid(T2), "#general", "3 bounces Kolkata↔Los Angeles, London↔Los Angeles, 3.2 days waiting",
         bounce_help("Kolkata, London, Los Angeles", "3.2 days")),
        (tid(T3), "#general", "1 bounce Kolkata↔London, 18 h waiting", bounce_help("Kolkata", "18 h")),
        (tid(T1), "#general", "2 bounces London↔Los Angeles, 17 h waiting",
         bounce_help("London, Los Angeles", "17 h")),
        (tid(T4), "#general", "1 bounce London↔Los Angeles, 4.5 h waiting", bounce_help("Los Angeles", "4.5 h")),
        (tid(T5), "#general", "4 rounds between the same two people", call_help),
        (tid(T6), "#general", "4 rounds between the same two people · 10 messages, no decision recorded",
         call_help + " · the decision written into the thread (10 messages without one)"),
        (tid(T7), "#general", "4 rounds between the same two people", call_help),
    ]
    assert got["url"].to_list() == [None] * 7  # no workspace URL set
    assert got["replay"][0] == "/replay?thread=slack%3AC1%3A" + T2


def test_thread_replay_frames(on_threads: None) -> None:
    from dashboard import queries

    def utc(d: int, h: int, m: int = 0, us: int = 0) -> datetime:
        return datetime(2024, 3, d, h, m, 0, us, tzinfo=UTC)

    messages = queries.thread_messages(tid(T2))
    assert messages is not None
    assert messages.drop("tz", "local_clock").rows() == [
        (utc(9, 0), "Ana", "Fri 08 Mar 16:00 Los Angeles", True, "opening", "Can we ship the API change?"),
        (utc(11, 9), "Ben", "Mon 11 Mar 09:00 London", True, "reply", "Which API change?"),
        (utc(11, 16), "Ana", "Mon 11 Mar 09:00 Los Angeles", True, "reply", "The v2 one"),  # PDT now
        (utc(12, 4), "Dee", "Tue 12 Mar 09:30 Kolkata", True, "reply", "Looks fine from here"),
    ]
    # what the privacy switch shows: the same clock, no city
    assert messages["local_clock"].to_list() == [
        "Fri 08 Mar 16:00 their time", "Mon 11 Mar 09:00 their time", "Mon 11 Mar 09:00 their time",
        "Tue 12 Mar 09:30 their time"]
    assert queries.thread_handoffs(tid(T2)).rows() == [  # type: ignore[union-attr]
        ("Ana", "Ben", utc(9, 0), utc(11, 9), 57.0, True),
        ("Ben", "Ana", utc(11, 9), utc(11, 16), 7.0, True),
        ("Ana", "Dee", utc(11, 16), utc(12, 4), 12.0, True),
    ]
    # T3: Ben Mon 10:00 UTC -> Dee Tue 04:00 UTC; lanes span 12 h either side.
    assert queries.thread_working_hours(tid(T3)).rows() == [  # type: ignore[union-attr]
        ("Ben", "Europe/London", utc(11, 9), utc(11, 17)),
        ("Ben", "Europe/London", utc(12, 9), utc(12, 16, 0, 1)),
        ("Dee", "Asia/Kolkata", utc(11, 1, 30), utc(11, 9, 30)),  # 07:00-15:00 IST, her own hours
        ("Dee", "Asia/Kolkata", utc(12, 1, 30), utc(12, 9, 30)),
    ]


def test_overlap_matrix_by_hand(on_threads: None) -> None:
    from dashboard import queries

    got = queries.overlap_matrix(queries.Filters(), "team")
    assert got is not None
    # Week of 11 March 2024 (after the US switch): SF 16-24 UTC, London 09-17 UTC Mon-Fri -> 1 h
    # a day; India 01:30-09:30 UTC Sun-Thu meets London 09:00-09:30 Mon-Thu -> 2 h; SF never.
    # Cai (Remote) has no timezone: left out. Bounces either way: SF-London 5, and one each with India.
    expected = pl.DataFrame([
        ("India", "India", 1, 1, None, 0), ("India", "London", 1, 1, 2.0, 1), ("India", "SF", 1, 1, 0.0, 1),
        ("London", "India", 1, 1, 2.0, 1), ("London", "London", 1, 1, None, 0), ("London", "SF", 1, 1, 5.0, 5),
        ("SF", "India", 1, 1, 0.0, 1), ("SF", "London", 1, 1, 5.0, 5), ("SF", "SF", 1, 1, None, 0),
    ], schema=["group_a", "group_b", "people_a", "people_b", "overlap_hours", "bounces"], orient="row")
    assert_frame_equal(got.drop("overlap_week"), expected, check_dtypes=False)
    assert got["overlap_week"].unique().to_list() == [date(2024, 3, 11)]  # the week the hours are of
    by_tz = queries.overlap_matrix(queries.Filters(), "tz")
    assert by_tz is not None and sorted(by_tz["group_a"].unique()) == [
        "America/Los_Angeles", "Asia/Kolkata", "Europe/London"]


def test_pr_payoff_agrees_with_the_mart(demo_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from dashboard import queries

    monkeypatch.setenv("ASYNCPULSE_DB", str(demo_db))
    cols = ["quality_band", "prs", "merged_prs", "median_review_rounds",
            "median_time_to_first_review_hours", "median_time_to_merge_hours"]
    mart = query(demo_db, f"select {', '.join(cols)} from marts.pr_payoff where size_band = 'all' "
                          "order by quality_band")
    assert_frame_equal(queries.pr_payoff(queries.Filters()), mart, check_dtypes=False)  # type: ignore[arg-type]
    worst = queries.worst_pull_requests(queries.Filters())
    assert worst is not None and len(worst) == 20
    assert worst["quality"].is_sorted()
    assert all(w.startswith(f"quality {q}/100") for w, q in worst.select("why", "quality").iter_rows())
    # PRs are shown by their author's name (the mart's `author` is the login)
    people = query(demo_db, """select p.pr_id, p.author as login, m.display_name as name
                                 from marts.pull_requests p
                                 join intermediate.int_people__matched m on m.person_id = p.author_person_id""")
    shown = worst.select("pr_id", "author").join(people, on="pr_id", how="left")
    assert shown["author"].to_list() == shown["name"].to_list()
    assert (shown["author"] != shown["login"]).any()


# --- privacy -----------------------------------------------------------------------------------


def rendered_bytes(at: AppTest) -> bytes:
    """Return everything the run sent to the browser: every element's message, tables and charts included."""
    out: list[bytes] = []

    def walk(node: object) -> None:
        proto = getattr(node, "proto", None)
        if proto is not None and hasattr(proto, "SerializeToString"):
            out.append(proto.SerializeToString())
        children = getattr(node, "children", None) or {}
        for child in (children.values() if isinstance(children, dict) else children):
            walk(child)

    walk(at._tree)
    return b"\n".join(out)


def test_privacy_switch_hides_every_name_and_message(demo_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    names = query(demo_db, "select display_name from intermediate.int_people__matched")["display_name"].to_list()
    seen_names: set[str] = set()
    seen_texts: set[str] = set()
    for page in PAGES:
        shown = rendered_bytes(run_page(demo_db, monkeypatch, page, privacy=False))
        hidden_run = run_page(demo_db, monkeypatch, page, privacy=True)
        hidden = rendered_bytes(hidden_run)
        leaked = [n for n in names if n.encode() in hidden]
        assert not leaked, (page, leaked)
        seen_names |= {n for n in names if n.encode() in shown}
        if page == "app_pages/replay.py":
            thread = hidden_run.selectbox(key="thread").value
            texts = query(demo_db, "select text from intermediate.int_conversation_events "
                                   "where thread_id = ? and is_human", [thread])["text"].to_list()
            from dashboard import queries, ui

            monkeypatch.setenv("ASYNCPULSE_DB", str(demo_db))
            drawn = [ui.slack_markdown(t, queries.slack_names()) for t in texts]  # as the page draws them
            assert texts and all(d.encode() in shown for d in drawn)
            assert not [t for t in texts + drawn if t.encode() in hidden]
            times = queries.thread_messages(thread)
            assert times is not None  # the author's local time: with the city, and without it
            assert all(t.encode() in shown and t.encode() not in hidden for t in times["local_time"])
            assert all(t.encode() in hidden for t in times["local_clock"])
            assert HIDDEN.encode() in hidden and b"Person " in hidden
            assert b"Person #" not in hidden  # everyone is known: one pseudonym each, never a hash
            seen_texts |= set(texts)
    # The switch has something to hide: names appear on several pages when it is off.
    assert len(seen_names) >= 10 and seen_texts


# --- navigation --------------------------------------------------------------------------------


def test_worst_offenders_open_the_replay_of_the_chosen_thread(
    threads_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = run_page(threads_db, monkeypatch, "app_pages/offenders.py")
    at.selectbox(key="offender_pick").select(tid(T3)).run()
    at.button[0].click().run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Thread replay"]
    assert at.selectbox(key="thread").value == tid(T3)
    assert [m.value for m in at.metric] == ["2", "2", "18 h", "1", "18 h"]


def test_the_page_sees_a_new_build_on_the_next_run(
    threads_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Results are cached per file version: a swapped-in file is read afresh."""
    import duckdb

    db = tmp_path / "live.duckdb"
    shutil.copyfile(threads_db, db)
    at = run_page(db, monkeypatch)
    assert at.metric[0].value == "1"
    copy = tmp_path / "copy.duckdb"  # what the nightly writer does: change a copy, swap it in
    shutil.copyfile(db, copy)
    con = duckdb.connect(str(copy))
    con.execute("update marts.threads set bounces = 0")
    con.close()
    os.replace(copy, db)
    at.run()
    assert not at.exception and at.metric[0].value == "0"


# --- a real browser ----------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(db: Path, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    env = {**os.environ, "ASYNCPULSE_DB": str(db)}
    with open(log, "wb") as out:
        server = subprocess.Popen(  # the command `asyncpulse dashboard` runs
            streamlit_command(port),
            stdout=out, stderr=subprocess.STDOUT, env=env, cwd=PROJECT_ROOT,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert server.poll() is None, log.read_text()
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return server, url
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise AssertionError(f"streamlit did not start within 60 s:\n{log.read_text()}")


def _stop(server: subprocess.Popen[bytes]) -> None:
    server.terminate()
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


@pytest.fixture
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium (CI's .ci/run does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run"],
        )
        try:
            yield b
        finally:
            b.close()


def _settle(page: object) -> None:
    """Wait until Streamlit has finished running the script and drawing: the app says its
    script is not running, the running indicator is gone, no element is stale (left over
    from the run before) and every chart has drawn."""
    from playwright.sync_api import Page, expect

    assert isinstance(page, Page)
    page.wait_for_timeout(200)
    expect(page.locator('[data-testid="stApp"]')).to_have_attribute(
        "data-test-script-state", "notRunning", timeout=30_000)
    expect(page.locator('[data-testid="stStatusWidget"]')).to_have_count(0, timeout=30_000)
    expect(page.locator('[data-stale="true"]')).to_have_count(0, timeout=30_000)
    charts = page.locator('[data-testid="stVegaLiteChart"]')
    for i in range(charts.count()):
        expect(charts.nth(i).locator("canvas, svg").first).to_be_attached(timeout=30_000)
    page.wait_for_timeout(300)
    assert page.locator('[data-testid="stException"]').count() == 0, page.inner_text("body")


# Elements that scroll sideways when a table is wider than its place: a data grid's scroller,
# a static table's wrapper, and the page itself.
_WIDE = """() => {
    const wide = [];
    const els = document.querySelectorAll(
        '[data-testid="stDataFrame"] .dvn-scroller, [data-testid="stTable"], [data-testid="stTable"] *, '
        + '[data-testid="stMarkdown"] table, [data-testid="stMarkdown"] div:has(> table)');
    for (const el of els) {
        const style = getComputedStyle(el);
        if (el.scrollWidth > el.clientWidth + 1 && ['auto', 'scroll'].includes(style.overflowX)) {
            wide.push((el.closest('[data-testid]') || el).getAttribute('data-testid') + ' '
                      + el.scrollWidth + ' > ' + el.clientWidth);
        }
    }
    for (const t of document.querySelectorAll('[data-testid="stMarkdown"] table')) {
        const box = t.closest('[data-testid="stMarkdown"]');
        if (t.getBoundingClientRect().right > box.getBoundingClientRect().right + 1) {
            wide.push('markdown table ' + t.scrollWidth + ' > ' + box.clientWidth);
        }
    }
    if (document.documentElement.scrollWidth > window.innerWidth + 1) wide.push('page');
    return wide;
}"""


def _check_page(page: object, where: str) -> None:
    """Assert what every page owes its reader: no exception, no "Deploy", no sideways scroll."""
    from playwright.sync_api import Page

    assert isinstance(page, Page)
    assert page.locator('[data-testid="stException"]').count() == 0, (where, page.inner_text("body"))
    assert page.get_by_text("Deploy", exact=True).count() == 0, where
    assert page.locator('[data-testid="stAppDeployButton"]').count() == 0, where
    assert page.evaluate(_WIDE) == [], where


def _screenshot(page: object, name: str, readme: bool = True) -> None:
    """Save a full-page screenshot: the README's (`readme`) to SCREENSHOTS, others to tests/artifacts."""
    from PIL import Image
    from playwright.sync_api import Page

    assert isinstance(page, Page)
    folder = SCREENSHOTS if readme else ARTIFACTS
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    # Streamlit scrolls its main area, not the page: to capture the whole page, make the window
    # as tall as the content for the shot (same width), then put it back.
    size = page.viewport_size
    assert size is not None
    tall = page.evaluate("document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
    if tall > size["height"]:
        page.set_viewport_size({"width": size["width"], "height": min(int(tall) + 40, 4000)})
        _settle(page)
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size(size)
    # Committed to the repository: keep each small (a 256-colour palette reads the same).
    Image.open(path).convert("RGB").quantize(colors=128).save(path, optimize=True)
    assert not readme or path.stat().st_size < 300_000, (name, path.stat().st_size)


# Every page in the order of the sidebar, with the name of its screenshot.
# (Trends last: the walk filters Trends to one team, and the filter stays for the pages after.)
WALK = [("Overview", "overview"), ("Teams", "teams"), ("Worst offenders", "offenders"),
        ("Thread replay", "replay"), ("Timezone overlap", "overlap"), ("PR payoff", "pr_payoff"),
        ("Agreements", "agreements"), ("Coverage", "coverage"), ("Trends", "trends")]
LOCAL_HOSTS = {"127.0.0.1", "localhost"}


def test_the_walk_covers_every_page() -> None:
    titles = re.findall(r'st\.Page\("app_pages/\w+\.py", title="([^"]+)"', APP.read_text())
    assert sorted(titles) == sorted(t for t, _ in WALK)


@pytest.mark.browser
@pytest.mark.parametrize("size", [(1280, 800), (1920, 1080)], ids=["1280x800", "1920x1080"])
def test_every_page_in_headless_chromium(
    size: tuple[int, int], demo_db: Path, tmp_path: Path, browser: object
) -> None:
    """Every page at a laptop's and a monitor's size: no exception, nothing scrolls sideways,
    no "Deploy", and not one request leaves 127.0.0.1. The 1280-px run refreshes the README's
    screenshots (`make screenshots`)."""
    from urllib.parse import urlsplit

    from playwright.sync_api import Browser, expect

    assert isinstance(browser, Browser)
    width, height = size
    readme = width == 1280  # the README shows the laptop's size; the monitor's go to tests/artifacts
    suffix = "" if readme else f"_{width}"
    names = query(demo_db, "select display_name from intermediate.int_people__matched")["display_name"].to_list()
    server, url = _serve(demo_db, tmp_path / "streamlit.log")
    requests: list[str] = []
    try:
        context = browser.new_context(viewport={"width": width, "height": height})
        context.on("request", lambda r: requests.append(r.url))
        page = context.new_page()
        page.on("websocket", lambda ws: requests.append(ws.url))
        page.goto(url)
        expect(page.get_by_role("heading", name="asyncpulse")).to_be_visible(timeout=30_000)
        _settle(page)
        expect(page.locator('[data-testid="stMetric"]')).to_have_count(6)
        nav = page.locator('[data-testid="stSidebarNav"]')
        for title, shot in WALK:
            if title != "Overview":
                nav.get_by_text(title, exact=True).click()
                heading = "asyncpulse" if title == "Overview" else title
                expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible(timeout=30_000)
                _settle(page)
            if shot == "trends":  # a filter: one team
                page.get_by_role("combobox", name="Teams").click()  # the multiselect opens its options
                page.get_by_role("option", name="Data", exact=True).click()
                page.keyboard.press("Escape")
                _settle(page)
                expect(page.locator('[data-testid="stSidebar"]').get_by_text("Data", exact=True)).to_be_visible()
            if shot != "overview":
                expect(page.locator('[data-testid="stVegaLiteChart"], [data-testid="stDataFrame"], '
                                    '[data-testid="stTable"], [data-testid="stMarkdown"] table')
                       .first).to_be_visible(timeout=30_000)
            _check_page(page, f"{title} at {width}x{height}")
            _screenshot(page, shot + suffix, readme)
        # From the worst offenders to a replay.
        nav.get_by_text("Worst offenders", exact=True).click()
        _settle(page)
        page.get_by_role("button", name="Open the replay").click()
        expect(page.get_by_role("heading", name="Thread replay")).to_be_visible(timeout=30_000)
        _settle(page)
        expect(page.locator('[data-testid="stVegaLiteChart"]')).to_have_count(1)
        shown = int(page.locator('[data-testid="stMetricValue"]').first.inner_text())
        expect(page.locator('[class*="st-key-message-"]')).to_have_count(shown)  # every message drawn
        assert "thread=" in page.url
        _check_page(page, f"replay at {width}x{height}")
        _screenshot(page, "replay" + suffix, readme)
        body = page.inner_text("body")
        assert any(n in body for n in names)  # the metrics and lanes name people...
        page.get_by_text("Hide names and message text").click()
        expect(page.get_by_text(re.compile(r"^Person \d+$")).first).to_be_visible(timeout=30_000)
        _settle(page)
        body = page.inner_text("body")
        assert not [n for n in names if n in body]  # ...and with the switch on, nobody
        assert "Person " in body
        _check_page(page, f"private replay at {width}x{height}")
        _screenshot(page, "replay_private" + suffix, readme)
        # The CSVs of the worst offenders, with the switch still on: pseudonyms, no names or titles.
        nav.get_by_text("Worst offenders", exact=True).click()
        _settle(page)
        for what, head in [("threads", "thread_id,source,channel,"), ("pull requests", "pr_id,repo,number,title,")]:
            with page.expect_download() as download:
                page.get_by_role("button", name=f"Download these {what} (CSV)").click()
            csv = Path(download.value.path()).read_text()
            assert csv.startswith(head) and len(csv.splitlines()) == 21, csv[:200]
            assert not [n for n in names if n in csv], what
        assert "Person " in csv and HIDDEN in csv  # the PRs' authors and titles
        context.close()
    finally:
        _stop(server)
    assert requests
    assert [r for r in requests if urlsplit(r).hostname not in LOCAL_HOSTS] == []


@pytest.mark.browser
def test_ingest_and_build_while_a_page_is_loading(tmp_path: Path, browser: object) -> None:
    """The nightly writer and the dashboard at once: both succeed; a reload shows the new data."""
    from playwright.sync_api import Browser, expect

    assert isinstance(browser, Browser)
    db = tmp_path / "live.duckdb"
    load_and_build(db, make_workspace(tmp_path / "first"))
    newer = make_newer_workspace(tmp_path / "newer")
    server, url = _serve(db, tmp_path / "streamlit.log")
    try:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(url + "/coverage")
        expect(page.get_by_role("heading", name="Coverage", exact=True)).to_be_visible(timeout=30_000)
        _settle(page)
        table = page.locator('[data-testid="stTable"]').first
        expect(table).to_contain_text("2024-03-04 → 2024-03-07")
        cli = [str(Path(sys.executable).parent / "asyncpulse"), "--db", str(db)]
        env = {**os.environ, "ASYNCPULSE_DB": str(db)}
        writer = subprocess.Popen([*cli, "ingest", "slack", str(newer)], cwd=PROJECT_ROOT, env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        while writer.poll() is None:  # keep the dashboard reading the file the whole time
            page.reload()
            _settle(page)
        assert writer.returncode == 0, writer.stdout.read() if writer.stdout else ""
        build = subprocess.Popen([*cli, "build"], cwd=PROJECT_ROOT, env=env,
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        while build.poll() is None:
            page.reload()
            _settle(page)
        assert build.returncode == 0, build.stdout.read() if build.stdout else ""
        page.reload()
        _settle(page)
        expect(page.locator('[data-testid="stTable"]').first).to_contain_text("2024-03-04 → 2024-03-08")
    finally:
        _stop(server)


def test_sidebar_says_when_the_last_nightly_run_failed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failed run changed no data but left its raw.runs row: the sidebar shows it."""
    from prefect.testing.utilities import prefect_test_harness

    from pipelines.flows import nightly

    db = tmp_path / "runs.duckdb"
    export = build_workspace(SlackExport(tmp_path / "export")).root
    with prefect_test_harness():
        nightly(db=str(db), slack=str(export))
        with pytest.raises(Exception, match="no such file"):
            nightly(db=str(db), slack=str(export), people=str(tmp_path / "missing.csv"))
    at = run_page(db, monkeypatch)
    errors = [e.value for e in at.error]
    assert len(errors) == 1
    assert errors[0].startswith("The last nightly run failed and changed nothing: ")
    assert "missing.csv" in errors[0]


# --- safe by default ---------------------------------------------------------------------------


def _listening(port: int) -> set[str]:
    """Return the addresses with a TCP socket listening on `port` (from /proc/net/tcp and tcp6)."""
    import ipaddress

    found = set()
    for table, width in (("/proc/net/tcp", 4), ("/proc/net/tcp6", 16)):
        with contextlib.suppress(FileNotFoundError), open(table) as f:
            for line in f.readlines()[1:]:
                local, state = line.split()[1], line.split()[3]
                host, hexport = local.split(":")
                if state != "0A" or int(hexport, 16) != port:  # 0A: LISTEN
                    continue
                raw = bytes.fromhex(host)
                # the kernel writes each 32-bit word in host (little-endian) order
                words = b"".join(raw[i:i + 4][::-1] for i in range(0, width, 4))
                found.add(str(ipaddress.ip_address(words)))
    return found


def test_asyncpulse_dashboard_listens_on_127_0_0_1_only(
    threads_db: Path, tmp_path: Path
) -> None:
    """`asyncpulse dashboard` as a user starts it: while it serves, only 127.0.0.1 listens on its port
    (`ss -ltn` says the same when it is installed), and the page answers there."""
    port = _free_port()
    cli = Path(sys.executable).parent / "asyncpulse"
    log = tmp_path / "dashboard.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([str(cli), "dashboard", "--db", str(threads_db), "--port", str(port)],
                                stdout=out, stderr=subprocess.STDOUT, cwd=tmp_path, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while not _listening(port):
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=5) as r:
            assert r.status == 200
        assert _listening(port) == {"127.0.0.1"}
        if shutil.which("ss"):
            ss = subprocess.run(["ss", "-Hltn", f"sport = :{port}"], capture_output=True, text=True, check=True)
            assert [line.split()[3] for line in ss.stdout.splitlines()] == [f"127.0.0.1:{port}"]
        assert "Network URL" not in log.read_text()
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=20)
    assert _listening(port) == set()


def test_dashboard_help_names_host_and_port() -> None:
    cli = Path(sys.executable).parent / "asyncpulse"
    out = subprocess.run([str(cli), "dashboard", "--help"], capture_output=True, text=True, check=True).stdout
    flat = " ".join(out.split())
    assert "--host HOST address the dashboard listens on (default 127.0.0.1: this machine only;" in flat
    assert "--port PORT port the dashboard listens on (default 8501)" in flat
    assert streamlit_command(8600)[-6:] == ["--server.address", "127.0.0.1", "--server.port", "8600",
                                             "--client.toolbarMode", "viewer"]


# --- readable ----------------------------------------------------------------------------------


def test_slack_markup_is_rendered() -> None:
    from dashboard import ui

    text = ("see <https://x.io/a|the docs> and <https://y.io>, ask <@U2> or <@U9|old name>, "
            "<!here> in <#C1|general>: run `make *all*` *now* _please_ (costs $5 &amp; &lt;3)\n"
            "second line```x = 1\ny = 2```")
    assert ui.slack_markdown(text, {"U2": "Ben Smith"}) == (
        "see [the docs](https://x.io/a) and [https://y.io](https://y.io), ask **@Ben Smith** or "
        "**@old name**, **@here** in #general: run `make *all*` **now** *please* \\(costs \\$5 & \\<3\\)  \n"
        "second line\n```\nx = 1\ny = 2\n```\n")
    assert ui.slack_markdown(None, {}) == "—"
    assert ui.github_markdown("## What\n<!-- template hint -->\nFix $HOME") == "## What\n\nFix \\$HOME"


def test_replay_keeps_the_thread_in_the_address(threads_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = run_page(threads_db, monkeypatch, "app_pages/replay.py")
    assert at.query_params["thread"] == tid(T2)  # the worst thread, by id (not its label)
    at.selectbox(key="thread").select(tid(T3)).run()
    assert at.query_params["thread"] == tid(T3)
    assert [m.value for m in at.metric] == ["2", "2", "18 h", "1", "18 h"]
    # every message whole, in its author's time, each in its own box
    drawn = [m.value for m in at.markdown]
    at_ = drawn.index("**Ben** · Mon 11 Mar 10:00 London")
    assert drawn[at_:at_ + 4] == ["**Ben** · Mon 11 Mar 10:00 London", "Dee, is the India rollout green?",
                                  "**Dee** · Tue 12 Mar 09:30 Kolkata", "green since this morning"]


def test_replay_of_an_unknown_thread_says_so(threads_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASYNCPULSE_DB", str(threads_db))
    at = AppTest.from_file(str(APP), default_timeout=30)
    at.query_params["thread"] = "slack:C1:1.000000"
    at.switch_page("app_pages/replay.py")
    at.run()
    assert not at.exception
    assert [e.value for e in at.error] == [
        "Thread not found: slack:C1:1.000000. It is not in this database (any more); pick one below."]
    assert at.selectbox(key="thread").value is None and not at.metric  # not silently another thread
    at.selectbox(key="thread").select(tid(T3)).run()  # then a pick: shown, and the address follows
    assert not at.error and at.query_params["thread"] == tid(T3)
    assert [m.value for m in at.metric] == ["2", "2", "18 h", "1", "18 h"]


def test_dms_are_named_by_their_members(demo_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    members = query(demo_db, """
        select c.id, list_sort(list(p.display_name)) as names
        from (select id, unnest(members) as m from raw.slack_conversations where conversation_type = 'dm') c
        join (select unnest(slack_ids) as s, display_name from intermediate.int_people__matched) p on p.s = c.m
        group by c.id order by c.id""")
    expected = {i: "DM " + ", ".join(n) for i, n in members.iter_rows()}
    assert len(expected) == 9  # the demo's DMs, everyone known
    at = run_page(demo_db, monkeypatch, "app_pages/trends.py")
    options = at.multiselect(key="f_channels").options
    assert sorted(o for o in options if o.startswith("DM ")) == sorted(expected.values())
    hidden = run_page(demo_db, monkeypatch, "app_pages/trends.py", privacy=True)
    dms = [o for o in hidden.multiselect(key="f_channels").options if o.startswith("DM ")]
    assert len(dms) == 9 and all(re.fullmatch(r"DM Person \d+, Person \d+", o) for o in dms)


def test_worst_offenders_list_more_rows_on_request(demo_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """20 threads and 20 PRs by default; 50 on request. Each table row starts with its numbers."""
    def rows(at: AppTest) -> list[list[str]]:
        tables = [m.value for m in at.markdown if m.value.startswith("| ")]
        return [t.splitlines()[2:] for t in tables]

    at = run_page(demo_db, monkeypatch, "app_pages/offenders.py")
    threads, prs = rows(at)
    assert (len(threads), len(prs)) == (20, 20)
    assert [m.value for m in at.markdown if m.value.startswith("| ")][0].splitlines()[0] == (
        "| Waiting | Bounces | Messages | Open | Where, when (UTC) | Why it ranks | What would have helped |")
    at.segmented_control(key="offender_rows").set_value(50).run()
    assert not at.exception
    threads, prs = rows(at)
    assert (len(threads), len(prs)) == (50, 50)
    helped = [r.rsplit("|", 2)[-2].strip() for r in threads]
    assert len(set(helped)) > 40  # written for its row, not one sentence for all

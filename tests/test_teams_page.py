"""The Teams page and marts.team_health_weekly against values worked out by hand; the PR
headline as the share at 70+ with its count; a change of zero shown as no change.

The workspace is tests/test_threads.py's (threads T1-T7, 8-14 March 2024) with its people
regrouped: Ana, Ben and Dee are team Core (3 people), Cai alone is team Remote.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from pipelines import jobs
from pipelines.settings import get_settings
from tests.conftest import SlackExport, load_workspace, query
from tests.test_dashboard import run_page
from tests.test_pull_requests import PEOPLE as PR_PEOPLE
from tests.test_pull_requests import PRS
from tests.test_threads import build_threads
from tests.workspace import USERS

TEAMS = """person,slack_id,email,github_login,tz,work_start,work_end,workdays,team
Ana,U1,,,,,,,Core
Ben,U2,,,,,,,Core
Cai,U3,,,,,,,Remote
Dee,U4,,,Asia/Kolkata,07:00,15:00,Sun-Thu,Core
"""
PAGE = "app_pages/teams.py"
WORST = "background-color: #fde0dc"


@pytest.fixture(scope="module")
def teams_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("teams")
    export = build_threads(SlackExport(root / "export"))
    (root / "people.csv").write_text(TEAMS)
    db = root / "teams.duckdb"
    jobs.ingest(db, "slack", export.root)
    jobs.build(db, root / "people.csv")
    return db


def min_group(monkeypatch: pytest.MonkeyPatch, n: int) -> None:
    monkeypatch.setenv("ASYNCPULSE_MIN_GROUP_SIZE", str(n))
    get_settings.cache_clear()


def test_team_health_weekly_by_hand(teams_db: Path) -> None:
    got = query(teams_db, """
        select group_name, week, members, threads, ping_pong_threads, round(bounce_wait_hours, 4) as wait,
               median_first_reply_work_hours, openers, low_context_share, messages, dm_share, prs,
               good_pr_share, active_people, round(after_hours_share, 4) as after_hours,
               round(checkins_per_day, 4) as checkins, round(fast_reply_share, 4) as fast,
               broadcast_mentions
        from marts.team_health_weekly where grouping = 'team' order by group_name, week""")
    expected = pl.DataFrame([
        # Week of 4 March: Ana's T2 only (Fri 16:00 PST, in her hours; one burst that Friday).
        ("Core", date(2024, 3, 4), 3, 1, 1, 76.0, 0.0, 1, 0.0, 1, None, 0, None, 1, 0.0, 1.0, None, 0),
        # Week of 11 March: T3 (Ben), T1, T5, T6, T7 (Ana); the bot's T4 is nobody's. Ping-pong:
        # T1 (2 bounces). Waiting: T3 18 h + T1 17.4167 h. First replies 2.5, 0.5, 0.05 x3 in
        # working hours: median 0.05. Messages: Ana 20, Ben 20, Dee 2.
        # After hours: Ana 1 of 20 (thanks! at 17:00 PDT), Ben 1 of 20 (17:10 GMT), Dee 0 of 2
        # -> mean 0.0333. Check-ins a working day: Ana (2 + 1 + 2) / 3, Ben (3 + 3) / 2, Dee 1 ->
        # mean 1.8889. Fast replies: the mean of people_weekly's own Ana 12/17, Ben 11/13, Dee 0/2.
        ("Core", date(2024, 3, 11), 3, 5, 1, 35.4167, 0.05, 5, 0.0, 42, None, 0, None, 3, 0.0333, 1.8889,
         round((12 / 17 + 11 / 13 + 0) / 3, 4), 0),
        # Cai wrote one reply (T1, 18:00 UTC), no timezone: no after-hours or check-in figure.
        ("Remote", date(2024, 3, 4), 1, 0, 0, 0.0, None, 0, None, 0, None, 0, None, 0, None, None, None, 0),
        ("Remote", date(2024, 3, 11), 1, 0, 0, 0.0, None, 0, None, 1, None, 0, None, 1, None, None, 0.0, 0),
    ], schema=got.columns, orient="row")
    assert_frame_equal(got, expected, check_dtypes=False)
    tz = query(teams_db, "select group_name, members from marts.team_health_weekly "
                         "where grouping = 'tz' and week = '2024-03-11' order by group_name")
    assert tz.rows() == [("(timezone unknown)", 1), ("America/Los_Angeles", 1), ("Asia/Kolkata", 1),
                         ("Europe/London", 1)]


HEADLINE_COLUMNS = ["Team", "People", "Threads opened", "Ping-pong threads", "Waiting on bounces",
                    "DM share", "Low-context openers", "PRs at 70+", "First reply (work h)"]


def test_teams_page_hides_a_team_under_min_group_size(
    teams_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    min_group(monkeypatch, 2)
    at = run_page(teams_db, monkeypatch, PAGE)
    # The last complete week is 4 March (the data ends Thu 14 March); no week before it.
    assert [s.value for s in at.subheader] == ["Week of 04 Mar 2024", "Headline metrics", "Habits"]
    assert [i.value for i in at.info] == [
        "Not shown: Remote (1 person). A group smaller than 2 people (`min_group_size`) shows "
        "nothing, because its figures would point at individuals."]
    headline, habits = (t.value for t in at.table)
    assert headline.to_dict("records") == [dict(zip(HEADLINE_COLUMNS, [
        "Core", 3, 1, "1", "3.2 days", "—", "0%", "no PRs", "0 min"], strict=True))]
    assert habits.to_dict("records") == [{
        "Team": "Core", "People who wrote": 1, "After hours": "0%", "Check-ins a day": "1.0",
        "Fast replies": "—", "@channel / @here": "0"}]
    assert not at.dataframe  # no row per person at a min_group_size of 2
    assert "Remote" not in str(headline) + str(habits)


def test_teams_page_this_week_against_the_last(teams_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """From 11 March no week is complete: the latest (11 March) against 4 March."""
    min_group(monkeypatch, 2)
    at = run_page(teams_db, monkeypatch, PAGE)
    at.date_input(key="f_dates").set_value((date(2024, 3, 11), date(2024, 3, 13))).run()
    assert not at.exception
    assert at.subheader[0].value == "Week of 11 Mar 2024 (partial: no complete week in range)"
    headline, habits = (t.value for t in at.table)
    # 35.4 h against 76 h: -40.6 h; 3 min against 0; the ping-pong count and shares unchanged.
    assert headline.to_dict("records") == [dict(zip(HEADLINE_COLUMNS, [
        "Core", 3, 5, "1 (0)", "35 h (-41 h)", "—", "0% (0 pts)", "no PRs", "3 min (+3 min)"],
        strict=True))]
    assert habits.to_dict("records") == [{
        "Team": "Core", "People who wrote": 3, "After hours": "3% (+3 pts)", "Check-ins a day": "1.9 (+0.9)",
        "Fast replies": "52%", "@channel / @here": "0 (0)"}]  # no fast-reply figure the week before


def test_teams_page_marks_the_worst_cell_and_shows_people_at_one(
    teams_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    min_group(monkeypatch, 1)
    at = run_page(teams_db, monkeypatch, PAGE)
    at.date_input(key="f_dates").set_value((date(2024, 3, 11), date(2024, 3, 13))).run()
    assert not at.info
    headline = at.table[0]
    assert headline.value["Team"].to_list() == ["Core", "Remote"]
    # Core is worse on ping-pong (1 against 0) and waiting (35 h against 0); no other column
    # has two different figures (Remote has no opener or first reply, nobody has a PR or a DM).
    styles = " ".join(headline.proto.arrow_data.styler.styles.split())
    marked = sorted(int(c) for c in __import__("re").findall(r"row0_col(\d+)", styles))
    assert marked == [3, 4] and "row1_" not in styles and WORST in styles
    people = at.dataframe[0].value
    assert people[["team", "person", "messages"]].to_dict("records") == [
        {"team": "Core", "person": "Ana", "messages": 20}, {"team": "Core", "person": "Ben", "messages": 20},
        {"team": "Core", "person": "Dee", "messages": 2}, {"team": "Remote", "person": "Cai", "messages": 1}]
    hidden = run_page(teams_db, monkeypatch, PAGE, privacy=True)
    assert not [n for n in ("Ana", "Ben", "Cai", "Dee") if n in str(hidden.dataframe[0].value)]


def test_teams_page_at_the_default_shows_no_small_team(teams_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = run_page(teams_db, monkeypatch, PAGE)
    assert get_settings().min_group_size == 5
    assert [i.value for i in at.info] == [
        "Not shown: Core (3 people), Remote (1 person). A group smaller than 5 people "
        "(`min_group_size`) shows nothing, because its figures would point at individuals."]
    assert not at.table and not at.dataframe
    at.radio(key="teams_group").set_value("tz").run()
    assert at.info[0].value.startswith("Not shown: (timezone unknown) (1 person), America/Los_Angeles "
                                       "(1 person), Asia/Kolkata (1 person), Europe/London (1 person).")


# --- the PR headline and a change of zero ------------------------------------------------------


def test_overview_pr_headline_is_the_share_at_70_with_its_count(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PR 1 scores 100 (tests/test_pull_requests.py); PR 3 has no description: 0; the bot's PR 2
    does not count. Week of 11 March: 1 of 2 at 70+."""
    e = SlackExport(tmp_path / "slack")
    e.json("users.json", USERS[:2])
    e.json("channels.json", [{"id": "C1", "name": "general"}])
    e.day("general", "2024-03-12", [])
    thin = {**PRS[0], "number": 3, "title": "Tweak", "body": "", "reviews": [], "comments": [],
            "url": "https://github.com/acme/api/pull/3", "createdAt": "2024-03-12T08:00:00Z",
            "mergedAt": None, "closedAt": None}
    db = load_workspace(tmp_path / "prs.duckdb", e, [*PRS, thin], PR_PEOPLE)
    at = run_page(db, monkeypatch)
    card = next(m for m in at.metric if m.label == "PRs with good descriptions")
    assert (card.value, card.proto.delta_description) == ("50%", "1 of 2 PRs at 70+")


def test_a_change_of_zero_is_neutral() -> None:
    from dashboard import ui

    assert [ui.delta_text(m, d) for m, d in [
        ("low_context_share", 0.0), ("low_context_share", 0.004), ("low_context_share", -0.004),
        ("bounce_wait_hours", 0.0), ("ping_pong_threads", 0.0), ("ping_pong_threads", -2.0),
        ("good_pr_share", 0.25), ("bounce_wait_hours", -40.5833)]] == [
        "0 pts", "0 pts", "0 pts", "0 min", "0", "-2", "+25 pts", "-41 h"]
    assert ui.is_no_change("0 pts") and not ui.is_no_change("-2") and not ui.is_no_change(None)


def test_overlap_shows_no_group_under_min_group_size(teams_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """By timezone every group here is one person (Cai has none: left out)."""
    at = run_page(teams_db, monkeypatch, "app_pages/overlap.py")
    at.radio(key="overlap_group").set_value("tz").run()
    assert [i.value for i in at.info] == [
        "Not shown: America/Los_Angeles (1 person), Asia/Kolkata (1 person), Europe/London (1 person). "
        "A group smaller than 5 people (`min_group_size`) shows nothing, because its figures would point "
        "at individuals."]
    assert not at.dataframe and not at.get("arrow_vega_lite_chart")
    # By team, Core's three people meet a min_group_size of 3: one cell, Core with Core.
    min_group(monkeypatch, 3)
    at = run_page(teams_db, monkeypatch, "app_pages/overlap.py")
    assert not at.info
    assert at.dataframe[0].value[["group_a", "group_b", "people_a", "bounces"]].to_dict("records") == [
        {"group_a": "Core", "group_b": "Core", "people_a": 3, "bounces": 7}]  # T2 3, T1 2, T3 1, T4 1


@pytest.mark.parametrize(("n", "offered", "held_back"), [
    (5, [], ["Core", "Remote"]), (3, ["Core"], ["Remote"]), (1, ["Core", "Remote"], []),
])
def test_the_team_filter_offers_no_team_under_min_group_size(
    n: int, offered: list[str], held_back: list[str], teams_db: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from dashboard import queries

    monkeypatch.setenv("ASYNCPULSE_DB", str(teams_db))
    min_group(monkeypatch, n)
    queries.st.cache_data.clear()
    assert queries.team_options() == (offered, held_back)

"""marts.pull_requests and marts.pr_payoff against values worked out by hand.

acme/api#1, by Ana (alice-gh, Los Angeles, PDT = UTC-7 in this week), opened Mon 11 March
2024 16:00 UTC (09:00 PDT). Ben (bensmith, London, GMT) requests changes Tue 09:00 UTC, Ana
answers Tue 16:00 UTC (09:00 PDT), Ben approves 16:30, merged 17:00.
  first review: 17 h after opening; in Ben's working hours, Mon 16:00-17:00 = 1 h
  turns Ana, Ben, Ana, Ben -> handoffs: Ana->Ben (Ben at work: no bounce), Ben->Ana (Ben at
  09:00 at work, Ana at 02:00: a bounce of 7 h), Ana->Ben (no bounce)
  review rounds: reviewer turns followed by an author turn = 1
  time to merge: 25 h. Slack: one message links the PR (another links #12, not #1).
  description: body, why ("because"), link (#10), testing, risk (rollback), focus: 6 of 6 -> 100
acme/api#2, by dependabot[bot]: a bot's PR, out of the payoff table.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import SlackExport, load_workspace, msg, query, ts
from tests.workspace import USERS

BODY = (
    "Fixes #10. The export times out for large teams because we load every message into "
    "memory, so this streams rows instead.\n\nTested with `pytest tests/test_export.py` and a "
    "1M-row export.\n\nNo migration needed; rollback is a plain revert.\n\n"
    "Reviewers: please focus on `stream.py`."
)

PRS = [
    {
        "number": 1, "title": "Stream the export", "body": BODY, "author": {"login": "alice-gh"},
        "createdAt": "2024-03-11T16:00:00Z", "closedAt": "2024-03-12T17:00:00Z",
        "mergedAt": "2024-03-12T17:00:00Z", "isDraft": False, "labels": [],
        "url": "https://github.com/acme/api/pull/1",
        "reviews": [
            {"id": "R1", "author": {"login": "bensmith"}, "state": "CHANGES_REQUESTED",
             "body": "Please add a test for empty teams", "submittedAt": "2024-03-12T09:00:00Z"},
            {"id": "R2", "author": {"login": "bensmith"}, "state": "APPROVED", "body": "",
             "submittedAt": "2024-03-12T16:30:00Z"},
        ],
        "comments": [
            {"id": "C1", "author": {"login": "alice-gh"}, "body": "Added, thanks",
             "createdAt": "2024-03-12T16:00:00Z"},
        ],
    },
    {
        "number": 2, "title": "Bump orjson from 3.9 to 3.10", "body": "Bumps orjson from 3.9 to 3.10.",
        "author": {"login": "dependabot[bot]"}, "createdAt": "2024-03-11T08:00:00Z",
        "closedAt": None, "mergedAt": None, "isDraft": False, "labels": [{"name": "dependencies"}],
        "url": "https://github.com/acme/api/pull/2", "reviews": [], "comments": [],
    },
]

PEOPLE = """person,slack_id,email,github_login,tz,work_start,work_end,workdays,team
Ana,U1,,alice-gh,,,,,SF
Ben,U2,,bensmith,,,,,London
"""


@pytest.fixture
def pr_db(tmp_path: Path, db_path: Path) -> Path:
    e = SlackExport(tmp_path / "slack")
    e.json("users.json", USERS[:2])
    e.json("channels.json", [{"id": "C1", "name": "general"}])
    e.day("general", "2024-03-12", [
        msg("U2", "can someone look at <https://github.com/acme/api/pull/1|api#1>?", ts("2024-03-12", 10)),
        msg("U1", "and <https://github.com/acme/api/pull/12>", ts("2024-03-12", 11)),
    ])
    return load_workspace(db_path, e, PRS, PEOPLE)


def test_pull_requests_by_hand(pr_db: Path) -> None:
    got = query(pr_db, """
        select repo, number, author, author_name, quality, has_body, has_why, has_link, has_testing, has_risk,
               has_focus, has_visuals, visuals_needed, round(time_to_first_review_hours, 4),
               round(time_to_first_review_work_hours, 4), review_rounds, bounces,
               round(bounce_wait_hours, 4), slack_mentions, round(time_to_merge_hours, 4),
               quality_band, is_bot_author
        from marts.pull_requests order by number""")
    assert got.rows() == [
        ("acme/api", 1, "alice-gh", "Ana", 100, True, True, True, True, True, True, False, None,
         17.0, 1.0, 1, 1, 7.0, 1, 25.0, "70-100", False),
        # a bot is no person: no author_name
        ("acme/api", 2, "dependabot[bot]", None, 0, False, False, False, False, False, False, False, None,
         None, None, 0, 0, 0.0, 0, None, "0-39", True),
    ]


def test_pr_conversation_is_a_thread(pr_db: Path) -> None:
    got = query(pr_db, """
        select thread_id, source, conversation_id, conversation_type, messages, participants,
               handoffs, bounces, first_reply_hours, url
        from marts.threads where source = 'github' order by thread_id""")
    assert got.rows() == [
        ("github:acme/api#1", "github", "acme/api", "pull_request", 4, 2, 3, 1, 17.0,
         "https://github.com/acme/api/pull/1"),
        # the bot's opening is no human message; nobody answered
        ("github:acme/api#2", "github", "acme/api", "pull_request", 0, 0, 0, 0, None,
         "https://github.com/acme/api/pull/2"),
    ]


def test_payoff_by_band(pr_db: Path) -> None:
    got = query(pr_db, """
        select quality_band, prs, merged_prs, median_review_rounds,
               median_time_to_first_review_hours, median_time_to_merge_hours
        from marts.pr_payoff where size_band = 'all' order by quality_band""")
    assert got.rows() == [
        ("0-39", 0, 0, None, None, None),   # the bot's PR does not count
        ("40-69", 0, 0, None, None, None),
        ("70-100", 1, 1, 1.0, 17.0, 25.0),
    ]
    # gh without additions,deletions: no PR has a size, so every sized cell is empty
    sized = query(pr_db, "select count(*), sum(prs) from marts.pr_payoff where size_band <> 'all'")
    assert sized.rows() == [(15, 0)]


def test_author_is_the_login_as_github_shows_it(tmp_path: Path, db_path: Path) -> None:
    """`author` is the login with GitHub's own capitals; `author_name` the person's name: for
    someone nobody matched, GitHub's name for them, else that same login (never lower-cased)."""
    e = SlackExport(tmp_path / "slack")
    e.json("users.json", USERS[:2])
    e.json("channels.json", [{"id": "C1", "name": "general"}])
    e.day("general", "2024-03-12", [msg("U1", "hi", ts("2024-03-12", 10))])
    prs = [
        {**PRS[0], "number": 3, "url": "https://github.com/acme/api/pull/3",
         "author": {"login": "LeoHart"}, "reviews": [], "comments": []},
        {**PRS[0], "number": 4, "url": "https://github.com/acme/api/pull/4",
         "author": {"login": "Bren2010", "name": "Bren Jones"}, "reviews": [], "comments": []},
        {**PRS[0], "number": 5, "url": "https://github.com/acme/api/pull/5", "reviews": [], "comments": []},
    ]
    load_workspace(db_path, e, prs, PEOPLE)
    got = query(db_path, "select number, author, author_name, author_person_id from marts.pull_requests "
                         "order by number")
    assert got.rows() == [
        (3, "LeoHart", "LeoHart", "github:leohart"),
        (4, "Bren2010", "Bren Jones", "github:bren2010"),
        (5, "alice-gh", "Ana", "Ana"),
    ]
    assert query(db_path, "select number from marts.pull_requests where author = 'LeoHart'").rows() == [(3,)]


def test_coverage_says_what_the_github_layout_cannot_see(pr_db: Path) -> None:
    """Both PRs came from `gh pr list` JSON: no inline comments, no timeline, no file lists here."""
    got = query(pr_db, "select item, value, note from marts.coverage where source = 'github' "
                       "and item <> 'PRs without a size' order by item")  # that row: test_pr_phases.py
    assert got.rows() == [
        ("changed files", "0 of 2 PRs", "no file lists: whether a PR changes a UI (and needs screenshots) is unknown"),
        ("draft history", "0 of 2 PRs", "no ready-for-review events: waits are counted from when a PR was opened"),
        ("inline review comments", "0", "none loaded: review rounds count reviews and conversation comments only"),
        ("layout loaded: gh", "2 pull requests",
         "gh pr list: no inline review comments and no timeline, so a PR opened as a draft counts as ready "
         "from its creation"),
        ("newest pull request", "2024-03-11 16:00 UTC", None),  # by when it was opened
    ]

"""marts.weekly_mix, marts.people_weekly and marts.coverage against values worked out by hand.

One week (Mon 11 March 2024, UTC). ana is in Los Angeles (PDT, UTC-7 that week), ben in
London (GMT); both work 09:00-17:00 Mon-Fri. C1 is a channel, D1 their DM.

  ana 1  Mon 16:00 UTC = 09:00 PDT  C1  "<!here> ..."  in hours, broadcast, first burst
  ana 2  Mon 16:10                   C1               in hours, same burst (10 min)
  ana 3  Mon 16:50                   D1               in hours, new burst (40 min)
  ben 1  Mon 16:53 GMT               D1               in hours; reply to ana 3 after 3 min: fast
  ana 4  Tue 03:00 UTC = Mon 20:00   D1               after hours; new burst; reply to ben 1 (10 h)
  ben 2  Tue 03:20 GMT               D1               after hours; reply to ana 4 (20 min, not fast)
  ben 3  Tue 10:00 GMT               C1  "<!channel>" in hours, broadcast; reply to ana 2 (not fast)
  ana 5  Sat 18:00 UTC = 11:00 PDT   C1               after hours (Saturday); reply to ben 3

ana: 5 messages, 2 after hours = 0.4; Monday (her only working day with activity) has 3
bursts; of her 2 replies to someone else none is fast; 1 broadcast.
ben: 3 messages, 1 after hours; Monday 1 burst, Tuesday 2 (a new day, then 6 h 40 later):
1.5 a day; 1 of 3 replies fast; 1 broadcast.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from pipelines import jobs
from tests.conftest import SlackExport, msg, query, ts
from tests.workspace import USERS

WEEK = date(2024, 3, 11)


def build_week(e: SlackExport, with_dms: bool = True) -> SlackExport:
    e.json("users.json", USERS[:2])
    e.json("channels.json", [{"id": "C1", "name": "general"}])
    e.day("general", "2024-03-11", [
        msg("U1", "<!here> release notes are up", ts("2024-03-11", 16)),
        msg("U1", "also this", ts("2024-03-11", 16, 10)),
    ])
    e.day("general", "2024-03-12", [msg("U2", "<!channel> standup moved", ts("2024-03-12", 10))])
    e.day("general", "2024-03-16", [msg("U1", "weekend thought", ts("2024-03-16", 18))])
    if with_dms:
        e.json("dms.json", [{"id": "D1", "members": ["U1", "U2"]}])
        e.day("D1", "2024-03-11", [
            msg("U1", "hey ben", ts("2024-03-11", 16, 50)),
            msg("U2", "hi ana", ts("2024-03-11", 16, 53)),
        ])
        e.day("D1", "2024-03-12", [
            msg("U1", "one more thing", ts("2024-03-12", 3)),
            msg("U2", "sure", ts("2024-03-12", 3, 20)),
        ])
    return e


@pytest.fixture
def week_db(tmp_path: Path, db_path: Path) -> Path:
    jobs.ingest(db_path, "slack", build_week(SlackExport(tmp_path / "e")).root)
    jobs.build(db_path)
    return db_path


def test_people_weekly_by_hand(week_db: Path) -> None:
    got = query(week_db, """
        select person, week, messages, round(after_hours_share, 4), checkins_per_day,
               round(fast_reply_share, 4), broadcast_mentions
        from marts.people_weekly order by person""")
    assert got.rows() == [
        ("Ana", WEEK, 5, 0.4, 3.0, 0.0, 1),
        ("Ben", WEEK, 3, 0.3333, 1.5, 0.3333, 1),
    ]


def test_weekly_mix_with_dms(week_db: Path) -> None:
    got = query(week_db, "select week, conversation_type, messages, share from marts.weekly_mix order by conversation_type")
    assert got.rows() == [
        (WEEK, "dm", 4, 0.5),
        (WEEK, "mpim", 0, 0.0),   # DMs are in the export, so no group DMs really is 0
        (WEEK, "private", 0, 0.0),
        (WEEK, "public", 4, 0.5),
    ]


def test_weekly_mix_without_dms_is_null_not_zero(tmp_path: Path, db_path: Path) -> None:
    jobs.ingest(db_path, "slack", build_week(SlackExport(tmp_path / "e"), with_dms=False).root)
    jobs.build(db_path)
    got = query(db_path, "select week, conversation_type, messages, share from marts.weekly_mix order by conversation_type")
    assert got.rows() == [
        (WEEK, "dm", None, None),
        (WEEK, "mpim", None, None),
        (WEEK, "private", 0, 0.0),
        (WEEK, "public", 4, 1.0),
    ]
    cov = query(db_path, "select value, note from marts.coverage where item = 'direct messages present'")
    assert cov.rows() == [(
        "no",
        "the export holds no DMs (most plans export public channels only): DM and group-DM shares are NULL, not 0",
    )]


def test_unknown_timezone_gives_null_not_utc(tmp_path: Path, db_path: Path) -> None:
    """cai has no timezone: his after-hours share and check-ins are unknown, not computed in UTC."""
    e = SlackExport(tmp_path / "e")
    e.json("users.json", USERS[:3])
    e.json("channels.json", [{"id": "C1", "name": "general"}])
    e.day("general", "2024-03-11", [msg("U3", "late", ts("2024-03-11", 23)), msg("U3", "later", ts("2024-03-11", 23, 50))])
    jobs.ingest(db_path, "slack", e.root)
    jobs.build(db_path)
    got = query(db_path, "select person, messages, after_hours_share, checkins_per_day, fast_reply_share from marts.people_weekly")
    assert got.rows() == [("Cai", 2, None, None, None)]


def test_coverage_by_hand(week_db: Path) -> None:
    got = query(week_db, "select source, item, value, note from marts.coverage order by source, item")
    assert got.rows() == [
        ("github", "PRs without a size", "0 of 0", "no pull requests loaded"),
        ("people", "people file", "no",
         "no people file: everyone works 09:00-17:00 Mon-Fri in their Slack timezone"),
        ("people", "people with a known timezone", "2 of 2", "everyone who wrote a message has a timezone"),
        ("slack", "conversations", "2", "dm: 1, public: 1"),
        ("slack", "date range", "2024-03-11 → 2024-03-16", "8 human messages"),
        ("slack", "direct messages present", "yes",
         "DMs and group DMs are in the export: the conversation mix is complete"),
        ("slack", "folders typed by guess", "0", None),
        ("slack", "messages by authors not in users.json", "0",
         "they count, under their user id, with an unknown timezone"),
        ("slack", "newest message", "2024-03-16 18:00 UTC", None),  # "weekend thought"
        ("slack", "private channels present", "no",
         "no private channels in the export: their share reads 0 but may not be"),
    ]


def test_openers_are_channel_thread_parents_and_dms_after_silence(tmp_path: Path, db_path: Path) -> None:
    """In the week: no channel message has replies; in D1 "hey ben" opens (first message),
    ben answers 3 minutes later (not an opener), ana writes again 10 h later (an opener),
    ben 20 minutes after that (not). A thread parent in C1 with a reply is an opener;
    its reply is not."""
    e = build_week(SlackExport(tmp_path / "e"))
    e.day("general", "2024-03-13", [
        msg("U2", "Can someone review https://github.com/acme/api/pull/7 today?", ts("2024-03-13", 9),
            thread_ts=ts("2024-03-13", 9), reply_count=1),
        msg("U1", "on it", ts("2024-03-13", 16), thread_ts=ts("2024-03-13", 9)),
    ])
    jobs.ingest(db_path, "slack", e.root)
    jobs.build(db_path)
    got = query(db_path, "select message_id, conversation_type, author, low_context from marts.openers order by message_id")
    assert got.rows() == [
        (f"C1:{ts('2024-03-13', 9)}", "public", "Ben", False),
        (f"D1:{ts('2024-03-11', 16, 50)}", "dm", "Ana", True),
        (f"D1:{ts('2024-03-12', 3)}", "dm", "Ana", False),
    ]

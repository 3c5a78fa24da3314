"""marts.threads: the turn/handoff/bounce engine against values worked out by hand.

People (tests/workspace.py users, plus the people file below):
  ana  U1  America/Los_Angeles (Slack)   09:00-17:00 Mon-Fri (default)
  ben  U2  Europe/London (Slack)         09:00-17:00 Mon-Fri
  cai  U3  no timezone anywhere: unknown, never UTC
  dee  U4  Slack says "Mars/Olympus_Mons"; the people file says Asia/Kolkata, 07:00-15:00 Sun-Thu
In March 2024 the US moved clocks on the 10th and the UK on the 31st: between
the two, Los Angeles is UTC-7 and London UTC+0.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from pipelines import jobs
from tests.conftest import SlackExport, msg, query, ts
from tests.workspace import USERS

PEOPLE = """person,slack_id,email,github_login,tz,work_start,work_end,workdays,team
Ana,U1,,,,,,,SF
Ben,U2,,,,,,,London
Cai,U3,,,,,,,Remote
Dee,U4,,,Asia/Kolkata,07:00,15:00,Sun-Thu,India
"""


def reply(user: str, text: str, t: str, parent: str, **extra: object) -> dict[str, object]:
    return msg(user, text, t, thread_ts=parent, parent_user_id="U1", **extra)


def parent(user: str | None, text: str, t: str, **extra: object) -> dict[str, object]:
    return msg(user, text, t, thread_ts=t, reply_count=1, **extra)


# T1, ping-pong inside the DST gap (Tue 12 March 2024, 16:00 PDT = 23:00 UTC)
T1 = ts("2024-03-12", 23)
# T2, across the US switch: Fri 8 March 16:00 PST = Sat 00:00 UTC
T2 = ts("2024-03-09", 0)
# T3, the working-hours override: Mon 11 March 10:00 UTC = 15:30 in Kolkata
T3 = ts("2024-03-11", 10)
# T4, a bot's alert answered by people
T4 = ts("2024-03-11", 12)
# T5/T6/T7, debates of 10, 10 and 9 messages on Wed 13 March, 16:00-16:45 UTC (everyone working)
T5, T6, T7 = ts("2024-03-13", 16), ts("2024-03-13", 16, 1), ts("2024-03-13", 16, 2)


def debate(parent_ts: str, n: int, last_text: str, minute0: int) -> list[dict[str, object]]:
    """Return n messages alternating ana/ben a minute apart, the last one saying `last_text`."""
    out = [parent("U1", "Should we use Postgres or MySQL?", parent_ts)]
    for k in range(1, n):
        text = last_text if k == n - 1 else f"point {k}"
        out.append(reply("U2" if k % 2 else "U1", text, ts("2024-03-13", 16, minute0 + 3 * k), parent_ts))
    return out


def build_threads(e: SlackExport) -> SlackExport:
    e.json("users.json", USERS)
    e.json("channels.json", [{"id": "C1", "name": "general"}])
    e.day("general", "2024-03-09", [
        parent("U1", "Can we ship the API change?", T2),
    ])
    e.day("general", "2024-03-11", [
        reply("U2", "Which API change?", ts("2024-03-11", 9), T2),
        parent("U2", "Dee, is the India rollout green?", T3),
        parent(None, "Deploy failed on api-7", T4, subtype="bot_message", bot_id="BX1", username="deploybot"),
        reply("U2", "looking", ts("2024-03-11", 12, 30), T4),
        reply("U1", "The v2 one", ts("2024-03-11", 16), T2),
        reply("U1", "fixed by rollback", ts("2024-03-11", 17), T4),
    ])
    e.day("general", "2024-03-12", [
        reply("U4", "Looks fine from here", ts("2024-03-12", 4), T2),
        reply("U4", "green since this morning", ts("2024-03-12", 4, 0, 0, 1), T3),
        parent("U1", "Who owns the billing cron?", T1),
    ])
    e.day("general", "2024-03-13", [
        reply("U2", "I do", ts("2024-03-13", 9, 30), T1),
        reply("U2", "what do you need?", ts("2024-03-13", 9, 35), T1, subtype="thread_broadcast"),
        reply("U1", "its schedule", ts("2024-03-13", 16, 30), T1),
        reply("U2", "02:00 UTC", ts("2024-03-13", 17, 10), T1),
        reply("U3", "it moved last week", ts("2024-03-13", 18), T1),
        *debate(T5, 10, "Decision: let's go with Postgres", 0),
        *debate(T6, 10, "ok then", 1),
        *debate(T7, 9, "Decision: Postgres", 2),
    ])
    e.day("general", "2024-03-14", [reply("U1", "thanks!", ts("2024-03-14", 0), T1)])
    return e


@pytest.fixture
def threads_db(tmp_path: Path, db_path: Path) -> Path:
    e = build_threads(SlackExport(tmp_path / "export"))
    people = tmp_path / "people.csv"
    people.write_text(PEOPLE)
    jobs.ingest(db_path, "slack", e.root)
    jobs.build(db_path, people)
    return db_path


COLUMNS = ["thread_id", "messages", "participants", "span_hours", "first_reply_hours",
           "first_reply_work_hours", "handoffs", "bounces", "bounce_wait_hours", "strikes",
           "escalation_overdue", "decision_recorded"]


def test_threads_mart_by_hand(threads_db: Path) -> None:
    got = query(threads_db, f"select {', '.join(COLUMNS)} from marts.threads order by thread_id")
    got = got.with_columns(pl.col(pl.Float64).round(4))
    expected = pl.DataFrame([
        # T2: ana Fri 16:00 PST -> ben Mon 09:00 (bounce, 57 h) -> ana Mon 09:00 PDT = 16:00 UTC
        #     (bounce: ben in hours, ana at 02:00 PDT; 7 h) -> dee Tue 09:30 IST (bounce only if
        #     ana's 09:00 is read in PDT: a fixed -8 offset says 08:00, outside her hours; 12 h).
        #     ben's working time between Sat 00:00 and Mon 09:00 is nil.
        (f"slack:C1:{T2}", 4, 3, 76.0, 57.0, 0.0, 3, 3, 76.0, 1, False, False),
        # T3: ben Mon 10:00 UTC -> dee Tue 04:00 UTC (09:30 IST). Dee's own hours (07-15) make
        #     15:30 IST outside them: a bounce of 18 h; her working time Tue 07:00-09:30 = 2.5 h
        #     (the default 09-17 would say 1.5 + 0.5 = 2.0).
        (f"slack:C1:{T3}", 2, 2, 18.0, 18.0, 2.5, 1, 1, 18.0, 0, False, False),
        # T4: a bot's parent; ben 12:30 (first reply, 0.5 h, all of it his working time) ->
        #     ana 17:00 UTC = 10:00 PDT: t_a 12:30 is 05:30 PDT for her: a bounce of 4.5 h.
        (f"slack:C1:{T4}", 2, 2, 5.0, 0.5, 0.5, 1, 1, 4.5, 0, False, False),
        # T1: ana 23:00 UTC (16:00 PDT) -> ben 09:30 GMT (bounce 10.5 h; 0.5 h of his working
        #     time: the SPEC's own example) ; ben's turn ends 09:35 (a thread broadcast) -> ana
        #     16:30 UTC (bounce 6 h 55 m) -> ben 17:10 (ana's 16:30 UTC is his 16:30: no bounce)
        #     -> cai (unknown tz: never a bounce) -> ana. Pairs: ana-ben 3 -> 1 strike.
        (f"slack:C1:{T1}", 7, 3, 25.0, 10.5, 0.5, 5, 2, 17.4167, 1, False, False),
        # T5-T7: ana and ben alternate a minute or three apart in working hours: 9 handoffs of one
        #     pair = 4 strikes (overdue). 10 messages with "Decision:" -> recorded; 10 without ->
        #     not; 9 with "Decision:" -> under 10 messages, so false.
        (f"slack:C1:{T5}", 10, 2, 0.45, 0.05, 0.05, 9, 0, 0.0, 4, True, True),
        (f"slack:C1:{T6}", 10, 2, 0.45, 0.05, 0.05, 9, 0, 0.0, 4, True, False),
        (f"slack:C1:{T7}", 9, 2, 0.4, 0.05, 0.05, 8, 0, 0.0, 4, True, False),
    ], schema=COLUMNS, orient="row").sort("thread_id")
    assert_frame_equal(got, expected, check_dtypes=False)


def test_handoffs_of_the_dst_thread(threads_db: Path) -> None:
    got = query(threads_db, """
        select person_a, person_b, round(wait_hours, 4) wait, offset_a_hours, offset_b_hours,
               a_working, b_working, is_bounce
        from intermediate.int_handoffs where thread_id = ? order by turn_no""", [f"slack:C1:{T2}"])
    assert got.rows() == [
        ("Ana", "Ben", 57.0, -8.0, 0.0, True, False, True),     # before the US switch
        ("Ben", "Ana", 7.0, 0.0, -7.0, True, False, True),      # after it
        ("Ana", "Dee", 12.0, -7.0, 5.5, True, False, True),
    ]


def test_unknown_timezone_is_reported_not_guessed(threads_db: Path) -> None:
    got = query(threads_db, """
        select person_id, tz, tz_source, has_known_tz, work_start_s, work_end_s, workdays_mask,
               schedule_source, matched_by
        from intermediate.int_people__matched order by person_id""")
    assert got.rows() == [
        ("Ana", "America/Los_Angeles", "slack", True, 32400, 61200, 31, "default", "people file (slack_id)"),
        ("Ben", "Europe/London", "slack", True, 32400, 61200, 31, "default", "people file (slack_id)"),
        ("Cai", None, None, False, 32400, 61200, 31, "default", "people file (slack_id)"),
        ("Dee", "Asia/Kolkata", "people file", True, 25200, 54000, 79, "people file", "people file (slack_id)"),
    ]

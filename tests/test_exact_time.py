"""Offsets and working-hours edges are exact: whole seconds compared as integers (docs/metrics.md).

Real timestamps carry microseconds. Subtracting two floating-point epochs of such a
time gave UTC offsets like 0.9999999999337726 h and 4.000000000066227 h, so London in
summer (BST, UTC+1) and Muscat (UTC+4) were 2.9999999999999996 h apart and a handoff
between them was not a bounce. The times below carry microseconds that did exactly that
(05:30:00.004985 and 14:00:00.011964 UTC on 12 June 2024).

People (no people file: Slack's timezones, the default 09:00-17:00 Mon-Fri):
  mo  U1  Asia/Muscat          UTC+4
  lu  U2  Europe/London        UTC+1 in June (BST)
  ny  U3  America/New_York     UTC-4 from 10 March 2024 (EDT)
  la  U4  America/Los_Angeles  UTC-7 from 10 March 2024 (PDT)
  ch  U5  America/Chicago      UTC-5 from 10 March 2024 (CDT): two hours from la, never a bounce
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
from polars.testing import assert_frame_equal

from pipelines import jobs
from tests.conftest import SlackExport, msg, query, ts, user

USERS = [
    user("U1", "mo", "Asia/Muscat"),
    user("U2", "lu", "Europe/London"),
    user("U3", "ny", "America/New_York"),
    user("U4", "la", "America/Los_Angeles"),
    user("U5", "ch", "America/Chicago"),
]

# A: Muscat <-> London (Wed 12 June 2024)
A = ts("2024-06-12", 5, 30, 0, 4985)          # 09:30 Muscat (working), 06:30 BST (not)
A1 = ts("2024-06-12", 14, 0, 0, 11964)        # 15:00 BST (working), 18:00 Muscat (not)
A2 = ts("2024-06-13", 5, 10, 0, 500000)
# B: New York <-> Los Angeles on the edges (Wed 13 March 2024)
B = ts("2024-03-13", 13, 0, 0, 0)             # 09:00:00.000000 EDT: the first working instant
B1 = ts("2024-03-13", 23, 59, 59, 999999)     # 16:59:59.999999 PDT: the last working instant
B2 = ts("2024-03-14", 13, 0, 0, 250000)
# C: just outside the edges (Thu 14 and Fri 15 March 2024)
C = ts("2024-03-14", 12, 59, 59, 999999)      # 08:59:59.999999 EDT: not yet working
C1 = ts("2024-03-15", 0, 0, 0, 0)             # 17:00:00.000000 PDT: no longer working
C2 = ts("2024-03-15", 13, 30, 0, 1)
# D: Chicago -> Los Angeles, two hours apart (Wed 13 March 2024)
D = ts("2024-03-13", 14, 0, 0, 4985)          # 09:00 CDT (working), 07:00 PDT (not)
D1 = ts("2024-03-13", 16, 0, 0, 11964)        # 09:00 PDT


def thread(parent_user: str, parent_ts: str, *replies: tuple[str, str]) -> list[dict[str, object]]:
    out = [msg(parent_user, "a question", parent_ts, thread_ts=parent_ts, reply_count=len(replies))]
    out += [msg(u, "an answer", t, thread_ts=parent_ts, parent_user_id=parent_user) for u, t in replies]
    return out


def test_three_hour_pairs_bounce_and_edges_are_exact(tmp_path: Path, db_path: Path) -> None:
    e = SlackExport(tmp_path / "export")
    e.json("users.json", USERS)
    e.json("channels.json", [{"id": "C1", "name": "general"}])
    e.day("general", "2024-06-12", thread("U1", A, ("U2", A1), ("U1", A2)))
    e.day("general", "2024-03-13", thread("U3", B, ("U4", B1), ("U3", B2)) + thread("U5", D, ("U4", D1)))
    e.day("general", "2024-03-14", thread("U3", C, ("U4", C1), ("U3", C2)))
    assert jobs.ingest(db_path, "slack", e.root).status == "ok"
    jobs.build(db_path)

    got = query(db_path, """
        select h.thread_id, h.turn_no, a.display_name as a, b.display_name as b,
               h.offset_a_s, h.offset_b_s, h.a_working, h.b_working, h.is_bounce, h.wait_us
        from intermediate.int_handoffs h
        join intermediate.int_people__matched a on a.person_id = h.person_a
        join intermediate.int_people__matched b on b.person_id = h.person_b
        order by h.thread_id, h.turn_no""")
    cols = ["thread_id", "turn_no", "a", "b", "offset_a_s", "offset_b_s", "a_working", "b_working",
            "is_bounce", "wait_us"]
    h = 3_600_000_000
    expected = pl.DataFrame([
        # A: 08:30:00.006979 and 15:10:00.488036 of waiting, both bounces (3 h: 14400 - 3600)
        (f"slack:C1:{A}", 1, "Mo", "Lu", 14400, 3600, True, False, True, 8 * h + 30 * 60_000_000 + 6979),
        (f"slack:C1:{A}", 2, "Lu", "Mo", 3600, 14400, True, False, True, 15 * h + 10 * 60_000_000 + 488036),
        # B: 09:00:00.000000 is inside, 16:59:59.999999 still inside: two bounces
        (f"slack:C1:{B}", 1, "Ny", "La", -14400, -25200, True, False, True, 11 * h - 1),
        (f"slack:C1:{B}", 2, "La", "Ny", -25200, -14400, True, False, True, 13 * h + 250001),
        # C: 08:59:59.999999 and 17:00:00.000000 are outside: no bounce
        (f"slack:C1:{C}", 1, "Ny", "La", -14400, -25200, False, False, False, 11 * h + 1),
        (f"slack:C1:{C}", 2, "La", "Ny", -25200, -14400, False, False, False, 13 * h + 30 * 60_000_000 + 1),
        # D: working to not working, but two hours apart
        (f"slack:C1:{D}", 1, "Ch", "La", -18000, -25200, True, False, False, 2 * h + 6979),
    ], schema=cols, orient="row").sort("thread_id", "turn_no")
    assert_frame_equal(got.sort("thread_id", "turn_no"), expected, check_dtypes=False)

    threads = query(db_path, """
        select thread_id, handoffs, bounces, bounce_wait_hours, first_reply_hours, first_reply_work_hours
        from marts.threads order by thread_id""")
    # the replier's working time: lu 09:00 -> 15:00:00.011964 BST; la 09:00 -> 16:59:59.999999 PDT;
    # la 06:00 (05:59:59.999999) PDT -> 17:00 PDT: all of 09-17; la 07:00 -> 09:00:00.011964 PDT: 11964 us
    expected_threads = pl.DataFrame([
        (f"slack:C1:{A}", 2, 2, (30600006979 + 54600488036) / 3600e6, 30600006979 / 1e6 / 3600.0,
         (6 * h + 11964) / 3600e6),
        (f"slack:C1:{B}", 2, 2, (11 * h - 1 + 13 * h + 250001) / 3600e6, (11 * h - 1) / 1e6 / 3600.0,
         (8 * h - 1) / 3600e6),
        (f"slack:C1:{C}", 2, 0, 0.0, (11 * h + 1) / 1e6 / 3600.0, 8.0),
        (f"slack:C1:{D}", 1, 0, 0.0, (2 * h + 6979) / 1e6 / 3600.0, 11964 / 3600e6),
    ], schema=["thread_id", "handoffs", "bounces", "bounce_wait_hours", "first_reply_hours",
               "first_reply_work_hours"], orient="row").sort("thread_id")
    assert_frame_equal(threads, expected_threads, check_dtypes=False, check_exact=True)

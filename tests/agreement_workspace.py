"""A small workspace that breaks every working agreement once or twice, worked out by hand.

People (tests/workspace.py users ana and ben, and this people file):
  Ana  U1  alice-gh   America/Los_Angeles  team SF      09:00-17:00 Mon-Fri = 16:00-24:00 UTC (PDT)
  Ben  U2  bensmith   Europe/London        team London  09:00-17:00 Mon-Fri = 09:00-17:00 UTC (GMT)
March 2024: the US moved its clocks on the 10th and the UK on the 31st, so in the week of
Monday 11 March (2024-W11) Los Angeles is UTC-7 and London UTC+0. #general (C1) lists both
as members. Times below are UTC; "as of" is the newest event, PR #4's opening (Mon 18 16:30).

unanswered (an opener with an ask, in every other member's working hours):
  A1 Ana Mon 11 16:00:00.25 "Can you review the deploy plan by Thursday?"; Ben replies Wed 13
     10:00:00.75. Ben's hours: Mon 16-17 (1 h) + Tue (8 h) + Wed 09-10 (1 h) + 0.5 s: 10 h ->
     36000 s > 8 h; the 8 h were up Tue 12 16:00:00.25.
  A2 Ben Tue 12 09:00 "Any objections to the new lint rule?"; Ana replies Tue 23:00 (16:00
     PDT): 14 h of wall clock, 7 of Ana's working hours -> no breach.
  A3 Ana Thu 14 16:00 "Who can take the on-call swap on Saturday?", only Ana herself adds
     "anyone?": Ben's hours Thu 16-17 (1) + Fri (8) + Mon 18 09:00-16:30 (7.5) = 16.5 h ->
     59400 s, still open; the 8 h were up Fri 15 16:00.
escalation (3 strikes, no decision or call):
  E  Ana Wed 13 16:00 "Should we use Postgres or MySQL?", then Ben, Ana, ... one a minute, 7
     messages: 6 Ana<->Ben handoffs = 3 strikes, broken at the 6th handoff, 16:06. Under 10
     messages, so no decision is recorded.
  E2 the same at 16:10-16:16, but Ben says "let's do a huddle": a call -> no breach.
ping_pong (2 bounces):
  P  Ana Tue 12 23:10 "Who owns the billing cron?" (Ana working, Ben not: 7 h apart) -> Ben
     Wed 13 09:00 (Ben working, Ana at 02:00) -> Ana Wed 16:30: 2 bounces, the 2nd at 16:30.
  (A2 is one bounce, Ben -> Ana: under 2.)
first_review (8 of the reviewer's working hours; unreviewed and open: the author's):
  #1 Ana, Mon 11 16:00; Ben reviews Tue 12 16:30: 1 + 7.5 = 8.5 h -> 30600 s; up Tue 16:00.
  #2 Ben, Mon 11 09:00; Ana reviews Mon 23:30 (16:30 PDT): 7.5 of her hours -> no breach.
  #3 Ben, Fri 15 16:00, open, no review: Ben's Fri 16-17 + Mon 18 09:00-16:30 = 8.5 h, still
     waiting; up Mon 18 16:00.
  #4 Ana, Mon 18 16:30, open: nothing waited yet.
shares, week 2024-W11 (Mon 11 - Sun 17 March):
  SF:     16 messages (A1, A2's reply, P 2, E 4, E2 4, A3 2, L1's reply, a DM), 1 in a DM =
          0.0625, none after hours; 6 openers (A1, P, E, E2, A3, the DM "done" after 6 h of
          silence), none low-context.
  London: 12 messages (A1's reply, A2, P 1, E 3, E2 3, L1, a late note, a DM), 1 in a DM =
          1/12, 1 after hours (the 20:00 note) = 1/12; 3 openers (A2, L1 "hi @ana", the DM),
          1 low-context = 1/3.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.conftest import SlackExport, load_workspace, msg, ts
from tests.workspace import USERS

PEOPLE = """person,slack_id,email,github_login,tz,work_start,work_end,workdays,team
Ana,U1,,alice-gh,,,,,SF
Ben,U2,,bensmith,,,,,London
"""

A1 = ts("2024-03-11", 16, 0, 0, 250000)
A2 = ts("2024-03-12", 9)
A3 = ts("2024-03-14", 16)
E, E2 = ts("2024-03-13", 16), ts("2024-03-13", 16, 10)
P = ts("2024-03-12", 23, 10)
L1 = ts("2024-03-14", 10)

# what the tests set: every kind, shares tight enough that London breaks them, and one
# agreement scoped to a team
AGREEMENTS = [
    {"kind": "first_review", "threshold": 8},
    {"kind": "first_review", "threshold": 8, "team": "SF", "name": "sf-first-review"},
    {"kind": "unanswered", "threshold": 8},
    {"kind": "escalation"},
    {"kind": "ping_pong", "threshold": 2},
    {"kind": "dm_share", "threshold": 0.07},
    {"kind": "low_context_share", "threshold": 0.25},
    {"kind": "after_hours_share", "threshold": 0.05},
]


def _parent(user: str, text: str, t: str) -> dict[str, Any]:
    return msg(user, text, t, thread_ts=t, reply_count=1)


def _reply(user: str, text: str, t: str, parent: str) -> dict[str, Any]:
    return msg(user, text, t, thread_ts=parent, parent_user_id="U1")


def _debate(parent: str, minute0: int, said: dict[int, str]) -> list[dict[str, Any]]:
    out = [_parent("U1", "Should we use Postgres or MySQL?", parent)]
    for k in range(1, 7):
        out.append(_reply("U2" if k % 2 else "U1", said.get(k, f"point {k}"),
                          ts("2024-03-13", 16, minute0 + k, 0, 1000 * k), parent))
    return out


def build_agreement_workspace(e: SlackExport) -> SlackExport:
    e.json("users.json", USERS[:2])
    e.json("channels.json", [{"id": "C1", "name": "general", "members": ["U1", "U2"]}])
    e.json("dms.json", [{"id": "D1", "created": 1700000000, "members": ["U1", "U2"]}])
    e.day("general", "2024-03-11", [
        _parent("U1", "Can you review the deploy plan by Thursday?", A1),
    ])
    e.day("general", "2024-03-12", [
        _parent("U2", "Any objections to the new lint rule?", A2),
        _reply("U1", "none from me", ts("2024-03-12", 23), A2),
        _parent("U1", "Who owns the billing cron?", P),
    ])
    e.day("general", "2024-03-13", [
        _reply("U2", "The plan looks good", ts("2024-03-13", 10, 0, 0, 750000), A1),
        _reply("U2", "Data team, I think", ts("2024-03-13", 9), P),
        _reply("U1", "thanks, asking them", ts("2024-03-13", 16, 30), P),
        *_debate(E, 0, {}),
        *_debate(E2, 10, {3: "ok, let's do a huddle at 17:00"}),
    ])
    e.day("general", "2024-03-14", [
        _parent("U2", "hi <@U1>", L1),
        _reply("U1", "what's up?", ts("2024-03-14", 16, 5), L1),
        _parent("U1", "Who can take the on-call swap on Saturday?", A3),
        _reply("U1", "anyone?", ts("2024-03-14", 17), A3),
        msg("U2", "late note: the release moved to Monday", ts("2024-03-14", 20)),
    ])
    e.day("D1", "2024-03-15", [
        msg("U2", "can you check the staging config?", ts("2024-03-15", 10)),
        msg("U1", "done", ts("2024-03-15", 16)),
    ])
    return e


def _pr(number: int, author: str, created: str, reviews: list[tuple[str, str]],
        closed: str | None = None) -> dict[str, Any]:
    return {
        "number": number, "title": f"Change {number}", "body": "Small change.",
        "author": {"login": author}, "createdAt": created, "closedAt": closed, "mergedAt": closed,
        "isDraft": False, "labels": [], "url": f"https://github.com/acme/api/pull/{number}",
        "reviews": [{"id": f"R{number}{i}", "author": {"login": who}, "state": "APPROVED",
                     "body": "", "submittedAt": at} for i, (who, at) in enumerate(reviews)],
        "comments": [],
    }


PRS = [
    _pr(1, "alice-gh", "2024-03-11T16:00:00Z", [("bensmith", "2024-03-12T16:30:00Z")],
        "2024-03-12T17:00:00Z"),
    _pr(2, "bensmith", "2024-03-11T09:00:00Z", [("alice-gh", "2024-03-11T23:30:00Z")],
        "2024-03-12T10:00:00Z"),
    _pr(3, "bensmith", "2024-03-15T16:00:00Z", []),
    _pr(4, "alice-gh", "2024-03-18T16:30:00Z", []),
]


def load_agreement_workspace(db: Path, root: Path) -> Path:
    """Write the workspace under `root`, ingest it into `db` and build."""
    return load_workspace(db, build_agreement_workspace(SlackExport(root)), PRS, PEOPLE)

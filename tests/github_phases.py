"""One pull-request history of acme/phases, written by the tests in all three GitHub layouts.

Where each PR waited, worked out by hand. People (people.csv, 09:00-17:00 Mon-Fri in
their own zone): Ana (ana, Europe/London: GMT, UTC+0, in March 2024 until the 31st), Ben
(ben, America/New_York: EDT, UTC-4, from 10 March 2024) and Dee (dee, Asia/Kolkata, UTC+5:30).
Every PR is Ana's. The week is Mon 11 - Fri 15 March 2024 (UTC).

#1 (S: +34 -5 in 2 files = 39 lines) opened Mon 10:00:00.250000, Ben requests changes Mon
   15:00:00.750000, Ana answers Tue 09:00, Ben approves Tue 14:00, merged Tue 16:30.
     pickup 18,000.5 s (5 h 0.5 s); in Ben's hours (NY 06:00:00.25 -> 11:00:00.75; from 09:00)
       7,200.75 s
     review 82,799.25 s (Mon 15:00:00.75 -> Tue 14:00); Ben's hours: Mon 11:00:00.75-17:00 NY
       21,599.25 s + Tue 09:00-10:00 3,600 s = 25,199.25 s
     merge 9,000 s (14:00 -> 16:30); Ana's hours: all inside 09-17 GMT, 9,000 s
#2 (XS: +3 -2 = 5) opened Mon 09:00 as a draft, ready Mon 10:00, back to draft Mon 11:00,
   ready again Wed 13:00, Ben approves Wed 13:30, merged Wed 14:00.
     REST and archive: pickup from the last ready before the first review (Wed 13:00): 1,800 s,
       Ben's hours 1,800 s (09:00-09:30 NY)
     gh (no timeline: ready from creation, Mon 09:00): pickup 189,000 s (52.5 h); Ben's hours
       Mon 09:00-17:00 + Tue 09:00-17:00 + Wed 09:00-09:30 NY = 59,400 s
     review 0 s (the first review is the last approval); merge 1,800 s, Ana's 1,800 s
#3 (L: +500 -400 = 900 in 3 files) opened Tue 12:00, never reviewed (codecov[bot] comments
   at 12:05), still open: no phases.
#4 (S: +10 -0 = 10, the edge) opened Wed 09:00, merged Wed 10:00 without a review: no phases.
#5 (M: +300 -99 = 399, the edge) opened Thu 09:00, only a bot reviews (copilot, 09:05),
   merged Thu 11:00: no phases (bots never count).
#6 (XL: +700 -300 = 1000, the edge) opened Thu 08:00; Ana comments in a review of her own at
   12:00 (not a pickup); Ben comments in a review Thu 13:30, Dee Fri 04:30; merged Fri 08:00
   without an approval, so the review phase ends at the last review before the merge.
     pickup 19,800 s (08:00 -> 13:30); Ben's hours (NY 04:00 -> 09:30) 1,800 s
     review 54,000 s (Thu 13:30 -> Fri 04:30), in Dee's hours (IST Thu 19:00 -> Fri 10:00)
       3,600 s
     merge 12,600 s (04:30 -> 08:00), in Ana's hours (GMT, before 09:00) 0 s
"""

from __future__ import annotations

import tarfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

REPO = "acme/phases"
PEOPLE = """person,slack_id,email,github_login,tz,work_start,work_end,workdays,team
Ana,,,ana,Europe/London,,,,core
Ben,,,ben,America/New_York,,,,core
Dee,,,dee,Asia/Kolkata,,,,core
"""


def t(day: int, hh: int, mm: int = 0, ss: int = 0, us: int = 0) -> datetime:
    """Return 2024-03-<day> hh:mm:ss.us UTC."""
    return datetime(2024, 3, day, hh, mm, ss, us, tzinfo=UTC)


def iso(d: datetime) -> str:
    return d.isoformat().replace("+00:00", "Z")


@dataclass
class Review:
    author: str
    state: str  # APPROVED | CHANGES_REQUESTED | COMMENTED
    at: datetime
    bot: bool = False


@dataclass
class Comment:
    author: str
    at: datetime
    bot: bool = False


@dataclass
class PR:
    number: int
    title: str
    created: datetime
    files: list[tuple[str, int, int]]
    merged: datetime | None = None
    reviews: list[Review] = field(default_factory=list)
    comments: list[Comment] = field(default_factory=list)
    timeline: list[tuple[str, datetime]] = field(default_factory=list)  # (event, at)


HISTORY = [
    PR(1, "Retry uploads", t(11, 10, 0, 0, 250000), [("src/a.py", 30, 5), ("src/b.py", 4, 0)],
       merged=t(12, 16, 30),
       reviews=[Review("ben", "CHANGES_REQUESTED", t(11, 15, 0, 0, 750000)),
                Review("ben", "APPROVED", t(12, 14))],
       comments=[Comment("ana", t(12, 9))]),
    PR(2, "Tidy config", t(11, 9), [("conf.toml", 3, 2)], merged=t(13, 14),
       reviews=[Review("ben", "APPROVED", t(13, 13, 30))],
       timeline=[("ready_for_review", t(11, 10)), ("convert_to_draft", t(11, 11)),
                 ("ready_for_review", t(13, 13))]),
    PR(3, "New exporter", t(12, 12), [("x/a.py", 200, 100), ("x/b.py", 200, 100), ("x/c.py", 100, 200)],
       comments=[Comment("codecov", t(12, 12, 5), bot=True)]),
    PR(4, "Fix typo", t(13, 9), [("README.md", 10, 0)], merged=t(13, 10)),
    PR(5, "Cache lookups", t(14, 9), [("cache.py", 300, 99)], merged=t(14, 11),
       reviews=[Review("copilot", "COMMENTED", t(14, 9, 5), bot=True)]),
    PR(6, "Rewrite scheduler", t(14, 8), [("sched.py", 700, 300)], merged=t(15, 8),
       reviews=[Review("ana", "COMMENTED", t(14, 12)), Review("ben", "COMMENTED", t(14, 13, 30)),
                Review("dee", "COMMENTED", t(15, 4, 30))]),
]


def _html(n: int) -> str:
    return f"https://github.com/{REPO}/pull/{n}"


def _api(n: int, what: str = "pulls") -> str:
    return f"https://api.github.com/repos/{REPO}/{what}/{n}"


def _draft_at_export(pr: PR) -> bool:
    return bool(pr.timeline) and pr.timeline[-1][0] == "convert_to_draft"


def _adds(pr: PR) -> tuple[int, int]:
    return sum(f[1] for f in pr.files), sum(f[2] for f in pr.files)


# --- gh pr list --json ... -------------------------------------------------------------

def gh_prs() -> list[dict[str, Any]]:
    """Return the history as `gh pr list --json` output, sizes included."""
    def author(login: str, bot: bool) -> dict[str, Any]:
        return {"login": f"app/{login}", "is_bot": True} if bot else {"login": login, "is_bot": False}

    out = []
    for pr in HISTORY:
        adds, dels = _adds(pr)
        out.append({
            "number": pr.number, "title": pr.title, "body": "", "author": author("ana", False),
            "createdAt": iso(pr.created), "closedAt": iso(pr.merged) if pr.merged else None,
            "mergedAt": iso(pr.merged) if pr.merged else None, "isDraft": _draft_at_export(pr),
            "labels": [], "url": _html(pr.number), "additions": adds, "deletions": dels,
            "changedFiles": len(pr.files),
            "files": [{"path": p, "additions": a, "deletions": d} for p, a, d in pr.files],
            "reviews": [{"id": f"PRR_{pr.number}_{i}", "author": author(r.author, r.bot), "body": "",
                         "state": r.state, "submittedAt": iso(r.at)} for i, r in enumerate(pr.reviews)],
            "comments": [{"id": f"IC_{pr.number}_{i}", "author": author(c.author, c.bot), "body": "ok",
                          "createdAt": iso(c.at), "url": f"{_html(pr.number)}#issuecomment-{pr.number}{i}"}
                         for i, c in enumerate(pr.comments)],
        })
    return out


def write_gh(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(orjson.dumps(gh_prs()))
    return path


# --- REST API dump ------------------------------------------------------------------------

def _user(login: str, bot: bool = False) -> dict[str, Any]:
    return {"login": f"{login}[bot]" if bot else login, "type": "Bot" if bot else "User"}


def rest_files() -> dict[str, list[dict[str, Any]]]:
    """Return the history as a REST dump. pulls.json as the list endpoint gives it (no sizes),
    but for #1, fetched one by one (/pulls/1 has additions, deletions, changed_files)."""
    pulls, reviews, comments, events, files = [], [], [], [], []
    for pr in HISTORY:
        n = pr.number
        pull: dict[str, Any] = {
            "url": _api(n), "id": 2000 + n, "html_url": _html(n), "number": n,
            "state": "closed" if pr.merged else "open", "title": pr.title, "user": _user("ana"),
            "body": None, "labels": [], "created_at": iso(pr.created),
            "closed_at": iso(pr.merged) if pr.merged else None,
            "merged_at": iso(pr.merged) if pr.merged else None, "draft": _draft_at_export(pr),
            "base": {"repo": {"full_name": REPO}},
        }
        if n == 1:
            adds, dels = _adds(pr)
            pull |= {"additions": adds, "deletions": dels, "changed_files": len(pr.files)}
        pulls.append(pull)
        for i, r in enumerate(pr.reviews):
            reviews.append({"id": n * 100 + i, "user": _user(r.author, r.bot), "body": "", "state": r.state,
                            "submitted_at": iso(r.at), "pull_request_url": _api(n),
                            "html_url": f"{_html(n)}#pullrequestreview-{n * 100 + i}"})
        for i, c in enumerate(pr.comments):
            comments.append({"id": n * 1000 + i, "user": _user(c.author, c.bot), "body": "ok",
                             "created_at": iso(c.at), "issue_url": _api(n, "issues"),
                             "html_url": f"{_html(n)}#issuecomment-{n * 1000 + i}"})
        for i, (ev, at) in enumerate(pr.timeline):
            events.append({"id": n * 10000 + i, "actor": _user("ana"), "event": ev, "created_at": iso(at),
                           "issue": {"number": n, "html_url": _html(n)}})
        for p, a, d in pr.files:
            files.append({"filename": p, "additions": a, "deletions": d, "pull_number": n,
                          "blob_url": f"https://github.com/{REPO}/blob/abc/{p}"})
    return {"pulls.json": pulls, "reviews.json": reviews, "issue_comments.json": comments,
            "events.json": events, "files.json": files}


def write_rest(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, records in rest_files().items():
        # as `gh api --paginate` writes them: pages of two, back to back
        root.joinpath(name).write_bytes(b"".join(orjson.dumps(records[i:i + 2])
                                                 for i in range(0, len(records), 2)))
    return root


# --- migration archive --------------------------------------------------------------------

def _profile(login: str, bot: bool = False) -> str:
    return f"https://github.com/apps/{login}" if bot else f"https://github.com/{login}"


def migration_files(sizes: bool) -> dict[str, list[dict[str, Any]]]:
    """Return the history as a migration archive. GitHub documents no sizes on its pull
    requests; `sizes` adds additions/deletions/changed_files for an archive that has them."""
    STATES = {"COMMENTED": 1, "CHANGES_REQUESTED": 30, "APPROVED": 40}
    prs, reviews, comments, events = [], [], [], []
    for pr in HISTORY:
        n = pr.number
        rec: dict[str, Any] = {
            "type": "pull_request", "url": _html(n), "user": _profile("ana"),
            "repository": f"https://github.com/{REPO}", "title": pr.title, "body": "", "labels": [],
            "work_in_progress": _draft_at_export(pr), "created_at": iso(pr.created),
            "merged_at": iso(pr.merged) if pr.merged else None,
            "closed_at": iso(pr.merged) if pr.merged else None,
        }
        if sizes:
            adds, dels = _adds(pr)
            rec |= {"additions": adds, "deletions": dels, "changed_files": len(pr.files)}
        prs.append(rec)
        for i, r in enumerate(pr.reviews):
            reviews.append({"type": "pull_request_review",
                            "url": f"{_html(n)}/files#pullrequestreview-{n * 100 + i}",
                            "pull_request": _html(n), "user": _profile(r.author, r.bot), "body": "",
                            "state": STATES[r.state], "created_at": iso(r.at), "submitted_at": iso(r.at)})
        for i, c in enumerate(pr.comments):
            comments.append({"type": "issue_comment", "url": f"{_html(n)}#issuecomment-{n * 1000 + i}",
                             "pull_request": _html(n), "user": _profile(c.author, c.bot), "body": "ok",
                             "created_at": iso(c.at)})
        for i, (ev, at) in enumerate(pr.timeline):
            events.append({"type": "issue_event", "url": f"{_html(n)}#event-{n * 10000 + i}",
                           "pull_request": _html(n), "actor": _profile("ana"), "event": ev,
                           "created_at": iso(at)})
    users = [{"type": "user", "url": _profile(u), "login": u, "name": None, "emails": []}
             for u in ("ana", "ben", "dee")]
    return {"pull_requests_000001.json": prs, "pull_request_reviews_000001.json": reviews,
            "issue_comments_000001.json": comments, "issue_events_000001.json": events,
            "users_000001.json": users, "schema.json": {"version": "1.2.0"}}  # type: ignore[dict-item]


def write_migration(path: Path, sizes: bool = True) -> Path:
    """Write the archive as a .tar.gz at `path`, with ./-prefixed members as GitHub ships it."""
    folder = path.parent / (path.name + ".d")
    folder.mkdir(parents=True, exist_ok=True)
    for name, records in migration_files(sizes).items():
        folder.joinpath(name).write_bytes(orjson.dumps(records))
    with tarfile.open(path, "w:gz") as tar:
        for f in sorted(folder.iterdir()):
            tar.add(f, arcname=f"./{f.name}")
    return path

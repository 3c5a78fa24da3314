"""One small pull-request history of acme/widgets, written in the gh and REST layouts.

tests/fixtures/github-migration/ holds the same history as a migration
archive, written by hand from GitHub's documented format. What every layout
should load to (worked out by hand):

PR #7 by ana, opened 2024-03-04 09:00 as a draft, ready for review at 15:00
(REST and archive carry the event; gh has no timeline, so there ready_at is
09:00), merged 2024-03-05 12:00:
    09:05 codecov[bot] comments (a bot)
    16:29 ben comments inline on src/upload.py (REST and archive only)
    16:30 ben requests changes
    03-05 08:00 ana answers
    03-05 10:00 ben approves with an empty body (still a review)
    (REST and archive also hold ana's PENDING review of #9: dropped)
PR #8 by dependabot (gh: app/dependabot, REST: dependabot[bot] of type Bot,
archive: https://github.com/apps/dependabot), opened 2024-03-06 04:00, closed
unmerged 03-12 04:00; ben comments in a review at 10:00.
PR #9 by cai, a draft opened 2024-03-07 20:00 (ready_at NULL); Release-Manager
(a bot only by the bot_logins setting) comments at 20:01.
Issue #10 has a comment by ben: not a pull request, so not an event.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

REPO = "acme/widgets"
FIXTURE = Path(__file__).parent / "fixtures" / "github-migration"


def t(day: int, hh: int, mm: int = 0) -> datetime:
    """Return 2024-03-<day> hh:mm UTC."""
    return datetime(2024, 3, day, hh, mm, tzinfo=UTC)


def iso(d: datetime) -> str:
    return d.strftime("%Y-%m-%dT%H:%M:%SZ")


# (number, kind, review_state, author, at, is_bot) of every staging event every layout has
COMMON_EVENTS: list[tuple[int, str, str | None, str, datetime, bool]] = [
    (7, "opened", None, "ana", t(4, 9), False),
    (7, "comment", None, "codecov[bot]", t(4, 9, 5), True),
    (7, "review", "CHANGES_REQUESTED", "ben", t(4, 16, 30), False),
    (7, "comment", None, "ana", t(5, 8), False),
    (7, "review", "APPROVED", "ben", t(5, 10), False),
    (8, "opened", None, "dependabot[bot]", t(6, 4), True),
    (8, "review", "COMMENTED", "ben", t(6, 10), False),
    (9, "opened", None, "cai", t(7, 20), False),
    (9, "comment", None, "Release-Manager", t(7, 20, 1), True),
]
INLINE_EVENT = (7, "review_comment", None, "ben", t(4, 16, 29), False)


def gh_prs(**changes: Any) -> list[dict[str, Any]]:
    """Return the history as `gh pr list --json number,title,body,author,…,files,reviews,comments`."""
    prs = [
        {
            "number": 9, "title": "WIP: new settings page", "body": "",
            "author": {"id": "MDQ6VXNlcjEwMDM=", "is_bot": False, "login": "cai", "name": ""},
            "createdAt": iso(t(7, 20)), "closedAt": None, "mergedAt": None, "isDraft": True,
            "labels": [], "url": f"https://github.com/{REPO}/pull/9",
            "files": [{"path": "web/settings.tsx", "additions": 120, "deletions": 0}],
            "reviews": [],
            "comments": [{
                "id": "IC_kwDOA3", "author": {"login": "Release-Manager"},
                "authorAssociation": "MEMBER", "body": "Release notes label missing.",
                "createdAt": iso(t(7, 20, 1)), "includesCreatedEdit": False, "isMinimized": False,
                "minimizedReason": "", "reactionGroups": [],
                "url": f"https://github.com/{REPO}/pull/9#issuecomment-5003", "viewerDidAuthor": False,
            }],
        },
        {
            "number": 8, "title": "Bump axios from 1.6.8 to 1.7.4", "body": "Bumps axios from 1.6.8 to 1.7.4.",
            "author": {"id": "BOT_kgDOA", "is_bot": True, "login": "app/dependabot"},
            "createdAt": iso(t(6, 4)), "closedAt": iso(t(12, 4)), "mergedAt": None, "isDraft": False,
            "labels": [{"id": "LA_1", "name": "dependencies", "description": "", "color": "0366d6"}],
            "url": f"https://github.com/{REPO}/pull/8",
            "files": [{"path": "package.json", "additions": 1, "deletions": 1}],
            "reviews": [{
                "id": "PRR_kwDOA3", "author": {"login": "ben"}, "authorAssociation": "MEMBER",
                "body": "Can we wait for 1.7.5?", "submittedAt": iso(t(6, 10)),
                "includesCreatedEdit": False, "reactionGroups": [], "state": "COMMENTED",
                "commit": {"oid": "3333333333333333333333333333333333333333"},
            }],
            "comments": [],
        },
        {
            "number": 7, "title": "Add retry to uploader",
            "body": "Uploads fail on flaky networks because we never retry.\n\nFixes #5",
            "author": {"id": "MDQ6VXNlcjEwMDE=", "is_bot": False, "login": "ana", "name": "Ana Lima"},
            "createdAt": iso(t(4, 9)), "closedAt": iso(t(5, 12)), "mergedAt": iso(t(5, 12)),
            "isDraft": False, "labels": [{"id": "LA_2", "name": "enhancement"}],
            "url": f"https://github.com/{REPO}/pull/7",
            "files": [{"path": "src/upload.py", "additions": 40, "deletions": 3},
                      {"path": "tests/test_upload.py", "additions": 25, "deletions": 0}],
            "reviews": [
                {"id": "PRR_kwDOA1", "author": {"login": "ben"}, "body": "Needs a test for the timeout path.",
                 "submittedAt": iso(t(4, 16, 30)), "state": "CHANGES_REQUESTED"},
                {"id": "PRR_kwDOA2", "author": {"login": "ben"}, "body": "",
                 "submittedAt": iso(t(5, 10)), "state": "APPROVED"},
            ],
            "comments": [
                {"id": "IC_kwDOA1", "author": {"login": "codecov"}, "body": "Coverage 91.2% (+0.4%)",
                 "createdAt": iso(t(4, 9, 5)), "url": f"https://github.com/{REPO}/pull/7#issuecomment-5001"},
                {"id": "IC_kwDOA2", "author": {"login": "ana"}, "body": "Added the test in abc1234.",
                 "createdAt": iso(t(5, 8)), "url": f"https://github.com/{REPO}/pull/7#issuecomment-5002"},
            ],
        },
    ]
    # gh shows an App's comments under its slug; codecov is an App, so it is app/codecov
    prs[2]["comments"][0]["author"] = {"login": "app/codecov", "is_bot": True}
    for pr in prs:
        pr.update(changes.get(pr["number"], {}))
    return prs


def write_gh(path: Path, prs: list[dict[str, Any]] | None = None) -> Path:
    """Write the gh layout (one JSON file) at `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(orjson.dumps(prs if prs is not None else gh_prs(), option=orjson.OPT_INDENT_2))
    return path


def _user(login: str, kind: str = "User") -> dict[str, Any]:
    return {"login": login, "id": sum(map(ord, login)), "type": kind, "site_admin": False,
            "url": f"https://api.github.com/users/{login}", "html_url": f"https://github.com/{login}"}


def _api(n: int, what: str = "pulls") -> str:
    return f"https://api.github.com/repos/{REPO}/{what}/{n}"


def rest_files() -> dict[str, list[dict[str, Any]]]:
    """Return the history as REST API records, one list per file of the dump."""
    base = {"ref": "main", "repo": {"full_name": REPO}}
    pulls = [
        {"url": _api(9), "id": 1009, "html_url": f"https://github.com/{REPO}/pull/9", "number": 9,
         "state": "open", "title": "WIP: new settings page", "user": _user("cai"), "body": None,
         "labels": [], "created_at": iso(t(7, 20)), "updated_at": iso(t(8, 9)), "closed_at": None,
         "merged_at": None, "draft": True, "base": base},
        {"url": _api(8), "id": 1008, "html_url": f"https://github.com/{REPO}/pull/8", "number": 8,
         "state": "closed", "title": "Bump axios from 1.6.8 to 1.7.4", "user": _user("dependabot[bot]", "Bot"),
         "body": "Bumps axios from 1.6.8 to 1.7.4.", "labels": [{"id": 1, "name": "dependencies"}],
         "created_at": iso(t(6, 4)), "updated_at": iso(t(12, 4)), "closed_at": iso(t(12, 4)),
         "merged_at": None, "draft": False, "base": base},
        {"url": _api(7), "id": 1007, "html_url": f"https://github.com/{REPO}/pull/7", "number": 7,
         "state": "closed", "title": "Add retry to uploader", "user": _user("ana"),
         "body": "Uploads fail on flaky networks because we never retry.\n\nFixes #5",
         "labels": [{"id": 2, "name": "enhancement"}], "created_at": iso(t(4, 9)),
         "updated_at": iso(t(5, 12)), "closed_at": iso(t(5, 12)), "merged_at": iso(t(5, 12)),
         "draft": False, "base": base},
    ]
    reviews = [
        {"id": 9001, "user": _user("ben"), "body": "Needs a test for the timeout path.",
         "state": "CHANGES_REQUESTED", "submitted_at": iso(t(4, 16, 30)), "pull_request_url": _api(7),
         "html_url": f"https://github.com/{REPO}/pull/7#pullrequestreview-9001"},
        {"id": 9002, "user": _user("ben"), "body": "", "state": "APPROVED", "submitted_at": iso(t(5, 10)),
         "pull_request_url": _api(7), "html_url": f"https://github.com/{REPO}/pull/7#pullrequestreview-9002"},
        {"id": 9003, "user": _user("ben"), "body": "Can we wait for 1.7.5?", "state": "COMMENTED",
         "submitted_at": iso(t(6, 10)), "pull_request_url": _api(8),
         "html_url": f"https://github.com/{REPO}/pull/8#pullrequestreview-9003"},
        {"id": 9004, "user": _user("ana"), "body": "", "state": "PENDING", "pull_request_url": _api(9),
         "html_url": f"https://github.com/{REPO}/pull/9#pullrequestreview-9004"},
    ]
    review_comments = [
        {"id": 7001, "pull_request_review_id": 9001, "user": _user("ben"),
         "body": "What happens when the timeout fires mid-upload?", "path": "src/upload.py",
         "created_at": iso(t(4, 16, 29)), "updated_at": iso(t(4, 16, 29)), "pull_request_url": _api(7),
         "html_url": f"https://github.com/{REPO}/pull/7#discussion_r7001"},
    ]
    issue_comments = [
        {"id": 5001, "user": _user("codecov[bot]", "Bot"), "body": "Coverage 91.2% (+0.4%)",
         "created_at": iso(t(4, 9, 5)), "issue_url": _api(7, "issues"),
         "html_url": f"https://github.com/{REPO}/pull/7#issuecomment-5001"},
        {"id": 5002, "user": _user("ana"), "body": "Added the test in abc1234.", "created_at": iso(t(5, 8)),
         "issue_url": _api(7, "issues"), "html_url": f"https://github.com/{REPO}/pull/7#issuecomment-5002"},
        {"id": 5003, "user": _user("Release-Manager"), "body": "Release notes label missing.",
         "created_at": iso(t(7, 20, 1)), "issue_url": _api(9, "issues"),
         "html_url": f"https://github.com/{REPO}/pull/9#issuecomment-5003"},
        {"id": 5004, "user": _user("ben"), "body": "This is an issue, not a pull request: not a PR event.",
         "created_at": iso(t(8, 12)), "issue_url": _api(10, "issues"),
         "html_url": f"https://github.com/{REPO}/issues/10#issuecomment-5004"},
    ]
    events = [
        {"id": 6001, "actor": _user("ana"), "event": "ready_for_review", "created_at": iso(t(4, 15)),
         "url": f"https://api.github.com/repos/{REPO}/issues/events/6001",
         "issue": {"number": 7, "html_url": f"https://github.com/{REPO}/pull/7",
                   "pull_request": {"url": _api(7)}}},
        {"id": 6002, "actor": _user("ana"), "event": "merged", "created_at": iso(t(5, 12)),
         "url": f"https://api.github.com/repos/{REPO}/issues/events/6002",
         "issue": {"number": 7, "html_url": f"https://github.com/{REPO}/pull/7"}},
    ]
    files = [
        {"filename": "src/upload.py", "additions": 40, "deletions": 3, "status": "modified", "pull_number": 7,
         "blob_url": f"https://github.com/{REPO}/blob/2222222/src/upload.py"},
        {"filename": "tests/test_upload.py", "additions": 25, "deletions": 0, "status": "added",
         "pull_number": 7},
        {"filename": "package.json", "additions": 1, "deletions": 1, "status": "modified", "pull_number": 8},
        {"filename": "web/settings.tsx", "additions": 120, "deletions": 0, "status": "added", "pull_number": 9},
    ]
    return {"pulls.json": pulls, "reviews.json": reviews, "review_comments.json": review_comments,
            "issue_comments.json": issue_comments, "events.json": events, "files.json": files}


def encode(records: list[dict[str, Any]], style: str, page: int = 2) -> bytes:
    """Encode records as one array, `gh api --paginate` pages back to back, or NDJSON."""
    if style == "array":
        return orjson.dumps(records, option=orjson.OPT_INDENT_2)
    if style == "pages":
        pages = [records[i:i + page] for i in range(0, len(records), page)] or [[]]
        return b"".join(orjson.dumps(p) for p in pages)
    return b"".join(orjson.dumps(r) + b"\n" for r in records)


def write_rest(root: Path, style: str = "pages", files: dict[str, list[dict[str, Any]]] | None = None) -> Path:
    """Write the REST dump folder at `root`."""
    root.mkdir(parents=True, exist_ok=True)
    for name, records in (files if files is not None else rest_files()).items():
        (root / name).write_bytes(encode(records, style))
    return root

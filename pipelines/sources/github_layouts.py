"""Parse each GitHub export layout's files into rows (see `github_parse` for the quirks).

One `parse_*` per file kind: bytes in, rows appended to a `Parsed`, the
number of records returned. A file that is not valid raises ValueError
(orjson.JSONDecodeError is one) and the caller skips it whole.
"""

from __future__ import annotations

import re
from typing import Any

from pipelines.sources.github_parse import (
    TIMELINE_KINDS,
    NotThisLayout,
    Parsed,
    Row,
    as_bool,
    as_dict,
    as_int,
    as_text,
    event_row,
    file_list,
    gh_login,
    id_of,
    iter_records,
    label_names,
    login_of_url,
    pr_of,
    pr_row,
    rest_login,
    review_state,
)

REPO_API_URL = re.compile(r"/repos/([^/#?]+/[^/#?]+)/(?:issues|pulls|contents)/")
REPO_BLOB_URL = re.compile(r"://[^/]+/([^/#?]+/[^/#?]+)/(?:blob|raw)/")


# --- layout 1: gh pr list --json ---------------------------------------------------------

def looks_like_gh(item: dict[str, Any]) -> bool:
    """Say whether a record is a `gh pr list --json` pull request."""
    return "number" in item and ("createdAt" in item or "author" in item or "isDraft" in item)


def looks_like_rest_pull(item: dict[str, Any]) -> bool:
    """Say whether a record is a REST API pull request."""
    return "number" in item and "created_at" in item and "user" in item


def parse_gh(data: bytes, member: str, out: Parsed) -> int:
    """Parse `gh pr list --json …` output (PRs with reviews and comments nested); return records."""
    n = 0
    for item in iter_records(data):
        if not looks_like_gh(item):
            raise NotThisLayout("not `gh pr list --json` output (no number/createdAt/author)")
        key = pr_of(item.get("url"))
        number = as_int(item.get("number"))
        if key is None or number is None:
            out.dropped.append("a pull request without a url naming its repository")
            continue
        repo = key[0]
        login, is_bot = gh_login(item.get("author"))
        author = as_dict(item.get("author"))
        out.user(login, member, name=author.get("name"), is_bot=is_bot)
        out.prs.append(pr_row(
            "gh", member, repo=repo, number=number, pr_node_id=as_text(item.get("id")),
            author_login=login, author_is_bot=is_bot, title=as_text(item.get("title")),
            body=as_text(item.get("body")), state=as_text(item.get("state")),
            created_at=as_text(item.get("createdAt")), closed_at=as_text(item.get("closedAt")),
            merged_at=as_text(item.get("mergedAt")), is_draft=as_bool(item.get("isDraft")),
            labels=label_names(item.get("labels")), url=as_text(item.get("url")),
            additions=as_int(item.get("additions")), deletions=as_int(item.get("deletions")),
            changed_files=as_int(item.get("changedFiles")),
        ))
        if isinstance(item.get("files"), list):
            out.files.append({"repo": repo, "number": number, "files": file_list(item["files"], "path"),
                              "_source_file": member})
        for i, r in enumerate(item.get("reviews") or []):
            if not isinstance(r, dict):
                continue
            login, is_bot = gh_login(r.get("author"))
            out.user(login, member, is_bot=is_bot)
            out.events.append(event_row(
                "gh", member, i, event_id=as_text(r.get("id")), repo=repo, number=number, kind="review",
                review_state=review_state(r.get("state")), author_login=login, author_is_bot=is_bot,
                at=as_text(r.get("submittedAt")), body=as_text(r.get("body")), url=as_text(r.get("url")),
                is_pull_request=True,
            ))
        for i, c in enumerate(item.get("comments") or []):
            if not isinstance(c, dict):
                continue
            login, is_bot = gh_login(c.get("author"))
            out.user(login, member, is_bot=is_bot)
            out.events.append(event_row(
                "gh", member, i, event_id=as_text(c.get("id")), repo=repo, number=number, kind="comment",
                author_login=login, author_is_bot=is_bot, at=as_text(c.get("createdAt")),
                body=as_text(c.get("body")), url=as_text(c.get("url")), is_pull_request=True,
            ))
        n += 1
    return n


# --- layout 2: REST API dump -------------------------------------------------------------

def parse_rest_pulls(data: bytes, member: str, out: Parsed) -> int:
    """Parse `/repos/{o}/{r}/pulls?state=all` pages."""
    n = 0
    for item in iter_records(data):
        if not looks_like_rest_pull(item):
            raise NotThisLayout("not REST pull requests (no number/user/created_at)")
        base_repo = as_dict(as_dict(item.get("base")).get("repo"))
        key = pr_of(item.get("html_url"), item.get("url"))
        repo = as_text(base_repo.get("full_name")) or (key[0] if key else None)
        number = as_int(item.get("number"))
        if repo is None or number is None:
            out.dropped.append("a pull request without a url naming its repository")
            continue
        login, utype = rest_login(item.get("user"))
        out.user(login, member, user_type=utype)
        out.prs.append(pr_row(
            "rest", member, repo=repo, number=number, pr_node_id=as_text(item.get("id")),
            author_login=login, author_type=utype, title=as_text(item.get("title")),
            body=as_text(item.get("body")), state=as_text(item.get("state")),
            created_at=as_text(item.get("created_at")), closed_at=as_text(item.get("closed_at")),
            merged_at=as_text(item.get("merged_at")), is_draft=as_bool(item.get("draft")),
            labels=label_names(item.get("labels")), url=as_text(item.get("html_url")),
            # the list endpoint leaves these out; a single-PR response (/pulls/{n}) has them
            additions=as_int(item.get("additions")), deletions=as_int(item.get("deletions")),
            changed_files=as_int(item.get("changed_files")),
        ))
        n += 1
    return n


def parse_rest_reviews(data: bytes, member: str, out: Parsed) -> int:
    """Parse reviews.json: `/pulls/{n}/reviews` of every PR, concatenated."""
    return _rest_events(data, member, out, "review")


def parse_rest_review_comments(data: bytes, member: str, out: Parsed) -> int:
    """Parse review_comments.json: `/repos/{o}/{r}/pulls/comments` (inline comments)."""
    return _rest_events(data, member, out, "review_comment")


def parse_rest_issue_comments(data: bytes, member: str, out: Parsed) -> int:
    """Parse issue_comments.json: `/repos/{o}/{r}/issues/comments` (issues' and PRs')."""
    return _rest_events(data, member, out, "comment")


def _rest_events(data: bytes, member: str, out: Parsed, kind: str) -> int:
    n = without_pr = 0
    for i, item in enumerate(iter_records(data)):
        key = pr_of(item.get("pull_request_url"), item.get("issue_url"), item.get("html_url"))
        if key is None:
            without_pr += 1
            continue
        login, utype = rest_login(item.get("user"))
        out.user(login, member, user_type=utype)
        html = as_text(item.get("html_url"))
        out.events.append(event_row(
            "rest", member, i, event_id=as_text(item.get("id")), repo=key[0], number=key[1], kind=kind,
            review_state=review_state(item.get("state")) if kind == "review" else None,
            author_login=login, author_type=utype,
            at=as_text(item.get("submitted_at" if kind == "review" else "created_at")),
            body=as_text(item.get("body")), url=html,
            review_id=as_text(item.get("pull_request_review_id")),
            in_reply_to=as_text(item.get("in_reply_to_id")), path=as_text(item.get("path")),
            is_pull_request=True if kind != "comment" else (
                None if html is None else bool(re.search(r"/pulls?/\d+", html))),
        ))
        n += 1
    if without_pr:
        out.dropped.append(f"{without_pr} records without a pull_request_url/issue_url")
    return n


def parse_rest_events(data: bytes, member: str, out: Parsed, default_repo: str | None) -> int:
    """Parse events.json (`/issues/events`): keep when PRs left or re-entered draft."""
    n = 0
    for i, item in enumerate(iter_records(data)):
        kind = TIMELINE_KINDS.get(item.get("event"))  # type: ignore[arg-type]
        if kind is None:
            continue
        issue = as_dict(item.get("issue"))
        key = pr_of(issue.get("html_url"), issue.get("url"), item.get("issue_url"))
        repo = key[0] if key else _repo_from(item.get("url"), issue.get("repository_url")) or default_repo
        number = key[1] if key else as_int(item.get("pull_number") or item.get("number") or issue.get("number"))
        if repo is None or number is None:
            out.dropped.append("an issue event without its repository or number")
            continue
        login, utype = rest_login(item.get("actor"))
        out.user(login, member, user_type=utype)
        out.events.append(event_row(
            "rest", member, i, event_id=as_text(item.get("id")), repo=repo, number=number, kind=kind,
            author_login=login, author_type=utype, at=as_text(item.get("created_at")),
            is_pull_request=True,
        ))
        n += 1
    return n


def _repo_from(*urls: Any) -> str | None:
    for u in urls:
        if isinstance(u, str):
            m = REPO_API_URL.search(u + "/") or re.search(r"/repos/([^/#?]+/[^/#?]+)/?$", u)
            if m:
                return m.group(1)
    return None


def parse_rest_files(data: bytes, member: str, out: Parsed, default_repo: str | None) -> int:
    """Parse files.json: `/pulls/{n}/files` entries, each with `pull_number` added."""
    per_pr: dict[tuple[str, int], list[Row]] = {}
    unmatched = 0
    for item in iter_records(data):
        number = as_int(item.get("pull_number"))
        m = REPO_BLOB_URL.search(str(item.get("blob_url") or "")) or REPO_API_URL.search(
            str(item.get("contents_url") or ""))
        repo = m.group(1) if m else default_repo
        if number is None or repo is None or not isinstance(item.get("filename"), str):
            unmatched += 1
            continue
        per_pr.setdefault((repo, number), []).extend(file_list([item], "filename"))
    for (repo, number), files in per_pr.items():
        out.files.append({"repo": repo, "number": number, "files": files, "_source_file": member})
    if unmatched:
        out.dropped.append(f"{unmatched} file entries without pull_number, repository or filename")
    return len(per_pr)


# --- layout 3: migration archive ---------------------------------------------------------

def parse_migration_pull_requests(data: bytes, member: str, out: Parsed) -> int:
    """Parse pull_requests_NNNNNN.json of a migration archive."""
    n = 0
    for item in iter_records(data):
        key = pr_of(item.get("url"))
        if key is None:
            out.dropped.append("a pull request without a url")
            continue
        login = login_of_url(item.get("user")) or "ghost"
        out.user(login, member)
        out.prs.append(pr_row(
            "migration", member, repo=key[0], number=key[1], author_login=login,
            title=as_text(item.get("title")), body=as_text(item.get("body")),
            state="closed" if item.get("closed_at") or item.get("merged_at") else "open",
            created_at=as_text(item.get("created_at")), closed_at=as_text(item.get("closed_at")),
            merged_at=as_text(item.get("merged_at")), is_draft=as_bool(item.get("work_in_progress")),
            labels=label_names(item.get("labels")), url=as_text(item.get("url")),
            # an archive's pull requests carry no sizes as GitHub documents them; kept when present
            additions=as_int(item.get("additions")), deletions=as_int(item.get("deletions")),
            changed_files=as_int(item.get("changed_files")),
        ))
        n += 1
    return n


def parse_migration_events(data: bytes, member: str, out: Parsed, kind: str) -> int:
    """Parse reviews, review comments, issue comments or issue events of a migration archive."""
    n = without_pr = 0
    for i, item in enumerate(iter_records(data)):
        pr_url = item.get("pull_request")
        key = pr_of(pr_url, item.get("issue"), item.get("url"))
        row_kind = kind
        if kind == "issue_event":
            row_kind = TIMELINE_KINDS.get(item.get("event"))  # type: ignore[arg-type,assignment]
            if row_kind is None:
                continue
        if key is None:
            without_pr += 1
            continue
        login = login_of_url(item.get("actor" if kind == "issue_event" else "user")) or "ghost"
        out.user(login, member)
        url = as_text(item.get("url"))
        at = item.get("submitted_at") if kind == "review" else item.get("created_at")
        out.events.append(event_row(
            "migration", member, i, event_id=id_of(url), repo=key[0], number=key[1], kind=row_kind,
            review_state=review_state(item.get("state")) if kind == "review" else None,
            author_login=login, at=as_text(at), body=as_text(item.get("body")), url=url,
            review_id=id_of(item.get("pull_request_review")), path=as_text(item.get("path")),
            in_reply_to=id_of(item.get("in_reply_to")),
            is_pull_request=True if pr_url or kind != "comment" else (
                bool(url and re.search(r"/pull/\d+", url)) or None),
        ))
        n += 1
    if without_pr:
        out.dropped.append(f"{without_pr} records without a pull_request/issue url")
    return n


def parse_migration_users(data: bytes, member: str, out: Parsed) -> int:
    """Parse users_NNNNNN.json: login, name and the primary e-mail."""
    n = 0
    for item in iter_records(data):
        login = as_text(item.get("login")) or login_of_url(item.get("url"))
        if not login:
            continue
        emails = [e for e in item.get("emails") or [] if isinstance(e, dict) and e.get("address")]
        primary = next((e for e in emails if e.get("primary")), emails[0] if emails else {})
        utype = item.get("type")
        out.user(login, member, name=item.get("name"), email=primary.get("address"),
                 # "type": "user" is the record's kind; only a Bot type says anything
                 user_type="Bot" if str(utype).lower() == "bot" else None)
        n += 1
    return n

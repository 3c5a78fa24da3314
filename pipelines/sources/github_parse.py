"""What parsing every GitHub export layout shares: JSON pages, ids, logins, rows.

The per-layout `parse_*` functions are in `github_layouts`; both are pure
(bytes in, row dicts out).

Three layouts (README, "Load your GitHub pull requests"), each parsed into the same four kinds of rows:
pull requests, per-PR file lists, conversation events (reviews, review
comments, conversation comments, and the `ready_for_review` /
`convert_to_draft` timeline events that say when a PR left draft), and
users. Quirks handled here:

* `gh pr list --json` names a GitHub App author ``app/<name>`` with
  ``is_bot: true``; the REST API calls the same account ``<name>[bot]``.
  We use the REST spelling so the two layouts key the same events alike.
* The migration archive names people by profile URL
  (``https://github.com/<login>``; apps ``https://github.com/apps/<name>``),
  labels by URL, and review states by number (1, 30, 40 as GitHub's own
  importer reads them).
* A REST issue comment may belong to an issue or to a PR; its `html_url`
  says which (``/pull/<n>``) and staging also keeps any whose number is a
  known PR.
* A missing author (a deleted account) is GitHub's ``ghost``.

Times stay text as exported; staging casts them to UTC.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import msgspec
import orjson

Row = dict[str, Any]

# owner/repo and number from any PR or issue URL: html (github.com/o/r/pull/1),
# API (api.github.com/repos/o/r/pulls/1, .../issues/1) or GitHub Enterprise hosts.
PR_URL = re.compile(r"/([^/#?]+/[^/#?]+)/(?:pulls?|issues)/(\d+)(?:[/#?]|$)")
FRAGMENT_ID = re.compile(r"(?:pullrequestreview-|issuecomment-|discussion_r|event-|#r)(\d+)$")
REVIEW_STATES = {0: "PENDING", 1: "COMMENTED", 30: "CHANGES_REQUESTED", 40: "APPROVED", 50: "DISMISSED"}
TIMELINE_KINDS = {"ready_for_review": "ready_for_review", "convert_to_draft": "convert_to_draft",
                  "converted_to_draft": "convert_to_draft"}


@dataclass
class Parsed:
    """Rows parsed from one or more export files."""

    prs: list[Row] = field(default_factory=list)
    files: list[Row] = field(default_factory=list)
    events: list[Row] = field(default_factory=list)
    users: dict[str, Row] = field(default_factory=dict)  # lower(login) -> row
    dropped: list[str] = field(default_factory=list)  # "<what>" lines for the report

    def user(self, login: str | None, member: str, *, name: Any = None, email: Any = None,
             user_type: Any = None, is_bot: Any = None) -> None:
        """Note a login and whatever the export says about it (first non-empty value wins)."""
        if not login:
            return
        row = self.users.setdefault(login.lower(), {
            "login": login, "name": None, "email": None, "user_type": None, "is_bot": None,
            "_source_file": member,
        })
        for k, v in (("name", as_text(name)), ("email", as_text(email)), ("user_type", as_text(user_type))):
            if v and not row[k]:
                row[k] = v
        if isinstance(is_bot, bool):
            row["is_bot"] = bool(row["is_bot"]) or is_bot


class NotThisLayout(ValueError):
    """The file parses but is not the layout it was taken for."""


def iter_json_values(data: bytes) -> Iterator[Any]:
    """Yield each JSON value of `data`: one document, arrays back to back, or NDJSON.

    `gh api --paginate` writes each page as it comes (``[...][...]``). We let
    orjson parse up to the end of the first value, then go on from there.
    Raises orjson.JSONDecodeError for a truncated or invalid value.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    view = memoryview(data)
    ascii_only = data.isascii()
    start, n = 0, len(data)
    while True:
        while start < n and data[start] in b" \t\r\n":
            start += 1
        if start >= n:
            return
        try:
            value = orjson.loads(view[start:])
        except orjson.JSONDecodeError as e:
            if not e.msg.startswith("unexpected content after document"):
                raise
            # orjson reports a character offset; convert it to a byte offset.
            end = start + (e.pos if ascii_only else len(e.doc[: e.pos].encode()))
            yield orjson.loads(view[start:end])
            start = end
            continue
        yield value
        return


_split_array = msgspec.json.Decoder(list[msgspec.Raw]).decode


def iter_records(data: bytes) -> Iterator[dict[str, Any]]:
    """Yield the objects of a file of JSON arrays and/or objects; raise ValueError otherwise.

    A file that is one array (gh's output, most REST dumps) is first split
    into its elements' bytes, which are then parsed one at a time: memory
    holds one record's objects, not the whole file's (a 50 MB file parses
    to about ten times that in Python objects). Anything else, and any file
    the split refuses, is read whole by `iter_json_values`.
    """
    try:
        elements = _split_array(data[3:] if data.startswith(b"\xef\xbb\xbf") else data)
    except (msgspec.DecodeError, RecursionError):
        elements = None
    if elements is not None:
        for i, raw in enumerate(elements):
            item = orjson.loads(memoryview(raw))
            if not isinstance(item, dict):
                raise ValueError(f"element {i} is not a JSON object")
            yield item
        return
    for value in iter_json_values(data):
        items = value if isinstance(value, list) else [value]
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                raise ValueError(f"element {i} is not a JSON object")
            yield item


def as_text(v: Any) -> str | None:
    if v is None or isinstance(v, str):
        return v
    if isinstance(v, bool | int | float):
        return str(v)
    return orjson.dumps(v).decode()


INT64_MAX = (1 << 63) - 1


def as_int(v: Any) -> int | None:
    """Return an integer field; ValueError (the file is skipped) when no 64-bit integer holds it."""
    if isinstance(v, bool):
        return None
    if isinstance(v, str) and v.isdigit():
        v = int(v)
    if isinstance(v, int):
        if not -INT64_MAX <= v <= INT64_MAX:
            raise ValueError(f"the number {str(v)[:30]}... is out of range")
        return v
    return None


TEXT_FIELDS = ("title", "body")


def cut_texts(rows: list[Row], limit: int) -> int:
    """Cut every title and body longer than `limit` characters to it; return how many were cut."""
    cut = 0
    for row in rows:
        for f in TEXT_FIELDS:
            v = row.get(f)
            if isinstance(v, str) and len(v) > limit:
                row[f] = v[:limit]
                cut += 1
    return cut


def as_dict(v: Any) -> dict[str, Any]:
    return v if isinstance(v, dict) else {}


def as_bool(v: Any) -> bool | None:
    return v if isinstance(v, bool) else None


def pr_of(*urls: Any) -> tuple[str, int] | None:
    """Return (owner/repo, number) from the first URL naming a PR or issue."""
    for u in urls:
        if isinstance(u, str) and (m := PR_URL.search(u)):
            return m.group(1), int(m.group(2))
    return None


def id_of(url: Any) -> str | None:
    """Return the numeric id at the end of a migration-archive URL (…#pullrequestreview-123)."""
    if isinstance(url, str) and (m := FRAGMENT_ID.search(url)):
        return m.group(1)
    return None


def login_of_url(url: Any) -> str | None:
    """Return the login of a profile URL; an app's URL is its bot account."""
    if not isinstance(url, str) or not url:
        return None
    parts = url.rstrip("/").split("/")
    if len(parts) >= 2 and parts[-2] == "apps":
        return parts[-1] + "[bot]"
    return parts[-1]


def gh_login(author: Any) -> tuple[str, bool | None]:
    """Return (login, is_bot) of a `gh` author object; GitHub Apps come as app/<name>."""
    if not isinstance(author, dict) or not isinstance(author.get("login"), str):
        return "ghost", None
    login, is_bot = author["login"], as_bool(author.get("is_bot"))
    if login.startswith("app/"):
        return login[4:] + "[bot]", True
    return login, is_bot


def rest_login(user: Any) -> tuple[str, str | None]:
    """Return (login, type) of a REST user object."""
    if not isinstance(user, dict) or not isinstance(user.get("login"), str):
        return "ghost", None
    return user["login"], as_text(user.get("type"))


def review_state(v: Any) -> str | None:
    """Return a review state as the REST API spells it."""
    if isinstance(v, int) and not isinstance(v, bool):
        return REVIEW_STATES.get(v, str(v))
    if isinstance(v, str):
        s = v.upper()
        return {"CHANGES_REQUESTED": s, "REQUEST_CHANGES": "CHANGES_REQUESTED", "COMMENT": "COMMENTED"}.get(s, s)
    return None


def label_names(labels: Any) -> list[str]:
    """Return label names from objects ({name}) or migration-archive label URLs."""
    out: list[str] = []
    for lab in labels if isinstance(labels, list) else []:
        if isinstance(lab, dict) and isinstance(lab.get("name"), str):
            out.append(lab["name"])
        elif isinstance(lab, str):
            out.append(unquote(lab.split("/labels/")[-1].split("#")[0]))
    return out


def event_row(layout: str, member: str, ordinal: int, **cols: Any) -> Row:
    row: Row = {
        "event_id": None, "repo": None, "number": None, "kind": None, "review_state": None,
        "author_login": "ghost", "author_type": None, "author_is_bot": None, "at": None,
        "body": None, "url": None, "review_id": None, "in_reply_to": None, "path": None,
        "is_pull_request": None, "layout": layout, "_source_file": member, "_ordinal": ordinal,
    }
    row.update(cols)
    return row


def pr_row(layout: str, member: str, **cols: Any) -> Row:
    row: Row = {
        "repo": None, "number": None, "layout": layout, "pr_node_id": None, "author_login": "ghost",
        "author_type": None, "author_is_bot": None, "title": None, "body": None, "state": None,
        "created_at": None, "closed_at": None, "merged_at": None, "is_draft": None, "labels": [],
        "url": None, "additions": None, "deletions": None, "changed_files": None,
        "_source_file": member,
    }
    row.update(cols)
    return row


def file_list(files: Any, path_key: str) -> list[Row]:
    return [
        {"path": f[path_key], "additions": as_int(f.get("additions")), "deletions": as_int(f.get("deletions"))}
        for f in files if isinstance(f, dict) and isinstance(f.get(path_key), str)
    ]

"""A Slack Web API on 127.0.0.1 replaying tests/fixtures/slack-api (the Acme workspace).

The fixture holds what each method returns: `users.list` members,
`conversations.list` channels (filtered here by `types`), one history per
conversation (newest first, as Slack returns it) and one replies list per
thread (its parent first). The server does what a fetch depends on: `limit`
and `cursor` with `response_metadata.next_cursor`; `oldest` (exclusive);
`ok: false` errors (`not_in_channel` for #random, `missing_scope` for group
DMs, which the test token lacks); `Retry-After` on a queued 429.

Worked out by hand, the workspace as an export: #general holds ana's thread
(09:00:00.100001 on 2024-03-04, replies by ben at 09:30 that day and by cai
at 09:00 the next day), ben's "lunch?" at 10:00 and cai's notes on 03-05 at
11:00; #leads (private) one message on 03-06; the DM with ben two on 03-04.
"""

from __future__ import annotations

import threading
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
from werkzeug import Request, Response

FIXTURE = Path(__file__).parent / "fixtures" / "slack-api"
TOKEN = "xoxb-test-token"
TYPE_OF = {"public_channel": lambda c: c.get("is_channel") and not c.get("is_private"),
           "private_channel": lambda c: c.get("is_group") and c.get("is_private") and not c.get("is_mpim"),
           "mpim": lambda c: c.get("is_mpim"), "im": lambda c: c.get("is_im")}
SCOPES = {"public_channel": "channels:read", "private_channel": "groups:read", "mpim": "mpim:read",
          "im": "im:read"}


class FakeSlack:
    """The handler behind a pytest-httpserver: Slack's methods, cursors, errors and faults."""

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}
        for p in sorted(FIXTURE.rglob("*.json")):
            self.data[p.relative_to(FIXTURE).as_posix()[: -len(".json")]] = orjson.loads(p.read_bytes())
        self.requests: list[tuple[str, dict[str, str]]] = []  # (method, params but the cursor)
        self.faults: dict[str, list[Response]] = {}
        self.missing_scopes = {"mpim"}
        self.block: tuple[str, threading.Event, threading.Event] | None = None

    def add_message(self, channel: str, message: dict[str, Any], thread: str | None = None) -> None:
        """Post a message (a reply when `thread`): history or replies, and the parent's counts."""
        if thread is None:
            self.data[f"conversations.history/{channel}"].insert(0, message)
            return
        self.data[f"conversations.replies/{channel}-{thread}"].append(message)
        for parents in (self.data[f"conversations.history/{channel}"],
                        self.data[f"conversations.replies/{channel}-{thread}"][:1]):
            for m in parents:
                if m["ts"] == thread:
                    m["reply_count"] += 1
                    m["latest_reply"] = message["ts"]

    def methods(self) -> list[str]:
        return [m for m, _ in self.requests]

    def __call__(self, request: Request) -> Response:
        method = request.path.removeprefix("/api/")
        args = dict(request.args.items())
        if self.block and self.block[0] == method:
            self.block[1].set()
            self.block[2].wait(10)
            return Response(status=599)
        self.requests.append((method, {k: v for k, v in args.items() if k != "cursor"}))
        if self.faults.get(method):
            return self.faults[method].pop(0)
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return self._ok({"ok": False, "error": "invalid_auth"})
        if method == "auth.test":
            return self._ok(self.data["auth.test"])
        if method == "users.list":
            return self._page(self.data["users.list"], args, "members")
        if method == "conversations.list":
            types = args.get("types", "public_channel").split(",")
            lacking = [t for t in types if t in self.missing_scopes]
            if lacking:
                return self._ok({"ok": False, "error": "missing_scope", "needed": SCOPES[lacking[0]],
                                 "provided": "channels:read,groups:read,im:read,users:read"})
            chans = [c for c in self.data["conversations.list"] if any(TYPE_OF[t](c) for t in types)]
            return self._page(chans, args, "channels")
        if method == "conversations.history":
            found = self.data.get(f"conversations.history/{args.get('channel')}")
            if found is None:
                return self._ok({"ok": False, "error": "channel_not_found"})
            if isinstance(found, dict):
                return self._ok(found)
            return self._page(self._after(found, args), args, "messages", has_more=True)
        if method == "conversations.replies":
            found = self.data.get(f"conversations.replies/{args.get('channel')}-{args.get('ts')}")
            if found is None:
                return self._ok({"ok": False, "error": "thread_not_found"})
            return self._page(found[:1] + self._after(found[1:], args), args, "messages", has_more=True)
        return self._ok({"ok": False, "error": "unknown_method"})

    @staticmethod
    def _after(messages: list[dict[str, Any]], args: dict[str, str]) -> list[dict[str, Any]]:
        oldest = Decimal(args["oldest"]) if args.get("oldest") else None
        return [m for m in messages if oldest is None or Decimal(m["ts"]) > oldest]

    def _page(self, items: list[Any], args: dict[str, str], key: str, has_more: bool = False) -> Response:
        limit = int(args.get("limit", 100))
        start = int(args.get("cursor", "o0")[1:] or 0)
        chunk = items[start:start + limit]
        more = start + limit < len(items)
        body: dict[str, Any] = {"ok": True, key: chunk,
                                "response_metadata": {"next_cursor": f"o{start + limit}" if more else ""}}
        if has_more:
            body["has_more"] = more
        return self._ok(body)

    @staticmethod
    def _ok(body: Any) -> Response:
        return Response(orjson.dumps(body), 200, content_type="application/json")

    def rate_limit(self, method: str, retry_after: int = 1) -> None:
        """Answer the next call of `method` with a 429 and Retry-After, as Slack's tiers do."""
        self.faults.setdefault(method, []).append(
            Response(orjson.dumps({"ok": False, "error": "ratelimited"}), 429,
                     headers={"Retry-After": str(retry_after)}, content_type="application/json"))

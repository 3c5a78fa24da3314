"""A GitHub REST API on 127.0.0.1 replaying tests/fixtures/github-api (the acme/widgets history).

The fixture holds the pages GitHub would serve, one file per endpoint
(`repos/acme/widgets/pulls.json`, `.../pulls/7/reviews.json`, ...), in the
shape the API returns them: the same history `tests.github_history` writes
as a REST dump. The server behaves as GitHub does where a fetch depends on
it: `per_page`/`page` with a `Link` header, pulls sorted by `updated_at`
when asked, a strong `ETag` and 304 on `If-None-Match` (no quota used), and
`X-RateLimit-*` headers counting down a budget. Tests change the history
(`add`, `update_pr`), queue faults for a path, and read `requests`.
"""

from __future__ import annotations

import copy
import hashlib
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import orjson
from werkzeug import Request, Response

FIXTURE = Path(__file__).parent / "fixtures" / "github-api"


class FakeGitHub:
    """The handler behind a pytest-httpserver: routes, pagination, ETags, rate limits, faults."""

    def __init__(self, limit: int = 5000, prefix: str = "") -> None:
        self.pages: dict[str, list[dict[str, Any]]] = {}
        for p in sorted(FIXTURE.rglob("*.json")):
            self.pages["/" + p.relative_to(FIXTURE).as_posix()[: -len(".json")]] = orjson.loads(p.read_bytes())
        self.requests: list[tuple[str, int]] = []  # (path?query, status)
        self.faults: dict[str, list[Response]] = {}
        self.limit = limit
        self.remaining = limit
        self.reset_at = int(time.time()) + 3600
        self.window_seconds = 1  # a spent budget comes back this long after it ran out
        self.block: tuple[str, threading.Event, threading.Event] | None = None
        self.lock = threading.Lock()
        self.prefix = prefix  # GitHub Enterprise Server serves the API under /api/v3
        self.authorizations: list[str | None] = []

    # --- changing the history -------------------------------------------------------------

    def add(self, path: str, record: dict[str, Any]) -> None:
        self.pages.setdefault(path, []).append(record)

    def update_pr(self, repo: str, number: int, updated_at: str) -> None:
        for pr in self.pages[f"/repos/{repo}/pulls"]:
            if pr["number"] == number:
                pr["updated_at"] = updated_at

    def spend(self, remaining: int) -> None:
        """Leave `remaining` requests in the budget, then a reset `window_seconds` after it runs out."""
        self.remaining = remaining
        if remaining == 0:
            self.reset_at = int(time.time() + self.window_seconds) + 1  # at least a second ahead

    def api_paths(self) -> list[str]:
        """Paths asked for, in order, without their query."""
        return [p.split("?")[0] for p, _ in self.requests]

    # --- serving --------------------------------------------------------------------------

    def __call__(self, request: Request) -> Response:
        full = request.full_path.rstrip("?")
        if self.block and request.path == self.block[0]:
            self.block[1].set()  # the test kills the client now
            self.block[2].wait(10)
            return Response(status=599)  # to nobody: the client is dead; not counted
        with self.lock:
            return self._serve(request, full)

    def _serve(self, request: Request, full: str) -> Response:
        self.authorizations.append(request.headers.get("Authorization"))
        if self.prefix:
            if not request.path.startswith(self.prefix + "/"):
                return self._json({"message": "Not Found"}, 404)
            request.path = request.path[len(self.prefix):]  # type: ignore[misc]
            full = full[len(self.prefix):]
        now = time.time()
        if self.remaining == 0 and now >= self.reset_at:
            self.remaining, self.reset_at = self.limit, int(now) + 3600
        queued = self.faults.get(request.path)
        if queued:
            r = queued.pop(0)
            self.requests.append((full, r.status_code))
            return r
        if self.remaining == 0:
            r = self._json({"message": "API rate limit exceeded for user ID 1."}, 403)
            self.requests.append((full, 403))
            return r
        if request.path not in self.pages:
            self.requests.append((full, 404))
            return self._json({"message": "Not Found"}, 404)
        records = copy.deepcopy(self.pages[request.path])
        if request.args.get("sort") == "updated":
            records.sort(key=lambda r: r["updated_at"], reverse=request.args.get("direction") != "asc")
        per_page = int(request.args.get("per_page", 30))
        page = int(request.args.get("page", 1))
        chunk = records[(page - 1) * per_page: page * per_page]
        body = orjson.dumps(chunk)
        etag = '"' + hashlib.sha1(body).hexdigest() + '"'
        headers = {"ETag": etag}
        last = max(1, -(-len(records) // per_page))
        links = []
        if page < last:
            links.append(f'<{self._url(request, page + 1)}>; rel="next"')
            links.append(f'<{self._url(request, last)}>; rel="last"')
        if links:
            headers["Link"] = ", ".join(links)
        if request.headers.get("If-None-Match") == etag:
            r = Response(status=304, headers=headers | self._budget())
            self.requests.append((full, 304))
            return r
        self.remaining -= 1
        if self.remaining == 0:
            self.reset_at = int(time.time() + self.window_seconds) + 1  # at least a second ahead
        self.requests.append((full, 200))
        return Response(body, 200, headers=headers | self._budget(), content_type="application/json")

    def _budget(self) -> dict[str, str]:
        return {"X-RateLimit-Limit": str(self.limit), "X-RateLimit-Remaining": str(self.remaining),
                "X-RateLimit-Reset": str(self.reset_at)}

    def _json(self, value: Any, status: int, **headers: str) -> Response:
        return Response(orjson.dumps(value), status, headers=headers | self._budget(),
                        content_type="application/json")

    def _url(self, request: Request, page: int) -> str:
        args = {k: v for k, v in request.args.items() if k != "page"} | {"page": str(page)}
        return f"{request.host_url.rstrip('/')}{self.prefix}{request.path}?{urlencode(args)}"

    def fault(self, path: str, status: int, retry_after: int | None = None, times: int = 1) -> None:
        """Answer the next `times` requests of `path` with `status` (and Retry-After)."""
        for _ in range(times):
            headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
            msg = ("You have exceeded a secondary rate limit." if retry_after
                   else {401: "Bad credentials", 404: "Not Found"}.get(status, "Server Error"))
            self.faults.setdefault(path, []).append(self._json({"message": msg}, status, **headers))

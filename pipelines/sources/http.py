"""The HTTP client every `fetch` shares: retries, rate-limit waits, conditional requests, progress.

`fetch` is the one command that talks to the network, and only to the API
URL the user configures (SECURITY.md). What the APIs do that this handles:

* GitHub's primary rate limit: every response carries
  ``X-RateLimit-Remaining`` and ``X-RateLimit-Reset`` (epoch seconds). When
  the budget is spent (a 403/429 saying so, or a 200 with 0 left) we wait
  until Reset, saying until when on stderr, instead of failing or hammering.
* Secondary limits (GitHub 403/429, Slack 429) say ``Retry-After`` seconds.
* 5xx and dropped connections are retried with exponential backoff.
* Conditional requests: a 200's ``ETag`` is kept with its body in a cache
  folder; the next request of the same URL sends ``If-None-Match``, and a
  304 (which costs GitHub no quota) is answered from the cache.

Times are whole seconds from the server's headers; the wait itself is real
(`time.sleep`), so a test's server sets Reset a second ahead and the fetch
waits for it.
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson

LINK_NEXT = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')
RETRY_STATUSES = {500, 502, 503, 504}
KEPT_HEADERS = ("etag", "link", "x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset",
                "retry-after", "content-type")


class FetchError(Exception):
    """A fetch cannot go on (bad token, no such repository, retries spent); one line for the user."""


class ApiRefused(FetchError):
    """The API answered with an error for this request (4xx, or Slack's ok: false)."""

    def __init__(self, message: str, status: int, code: str | None = None, needed: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.needed = needed  # Slack's missing_scope names the scope


@dataclass
class Page:
    """One response: its body (from the network or, after a 304, the cache) and what it said."""

    url: str
    status: int
    headers: dict[str, str]
    body: bytes
    from_cache: bool = False

    def json(self) -> Any:
        return orjson.loads(self.body) if self.body else None

    @property
    def next_url(self) -> str | None:
        """The `rel="next"` URL of GitHub's Link header, if any."""
        m = LINK_NEXT.search(self.headers.get("link", ""))
        return m.group(1) if m else None


@dataclass
class Counters:
    """What a fetch did on the network, for progress lines and `raw.runs`."""

    requests: int = 0
    from_cache: int = 0
    retries: int = 0
    waited_seconds: float = 0.0
    limit: int | None = None
    remaining: int | None = None
    reset_at: int | None = None  # epoch seconds

    def budget(self) -> str:
        if self.remaining is None:
            return "rate limit unknown"
        left = f"{self.remaining:,}" + (f"/{self.limit:,}" if self.limit else "")
        return f"rate limit {left} left"


@dataclass
class Client:
    """A small synchronous client over httpx for one API base URL."""

    base_url: str
    headers: dict[str, str] = field(default_factory=dict)
    cache_dir: Path | None = None  # ETag cache; None: no conditional requests
    max_retries: int = 5
    backoff_seconds: float = 1.0  # first 5xx wait; doubles each retry
    max_wait_seconds: float = 3600.0  # a rate-limit wait longer than this fails the fetch
    timeout_seconds: float = 30.0
    say: Callable[[str], None] = field(default=lambda line: print(line, file=sys.stderr, flush=True))
    counters: Counters = field(default_factory=Counters)
    # Called before each request with its URL: tests stop a fetch at a page boundary with it.
    before_request: Callable[[str], None] | None = None
    _http: httpx.Client | None = None

    def __post_init__(self) -> None:
        self.base_url = self.base_url.rstrip("/")
        self._http = httpx.Client(timeout=self.timeout_seconds, follow_redirects=True,
                                  headers={"User-Agent": "asyncpulse-fetch", **self.headers},
                                  event_hooks={"request": [self._check_origin]})

    def _check_origin(self, request: httpx.Request) -> None:
        """Refuse any request (a Link header's, a redirect's) to another host than the API URL."""
        base = httpx.URL(self.base_url)
        if (request.url.scheme, request.url.host, request.url.port) != (base.scheme, base.host, base.port):
            raise FetchError(f"{_redact(str(request.url))}: not under the API URL {self.base_url}; "
                             "refused (the token goes only there)")

    def close(self) -> None:
        if self._http is not None:
            self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def url(self, path_or_url: str, params: dict[str, Any] | None = None) -> str:
        """Return the full URL of an API path (a URL from a Link header is taken as it is)."""
        url = path_or_url if "://" in path_or_url else self.base_url + "/" + path_or_url.lstrip("/")
        if params:
            url = str(httpx.URL(url).copy_merge_params({k: str(v) for k, v in params.items()}))
        return url

    def get(self, path_or_url: str, params: dict[str, Any] | None = None) -> Page:
        """GET a page, waiting out rate limits and retrying transient failures."""
        url = self.url(path_or_url, params)
        cached = self._cached(url)
        attempt = 0
        while True:
            self._wait_for_budget()
            if self.before_request:
                self.before_request(url)
            headers = {"If-None-Match": cached[0]["etag"]} if cached else {}
            try:
                assert self._http is not None
                r = self._http.get(url, headers=headers)
            except httpx.TransportError as e:
                attempt = self._retry(attempt, url, f"{type(e).__name__}: {e}")
                continue
            self.counters.requests += 1
            self._note_budget(r.headers)
            kept = {k: r.headers[k] for k in KEPT_HEADERS if k in r.headers}
            if r.status_code == 304 and cached:
                self.counters.from_cache += 1
                meta, body = cached
                return Page(url, 304, {**meta.get("headers", {}), **kept}, body, from_cache=True)
            if r.status_code in (403, 429) and self._is_rate_limited(r):
                self._wait_rate_limited(r)
                continue
            if r.status_code in RETRY_STATUSES:
                attempt = self._retry(attempt, url, f"HTTP {r.status_code}")
                continue
            if r.status_code >= 400:
                raise ApiRefused(f"{_redact(url)}: HTTP {r.status_code} {_reason(r)}", r.status_code)
            page = Page(url, r.status_code, kept, r.content)
            if "etag" in kept:
                self._store(url, page)
            return page

    # --- rate limits ---------------------------------------------------------------------

    def _note_budget(self, headers: httpx.Headers) -> None:
        c = self.counters
        for attr, name in (("limit", "x-ratelimit-limit"), ("remaining", "x-ratelimit-remaining"),
                           ("reset_at", "x-ratelimit-reset")):
            v = headers.get(name)
            if v is not None and v.isdigit():
                setattr(c, attr, int(v))

    def _is_rate_limited(self, r: httpx.Response) -> bool:
        return r.status_code == 429 or "retry-after" in r.headers or (
            r.headers.get("x-ratelimit-remaining") == "0")

    def _wait_rate_limited(self, r: httpx.Response) -> None:
        after = r.headers.get("retry-after", "")
        if after.isdigit():  # a secondary limit: the server says how long
            self._sleep(int(after), f"secondary rate limit (HTTP {r.status_code}): "
                        f"retrying after {after} s")
            return
        self._wait_until_reset(f"rate limit reached (HTTP {r.status_code})")

    def _wait_for_budget(self) -> None:
        if self.counters.remaining == 0 and self.counters.reset_at:
            self._wait_until_reset("rate limit spent")

    def _wait_until_reset(self, why: str) -> None:
        c = self.counters
        reset = c.reset_at or int(time.time()) + 60
        seconds = max(0.0, reset - time.time())
        until = datetime.fromtimestamp(reset, UTC).strftime("%H:%M:%S UTC")
        self._sleep(seconds, f"{why}: {c.budget()}; waiting until {until} ({seconds:.0f} s)")
        c.remaining = None  # unknown until the next response says

    def _sleep(self, seconds: float, line: str) -> None:
        if seconds > self.max_wait_seconds:
            raise FetchError(f"{line}: longer than the {self.max_wait_seconds:.0f} s allowed; "
                             "run the fetch again later, it resumes where it stopped")
        self.say(line)
        self.counters.waited_seconds += seconds
        time.sleep(seconds)

    def _retry(self, attempt: int, url: str, what: str) -> int:
        if attempt >= self.max_retries:
            raise FetchError(f"{_redact(url)}: {what}, still after {attempt} retries")
        wait = self.backoff_seconds * 2 ** attempt
        self.counters.retries += 1
        self._sleep(wait, f"{what} from {_redact(url)}; retry {attempt + 1} of "
                    f"{self.max_retries} in {wait:g} s")
        return attempt + 1

    # --- the ETag cache ------------------------------------------------------------------

    def _cache_paths(self, url: str) -> tuple[Path, Path] | None:
        if self.cache_dir is None:
            return None
        h = hashlib.sha256(url.encode()).hexdigest()[:32]
        return self.cache_dir / f"{h}.meta", self.cache_dir / f"{h}.body"

    def _cached(self, url: str) -> tuple[dict[str, Any], bytes] | None:
        paths = self._cache_paths(url)
        if paths is None:
            return None
        try:
            meta = orjson.loads(paths[0].read_bytes())
            body = paths[1].read_bytes()
        except (OSError, orjson.JSONDecodeError):
            return None
        if meta.get("url") != url or hashlib.sha256(body).hexdigest() != meta.get("sha256"):
            return None  # another URL with the same hash prefix, or a body cut short
        return meta, body

    def _store(self, url: str, page: Page) -> None:
        paths = self._cache_paths(url)
        if paths is None:
            return
        paths[0].parent.mkdir(parents=True, exist_ok=True)
        write_atomic(paths[1], page.body)
        meta = {"url": url, "etag": page.headers["etag"], "sha256": hashlib.sha256(page.body).hexdigest(),
                "headers": {k: v for k, v in page.headers.items() if k in ("link", "content-type")}}
        write_atomic(paths[0], orjson.dumps(meta))


def write_atomic(path: Path, data: bytes) -> None:
    """Write `path` whole or not at all: a kill leaves the old file or none, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _redact(url: str) -> str:
    """Return `url` without its query's token-like parameters (none are sent there, but be sure)."""
    return re.sub(r"([?&](?:token|access_token)=)[^&]+", r"\1***", url)


def _reason(r: httpx.Response) -> str:
    phrase = httpx.codes.get_reason_phrase(r.status_code)
    try:
        body = r.json()
    except ValueError:
        return phrase
    msg = body.get("message") if isinstance(body, dict) else None
    return f"{phrase}: {msg}" if msg else phrase


class Progress:
    """Progress of a fetch on stderr: counts and the rate-limit budget left.

    A live line on a terminal; otherwise a line every 10 s, and always the last.
    """

    def __init__(self, label: str, counters: Counters) -> None:
        self.label = label
        self.counters = counters
        self.tty = sys.stderr.isatty()
        self.every = 0.5 if self.tty else 10.0
        self.last = 0.0

    def __call__(self, what: str, done: int | None = None, total: int | None = None,
                 final: bool = False) -> None:
        now = time.monotonic()
        if not final and now - self.last < self.every:
            return
        self.last = now
        c = self.counters
        count = f" {done:,}/{total:,}" if done is not None and total is not None else ""
        line = (f"{self.label}: {what}{count} · {c.requests:,} requests ({c.from_cache:,} unchanged, "
                f"from the cache) · {c.budget()}")
        sys.stderr.write(("\r" + line + ("\n" if final else "")) if self.tty else line + "\n")
        sys.stderr.flush()

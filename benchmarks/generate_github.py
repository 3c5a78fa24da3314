"""Generate the pull-request history that goes with a benchmark Slack export.

The output is one file in the layout of ``gh pr list --state all --json
number,title,body,author,createdAt,closedAt,mergedAt,isDraft,state,labels,url,
additions,deletions,files,reviews,comments`` (reviews and comments nested in
each PR, as gh prints them), which ``asyncpulse ingest github <file>`` loads.

Shape, about one PR per 200 Slack messages (5,000 at one million):
- authors and reviewers are the Slack export's own people (a third of them
  are engineers with a GitHub login), so identities match through the name
  that Slack and GitHub share, and reviews land in each reviewer's own
  working hours (their ``tz_offset`` in ``users.json``): review ping-pong
  across timezones appears as it does in a real team;
- the seven repositories the Slack messages link to (``acme/api`` …),
  numbered from 1 per repository, over the Slack export's two years;
- descriptions from empty through one-liners, untouched templates and
  half-filled templates to fully written ones (the demo's writer,
  ``pipelines.demo_github.build_body``), titles with and without tickets;
- bots: dependabot and renovate PRs (about 8%), codecov comments and
  github-actions reviews on human PRs;
- 0 to 3 change-request rounds, approvals, drafts, open and closed PRs.

It streams: each PR is written as soon as it is made, so memory stays flat.
Everything derives from ``seed``; the same arguments give the same bytes.
An output whose ``.complete`` marker matches is reused.

    python -m benchmarks.generate_github --slack benchmarks/data/slack-1m \
        --out benchmarks/data/github-1m [--prs 5000]
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from benchmarks.generate import FIRST_DAY, LAST_DAY
from pipelines.demo_github import ANSWERS, APPROVALS, CHANGES, build_body

# Bump when the output changes, so cached histories of an older layout regenerate.
FORMAT_VERSION = 1
MARKER = ".complete"
FILE_NAME = "prs.json"
MESSAGES_PER_PR = 200
REPOS = ("api", "web", "mobile", "infra", "billing", "search", "platform")
REPO_WEIGHTS = (30, 25, 12, 10, 9, 8, 6)
BODY_KINDS = (("empty", 15), ("oneliner", 19), ("template_unfilled", 14),
              ("template_partial", 15), ("template_filled", 26), ("freeform", 11))
ROUNDS = {  # weights of 0, 1, 2, 3 change-request rounds, by description kind
    "empty": (15, 35, 30, 20), "oneliner": (20, 35, 30, 15), "template_unfilled": (15, 35, 30, 20),
    "template_partial": (30, 40, 20, 10), "template_filled": (60, 28, 10, 2), "freeform": (55, 30, 12, 3),
}
TITLE_VERBS = ("Add", "Fix", "Remove", "Refactor", "Speed up", "Handle", "Move", "Upgrade", "Retry",
               "Cache", "Split", "Backfill", "Document", "Test", "Migrate")
TITLE_THINGS = ("idempotency keys on order creation", "double charge on webhook retry",
                "invoice rendering", "the events index", "429s from the payments provider",
                "legacy v1 auth endpoints", "the nightly usage rollup", "tracing on checkout",
                "the cart summary", "layout shift on pricing", "dark mode tokens",
                "the analytics bundle", "signup form errors", "Safari date picker overflow",
                "the feature flag payload", "the search rate limit", "Redis subnet config",
                "flaky upload test", "session token refresh", "the deploy pipeline cache")
UI_FILES = ("src/components/Cart/CartSummary.tsx", "src/components/cart.css", "src/pages/Pricing.tsx",
            "src/components/Signup/SignupForm.tsx", "src/styles/tokens.css")
CODE_FILES = ("src/orders/handlers.py", "src/orders/models.py", "src/billing/webhooks.py",
              "src/common/retry.py", "migrations/0142_orders_idempotency.sql",
              "tests/orders/test_handlers.py", "infra/terraform/redis.tf", "src/lib/api-client.ts",
              "package.json", "go.mod", "cmd/server/main.go", "README.md")
NODE_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
US_DAY = 86_400


class Engineer:
    """A Slack person who also has a GitHub login."""

    __slots__ = ("login", "name", "offset", "node")

    def __init__(self, login: str, name: str, offset: int, node: str) -> None:
        self.login, self.name, self.offset, self.node = login, name, offset, node


def _engineers(slack: Path, rng: random.Random) -> list[Engineer]:
    """Pick a third of the export's living humans as engineers (at least 6)."""
    users = orjson.loads((slack / "users.json").read_bytes())
    humans = [u for u in users if not u.get("is_bot") and not u.get("deleted")]
    k = max(6, len(humans) // 3)
    picked = rng.sample(humans, min(k, len(humans)))
    out = []
    for u in picked:
        # GitHub logins have no dots; the shared real name is what links the two accounts.
        login = u["name"].replace(".", "-")
        if rng.random() < 0.3:
            login += str(rng.randint(1, 99))
        out.append(Engineer(login, u.get("real_name") or "", int(u.get("tz_offset") or 0),
                            "MDQ6VXNlcj" + f"{rng.getrandbits(40):012x}"))
    return out


def _iso(epoch_s: float) -> str:
    return datetime.fromtimestamp(int(epoch_s), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _node(rng: random.Random, prefix: str) -> str:
    return prefix + "".join(rng.choices(NODE_CHARS, k=16))


def _work_time(rng: random.Random, eng: Engineer, day: int) -> float:
    """Return a UTC epoch second inside eng's working hours on their local day `day`."""
    while (day + 3) % 7 >= 5:  # epoch day 0 was a Thursday: skip Saturday and Sunday
        day += 1
    local = day * US_DAY + rng.uniform(9.0, 17.0) * 3600
    return local - eng.offset


def _next_work_time(rng: random.Random, eng: Engineer, after: float, lo_min: float,
                    hi_min: float) -> float:
    """Return a time lo..hi minutes after `after`, moved into eng's next working hours."""
    t = after + rng.uniform(lo_min, hi_min) * 60
    local = t + eng.offset
    day, sec = divmod(local, US_DAY)
    if (int(day) + 3) % 7 < 5 and 9 * 3600 <= sec < 17 * 3600:
        return t
    if sec >= 17 * 3600:
        day += 1
    while (int(day) + 3) % 7 >= 5:
        day += 1
    return day * US_DAY + 9 * 3600 + rng.uniform(5, 150) * 60 - eng.offset


def _author(eng: Engineer | None, bot: str | None = None) -> dict[str, Any]:
    if bot is not None:
        return {"id": "BOT_kgDOA" + bot[:4], "is_bot": True, "login": f"app/{bot}"}
    assert eng is not None
    return {"id": eng.node, "is_bot": False, "login": eng.login, "name": eng.name}


def _review(rng: random.Random, login: str, at: float, state: str, body: str,
            bot: bool = False) -> dict[str, Any]:
    return {"id": _node(rng, "PRR_kwDOK"), "author": {"login": login, **({"is_bot": True} if bot else {})},
            "authorAssociation": "NONE" if bot else "MEMBER", "body": body, "submittedAt": _iso(at),
            "includesCreatedEdit": False, "reactionGroups": [], "state": state,
            "commit": {"oid": f"{rng.getrandbits(160):040x}"}}


def _comment(rng: random.Random, url: str, login: str, at: float, body: str,
             bot: bool = False) -> dict[str, Any]:
    return {"id": _node(rng, "IC_kwDOK"), "author": {"login": login, **({"is_bot": True} if bot else {})},
            "authorAssociation": "NONE" if bot else "MEMBER", "body": body, "createdAt": _iso(at),
            "includesCreatedEdit": False, "isMinimized": False, "minimizedReason": "",
            "reactionGroups": [], "url": f"{url}#issuecomment-{rng.getrandbits(30)}",
            "viewerDidAuthor": False}


def _files(rng: random.Random, is_ui: bool) -> list[dict[str, Any]]:
    paths = rng.sample(CODE_FILES, rng.randint(1, 5))
    if is_ui:
        paths += rng.sample(UI_FILES, rng.randint(1, 3))
    return [{"path": p, "additions": rng.randint(1, 400), "deletions": rng.randint(0, 150)} for p in paths]


def make_pr(rng: random.Random, repo: str, number: int, engineers: list[Engineer],
            end: float) -> dict[str, Any]:
    """Make one PR record (human or bot) with its reviews and comments, all before `end`."""
    url = f"https://github.com/acme/{repo}/pull/{number}"
    day = FIRST_DAY + rng.randrange(LAST_DAY - FIRST_DAY - 3)
    pr: dict[str, Any] = {"number": number, "url": url, "labels": [], "reviews": [], "comments": []}
    if rng.random() < 0.08:  # a dependency bot
        bot = rng.choice(("dependabot", "renovate"))
        created = day * US_DAY + rng.uniform(0, US_DAY)
        lib = rng.choice(("axios", "lodash", "django", "requests", "golang.org/x/net", "react"))
        pr.update(title=f"Bump {lib} from 1.{rng.randint(0, 9)}.{rng.randint(0, 9)} to "
                        f"1.{rng.randint(10, 19)}.0",
                  body=f"Bumps {lib}.\n\n<details><summary>Release notes</summary>\n\n- fixes\n</details>\n\n"
                       "Dependabot will resolve any conflicts with this PR as long as you don't alter it "
                       "yourself.",
                  author=_author(None, bot), labels=[{"id": "LA_dep", "name": "dependencies",
                                                      "description": "", "color": "0366d6"}],
                  files=[{"path": "package.json", "additions": 1, "deletions": 1}])
        reviewer = rng.choice(engineers)
        merged = rng.random() < 0.7
        at = _next_work_time(rng, reviewer, created, 30, 3000)
        if at < end:
            pr["reviews"].append(_review(rng, reviewer.login, at, "APPROVED" if merged else "COMMENTED",
                                         "" if merged else "Can we wait for the next patch?"))
        closed = at + rng.uniform(60, 7200) if at < end else None
        _finish(pr, created, closed, merged, end)
        return pr

    author = rng.choice(engineers)
    created = _work_time(rng, author, day)
    kind = rng.choices([k for k, _ in BODY_KINDS], [w for _, w in BODY_KINDS])[0]
    is_ui = repo in ("web", "mobile") and rng.random() < 0.6
    ticket = f"{repo.upper()}-{rng.randint(100, 4999)}"
    title = f"{rng.choice(TITLE_VERBS)} {rng.choice(TITLE_THINGS)}"
    if rng.random() < 0.3:
        title = f"[{ticket}] {title}"
    body = build_body(kind, rng, title, is_ui, ticket)
    files = _files(rng, is_ui)
    pr.update(title=title, body=body, author=_author(author), files=files,
              labels=[{"id": f"LA_{n}", "name": n} for n in
                      rng.sample(("bug", "enhancement", "tech-debt", "ui", "backend"), rng.randint(0, 2))])
    state = rng.choices(("merged", "closed", "open", "draft"), (80, 8, 7, 5))[0]
    if rng.random() < 0.45:
        pr["comments"].append(_comment(rng, url, "app/codecov", created + rng.uniform(120, 600),
                                       f"## Codecov Report\nPatch coverage: `{rng.randint(55, 100)}%`",
                                       bot=True))
    if rng.random() < 0.15:
        pr["reviews"].append(_review(rng, "github-actions", created + rng.uniform(60, 400), "COMMENTED",
                                     "ruff found 2 issues in changed lines.", bot=True))
    others = [e for e in rng.sample(engineers, min(4, len(engineers))) if e is not author]
    reviewer = others[0]
    if state == "draft":
        pr["isDraft"] = True
        _finish(pr, created, None, False, end)
        return pr
    t = created
    for _ in range(rng.choices(range(4), ROUNDS[kind])[0]):
        t = _next_work_time(rng, reviewer, t, 20, 1500)
        if t >= end:
            break
        pr["reviews"].append(_review(rng, reviewer.login, t, "CHANGES_REQUESTED", rng.choice(CHANGES)))
        t = _next_work_time(rng, author, t, 10, 900)
        if t >= end:
            break
        answer = rng.choice(ANSWERS).format(sha=f"{rng.getrandbits(28):07x}", flag="new_flow",
                                            issue=rng.randint(1, 4000))
        pr["comments"].append(_comment(rng, url, author.login, t, answer))
    if len(others) > 1 and rng.random() < 0.3:  # a second reviewer chimes in
        at = _next_work_time(rng, others[1], created, 30, 2000)
        if at < end:
            pr["comments"].append(_comment(rng, url, others[1].login, at, "Drive-by: +1 to this."))
    closed = None
    if state in ("merged", "closed"):
        t = _next_work_time(rng, reviewer, t, 20, 1500)
        if t < end and state == "merged":
            pr["reviews"].append(_review(rng, reviewer.login, t, "APPROVED", rng.choice(APPROVALS)))
        closed = t + rng.uniform(60, 14_400)
    _finish(pr, created, closed, state == "merged", end)
    return pr


def _finish(pr: dict[str, Any], created: float, closed: float | None, merged: bool, end: float) -> None:
    """Set the timestamps, state and totals; events are put in gh's order (by time)."""
    if closed is not None and closed >= end:
        closed = None
    pr["createdAt"] = _iso(created)
    pr["closedAt"] = _iso(closed) if closed is not None else None
    pr["mergedAt"] = _iso(closed) if closed is not None and merged else None
    pr.setdefault("isDraft", False)
    pr["state"] = "OPEN" if closed is None else "MERGED" if merged else "CLOSED"
    pr["additions"] = sum(f["additions"] for f in pr["files"])
    pr["deletions"] = sum(f["deletions"] for f in pr["files"])
    pr["reviews"].sort(key=lambda r: r["submittedAt"])
    pr["comments"].sort(key=lambda c: c["createdAt"])


def _read_marker(out: Path) -> dict[str, Any] | None:
    try:
        return orjson.loads((out / MARKER).read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None


def generate_github(out: Path, slack: Path, prs: int, seed: int = 1) -> dict[str, Any]:
    """Write `prs` pull requests to out/prs.json for the people of the Slack export at `slack`.

    Returns a summary: prs, events, bytes, file (the path to ingest), seconds,
    and `cached` (True when a matching existing output was reused).
    """
    out = Path(out)
    key = {"seed": seed, "prs": prs, "slack": Path(slack).name, "version": FORMAT_VERSION}
    marker = _read_marker(out)
    if marker is not None and all(marker.get(k) == v for k, v in key.items()):
        return {**marker, "file": str(out / FILE_NAME), "cached": True}
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    started = time.perf_counter()
    rng = random.Random(f"github-{seed}")
    engineers = _engineers(Path(slack), rng)
    end = (LAST_DAY + 1) * US_DAY
    # Numbers per repository in creation order would need every PR in memory; gh lists
    # newest first anyway, and the loader keys PRs by (repo, number), so numbers are
    # dealt in order of writing, with the gaps that issues sharing the sequence leave.
    next_number = dict.fromkeys(REPOS, 1)
    events = nbytes = 0
    with open(out / FILE_NAME, "wb") as fh:
        fh.write(b"[")
        for i in range(prs):
            repo = rng.choices(REPOS, REPO_WEIGHTS)[0]
            number = next_number[repo]
            next_number[repo] += rng.choice((1, 1, 1, 2, 3))
            pr = make_pr(rng, repo, number, engineers, end)
            events += len(pr["reviews"]) + len(pr["comments"])
            data = (b",\n" if i else b"\n") + orjson.dumps(pr)
            fh.write(data)
            nbytes += len(data)
        fh.write(b"\n]\n")
    summary = {**key, "events": events, "engineers": len(engineers), "bytes": nbytes + 4,
               "seconds": round(time.perf_counter() - started, 2)}
    (out / MARKER).write_bytes(orjson.dumps(summary, option=orjson.OPT_INDENT_2))
    return {**summary, "file": str(out / FILE_NAME), "cached": False}


def prs_for(messages: int) -> int:
    """Return the number of PRs that goes with a Slack export of `messages` messages."""
    return max(10, messages // MESSAGES_PER_PR)


def main(argv: list[str] | None = None) -> int:
    """Run the generator from the command line and print its summary."""
    ap = argparse.ArgumentParser(prog="python -m benchmarks.generate_github",
                                 description=__doc__.splitlines()[0])
    ap.add_argument("--slack", type=Path, required=True, help="the Slack export whose people to use")
    ap.add_argument("--out", type=Path, required=True, help="folder to write prs.json in")
    ap.add_argument("--prs", type=int, help="pull requests (default: one per 200 Slack messages)")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    n = args.prs
    if n is None:
        marker = _read_marker(args.slack) or {}
        n = prs_for(int(marker.get("messages", 0)))
    s = generate_github(args.out, args.slack, n, args.seed)
    state = "cached" if s["cached"] else f"generated in {s['seconds']:.1f} s"
    print(f"{s['file']}: {s['prs']:,} PRs, {s['events']:,} reviews and comments, "
          f"{s['bytes'] / 1e6:,.1f} MB, {s['engineers']:,} engineers ({state})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Generate the demo's pull-request history in the ``gh pr list --json`` layout.

Description quality is dealt from a fixed deck (so the share of empty,
template-only and well-written descriptions is known), and worse
descriptions draw more review rounds, so the dashboard's "does a good
description pay off?" chart has something to show. Reviews are timed in
each reviewer's own working hours, which is what makes review ping-pong
across timezones appear.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from pipelines.demo_people import Person, is_active, next_work_time, random_work_time

REPOS = ("acme/api", "acme/web")
FIRST_NUMBER = {"acme/api": 412, "acme/web": 1187}
HUMAN_PRS = {"acme/api": 84, "acme/web": 76}
REPO_TEAMS = {"acme/api": ("Platform", "Data", "Infra"), "acme/web": ("Web", "Mobile")}
# The deck of description kinds: 160 cards for the 160 human PRs.
BODY_DECK = (("empty", 24), ("oneliner", 30), ("template_unfilled", 22),
             ("template_partial", 24), ("template_filled", 42), ("freeform", 18))
ROUND_WEIGHTS = {  # chance of 0, 1, 2, 3 change-request rounds by description kind
    "empty": (15, 35, 30, 20), "oneliner": (20, 35, 30, 15), "template_unfilled": (15, 35, 30, 20),
    "template_partial": (30, 40, 20, 10), "template_filled": (60, 28, 10, 2), "freeform": (55, 30, 12, 3),
}
DRAFTS, OPEN_READY, CLOSED_UNMERGED = 6, 6, 10

TEMPLATE = """## What
<!-- What does this PR change? Keep it short; the diff shows the details. -->

## Why
<!-- Link the issue and explain the motivation. -->

## Testing
<!-- How did you test this? Commands, screenshots, environments. -->

## Risk
<!-- Migrations, feature flags, rollback plan. Write "none" if none. -->

## Checklist
- [ ] Tests added or updated
- [ ] Docs updated
- [ ] Screenshots for UI changes
"""

TITLES = {
    "acme/api": ("Add idempotency keys to order creation", "Fix double charge on webhook retry",
                 "Move invoice PDF rendering to a worker", "Add index on events(account_id, created_at)",
                 "Handle 429 from the payments provider", "Remove legacy v1 auth endpoints",
                 "Speed up the nightly usage rollup", "Add tracing spans to the checkout path",
                 "Backfill missing currency on refunds", "Split orders service config per region",
                 "Retry S3 uploads with jitter", "Add rate limit to the public search endpoint",
                 "Fix timezone bug in billing period boundaries", "Upgrade SQLAlchemy to 2.0 style queries",
                 "Terraform: move Redis to a private subnet", "Add dbt model for weekly active accounts"),
    "acme/web": ("Redesign the cart summary", "Fix layout shift on the pricing page",
                 "Add dark mode tokens to the design system", "Lazy-load the analytics bundle",
                 "Show inline errors on the signup form", "Migrate checkout state to Zustand",
                 "Fix Safari date picker overflow", "Add empty state to the orders table",
                 "Replace moment with date-fns", "Improve keyboard navigation in the command menu",
                 "Add skeleton loaders to the dashboard", "Fix push notification opt-in banner on mobile web",
                 "Cache the feature flag payload", "Add onboarding checklist"),
}
API_FILES = ("src/orders/handlers.py", "src/orders/models.py", "src/billing/webhooks.py",
             "src/billing/invoices.py", "src/auth/tokens.py", "src/common/retry.py",
             "migrations/0142_orders_idempotency.sql", "tests/orders/test_handlers.py",
             "tests/billing/test_webhooks.py", "infra/terraform/redis.tf", "dbt/models/usage/weekly_active.sql")
WEB_UI_FILES = ("web/src/components/Cart/CartSummary.tsx", "web/src/components/Cart/cart.css",
                "web/src/pages/Pricing.tsx", "web/src/components/Signup/SignupForm.tsx",
                "web/src/styles/tokens.css", "web/src/components/Orders/OrdersTable.tsx",
                "web/src/components/CommandMenu/CommandMenu.tsx")
WEB_OTHER_FILES = ("web/src/lib/api-client.ts", "web/src/lib/flags.ts", "web/package.json",
                   "web/src/state/checkout.ts", "web/vite.config.ts", "web/src/lib/analytics.ts")
ONELINERS = ("fix typo", "see title", "bump timeout", "WIP", "per discussion in slack", "small cleanup",
             "Fixes #{issue}", "quick fix for the flaky test", "addresses review from last week")
WHYS = ("Customers on the EU plan were charged twice when the provider retried the webhook because we "
        "acknowledged it only after the DB write.",
        "The nightly job now takes 3h40m and overlaps with the EU morning peak, so dashboards are stale "
        "until 10:00 CET.",
        "Support gets ~30 tickets a week about this; it is the top item on the Q4 papercuts list.",
        "We are deprecating the old client next quarter and this unblocks the migration.",
        "The current behaviour makes the page jump when the price loads, which hurts conversion on mobile.")
TESTINGS = ("Unit tests for the retry path; replayed 200 production webhooks against staging.",
            "Ran `make e2e` locally and checked the page in Chrome, Safari and Firefox.",
            "Ran the job on a copy of last week's data: 41 min instead of 3h40m, same row counts.",
            "Added a regression test; manual check on staging with a test account.")
RISKS = ("Low: behind the `{flag}` flag, rollback is turning it off.",
         "The migration adds an index CONCURRENTLY; no lock on `orders`. Rollback: drop the index.",
         "Breaking change for clients still on v1 auth; the three internal callers were updated.",
         "None beyond the usual; no schema changes.")
FOCUS = ("Reviewers: please focus on the retry/backoff logic in `retry.py`; the rest is mechanical.",
         "Reviewers: please look hardest at the migration, the handlers are a straight move.",
         "Mostly want eyes on the CSS for small screens.")
CHANGES = ("This will break the mobile clients that still send `cart_id` as an int. Can we accept both for one release?",
           "Missing a test for the empty-cart case.",
           "Why is the timeout 30s here? The load balancer kills the request at 15s.",
           "Can you explain why we need a new table instead of a column on `orders`? Not obvious from the description.",
           "This query does a full scan on `events`; needs an index or a limit.",
           "The migration isn't reversible, please add a down step.",
           "Could you add before/after screenshots? Hard to review the CSS otherwise.",
           "What happens if the webhook arrives twice while the first one is still running?")
ANSWERS = ("Good catch, fixed in {sha}.", "Added the test in {sha}.",
           "It's behind `{flag}` now; added a note to the description.",
           "We need the table because refunds can reference several orders. Happy to hop on a call if that's unclear.",
           "Done, screenshots added to the description.", "Reverted that part, will do it in a follow-up (#{issue}).",
           "Hmm, I don't think that's right: the LB timeout is 60s on the internal ALB. Can you double check?")
APPROVALS = ("LGTM", "", "Looks good 👍", "Thanks for the context in the description, easy review.",
             "Approving, one nit inline but not blocking.", "Ship it")
FLAGS = ("orders_idempotency", "new_cart_summary", "checkout_zustand", "eu_rollup_v2", "search_rate_limit")


@dataclass
class PullRequest:
    """One PR as written to prs.json, plus the facts the Slack generator links to."""

    repo: str
    number: int
    author: Person | None  # None for bots
    created: datetime
    record: dict[str, Any] = field(default_factory=dict)
    merged: datetime | None = None

    @property
    def url(self) -> str:
        """Return the PR's GitHub URL."""
        return f"https://github.com/{self.repo}/pull/{self.number}"


def iso(t: datetime) -> str:
    """Format a UTC datetime the way GitHub does."""
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _node_id(rng: random.Random, prefix: str) -> str:
    """Return a GraphQL-looking node id, as gh shows for reviews and comments."""
    return prefix + "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
                            for _ in range(16))


def _fill(rng: random.Random, text: str) -> str:
    """Fill the {sha} {flag} {issue} slots of a review or description phrase."""
    return text.format(sha=f"{rng.getrandbits(28):07x}", flag=rng.choice(FLAGS), issue=rng.randint(300, 1400))


def build_body(kind: str, rng: random.Random, title: str, is_ui: bool, ticket: str) -> str:
    """Write a PR description of the given kind, as a hurried or a careful author would."""
    if kind == "empty":
        return ""
    if kind == "oneliner":
        return _fill(rng, rng.choice(ONELINERS))
    if kind == "template_unfilled":
        return TEMPLATE
    if kind == "template_partial":
        # Only "What" answered; the rest is the template's own prompts and boxes.
        return TEMPLATE.replace("## What\n", f"## What\n{title.split('] ')[-1]}.\n", 1)
    why, testing = rng.choice(WHYS), rng.choice(TESTINGS)
    risk = _fill(rng, rng.choice(RISKS))
    link = f"Fixes #{rng.randint(300, 1400)}. Jira: {ticket}"
    shots = (f"\n\n| before | after |\n|---|---|\n| ![before](https://user-images.githubusercontent.com/9120/{rng.getrandbits(32)}-before.png) "
             f"| ![after](https://user-images.githubusercontent.com/9120/{rng.getrandbits(32)}-after.png) |") if is_ui else ""
    focus = ("\n\n" + rng.choice(FOCUS)) if rng.random() < 0.5 else ""
    if kind == "freeform":
        return f"{why} This changes the flow so that it no longer happens.\n\n{link}\n\nTested: {testing}{shots}{focus}"
    return (f"## What\nSee title; the main change is in the first commit.\n\n## Why\n{why}\n{link}\n\n"
            f"## Testing\n{testing}{shots}\n\n## Risk\n{risk}\n\n## Checklist\n- [x] Tests added or updated\n"
            f"- [ ] Docs updated\n- [{'x' if is_ui else ' '}] Screenshots for UI changes{focus}\n")


def _files(repo: str, rng: random.Random, is_ui: bool) -> list[dict[str, Any]]:
    """Return the changed files of a PR; UI PRs touch .tsx/.css under web/."""
    pool = API_FILES if repo == "acme/api" else (WEB_UI_FILES if is_ui else WEB_OTHER_FILES)
    paths = rng.sample(pool, rng.randint(1, min(5, len(pool))))
    if is_ui and rng.random() < 0.5:
        paths.append(rng.choice(WEB_OTHER_FILES))
    return [{"path": p, "additions": rng.randint(1, 240), "deletions": rng.randint(0, 120)} for p in paths]


class GitHubBuilder:
    """Build the PR history for the people over [start, end]."""

    def __init__(self, rng: random.Random, people: list[Person], start: date, end: datetime) -> None:
        self.rng, self.people, self.start, self.end = rng, people, start, end
        self.days = (end.date() - start).days

    def _pick_day_author(self, repo: str) -> tuple[Person, datetime]:
        pool = [p for p in self.people if p.github and p.team in REPO_TEAMS[repo]]
        while True:
            day = self.start + timedelta(days=self.rng.randrange(self.days - 2))
            p = self.rng.choice(pool)
            if is_active(p, day) and (t := random_work_time(p, day, self.rng)) is not None:
                return p, t

    def _reviewer(self, pr: PullRequest, exclude: Person | None = None) -> Person:
        day = pr.created.date()
        pool = [p for p in self.people if p.github and p is not pr.author and p is not exclude
                and is_active(p, day) and p.team in REPO_TEAMS[pr.repo]]
        return self.rng.choice(pool)

    def build(self) -> list[PullRequest]:
        """Return every PR, in repo then number order, with its record filled."""
        rng = self.rng
        deck = [kind for kind, n in BODY_DECK for _ in range(n)]
        rng.shuffle(deck)
        prs: list[PullRequest] = []
        for repo in REPOS:
            drafted = [PullRequest(repo, 0, *self._pick_day_author(repo)) for _ in range(HUMAN_PRS[repo])]
            prs += drafted
        prs.sort(key=lambda p: p.created)
        # The newest PRs are the ones still open; closed-unmerged ones come from the rest.
        states = ["merged"] * len(prs)
        for i in range(DRAFTS + OPEN_READY):
            states[-1 - i] = "draft" if i % 2 == 0 else "open"
        for i in rng.sample(range(len(prs) - DRAFTS - OPEN_READY), CLOSED_UNMERGED):
            states[i] = "closed"
        for pr, kind, state in zip(prs, deck, states, strict=True):
            self._fill_human(pr, kind, state)
        prs += self._bot_prs()
        for repo in REPOS:  # numbers follow creation order; issues share the sequence, so gaps
            n = FIRST_NUMBER[repo]
            for pr in sorted((p for p in prs if p.repo == repo), key=lambda p: p.created):
                pr.number = n
                pr.record["number"] = n
                pr.record["url"] = pr.url
                n += rng.choice((1, 1, 2, 3))
        prs.sort(key=lambda p: (p.repo, p.number))
        return prs

    def _record(self, pr: PullRequest, title: str, body: str, login: str, labels: list[str],
                files: list[dict[str, Any]]) -> dict[str, Any]:
        return {"number": 0, "title": title, "body": body, "author": {"login": login},
                "createdAt": iso(pr.created), "closedAt": None, "mergedAt": None, "isDraft": False,
                "labels": [{"name": n} for n in labels], "url": "", "files": files,
                "reviews": [], "comments": []}

    def _event(self, rec: dict[str, Any], kind: str, login: str, at: datetime, body: str,
               state: str = "") -> bool:
        """Append a review or comment unless it falls after the export's end."""
        if at > self.end:
            return False
        if kind == "review":
            rec["reviews"].append({"id": _node_id(self.rng, "PRR_kwDOK"), "author": {"login": login},
                                   "state": state, "body": body, "submittedAt": iso(at)})
        else:
            rec["comments"].append({"id": _node_id(self.rng, "IC_kwDOK"), "author": {"login": login},
                                    "body": body, "createdAt": iso(at)})
        return True

    def _fill_human(self, pr: PullRequest, kind: str, state: str) -> None:
        rng, author = self.rng, pr.author
        assert author is not None
        is_ui = pr.repo == "acme/web" and rng.random() < 0.6
        ticket = f"{'PLAT' if pr.repo == 'acme/api' else 'WEB'}-{rng.randint(100, 999)}"
        title = rng.choice(TITLES[pr.repo])
        if rng.random() < 0.3:
            title = f"[{ticket}] {title}"
        labels = rng.sample(("bug", "enhancement", "tech-debt", "ui", "backend", "needs-review"), rng.randint(0, 2))
        rec = pr.record = self._record(pr, title, build_body(kind, rng, title, is_ui, ticket), author.github,
                                       labels, _files(pr.repo, rng, is_ui))
        t = pr.created
        if rng.random() < 0.45:  # coverage bot: a comment that must never count as a first review
            self._event(rec, "comment", "codecov[bot]", t + timedelta(minutes=rng.uniform(3, 9)),
                        f"## Codecov Report\nPatch coverage: `{rng.randint(55, 100)}.{rng.randint(0, 99):02d}%`")
        if rng.random() < 0.15:
            self._event(rec, "review", "github-actions[bot]", t + timedelta(minutes=rng.uniform(2, 6)),
                        "ruff found 2 issues in changed lines.", "COMMENTED")
        if state == "draft":
            rec["isDraft"] = True
            if rng.random() < 0.5:
                early = self._reviewer(pr)
                self._event(rec, "comment", early.github, next_work_time(early, t, rng, 30, 300),
                            "Early feedback: the approach looks right, ping me when it's ready.")
            return
        reviewer = self._reviewer(pr)
        rounds = rng.choices(range(4), ROUND_WEIGHTS[kind])[0]
        if state == "closed":
            rounds = min(rounds, 1)
        if state == "open":
            rounds = rng.randint(0, 2)
        for r in range(rounds):
            t = next_work_time(reviewer, t, rng, 20, 300)
            ask = CHANGES[6] if is_ui and r == 0 and kind != "template_filled" else rng.choice(CHANGES)
            if not self._event(rec, "review", reviewer.github, t, ask,
                               "CHANGES_REQUESTED" if rng.random() < 0.7 else "COMMENTED"):
                return
            t = next_work_time(author, t, rng, 10, 200)
            if not self._event(rec, "comment", author.github, t, _fill(rng, rng.choice(ANSWERS))):
                return
        if state == "open":
            return
        if state == "closed":
            t = next_work_time(author, t, rng, 60, 400)
            if self._event(rec, "comment", author.github, t, f"Closing in favour of #{rng.randint(300, 1400)}."):
                rec["closedAt"] = iso(t)
            return
        if rng.random() < 0.3:  # a second reviewer chimes in before the approval
            other = self._reviewer(pr, exclude=reviewer)
            self._event(rec, "review", other.github, next_work_time(other, t, rng, 10, 240),
                        "Left a couple of questions, no blockers from me.", "COMMENTED")
        t = next_work_time(reviewer, t, rng, 15, 300)
        if not self._event(rec, "review", reviewer.github, t, rng.choice(APPROVALS), "APPROVED"):
            return
        t = next_work_time(author, t, rng, 2, 90)
        if t <= self.end:
            pr.merged = t
            rec["mergedAt"] = rec["closedAt"] = iso(t)

    def _bot_prs(self) -> list[PullRequest]:
        """Add dependency-bot PRs: dependabot's is closed as obsolete, renovate's is merged."""
        rng, out = self.rng, []
        specs = (("acme/web", "dependabot[bot]", "axios", "1.6.8", "1.7.4", "web/package.json", False),
                 ("acme/api", "renovate[bot]", "fastapi", "0.110.0", "0.115.2", "pyproject.toml", True))
        for repo, bot, pkg, old, new, path, merge in specs:
            created = datetime.combine(self.start + timedelta(days=rng.randrange(10, self.days - 20)),
                                       datetime.min.time(), UTC) + timedelta(hours=rng.choice((4, 5, 6)))
            pr = PullRequest(repo, 0, None, created)
            if bot.startswith("renovate"):
                title = f"Update dependency {pkg} to v{new}"
                body = (f"This PR contains the following updates:\n\n| Package | Change |\n|---|---|\n"
                        f"| {pkg} | `{old}` -> `{new}` |\n\n---\n\n### Configuration\n\n"
                        "📅 **Schedule**: Branch creation - At any time.\n\n"
                        "This PR was generated by [Mend Renovate](https://mend.io/renovate/).")
            else:
                title = f"Bump {pkg} from {old} to {new}"
                body = (f"Bumps [{pkg}](https://github.com/{pkg}/{pkg}) from {old} to {new}.\n"
                        "<details>\n<summary>Release notes</summary>\n\n- Security fix for CVE-2024-39338\n</details>\n\n"
                        "Dependabot will resolve any conflicts with this PR as long as you don't alter it yourself.")
            files = [{"path": path, "additions": 1, "deletions": 1}]
            if path.endswith("package.json"):
                files.append({"path": "web/package-lock.json", "additions": rng.randint(8, 60), "deletions": rng.randint(8, 60)})
            rec = pr.record = self._record(pr, title, body, bot, ["dependencies"], files)
            if bot.startswith("renovate"):
                self._event(rec, "comment", bot, created + timedelta(minutes=2),
                            "### Edited/Blocked Notification\nRenovate will not automatically rebase this PR.")
            reviewer = rng.choice([p for p in self.people if p.github and p.team in REPO_TEAMS[repo]])
            t = next_work_time(reviewer, created, rng, 30, 400)
            if merge:
                self._event(rec, "review", reviewer.github, t, "", "APPROVED")
                pr.merged = t + timedelta(minutes=rng.uniform(1, 20))
                rec["mergedAt"] = rec["closedAt"] = iso(pr.merged)
            else:
                self._event(rec, "comment", bot, t + timedelta(days=6),
                            f"Looks like {pkg} is up-to-date now, so this is no longer needed.")
                rec["closedAt"] = iso(t + timedelta(days=6, minutes=1))
            out.append(pr)
        return out

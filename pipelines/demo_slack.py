"""Generate the demo's Slack workspace: conversations, messages and the patterns the marts look for.

Everything is built in memory as export-shaped dicts. Two private keys ride
along until `finalize` strips them: ``_us`` (the ts in integer microseconds,
unique per conversation, because Slack's ts is the message's id there) and
``_replies`` (a parent's replies, from which ``reply_count``, ``replies``
and friends are derived once every reply exists).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from pipelines import demo_text as T
from pipelines.demo_github import PullRequest
from pipelines.demo_people import (
    TEAM_ID,
    Person,
    is_active,
    make_id,
    next_work_time,
    random_work_time,
    work_window,
)

# name, kind, members ('all', team names, or handles), topics per workday, purpose, active days (0 = all)
CHANNELS: tuple[tuple[str, str, str, float, str, int], ...] = (
    ("general", "public", "all", 0.5, "Company-wide announcements and work-based matters", 0),
    ("engineering", "public", "all", 3.4, "Engineering-wide questions, RFCs and heads-ups", 0),
    ("platform", "public", "Platform Infra", 3.0, "Platform team: orders, auth, billing", 0),
    ("web", "public", "Web Mobile", 2.7, "Web team: checkout, pricing, design system", 0),
    ("infra", "public", "Infra Platform", 1.9, "Infrastructure, CI and on-call", 0),
    ("data", "public", "Data", 1.6, "Data team: warehouse, dbt, ML", 0),
    ("mobile", "public", "Mobile", 1.3, "iOS and Android", 0),
    ("incidents", "public", "all", 0.35, "Live incidents only; postmortems in the wiki", 0),
    ("random", "public", "all", 0.5, "Non-work banter", 0),
    ("design-crit", "public", "sophie.turner maya.patel chloe.nguyen james.wright olivia.brown dan.ortiz",
     0.25, "Share work in progress, get design feedback", 0),
    ("proj-q3-launch", "public", "Web Platform", 1.1, "Q3 pricing launch (archived)", 60),
    ("deploys", "public", "Infra Platform", 0.0, "Deploy notifications", 0),
    ("standup-platform", "public", "Platform", 0.0, "Async standup, answer the bot in thread", 0),
    ("eng-leads", "private", "alice.chen grace.kim dan.ortiz klara.schmidt felix.braun liam.obrien",
     0.5, "Leads: hiring, planning, people topics", 0),
    ("sec-review", "private", "grace.kim marcus.johnson emma.clarke jonas.weber", 0.15, "Security reviews", 0),
)
DM_PAIRS = (("alice.chen", "oliver.hughes"), ("dan.ortiz", "maya.patel"), ("grace.kim", "priya.nair"),
            ("marcus.johnson", "liam.obrien"), ("olivia.brown", "sophie.turner"), ("kevin.wu", "noa.levi"),
            ("klara.schmidt", "sam.rivera"), ("emma.clarke", "jonas.weber"), ("maya.patel", "chloe.nguyen"))
MPIMS = (("alice.chen", "oliver.hughes", "priya.nair"), ("dan.ortiz", "chloe.nguyen", "sophie.turner"))
# Ping-pong pairs: (asker zone group, answerer zone group); the first four are US-West/UK.
PP_PAIRS = (("America/Los_Angeles", "Europe/London"),) * 8 + (
    ("America/New_York", "Australia/Sydney"), ("America/Los_Angeles", "Asia/Kolkata"),
    ("America/Los_Angeles", "Europe/Berlin"), ("America/New_York", "Asia/Singapore"),
    ("Europe/London", "Australia/Sydney"), ("America/Los_Angeles", "Asia/Kolkata"))
DEBATE_PAIRS = (("oliver.hughes", "lena.fischer", "platform"), ("maya.patel", "dan.ortiz", "web"),
                ("klara.schmidt", "tomas.ferreira", "mobile"), ("arjun.mehta", "noa.levi", "data"),
                ("jonas.weber", "emma.clarke", "infra"), ("alice.chen", "grace.kim", "engineering"),
                ("james.wright", "sophie.turner", "web"), ("lucas.almeida", "sam.rivera", "mobile"),
                ("harry.evans", "beatriz.souza", "data"))
DEBATE_OUTCOMES = ("decision", "check", "open")
N_LOW_CONTEXT_CHANNEL = 12
N_RICH = 14
N_BROADCASTS = 14
BOTS = (("deploybot", "Deploy Bot", "Ships merged PRs to production"),
        ("standupbot", "Standup Bot", "Asks for async standups"))


@dataclass
class Conv:
    """One conversation being generated."""

    id: str
    name: str
    kind: str  # public | private | dm | mpim
    members: list[Person]
    purpose: str = ""
    rate: float = 0.0
    until: date | None = None
    msgs: list[dict[str, Any]] = field(default_factory=list)
    used: set[int] = field(default_factory=set)

    @property
    def folder(self) -> str:
        """Return the export folder name: DMs by id, the rest by name."""
        return self.id if self.kind == "dm" else self.name


class SlackBuilder:
    """Build every conversation of the workspace over [start, end]."""

    def __init__(self, rng: random.Random, people: list[Person], prs: list[PullRequest],
                 start: date, end: datetime) -> None:
        self.rng, self.people, self.prs, self.start, self.end = rng, people, prs, start, end
        self.start_at = datetime.combine(start, time(), UTC)
        self.by_handle = {p.handle: p for p in people}
        self.bot_ids = {name: (make_id(rng, "U0"), make_id(rng, "B0")) for name, _, _ in BOTS}
        self.days = [start + timedelta(days=i) for i in range((end.date() - start).days + 1)]
        self.convs: list[Conv] = []
        for name, kind, spec, rate, purpose, active in CHANNELS:
            cid = make_id(rng, "C0" if kind == "public" else "G0")
            until = start + timedelta(days=active) if active else None
            self.convs.append(Conv(cid, name, kind, self._members(spec), purpose, rate, until))
        for a, b in DM_PAIRS:
            self.convs.append(Conv(make_id(rng, "D0"), "", "dm", [self.by_handle[a], self.by_handle[b]]))
        for trio in MPIMS:
            name = "mpdm-" + "--".join(trio) + "-1"
            self.convs.append(Conv(make_id(rng, "G0"), name, "mpim", [self.by_handle[h] for h in trio]))
        self.chan = {c.name: c for c in self.convs if c.name}

    def _members(self, spec: str) -> list[Person]:
        """Resolve a CHANNELS member spec ('all', team names, handles) to people."""
        words = spec.split()
        return [p for p in self.people if spec == "all" or p.team in words or p.handle in words]

    # -- posting ---------------------------------------------------------------------------

    def post(self, conv: Conv, who: Person | None, text: str, at: datetime,
             parent: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any] | None:
        """Add a message at `at` (None if it falls outside the export); replies join `parent`'s thread."""
        if at > self.end or at < self.start_at or (conv.until and at.date() > conv.until):
            return None
        us = int(at.timestamp()) * 1_000_000 + self.rng.randrange(1_000_000)
        if parent is not None:
            us = max(us, parent["_us"] + 1)
        while us in conv.used:
            us += 1
        conv.used.add(us)
        m: dict[str, Any] = {"type": "message", "text": text, "ts": f"{us // 1_000_000}.{us % 1_000_000:06d}"}
        if who is not None:
            m = {"client_msg_id": self._uuid(), **m, "user": who.slack_id, "team": TEAM_ID,
                 "user_profile": {"avatar_hash": f"g{hash_hex(who.slack_id)}", "first_name": who.first,
                                  "real_name": who.real_name, "display_name": who.handle.split(".")[0],
                                  "team": TEAM_ID, "name": who.handle, "is_restricted": False,
                                  "is_ultra_restricted": False}}
        m.update(extra)
        m["_us"], m["_replies"] = us, []
        if parent is not None:
            m["thread_ts"] = parent["ts"]
            m["parent_user_id"] = parent.get("user", "USLACKBOT")
            parent["_replies"].append(m)
        conv.msgs.append(m)
        return m

    def _uuid(self) -> str:
        """Return a client_msg_id drawn from the seeded generator (uuid4 would break determinism)."""
        h = f"{self.rng.getrandbits(128):032x}"
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"

    def fill(self, template: str, conv: Conv, author: Person | None, team: str | None = None) -> str:
        """Fill a phrase template with slots that fit the conversation's team."""
        rng = self.rng
        team = team or (author.team if author else "Platform")
        svc, svc2 = rng.sample(T.SERVICES[team], 2)
        ticket = f"{T.TICKET_PREFIX[team]}-{rng.randint(100, 999)}"
        others = [p for p in conv.members if p is not author] or self.people
        ms = rng.randint(90, 400)
        return template.format(
            svc=svc, svc2=svc2, ticket=ticket, tlink=f"<https://acme.atlassian.net/browse/{ticket}|{ticket}>",
            file=rng.choice(T.FILES), flag=rng.choice(T.FEATURE_FLAGS), region=rng.choice(T.REGIONS),
            n=rng.randint(2, 12), pct=rng.choice((1, 5, 10, 25, 50)), ms=ms, ms2=ms + rng.randint(60, 900),
            m=f"<@{rng.choice(others).slack_id}>", runbook=f"https://wiki.acme.io/runbooks/{svc.split()[-1]}",
            doc=f"https://docs.acme.io/d/{rng.getrandbits(40):010x}", dash="https://grafana.acme.io/d/checkout",
            err=rng.choice(T.ERRORS), day=rng.choice(T.DAYS), pr=rng.choice(self.prs).url,
            side="{side}")

    def in_hours(self, p: Person, t: datetime) -> bool:
        """Say whether `t` is inside `p`'s working hours."""
        w = work_window(p, t.astimezone(p.zone).date())
        return w is not None and w[0] <= t < w[1]

    def reply_at(self, p: Person, after: datetime, lo: float = 1, hi: float = 20) -> datetime:
        """Return when `p` replies: minutes later if at work (or always on), else next working morning."""
        if self.in_hours(p, after) or ("always_on" in p.flags and self.rng.random() < 0.5):
            t = after + timedelta(minutes=self.rng.uniform(lo, hi))
            if self.in_hours(p, t) or "always_on" in p.flags:
                return t
        return next_work_time(p, after, self.rng, 5, 60 + hi)

    def thread(self, conv: Conv, turns: list[tuple[Person, str]], at: datetime, lo: float = 1,
               hi: float = 20) -> dict[str, Any] | None:
        """Post turns[0] at `at` and the rest as replies, each when its author would answer."""
        parent = self.post(conv, turns[0][0], turns[0][1], at)
        t = at
        for who, text in turns[1:]:
            if parent is None:
                break
            t = self.reply_at(who, t, lo, hi)
            if self.post(conv, who, text, t, parent) is None:
                break
        return parent

    def active_members(self, conv: Conv, day: date) -> list[Person]:
        """Return the conversation's members who worked here on `day`."""
        return [p for p in conv.members if is_active(p, day)]

    # -- scenarios -------------------------------------------------------------------------

    def build(self) -> list[Conv]:
        """Run every scenario and return the finished conversations."""
        self.background()
        self.tombstone()
        self.standups()
        self.ping_pongs()
        self.debates()
        self.openers()
        self.broadcasts()
        self.pr_links()
        self.direct_messages()
        self.system_messages()
        self.finalize()
        return self.convs

    def background(self) -> None:
        """Post the everyday traffic: questions, updates, FYIs, short threads with quick replies."""
        rng = self.rng
        for day in self.days:
            weekend = day.weekday() >= 5
            for conv in self.convs:
                if conv.rate == 0:
                    continue
                for _ in range(poisson(rng, conv.rate * (0.15 if weekend else 1.0))):
                    if not (members := self.active_members(conv, day)):
                        break
                    author = rng.choice(members)
                    at = random_work_time(author, day, rng)
                    if at is not None:
                        self.topic(conv, author, at)

    def topic(self, conv: Conv, author: Person, at: datetime) -> None:
        """Post one everyday topic: a lone update, an FYI, or a question with a short thread."""
        rng = self.rng
        team = author.team if conv.name in ("engineering", "general", "random", "incidents") else None
        r = rng.random()
        if r < 0.35:
            self.post(conv, author, self.fill(rng.choice(T.UPDATES), conv, author, team), at)
            return
        if r < 0.42:
            self.post(conv, author, self.fill(rng.choice(T.FYI), conv, author, team), at)
            return
        turns = [(author, self.fill(rng.choice(T.QUESTIONS), conv, author, team))]
        others = [p for p in self.active_members(conv, at.date()) if p is not author]
        if not others:
            return
        # Whoever is online usually answers; otherwise the question waits for another timezone.
        online = [p for p in others if self.in_hours(p, at)]
        pool = online if online and rng.random() < 0.75 else others
        helpers = rng.sample(pool, min(len(pool), rng.randint(1, 3)))
        for i in range(rng.choice((0, 1, 1, 2, 2, 3, 4, 6))):
            who = helpers[i % len(helpers)] if i % 2 == 0 else author
            bank = T.REPLIES if who is not author else (T.THANKS if i >= 3 else T.REPLIES)
            turns.append((who, self.fill(rng.choice(bank), conv, who, team)))
        parent = self.thread(conv, turns, at)
        if parent and parent["_replies"] and rng.random() < 0.04:
            # Slack's "also send to #channel": still a reply, but shown in the channel.
            last = parent["_replies"][-1]
            last["subtype"] = "thread_broadcast"
            last["root"] = {"text": parent["text"], "user": parent["user"], "ts": parent["ts"]}

    def standups(self) -> None:
        """Post the standup bot's daily prompt; Platform answers in the thread in their own morning."""
        rng, conv = self.rng, self.chan["standup-platform"]
        uid, bid = self.bot_ids["standupbot"]
        for day in self.days:
            if day.weekday() >= 5:
                continue
            # An app that posts as its bot user: bot_id and user, but no subtype.
            parent = self.post(conv, None, "It's time for *Platform daily standup*! Reply in thread: "
                               "Yesterday / Today / Blocked", datetime.combine(day, time(3, 30), UTC),
                               user=uid, bot_id=bid, app_id="A0STANDUP1", team=TEAM_ID,
                               bot_profile={"id": bid, "name": "Standup Bot", "app_id": "A0STANDUP1"})
            if parent is None:
                continue
            for p in self.active_members(conv, day):
                if rng.random() < 0.55 and (w := work_window(p, day)) is not None:
                    at = max(w[0], parent_time(parent)) + timedelta(minutes=rng.uniform(3, 50))
                    self.post(conv, p, self.fill(rng.choice(T.STANDUP), conv, p), at, parent)

    def _pick(self, zone: str, day: date, team: str) -> Person | None:
        """Pick someone in `zone` who works on `day`, from `team` when possible."""
        pool = [p for p in self.people if p.tz == zone and work_window(p, day)]
        # Ask the team that owns the topic when it has someone in that zone.
        pool = [p for p in pool if p.team == team] or pool
        return self.rng.choice(pool) if pool else None

    def ping_pongs(self) -> None:
        """Post threads where each answer lands in the other side's night: 3-6 handoffs over days."""
        rng = self.rng
        days = rng.sample(self.days[5:-14], 60)
        for (za, zb), script in zip(PP_PAIRS, _cycle(T.PING_PONG, len(PP_PAIRS)), strict=True):
            team, *lines = script
            while True:
                day = days.pop()
                a, b = self._pick(za, day, ""), self._pick(zb, day, team)
                if a and b:
                    break
            conv = self.chan[team.lower()]
            if a not in conv.members or b not in conv.members:
                conv = self.chan["engineering"]
            lines = lines[: rng.randint(4, len(lines))]
            turns = [((a, b)[i % 2], self.fill(text, conv, (a, b)[i % 2], team)) for i, text in enumerate(lines)]
            # Asked in the last hour of A's day: B's side has long gone home.
            at = datetime.combine(day, a.work_end, a.zone).astimezone(UTC) - timedelta(minutes=rng.uniform(10, 60))
            self.thread(conv, turns, at, lo=20, hi=90)

    def debates(self) -> None:
        """Post long two-person debates; a third end in a decision, a third in a check mark, a third open."""
        rng = self.rng
        days = rng.sample([d for d in self.days[5:-14] if d.weekday() < 4], len(DEBATE_PAIRS))
        for i, ((ha, hb, cname), topic, day) in enumerate(zip(DEBATE_PAIRS, T.DEBATES, days, strict=True)):
            a, b, conv = self.by_handle[ha], self.by_handle[hb], self.chan[cname]
            x, y, subject, for_x, for_y = topic
            outcome = DEBATE_OUTCOMES[i % len(DEBATE_OUTCOMES)]
            n = rng.randint(15, 38)
            turns = [(a, f"I'd like us to use {x} for {subject}. Main reasons: {for_x[0]}, and {for_x[1]}. "
                         f"Thoughts before I write the RFC?")]
            pools = {a.handle: list(for_x[1:]), b.handle: list(for_y)}
            third = [p for p in conv.members if p not in (a, b)]
            while len(turns) < n:
                who = b if len(turns) % 2 == 1 else a
                if third and rng.random() < 0.06:
                    p = rng.choice(third)
                    turns.append((p, rng.choice(T.DEBATE_THIRD).replace("{side}", rng.choice((x, y)))))
                    continue
                side = x if who is a else y
                if pools[who.handle] and rng.random() < 0.6:
                    turns.append((who, f"{'But ' if who is b else ''}{pools[who.handle].pop(0)}."))
                else:
                    turns.append((who, self.fill(rng.choice(T.DEBATE_GENERIC), conv, who).replace("{side}", side)))
            if outcome == "decision":
                turns.append((a, f"Decision: we'll go with {rng.choice((x, y))} for {subject}, revisit in Q1. "
                                 f"Writing it up in <https://docs.acme.io/rfc/{rng.randint(20, 90)}|the RFC>."))
            elif outcome == "check":
                turns.append((a, f"Fine, {y} for {subject} then. I'll update the ticket."))
            at = datetime.combine(day, time(10), a.zone).astimezone(UTC) + timedelta(minutes=rng.uniform(0, 120))
            parent = self.thread(conv, turns, at, lo=1, hi=14)
            if parent and outcome == "check":
                last = parent["_replies"][-1]
                users = [p.slack_id for p in (b, *third[:2])]
                last["reactions"] = [{"name": "white_check_mark", "users": users, "count": len(users)}]

    def when(self, conv: Conv, days: list[date]) -> tuple[Person, datetime, list[Person]]:
        """Pick a day, an author in `conv` at work then, and the other members active that day."""
        while True:
            day = self.rng.choice(days)
            if not (members := self.active_members(conv, day)):
                continue
            author = self.rng.choice(members)
            at = random_work_time(author, day, self.rng)
            others = [p for p in members if p is not author]
            if at is not None and at <= self.end and others:
                return author, at, others

    def openers(self) -> None:
        """Post low-context openers ("quick question") and rich 3W openers in channels."""
        rng = self.rng
        chans = [c for c in self.convs if c.kind == "public" and c.rate >= 1.0 and c.until is None]
        for i in range(N_LOW_CONTEXT_CHANNEL + N_RICH):
            conv = rng.choice(chans)
            author, at, others = self.when(conv, self.days[70:-3])
            helper = rng.choice(others)
            if i < N_LOW_CONTEXT_CHANNEL:
                turns = [(author, self.fill(rng.choice(T.LOW_CONTEXT), conv, author)),
                         (helper, rng.choice(T.LOW_FOLLOWUPS)),
                         (author, self.fill(rng.choice(T.QUESTIONS), conv, author)),
                         (helper, self.fill(rng.choice(T.REPLIES), conv, helper))]
            else:
                turns = [(author, self.fill(T.RICH[i % len(T.RICH)], conv, author)),
                         (helper, self.fill(rng.choice(T.REPLIES), conv, helper)),
                         (author, rng.choice(T.THANKS))]
            self.thread(conv, turns, at, lo=2, hi=90)

    def broadcasts(self) -> None:
        """Post @channel / @here broadcasts, a few of them for things only some people need."""
        for i in range(N_BROADCASTS):
            conv = self.chan[("general", "incidents", "engineering")[i % 3]]
            author, at, _ = self.when(conv, self.days[:-1])
            self.post(conv, author, self.fill(T.BROADCASTS[i % len(T.BROADCASTS)], conv, author), at)

    def pr_links(self) -> None:
        """Link PRs from Slack: authors asking for review, and the deploy bot announcing merges."""
        rng = self.rng
        uid, bid = self.bot_ids["deploybot"]
        for pr in self.prs:
            label = f"{pr.repo}#{pr.number}"
            if pr.author and not pr.record["isDraft"] and rng.random() < 0.35:
                conv = self.chan[{"Platform": "platform", "Data": "data", "Infra": "infra",
                                  "Web": "web", "Mobile": "mobile"}[pr.author.team]]
                asks = (f"PR for review: <{pr.url}|{label}>. {pr.record['title']}",
                        f"can someone review <{pr.url}>?",
                        f"<{pr.url}|{label}> is up: {pr.record['title']}. It's blocking the release, so a review "
                        f"by EOD tomorrow would be great. Please focus on the migration.")
                self.thread(conv, [(pr.author, rng.choice(asks))], pr.created + timedelta(minutes=rng.uniform(2, 30)))
            if pr.merged:
                self.post(self.chan["deploys"], None,
                          f"Deployed <{pr.url}|{label}> to production (sha `{rng.getrandbits(28):07x}`) :rocket:",
                          pr.merged + timedelta(minutes=rng.uniform(8, 25)), subtype="bot_message",
                          bot_id=bid, username="deploybot")

    def direct_messages(self) -> None:
        """Post DM and group-DM sessions after silences; every other one opens with a bare greeting."""
        rng = self.rng
        for conv in self.convs:
            if conv.kind not in ("dm", "mpim"):
                continue
            day_i, session = rng.randint(0, 10), 0
            while day_i < len(self.days) - 1:
                day = self.days[day_i]
                day_i += rng.randint(2, 12)
                a = rng.choice(self.active_members(conv, day) or conv.members)
                at = random_work_time(a, day, rng)
                if at is None:
                    continue
                others = [p for p in conv.members if p is not a]
                lines = [(a, self.fill(rng.choice(T.LOW_CONTEXT), conv, a))] if session % 2 == 0 else []
                lines.append((a, self.fill(rng.choice(T.DM_QUESTIONS), conv, a)))
                for k in range(rng.randint(1, 6)):
                    who = rng.choice(others) if k % 2 == 0 else a
                    lines.append((who, self.fill(rng.choice(T.DM_REPLIES if who is not a else T.THANKS), conv, who)))
                session += 1
                t = at
                for j, (who, text) in enumerate(lines):
                    if j:
                        t = (t + timedelta(minutes=rng.uniform(0.3, 3))) if who is lines[j - 1][0] else self.reply_at(who, t)
                    self.post(conv, who, text, t)

    def system_messages(self) -> None:
        """Add channel joins, a tombstoned parent, edits, reactions and file uploads."""
        rng = self.rng
        newbie = self.by_handle["ananya.iyer"]
        for conv in (self.chan["general"], self.chan["engineering"], self.chan["web"]):
            at = datetime.combine(newbie.active_from, time(9, 5), newbie.zone).astimezone(UTC)
            self.post(conv, newbie, f"<@{newbie.slack_id}> has joined the channel", at, subtype="channel_join")
        n_files = 0
        for conv in self.convs:
            for m in conv.msgs:
                if "subtype" in m or "user_profile" not in m or "reactions" in m:
                    continue
                r = rng.random()
                if r < 0.03:
                    m["edited"] = {"user": m["user"], "ts": f"{m['_us'] // 1_000_000 + rng.randint(20, 900)}.000000"}
                elif r < 0.15:
                    names = rng.sample(("+1", "eyes", "pray", "tada", "joy", "heart", "raised_hands"), rng.randint(1, 2))
                    pool = [p.slack_id for p in conv.members if p.slack_id != m["user"]]
                    m["reactions"] = [{"name": n, "users": (u := rng.sample(pool, min(len(pool), rng.randint(1, 3)))),
                                       "count": len(u)} for n in names]
                if conv.name in ("design-crit", "incidents", "web") and rng.random() < 0.08:
                    n_files += 1
                    image = conv.name != "incidents"
                    m["files"] = [{"id": make_id(rng, "F0"), "name": f"screenshot-{n_files}.png" if image else f"trace-{n_files}.log",
                                   "title": "screenshot" if image else "trace", "mimetype": "image/png" if image else "text/plain",
                                   "filetype": "png" if image else "text"}]
                    m["upload"] = True
                    if n_files <= 2:  # older clients still mark uploads with a subtype
                        m["subtype"] = "file_share"

    def tombstone(self) -> None:
        """Delete one everyday thread's parent, leaving what Slack leaves: a tombstone with replies."""
        parents = [m for m in self.chan["engineering"].msgs if len(m["_replies"]) >= 2]
        dead = self.rng.choice(parents)
        for key in ("client_msg_id", "user_profile", "team"):
            dead.pop(key, None)
        dead.update(text="This message was deleted.", user="USLACKBOT", subtype="tombstone", hidden=True)

    def finalize(self) -> None:
        """Sort messages and derive the thread fields of every parent."""
        for conv in self.convs:
            conv.msgs.sort(key=lambda m: m["_us"])
            for m in conv.msgs:
                replies = sorted(m.pop("_replies"), key=lambda r: r["_us"])
                if replies:
                    users = list(dict.fromkeys(r["user"] for r in replies))
                    m.update(thread_ts=m["ts"], reply_count=len(replies), reply_users_count=len(users),
                             latest_reply=replies[-1]["ts"], reply_users=users,
                             replies=[{"user": r["user"], "ts": r["ts"]} for r in replies],
                             is_locked=False, subscribed=False)


def parent_time(m: dict[str, Any]) -> datetime:
    """Return a message's time as a UTC datetime."""
    return datetime.fromtimestamp(m["_us"] / 1_000_000, UTC)


def hash_hex(s: str) -> str:
    """Return a stable short hex digest (the builtin hash() is salted per process)."""
    return f"{sum((i + 1) * ord(c) for i, c in enumerate(s)) * 2654435761 % 16**11:011x}"


def poisson(rng: random.Random, lam: float) -> int:
    """Draw from a Poisson distribution (Knuth's method; lam is small here)."""
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def _cycle(items: tuple[Any, ...], n: int) -> list[Any]:
    """Repeat `items` round-robin to length `n`."""
    return [items[i % len(items)] for i in range(n)]

"""Generate a large, realistic Slack workspace export for the benchmark.

The output is laid out exactly as Slack's standard export unpacks:
``users.json``, ``channels.json``, ``groups.json``, ``dms.json``,
``mpims.json`` and one folder per conversation (channels, private groups
and group DMs by name, DMs by id) holding one ``YYYY-MM-DD.json`` per UTC
day, each a JSON array of that day's messages in ``ts`` order. As in a
real export, forward slashes in strings are escaped (``https:\\/\\/...``)
and a thread reply sits in the file of the day it was posted, which may
be later than its parent's.

Shape: about 2,000 users over 12 IANA timezones; Zipf-sized channels; DMs
about 17% of messages; long-tailed text lengths and thread lengths;
edits, reactions, files, thread broadcasts, ``channel_join`` events and
bot messages (legacy ``bot_message`` and app bots that carry a
``bot_id`` but no subtype). One million messages make about 50,000 day
files and about 600 MB.

It streams: every conversation is planned as a compact skeleton (ts,
author, parent) and written one day file at a time with orjson, on every
core, so memory stays flat whatever the size. Everything derives from
``seed``: the same arguments give byte-identical output.

    python -m benchmarks.generate --messages 1000000 --out benchmarks/data/slack-1m
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import os
import random
import re
import shutil
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from itertools import accumulate
from pathlib import Path
from typing import Any

import orjson

# Bump when the output changes, so cached exports of an older layout regenerate.
FORMAT_VERSION = 1
MARKER = ".complete"


def _words(text: str) -> tuple[str, ...]:
    """Split a block of space-separated words."""
    return tuple(text.split())


TEAM_ID = "T01ACME0001"
WORKSPACE = "acme"
EPOCH = date(1970, 1, 1)
LAST_DAY = (date(2024, 6, 30) - EPOCH).days
SPAN_DAYS = 730
FIRST_DAY = LAST_DAY - SPAN_DAYS + 1
MESSAGES_PER_FILE = 20  # 1M messages -> ~50,000 day files, as in a busy real workspace
US = 1_000_000

# (IANA name, Slack's tz_label, tz_offset in seconds at export time, share of people)
TIMEZONES: tuple[tuple[str, str, int, float], ...] = (
    ("America/Los_Angeles", "Pacific Daylight Time", -25200, 0.20),
    ("America/Denver", "Mountain Daylight Time", -21600, 0.04),
    ("America/Chicago", "Central Daylight Time", -18000, 0.07),
    ("America/New_York", "Eastern Daylight Time", -14400, 0.16),
    ("America/Sao_Paulo", "Brasilia Standard Time", -10800, 0.04),
    ("Europe/London", "British Summer Time", 3600, 0.12),
    ("Europe/Berlin", "Central European Summer Time", 7200, 0.12),
    ("Europe/Kyiv", "Eastern European Summer Time", 10800, 0.05),
    ("Asia/Kolkata", "India Standard Time", 19800, 0.10),
    ("Asia/Singapore", "Singapore Standard Time", 28800, 0.04),
    ("Asia/Tokyo", "Japan Standard Time", 32400, 0.03),
    ("Australia/Sydney", "Australian Eastern Standard Time", 36000, 0.03),
)

FIRST_NAMES = _words(
    "alice bob carol dave erin frank grace heidi ivan judy mallory niaj olivia peggy rupert "
    "sybil trent victor walter xena yusuf zoe amara bjorn chen diego elif farah goran hana "
    "igor jun kofi lars mei nikhil oren priya quentin rosa sanjay tomas uma vera wei ximena "
    "yara zeynep arjun beatriz cyril dmitri emeka fatima gustavo hiro ines jamal kasia "
    "leila mateo noor oskar paulo rania sven tariq ugo valentina wanjiru yosef"
)
LAST_NAMES = _words(
    "smith jones garcia mueller rossi tanaka kim nguyen patel silva kowalski novak ivanova "
    "okafor haddad larsen dubois costa sato chen singh kumar ali fischer schmidt moreau "
    "bianchi santos pereira lopez martin brown wilson taylor anderson thomas moore jackson "
    "white harris clark lewis walker young allen wright scott green baker adams nelson hill"
)
TITLES = (
    "Software Engineer",
    "Senior Software Engineer",
    "Staff Engineer",
    "Engineering Manager",
    "Product Manager",
    "Designer",
    "SRE",
    "Data Engineer",
    "QA Engineer",
    "Tech Lead",
    "",
)
CHANNEL_WORDS = _words(
    "api web mobile ios android infra platform data ml search billing payments auth growth "
    "checkout onboarding design security sre release deploys oncall incidents perf docs "
    "frontend backend devex observability storage networking kafka postgres k8s ci builds "
    "analytics experiments pricing support sales marketing hiring interviews events"
)
CHANNEL_PREFIXES = ("eng", "team", "proj", "help", "inc", "feat", "ask", "squad", "wg", "alerts")
VOCABULARY = _words(
    "the a to and of is it for on that this we in be can i you have with not deploy build "
    "test tests flaky pr review merge branch main release rollback migration schema index "
    "query latency p99 timeout retry error errors logs dashboard alert alerts pager oncall "
    "incident customer ticket bug fix fixed patch hotfix staging prod production config flag "
    "feature rollout canary cluster node pod memory cpu disk cache redis postgres kafka "
    "queue worker job cron api endpoint client server auth token session user users team "
    "design doc spec proposal meeting sync call tomorrow today monday friday eod asap soon "
    "thanks thank please could would should maybe probably looks good lgtm nit question "
    "why what when how because so but if then also just still again now here there think "
    "agree disagree option approach tradeoff cost risk plan estimate sprint ticket backlog "
    "owner blocked unblocked waiting done shipped working looking checking will i'll we'll "
    "let's sure ok yes no great nice cool hmm ack +1 sounds right wrong weird odd slow fast"
)
# Phrases that real openers and replies carry, for the metrics to find.
OPENERS = (
    "hey",
    "hi",
    "quick question",
    "hey, quick question",
    "got a sec?",
    "ping",
    "hello",
    "question about the deploy",
    "FYI",
    "heads up:",
)
DECISIONS = (
    "decision: we'll go with",
    "ok, decided:",
    "let's go with",
    "agreed, shipping",
    "resolved -",
    "we'll go with option B,",
)
REACTIONS = (
    "+1",
    "+1",
    "+1",
    "eyes",
    "white_check_mark",
    "heavy_check_mark",
    "joy",
    "tada",
    "pray",
    "raised_hands",
    "thinking_face",
    "100",
    "fire",
    "rocket",
    "ok_hand",
)
REPOS = ("api", "web", "mobile", "infra", "billing", "search", "platform")
BOTS = (
    ("GitHub", "github"),
    ("Jira", "jira"),
    ("PagerDuty", "pagerduty"),
    ("Sentry", "sentry"),
    ("Datadog", "datadog"),
    ("CircleCI", "circleci"),
    ("Google Calendar", "gcal"),
    ("Polly", "polly"),
    ("Geekbot", "geekbot"),
    ("Zoom", "zoom"),
)
BLOCK_ID_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/="
_INDENT = re.compile(rb"(?m)^( +)")


def slack_id(prefix: str, n: int) -> str:
    """Return a Slack-looking id (prefix + 10 upper-case alphanumerics) for number n."""
    return prefix + _base36(prefix, n)


def _base36(prefix: str, n: int) -> str:
    """Encode n as 10 base-36 digits, scrambled (bijectively) so ids do not look sequential."""
    x = (n * 2654435761 + 0x9E3779B1 + ord(prefix)) % (36**9)
    digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    out = []
    for _ in range(9):
        x, r = divmod(x, 36)
        out.append(digits[r])
    return "0" + "".join(reversed(out))


def day_name(day: int) -> str:
    """Return the ISO date of an epoch day, as the export names its files."""
    return date.fromordinal(EPOCH.toordinal() + day).isoformat()


def ts_text(us: int) -> str:
    """Format microseconds since the epoch as Slack's ``ts`` string id."""
    return f"{us // US}.{us % US:06d}"


def dump(obj: Any, pretty: bool) -> bytes:
    """Serialise as Slack does: slashes escaped, and 4-space indents when pretty."""
    data = orjson.dumps(obj, option=orjson.OPT_INDENT_2) if pretty else orjson.dumps(obj)
    if pretty:
        data = _INDENT.sub(lambda m: m.group(1) * 2, data)
    # '/' only ever occurs inside JSON strings, so a blind replace is exact.
    return data.replace(b"/", b"\\/")


@dataclass
class Person:
    """One row of users.json, with what message building needs at hand."""

    id: str
    name: str
    real_name: str
    tz_offset: int
    weight: float
    is_bot: bool
    profile: dict[str, Any]  # the `user_profile` embedded in each message
    record: dict[str, Any]  # the users.json entry


@dataclass
class Conversation:
    """One conversation to generate: its metadata entry and its message budget."""

    kind: str  # public | private | dm | mpim
    id: str
    folder: str
    members: list[int]
    first_day: int
    last_day: int
    messages: int
    days: int = 0
    seed: int = 0
    record: dict[str, Any] = field(default_factory=dict)


@dataclass
class Context:
    """What every worker needs: people, bots, the text corpus and where to write."""

    people: list[Person]
    bots: list[dict[str, Any]]
    corpus: str
    starts: list[int]  # offsets of word starts in corpus
    pretty: bool = False
    root: str = "."


_CTX: Context | None = None


def _init_worker(ctx: Context) -> None:
    """Install the shared context (in a pool worker, or in this process)."""
    global _CTX
    _CTX = ctx


# ---------------------------------------------------------------- planning


def _zipf_sizes(total: int, count: int, s: float, minimum: int) -> list[int]:
    """Split total into count Zipf(s)-weighted integer sizes, each at least minimum."""
    if count <= 0:
        return []
    w = [1.0 / (k**s) for k in range(1, count + 1)]
    z = sum(w)
    raw = [total * x / z for x in w]
    sizes = [max(minimum, int(x)) for x in raw]
    diff = total - sum(sizes)
    order = sorted(range(count), key=lambda i: raw[i] - int(raw[i]), reverse=True)
    i = 0
    while diff > 0:
        sizes[order[i % count]] += 1
        diff -= 1
        i += 1
    i = 0
    while diff < 0:  # the minimum overshot: take back from the biggest
        j = i % max(1, count // 10)
        if sizes[j] > minimum:
            sizes[j] -= 1
            diff += 1
        i += 1
    return sizes


def _build_people(rng: random.Random, n_users: int) -> tuple[list[Person], list[dict[str, Any]]]:
    """Make the humans and the bot users of the workspace."""
    cum_tz = list(accumulate(t[3] for t in TIMEZONES))
    people: list[Person] = []
    seen: set[str] = set()
    for i in range(n_users):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        name = f"{first}.{last}"
        k = 2
        while name in seen:
            name = f"{first}.{last}{k}"
            k += 1
        seen.add(name)
        real = f"{first.title()} {last.title()}"
        tz, label, offset, _ = TIMEZONES[rng.choices(range(len(TIMEZONES)), cum_weights=cum_tz)[0]]
        uid = slack_id("U", i)
        avatar = f"g{rng.getrandbits(44):011x}"
        image = (
            f"https://avatars.slack-edge.com/2023-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}/"
            f"{rng.getrandbits(40):013d}_{rng.getrandbits(80):020x}_72.jpg"
        )
        display = first if rng.random() < 0.7 else ""
        deleted = rng.random() < 0.04
        profile = {
            "avatar_hash": avatar,
            "image_72": image,
            "first_name": first.title(),
            "real_name": real,
            "display_name": display,
            "team": TEAM_ID,
            "name": name,
            "is_restricted": False,
            "is_ultra_restricted": False,
        }
        record = {
            "id": uid,
            "team_id": TEAM_ID,
            "name": name,
            "deleted": deleted,
            "color": f"{rng.getrandbits(24):06x}",
            "real_name": real,
            "tz": tz,
            "tz_label": label,
            "tz_offset": offset,
            "profile": {
                "title": rng.choice(TITLES),
                "phone": "",
                "skype": "",
                "real_name": real,
                "real_name_normalized": real,
                "display_name": display,
                "display_name_normalized": display,
                "status_text": "",
                "status_emoji": "",
                "avatar_hash": avatar,
                "email": f"{name}@acme.example",
                "first_name": first.title(),
                "last_name": last.title(),
                "image_72": image,
                "team": TEAM_ID,
            },
            "is_admin": i < 5,
            "is_owner": i < 2,
            "is_primary_owner": i == 0,
            "is_restricted": False,
            "is_ultra_restricted": False,
            "is_bot": False,
            "is_app_user": False,
            "updated": 1700000000 + rng.randrange(10_000_000),
        }
        # Long-tailed activity: a few people write most messages.
        weight = rng.paretovariate(1.3)
        people.append(Person(uid, name, real, offset, weight, False, profile, record))
    bots: list[dict[str, Any]] = []
    for j, (label, handle) in enumerate(BOTS):
        uid = slack_id("U", 900_000 + j)
        bots.append(
            {
                "user": uid,
                "bot_id": slack_id("B", j),
                "app_id": slack_id("A", j),
                "name": label,
                "handle": handle,
                "icon": f"https://avatars.slack-edge.com/2021-03-01/{j:013d}_bot_48.png",
            }
        )
        record = {
            "id": uid,
            "team_id": TEAM_ID,
            "name": handle,
            "deleted": False,
            "real_name": label,
            "tz": "America/Los_Angeles",
            "tz_label": "Pacific Daylight Time",
            "tz_offset": -25200,
            "profile": {
                "title": "",
                "real_name": label,
                "display_name": "",
                "email": None,
                "bot_id": slack_id("B", j),
                "api_app_id": slack_id("A", j),
                "team": TEAM_ID,
            },
            "is_bot": True,
            "is_app_user": False,
            "updated": 1690000000,
        }
        people.append(Person(uid, handle, label, -25200, 0.0, True, {}, record))
    return people, bots


def _sample_members(rng: random.Random, humans: int, weights: list[float], k: int) -> list[int]:
    """Pick k distinct people, the more active more likely (weighted, no replacement)."""
    if k >= humans:
        return list(range(humans))
    if k <= humans // 8:
        picked: dict[int, None] = {}
        cum = list(accumulate(weights))
        while len(picked) < k:
            for p in rng.choices(range(humans), cum_weights=cum, k=k - len(picked)):
                picked[p] = None
        return list(picked)[:k]
    keys = sorted(range(humans), key=lambda i: -math.log(rng.random()) / weights[i])
    return keys[:k]


def _lifetime(rng: random.Random, big: bool) -> tuple[int, int]:
    """Return (first_day, last_day): big conversations span the export, others start later."""
    if big:
        return FIRST_DAY, LAST_DAY
    first = FIRST_DAY + int(rng.random() ** 1.5 * (SPAN_DAYS - 30))
    return first, LAST_DAY


def plan_workspace(messages: int, seed: int) -> tuple[Context, list[Conversation]]:
    """Plan users and conversations with sizes and day counts summing to `messages`."""
    rng = random.Random(seed)
    n_users = min(2000, max(40, messages // 500))
    people, bots = _build_people(rng, n_users)
    humans = n_users
    weights = [p.weight for p in people[:humans]]
    counts = {
        "public": min(400, max(8, messages // 2500)),
        "private": min(80, max(3, messages // 12500)),
        "dm": min(6000, max(10, messages // 170)),
        "mpim": min(150, max(3, messages // 6500)),
    }
    shares = {"public": 0.66, "private": 0.14, "dm": 0.17, "mpim": 0.03}
    budgets = {k: int(messages * v) for k, v in shares.items()}
    budgets["public"] += messages - sum(budgets.values())
    exponents = {"public": 1.05, "private": 0.9, "dm": 0.8, "mpim": 0.9}

    convs: list[Conversation] = []
    names: set[str] = {"general", "random"}
    serial = 0
    for kind in ("public", "private", "dm", "mpim"):
        sizes = _zipf_sizes(budgets[kind], counts[kind], exponents[kind], 2)
        pairs: set[tuple[int, int]] = set()
        for rank, size in enumerate(sizes):
            serial += 1
            big = rank < max(3, len(sizes) // 20)
            first, last = _lifetime(rng, big)
            if kind == "dm":
                while True:
                    a, b = _sample_members(rng, humans, weights, 2)
                    pair = (min(a, b), max(a, b))
                    if pair not in pairs or len(pairs) > humans * (humans - 1) // 4:
                        break
                pairs.add(pair)
                members = [a, b]
                cid = slack_id("D", serial)
                folder = cid
                record: dict[str, Any] = {
                    "id": cid,
                    "created": first * 86400 + rng.randrange(86400),
                    "members": [people[a].id, people[b].id],
                }
            else:
                if kind == "public" and rank == 0:
                    name, members = "general", list(range(humans))
                elif kind == "public" and rank == 1:
                    name = "random"
                    members = _sample_members(rng, humans, weights, int(humans * 0.8))
                elif kind == "mpim":
                    members = _sample_members(rng, humans, weights, rng.randint(3, 6))
                    name = "mpdm-" + "--".join(people[m].name for m in members) + "-1"
                else:
                    while True:
                        prefix = rng.choice(CHANNEL_PREFIXES)
                        name = f"{prefix}-{rng.choice(CHANNEL_WORDS)}"
                        if rng.random() < 0.3:
                            name += f"-{rng.choice(CHANNEL_WORDS)}"
                        if kind == "private":
                            name = "priv-" + name
                        if name not in names:
                            break
                    k = min(humans, max(3, int(4 + size**0.6 * rng.uniform(0.5, 1.5))))
                    members = _sample_members(rng, humans, weights, k)
                names.add(name)
                cid = slack_id("G" if kind in ("private", "mpim") else "C", serial)
                folder = name
                creator = people[members[0]].id
                created = first * 86400 - rng.randrange(86400 * 5)
                archived = kind in ("public", "private") and not big and rng.random() < 0.04
                if archived:
                    last = max(first + 10, LAST_DAY - rng.randrange(SPAN_DAYS // 2))
                    last = min(last, LAST_DAY)
                topic = f"All things {name.replace('-', ' ')}" if rng.random() < 0.6 else ""
                record = {
                    "id": cid,
                    "name": name,
                    "created": created,
                    "creator": creator,
                    "is_archived": archived,
                    "is_general": name == "general",
                    "members": [people[m].id for m in members],
                    "pins": [],
                    "topic": {
                        "value": topic,
                        "creator": creator if topic else "",
                        "last_set": created if topic else 0,
                    },
                    "purpose": {"value": "", "creator": "", "last_set": 0},
                }
                if kind == "mpim":
                    del record["is_general"], record["pins"]
            convs.append(Conversation(kind, cid, folder, members, first, last, size, record=record))
            convs[-1].seed = rng.getrandbits(63)

    _assign_days(convs, max(1, messages // MESSAGES_PER_FILE))
    corpus_rng = random.Random(seed + 7)
    words = corpus_rng.choices(VOCABULARY, k=200_000)
    corpus = " ".join(words)
    starts = [0]
    for m in re.finditer(" ", corpus):
        starts.append(m.end())
    del starts[-100:]  # leave room for the longest slice
    return Context(people, bots, corpus, starts), convs


def _assign_days(convs: list[Conversation], target_files: int) -> None:
    """Give each conversation a number of active days so the total is near target_files.

    Days grow sub-linearly with size (d = k * n^0.75, capped by the lifetime
    and by n); k is found by bisection.
    """

    def days_for(c: Conversation, k: float) -> int:
        span = c.last_day - c.first_day + 1
        return max(1, min(span, c.messages, round(k * c.messages**0.75)))

    lo, hi = 0.0, 100.0
    for _ in range(60):
        mid = (lo + hi) / 2
        if sum(days_for(c, mid) for c in convs) < target_files:
            lo = mid
        else:
            hi = mid
    for c in convs:
        c.days = days_for(c, hi)


# ---------------------------------------------------------------- writing


def _pick_days(rng: random.Random, first: int, last: int, d: int) -> list[int]:
    """Choose d distinct active days in [first, last], weekdays five times likelier."""
    span = last - first + 1
    if d >= span:
        return list(range(first, last + 1))

    def weight(day: int) -> float:
        # epoch day 0 was a Thursday: (day + 3) % 7 >= 5 is Saturday/Sunday
        return 0.2 if (day + 3) % 7 >= 5 else 1.0

    if d * 3 > span:
        keys = sorted(range(first, last + 1), key=lambda x: -math.log(rng.random()) / weight(x))
        return sorted(keys[:d])
    chosen: set[int] = set()
    while len(chosen) < d:
        day = first + rng.randrange(span)
        if day not in chosen and rng.random() < weight(day):
            chosen.add(day)
    return sorted(chosen)


def _text(rng: random.Random, ctx: Context) -> str:
    """Return a long-tailed random text of 5..400 characters cut at a word boundary."""
    n = int(rng.lognormvariate(3.35, 0.85))
    n = 5 if n < 5 else 400 if n > 400 else n
    start = ctx.starts[rng.randrange(len(ctx.starts))]
    text = ctx.corpus[start : start + n]
    cut = text.rfind(" ")
    if cut > 4:
        text = text[:cut]
    return text


def _client_msg_id(rng: random.Random) -> str:
    """Return a UUID4-shaped client message id."""
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"


def _plan_messages(
    rng: random.Random, ctx: Context, conv: Conversation
) -> tuple[list[int], list[int], list[int], list[int], list[int]]:
    """Lay out a conversation's skeleton: per message its ts, author, kind, parent, day.

    Kinds: 0 human, 1 channel_join, 2 legacy bot_message, 3 app bot.
    """
    days = _pick_days(rng, conv.first_day, conv.last_day, conv.days)
    n = conv.messages
    per_day = [1] * len(days)
    extra = n - len(days)
    if extra > 0:
        cum = list(accumulate(rng.lognormvariate(0.0, 1.0) for _ in days))
        for i in rng.choices(range(len(days)), cum_weights=cum, k=extra):
            per_day[i] += 1
    people = ctx.people
    members = conv.members
    # Within a conversation a few members dominate.
    cum_m = list(accumulate(people[m].weight * rng.lognormvariate(0, 1.0) for m in members))
    authors = rng.choices(members, cum_weights=cum_m, k=n)
    gauss = rng.gauss
    rand = rng.random
    ts: list[int] = []
    author: list[int] = []
    day_of: list[int] = []
    pos = 0
    for day, count in zip(days, per_day, strict=True):
        base = day * 86400
        row = []
        for a in authors[pos : pos + count]:
            # Local working hours in the author's timezone, folded into the UTC day.
            local = gauss(48600.0, 10800.0)
            sec = int(local - people[a].tz_offset) % 86400
            row.append(((base + sec) * US + int(rand() * US), a))
        pos += count
        row.sort()
        for t, a in row:
            if ts and t <= ts[-1]:
                t = ts[-1] + 1
            ts.append(t)
            author.append(a)
            day_of.append(day)

    kind = [0] * n
    channel = conv.kind in ("public", "private")
    if channel:
        kind[0] = 1
        author[0] = members[0]
        for i in range(1, n):
            r = rand()
            if r < 0.03:
                kind[i] = 1
            elif r < 0.05:
                kind[i] = 2
            elif r < 0.07:
                kind[i] = 3

    # Threads: a top-level message asks for a long-tailed number of replies
    # (most none, some one or two, a few dozens or hundreds); later messages
    # answer the most recent threads still wanting replies, within two days.
    p_thread = {"public": 0.25, "private": 0.25, "mpim": 0.18, "dm": 0.1}[conv.kind]
    parent = [-1] * n
    wanted: dict[int, int] = {}
    thread_people: dict[int, list[int]] = {}
    open_threads: list[int] = []
    window = 2 * 86400 * US
    for i in range(n):
        if kind[i] != 0:
            continue
        if open_threads and ts[open_threads[0]] < ts[i] - window:
            horizon = ts[i] - window
            open_threads = [p for p in open_threads if ts[p] >= horizon]
        if open_threads and rand() < 0.75:
            back = min(int(rng.expovariate(0.5)), len(open_threads) - 1)
            p = open_threads[-1 - back]
            who = thread_people[p]
            if len(who) > 1 and rand() < 0.6:
                # Ping-pong: the previous speaker answers the last one.
                author[i] = who[-2]
            parent[i] = p
            if author[i] not in who:
                who.append(author[i])
            elif who[-1] != author[i]:
                who.remove(author[i])
                who.append(author[i])
            wanted[p] -= 1
            if not wanted[p]:
                open_threads.remove(p)
        elif rand() < p_thread:
            wanted[i] = min(300, int(rng.paretovariate(1.15)))
            open_threads.append(i)
            thread_people[i] = [author[i]]
    return ts, author, kind, parent, day_of


def write_conversation(conv: Conversation) -> tuple[int, int, int]:
    """Write one conversation's day files; return (files, bytes, messages)."""
    ctx = _CTX
    assert ctx is not None, "worker context not initialised"
    rng = random.Random(conv.seed)
    ts, author, kind, parent, day_of = _plan_messages(rng, ctx, conv)
    n = len(ts)
    ts_s = [ts_text(t) for t in ts]
    replies: dict[int, list[int]] = {}
    for i, p in enumerate(parent):
        if p >= 0:
            replies.setdefault(p, []).append(i)

    people, bots, members = ctx.people, ctx.bots, conv.members
    rand, randrange = rng.random, rng.randrange
    folder_path = Path(ctx.root) / conv.folder
    folder_path.mkdir(parents=True, exist_ok=True)
    files = written = 0
    i = 0
    while i < n:
        day = day_of[i]
        batch: list[dict[str, Any]] = []
        while i < n and day_of[i] == day:
            k = kind[i]
            person = people[author[i]]
            if k == 1:
                msg: dict[str, Any] = {
                    "type": "message",
                    "subtype": "channel_join",
                    "ts": ts_s[i],
                    "user": person.id,
                    "text": f"<@{person.id}> has joined the channel",
                }
                if rand() < 0.4:
                    msg["inviter"] = people[members[0]].id
            elif k >= 2:
                bot = bots[randrange(len(bots))]
                text = f"[{bot['handle']}] " + _text(rng, ctx)
                if k == 2:
                    msg = {
                        "type": "message",
                        "subtype": "bot_message",
                        "text": text,
                        "ts": ts_s[i],
                        "username": bot["name"],
                        "icons": {"image_48": bot["icon"]},
                        "bot_id": bot["bot_id"],
                    }
                else:
                    msg = {
                        "type": "message",
                        "text": text,
                        "ts": ts_s[i],
                        "bot_id": bot["bot_id"],
                        "app_id": bot["app_id"],
                        "user": bot["user"],
                        "team": TEAM_ID,
                        "bot_profile": {
                            "id": bot["bot_id"],
                            "deleted": False,
                            "name": bot["handle"],
                            "updated": 1690000000,
                            "app_id": bot["app_id"],
                            "icons": {"image_48": bot["icon"]},
                            "team_id": TEAM_ID,
                        },
                    }
            else:
                msg = _human(rng, ctx, conv, i, person, ts, ts_s, author, parent, replies)
            batch.append(msg)
            i += 1
        data = dump(batch, ctx.pretty)
        with open(folder_path / f"{day_name(day)}.json", "wb") as fh:
            fh.write(data)
        files += 1
        written += len(data)
    return files, written, n


def _human(
    rng: random.Random,
    ctx: Context,
    conv: Conversation,
    i: int,
    person: Person,
    ts: list[int],
    ts_s: list[str],
    author: list[int],
    parent: list[int],
    replies: dict[int, list[int]],
) -> dict[str, Any]:
    """Build one human message as Slack exports it (blocks, user_profile, thread fields)."""
    rand = rng.random
    people = ctx.people
    p = parent[i]
    text = _text(rng, ctx)
    elements: list[dict[str, Any]]
    r = rand()
    if p < 0 and r < 0.08:
        text = f"{OPENERS[int(rand() * len(OPENERS))]} {text}"
        elements = [{"type": "text", "text": text}]
    elif r < 0.14:
        other = people[conv.members[int(rand() * len(conv.members))]].id
        elements = [{"type": "user", "user_id": other}, {"type": "text", "text": " " + text}]
        text = f"<@{other}> {text}"
    elif r < 0.16 and conv.kind != "dm":
        elements = [{"type": "broadcast", "range": "here"}, {"type": "text", "text": " " + text}]
        text = "<!here> " + text
    elif r < 0.19:
        url = f"https://github.com/acme/{REPOS[int(rand() * len(REPOS))]}/pull/{1 + int(rand() * 4000)}"
        elements = [{"type": "text", "text": text + " "}, {"type": "link", "url": url}]
        text = f"{text} <{url}>"
    elif p >= 0 and r < 0.21:
        text = f"{DECISIONS[int(rand() * len(DECISIONS))]} {text}"
        elements = [{"type": "text", "text": text}]
    else:
        elements = [{"type": "text", "text": text}]
    block_id = "".join(rng.choices(BLOCK_ID_CHARS, k=5))
    msg: dict[str, Any] = {
        "client_msg_id": _client_msg_id(rng),
        "type": "message",
        "text": text,
        "user": person.id,
        "ts": ts_s[i],
    }
    if rand() < 0.05:
        msg["edited"] = {
            "user": person.id,
            "ts": ts_text(ts[i] + int(rng.expovariate(1 / 600)) * US + 1),
        }
    msg["blocks"] = [
        {
            "type": "rich_text",
            "block_id": block_id,
            "elements": [{"type": "rich_text_section", "elements": elements}],
        }
    ]
    msg["team"] = TEAM_ID
    msg["user_team"] = TEAM_ID
    msg["source_team"] = TEAM_ID
    msg["user_profile"] = person.profile
    if rand() < 0.01:
        fid = slack_id("F", (conv.seed % 1_000_003) * 1_000_033 + i)
        fname = rng.choice(
            ("image.png", "Screenshot 2024-01-12 at 10.02.11.png", "trace.log", "design.pdf")
        )
        ftype = fname.rsplit(".", 1)[1]
        sec = ts[i] // US
        msg["files"] = [
            {
                "id": fid,
                "created": sec,
                "timestamp": sec,
                "name": fname,
                "title": fname,
                "mimetype": {"png": "image/png", "log": "text/plain", "pdf": "application/pdf"}[
                    ftype
                ],
                "filetype": ftype,
                "pretty_type": ftype.upper(),
                "user": person.id,
                "user_team": TEAM_ID,
                "editable": False,
                "size": rng.randrange(2_000, 4_000_000),
                "mode": "hosted",
                "is_external": False,
                "external_type": "",
                "is_public": conv.kind == "public",
                "public_url_shared": False,
                "display_as_bot": False,
                "username": "",
                "url_private": f"https://files.slack.com/files-pri/{TEAM_ID}-{fid}/{fname}",
                "permalink": f"https://{WORKSPACE}.slack.com/files/{person.id}/{fid}/{fname}",
            }
        ]
        msg["upload"] = True
        msg["display_as_bot"] = False
    if p >= 0:
        msg["thread_ts"] = ts_s[p]
        msg["parent_user_id"] = people[author[p]].id
        if rand() < 0.015:
            msg["subtype"] = "thread_broadcast"
    else:
        kids = replies.get(i)
        if kids:
            users = list(dict.fromkeys(people[author[c]].id for c in kids))
            msg["thread_ts"] = ts_s[i]
            msg["reply_count"] = len(kids)
            msg["reply_users_count"] = len(users)
            msg["latest_reply"] = ts_s[kids[-1]]
            msg["reply_users"] = users
            msg["is_locked"] = False
            msg["subscribed"] = False
            msg["replies"] = [{"user": people[author[c]].id, "ts": ts_s[c]} for c in kids]
    if rand() < 0.09:
        reactions = []
        for name in dict.fromkeys(rng.choices(REACTIONS, k=1 + int(rng.expovariate(1.5)))):
            count = 1 + int(rng.expovariate(0.7))
            who = list(dict.fromkeys(people[m].id for m in rng.choices(conv.members, k=count)))
            reactions.append({"name": name, "users": who, "count": len(who)})
        msg["reactions"] = reactions
    return msg


def _read_marker(out: Path) -> dict[str, Any] | None:
    """Return the completion marker's content, or None when absent or unreadable."""
    try:
        return orjson.loads((out / MARKER).read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None


def generate_slack(
    out: Path, messages: int, seed: int = 1, workers: int = 0, pretty: bool = False
) -> dict[str, Any]:
    """Write a Slack export of `messages` messages to `out`, unless one is already there.

    Returns a summary: messages, files (day files), bytes (whole export),
    conversations, users, seconds, and `cached` (True when an existing
    export with a matching `.complete` marker was reused).
    """
    out = Path(out)
    key = {"seed": seed, "messages": messages, "pretty": pretty, "version": FORMAT_VERSION}
    marker = _read_marker(out)
    if marker is not None and all(marker.get(k) == v for k, v in key.items()):
        return {**marker, "cached": True}
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    started = time.perf_counter()
    ctx, convs = plan_workspace(messages, seed)
    ctx.pretty, ctx.root = pretty, str(out)

    meta_bytes = 0
    people = [p.record for p in ctx.people]
    by_kind = {
        k: [c.record for c in convs if c.kind == k] for k in ("public", "private", "dm", "mpim")
    }
    for fname, payload in (
        ("users.json", people),
        ("channels.json", by_kind["public"]),
        ("groups.json", by_kind["private"]),
        ("dms.json", by_kind["dm"]),
        ("mpims.json", by_kind["mpim"]),
    ):
        data = dump(payload, pretty)
        (out / fname).write_bytes(data)
        meta_bytes += len(data)

    # Biggest first, so the long conversations do not end up last on one core.
    todo = sorted(convs, key=lambda c: c.messages, reverse=True)
    workers = workers or os.cpu_count() or 1
    files = written = total = 0
    if workers <= 1:
        _init_worker(ctx)
        results = map(write_conversation, todo)
        for f, b, m in results:
            files, written, total = files + f, written + b, total + m
    else:
        # spawn, not fork: the caller (the bench) may hold threads.
        mp = multiprocessing.get_context("spawn")
        with mp.Pool(workers, initializer=_init_worker, initargs=(ctx,)) as pool:
            for f, b, m in pool.imap_unordered(write_conversation, todo, chunksize=4):
                files, written, total = files + f, written + b, total + m
    if total != messages:
        raise RuntimeError(f"generated {total} messages, expected {messages}")
    summary = {
        **key,
        "files": files,
        "day_bytes": written,
        "bytes": written + meta_bytes,
        "conversations": len(convs),
        "users": len(ctx.people),
        "seconds": round(time.perf_counter() - started, 2),
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    # Written last: its presence means the export is whole.
    (out / MARKER).write_bytes(orjson.dumps(summary, option=orjson.OPT_INDENT_2))
    return {**summary, "cached": False}


def main(argv: list[str] | None = None) -> int:
    """Run the generator from the command line and print its summary."""
    ap = argparse.ArgumentParser(
        prog="python -m benchmarks.generate", description=__doc__.splitlines()[0]
    )
    ap.add_argument("--messages", type=int, default=1_000_000, help="messages to generate")
    ap.add_argument("--out", type=Path, required=True, help="export folder to write")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workers", type=int, default=0, help="processes (default: one per core)")
    ap.add_argument("--pretty", action="store_true", help="4-space indents, as Slack writes them")
    args = ap.parse_args(argv)
    if args.messages < 100:
        ap.error("--messages must be at least 100")
    s = generate_slack(args.out, args.messages, args.seed, args.workers, args.pretty)
    state = "cached" if s["cached"] else f"generated in {s['seconds']:.1f} s"
    print(
        f"{args.out}: {s['messages']:,} messages, {s['files']:,} day files, "
        f"{s['bytes'] / 1e6:,.1f} MB, {s['conversations']:,} conversations, "
        f"{s['users']:,} users ({state})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Generate the seeded sample workspace behind ``asyncpulse demo``.

`generate_demo` writes an unpacked Slack export, a ``gh pr list --json``
file and a people file for a fictional 30-person company ("acme") spread
over eleven timezones. The same seed and `today` give byte-identical files:
all randomness comes from one ``random.Random(seed)`` and nothing reads the
wall clock. The data is built to exercise every mart: timezone ping-pong,
long debates with and without a recorded decision, low-context and 3W
openers, DMs after silences, broadcasts, thin and thorough PR
descriptions, and review rounds across timezones. The building blocks
live in ``demo_people`` (who and when), ``demo_text`` (what they say),
``demo_slack`` and ``demo_github``.
"""

from __future__ import annotations

import csv
import random
import shutil
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import orjson

from pipelines.demo_github import GitHubBuilder, PullRequest
from pipelines.demo_people import TEAM_ID, TZ_LABELS, Person, build_people, people_csv_rows, zone_of
from pipelines.demo_slack import BOTS, Conv, SlackBuilder, hash_hex

DEFAULT_TODAY = date(2026, 11, 16)
HISTORY_DAYS = 153  # about five months
HUMAN_SUBTYPES = (None, "thread_broadcast", "file_share", "me_message")
# The demo's working agreements, when the user has set none: the defaults, but a first review
# within half a working day and an ask answered within one working hour (the acme people
# answer fast, so the defaults of one working day would never fire and the page would be empty).
DEMO_AGREEMENTS: list[dict[str, Any]] = [
    {"kind": "first_review", "threshold": 4},
    {"kind": "unanswered", "threshold": 1},
    {"kind": "escalation"},
    {"kind": "ping_pong"},
    {"kind": "dm_share"},
    {"kind": "low_context_share"},
    {"kind": "after_hours_share"},
]


def generate_demo(out_dir: Path, seed: int = 7, today: date | None = None) -> dict[str, int]:
    """Write the sample workspace under `out_dir` and return what it holds.

    Replaces ``slack/``, ``github/`` and ``people.csv`` in `out_dir` (and
    nothing else there). History runs from 153 days before `today` to the
    end of `today` (UTC).
    """
    today = today or DEFAULT_TODAY
    rng = random.Random(seed)
    start = today - timedelta(days=HISTORY_DAYS)
    end = datetime.combine(today, time(23, 59, 59), UTC)
    people = build_people(rng, start)
    prs = GitHubBuilder(rng, people, start, end).build()
    slack = SlackBuilder(rng, people, prs, start, end)
    convs = slack.build()

    out_dir.mkdir(parents=True, exist_ok=True)
    for sub in ("slack", "github"):
        shutil.rmtree(out_dir / sub, ignore_errors=True)
    write_people_csv(out_dir / "people.csv", people)
    write_slack(out_dir / "slack", slack, convs, people, start, end, rng)
    write_json(out_dir / "github" / "prs.json", [pr.record for pr in sorted(prs, key=_newest_first)])
    return count_demo(people, slack, convs, prs)


def _newest_first(pr: PullRequest) -> tuple[float, str]:
    # gh lists newest first; two repos are merged into one array.
    return (-pr.created.timestamp(), pr.repo)


def write_json(path: Path, data: Any) -> None:
    """Write `data` as indented JSON, as Slack's exporter does, creating folders."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(orjson.dumps(data, option=orjson.OPT_INDENT_2))


def write_people_csv(path: Path, people: list[Person]) -> None:
    """Write people.csv with the identity gaps the people table asks for."""
    with path.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f, lineterminator="\n").writerows(people_csv_rows(people))


def build_users(people: list[Person], bot_ids: dict[str, tuple[str, str]], end: datetime) -> list[dict[str, Any]]:
    """Return users.json: the humans (one deleted, two without tz) and the bots."""
    users = []
    for p in people:
        first, _, last = p.real_name.partition(" ")
        u: dict[str, Any] = {"id": p.slack_id, "team_id": TEAM_ID, "name": p.handle, "deleted": p.flag("leaves") is not None,
                             "color": hash_hex(p.handle)[:6], "real_name": p.real_name}
        if (tz := p.slack_tz) is not None:
            off = end.astimezone(zone_of(tz)).utcoffset()
            u |= {"tz": tz, "tz_label": TZ_LABELS[tz], "tz_offset": int(off.total_seconds()) if off else 0}
        u["profile"] = {"title": p.title, "phone": "", "real_name": p.real_name, "real_name_normalized": p.real_name,
                        "display_name": p.handle.split(".")[0], "display_name_normalized": p.handle.split(".")[0],
                        "email": p.email, "first_name": first, "last_name": last,
                        "avatar_hash": hash_hex(p.slack_id), "team": TEAM_ID}
        u |= {"is_admin": p.title.endswith("Manager"), "is_owner": False, "is_bot": False, "is_app_user": False,
              "updated": int(datetime.combine(p.active_from, time(12), UTC).timestamp())}
        users.append(u)
    for name, real, title in BOTS:
        uid, bid = bot_ids[name]
        users.append({"id": uid, "team_id": TEAM_ID, "name": name, "deleted": False, "color": "e7392d",
                      "real_name": real, "tz": "America/Los_Angeles", "tz_label": "Pacific Standard Time",
                      "tz_offset": -28800,
                      "profile": {"title": title, "real_name": real, "display_name": "", "bot_id": bid,
                                  "always_active": True, "team": TEAM_ID},
                      "is_admin": False, "is_owner": False, "is_bot": True, "is_app_user": False,
                      "updated": 1700000000})
    return users


def build_metadata(convs: list[Conv], start: date, rng: random.Random) -> dict[str, list[dict[str, Any]]]:
    """Return channels.json, groups.json, dms.json and mpims.json contents."""
    out: dict[str, list[dict[str, Any]]] = {"channels": [], "groups": [], "dms": [], "mpims": []}
    for c in convs:
        created = int(datetime.combine(start, time(), UTC).timestamp()) - rng.randint(30, 900) * 86400
        members = [p.slack_id for p in c.members]
        if c.kind == "dm":
            out["dms"].append({"id": c.id, "created": created, "members": members})
            continue
        creator = members[0]
        meta = {"id": c.id, "name": c.name, "created": created, "creator": creator,
                "is_archived": c.until is not None, "is_general": c.name == "general", "members": members,
                "topic": {"value": "", "creator": "", "last_set": 0},
                "purpose": {"value": c.purpose, "creator": creator if c.purpose else "",
                            "last_set": created if c.purpose else 0}}
        if c.name == "incidents":
            meta["topic"] = {"value": "Current: none :white_check_mark: | Runbooks: https://wiki.acme.io/runbooks",
                             "creator": creator, "last_set": created + 86400}
        out[{"public": "channels", "private": "groups", "mpim": "mpims"}[c.kind]].append(meta)
    return out


def write_slack(root: Path, slack: SlackBuilder, convs: list[Conv], people: list[Person],
                start: date, end: datetime, rng: random.Random) -> None:
    """Write the unpacked export: metadata files, one folder per conversation, day files by UTC date."""
    write_json(root / "users.json", build_users(people, slack.bot_ids, end))
    for name, rows in build_metadata(convs, start, rng).items():
        write_json(root / f"{name}.json", rows)
    for c in convs:
        # Slack files a message under the UTC day of its ts, replies included.
        days: dict[str, list[dict[str, Any]]] = {}
        for m in c.msgs:
            day = datetime.fromtimestamp(m.pop("_us") // 1_000_000, UTC).date().isoformat()
            days.setdefault(day, []).append(m)
        folder = root / c.folder
        folder.mkdir()
        for day, msgs in days.items():
            (folder / f"{day}.json").write_bytes(orjson.dumps(msgs, option=orjson.OPT_INDENT_2))
    # Real exports carry non-message files; the loader must skip them.
    platform = next(c for c in convs if c.name == "platform")
    write_json(root / platform.folder / "canvas_in_the_conversation.json",
               {"id": "F0CANVAS001", "title": "Platform on-call handbook", "date_created": int(end.timestamp()) - 90 * 86400,
                "blocks": [{"type": "header", "text": "Before you page"}, {"type": "rich_text", "text": "Check the runbook."}]})
    write_json(root / "integration_logs.json", {"logs": [
        {"user_id": people[0].slack_id, "user_name": people[0].handle, "date": str(int(end.timestamp()) - 120 * 86400),
         "change_type": "added", "app_type": "app", "app_id": "A0GITHUB01", "service_type": "GitHub",
         "scope": "incoming-webhook", "channel": "deploys"},
        {"user_id": people[5].slack_id, "user_name": people[5].handle, "date": str(int(end.timestamp()) - 100 * 86400),
         "change_type": "added", "app_type": "app", "app_id": "A0STANDUP1", "service_type": "Standup Bot"},
    ]})


def is_human(m: dict[str, Any], bot_users: set[str]) -> bool:
    """Apply docs/metrics.md's human-message rule to one exported message."""
    return ("user" in m and m["user"] not in bot_users and m["user"] != "USLACKBOT" and "bot_id" not in m
            and m.get("subtype") in HUMAN_SUBTYPES)


def count_demo(people: list[Person], slack: SlackBuilder, convs: list[Conv],
               prs: list[PullRequest]) -> dict[str, int]:
    """Return the headline counts of the generated workspace."""
    bot_users = {uid for uid, _ in slack.bot_ids.values()}
    msgs = [m for c in convs for m in c.msgs]
    return {
        "people": len(people),
        "slack_users": len(people) + len(BOTS),
        "conversations": len(convs),
        "messages": sum(is_human(m, bot_users) for m in msgs),
        "bot_messages": sum("bot_id" in m for m in msgs),
        "threads": sum(m.get("reply_count", 0) > 0 for m in msgs),
        "pull_requests": len(prs),
        "reviews": sum(len(pr.record["reviews"]) for pr in prs),
        "pr_comments": sum(len(pr.record["comments"]) for pr in prs),
    }

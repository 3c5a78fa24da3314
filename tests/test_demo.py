"""Prove the demo workspace is deterministic, export-shaped, and full of the patterns the marts measure.

Every check reads the written files, as the loader will; only constants of
the generator's tables (counts of people, PRs, debates) are taken on trust.
"""

from __future__ import annotations

import csv
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pytest

from pipelines.demo import generate_demo

HEADER = ["person", "slack_id", "email", "github_login", "tz", "work_start", "work_end", "workdays", "team"]
GREETING_ONLY = re.compile(
    r"^(hey|hi|hello|ping|quick q(uestion)?|got a (sec|minute)|you around|can we hop on a call)[\s!?.,]*$")
WEEKDAY = {"Mon": 0, "Tue": 1, "Wed": 2, "Thu": 3, "Fri": 4, "Sat": 5, "Sun": 6}


@dataclass
class Demo:
    """A generated workspace, read back from disk."""

    out: Path
    counts: dict[str, int]
    users: dict[str, dict[str, Any]]
    meta: dict[str, list[dict[str, Any]]]  # channels / groups / dms / mpims
    msgs: dict[str, list[tuple[str, dict[str, Any]]]]  # folder -> (day file stem, message), in file order
    people: list[dict[str, str]]
    prs: list[dict[str, Any]]

    def kind_of(self, folder: str) -> str:
        """Return the conversation type of a folder."""
        for kind, rows in (("public", "channels"), ("private", "groups"), ("dm", "dms"), ("mpim", "mpims")):
            if any(c.get("name", c["id"]) == folder or c["id"] == folder for c in self.meta[rows]):
                return kind
        raise KeyError(folder)

    def threads(self) -> dict[tuple[str, str], list[dict[str, Any]]]:
        """Return (folder, thread_ts) -> parent and replies, in time order."""
        out: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
        for folder, rows in self.msgs.items():
            for _, m in rows:
                if "thread_ts" in m:
                    out[(folder, m["thread_ts"])].append(m)
        for v in out.values():
            v.sort(key=lambda m: float(m["ts"]))
        return {k: v for k, v in out.items() if len(v) > 1}

    def tz_of(self, user_id: str) -> str | None:
        """Return a Slack user's timezone as a loader would: people.csv first, then users.json."""
        row = self.person(user_id)
        if row and row["tz"]:
            return row["tz"]
        return self.users.get(user_id, {}).get("tz")

    def person(self, user_id: str) -> dict[str, str] | None:
        """Return the people.csv row of a Slack user, by slack_id or (case-blind) e-mail."""
        email = self.users.get(user_id, {}).get("profile", {}).get("email", "").lower()
        for row in self.people:
            if row["slack_id"] == user_id or (row["email"] and row["email"].lower() == email):
                return row
        return None


def read_demo(out: Path, counts: dict[str, int]) -> Demo:
    """Read every file the generator wrote."""
    slack = out / "slack"
    meta = {name: orjson.loads((slack / f"{name}.json").read_bytes()) for name in ("channels", "groups", "dms", "mpims")}
    msgs: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for folder in sorted(p for p in slack.iterdir() if p.is_dir()):
        msgs[folder.name] = [(f.stem, m) for f in sorted(folder.glob("????-??-??.json"))
                             for m in orjson.loads(f.read_bytes())]
    users = {u["id"]: u for u in orjson.loads((slack / "users.json").read_bytes())}
    with (out / "people.csv").open(newline="", encoding="utf-8") as f:
        people = list(csv.DictReader(f))
    prs = orjson.loads((out / "github" / "prs.json").read_bytes())
    return Demo(out, counts, users, meta, msgs, people, prs)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    out = tmp_path_factory.mktemp("demo")
    return read_demo(out, generate_demo(out))


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def at(m: dict[str, Any]) -> datetime:
    return datetime.fromtimestamp(float(m["ts"]), UTC)


def is_human(demo: Demo, m: dict[str, Any]) -> bool:
    user = demo.users.get(m.get("user", ""))
    return (user is not None and not user["is_bot"] and "bot_id" not in m
            and m.get("subtype") in (None, "thread_broadcast", "file_share", "me_message"))


def in_work_hours(demo: Demo, user_id: str, t: datetime) -> bool | None:
    tz = demo.tz_of(user_id)
    if tz is None:
        return None
    row = demo.person(user_id) or {}
    local = t.astimezone(ZoneInfo(tz))
    a, b = (WEEKDAY[d] for d in (row.get("workdays") or "Mon-Fri").split("-"))
    days = {(a + i) % 7 for i in range((b - a) % 7 + 1)}
    start, end = row.get("work_start") or "09:00", row.get("work_end") or "17:00"
    return local.weekday() in days and start <= local.strftime("%H:%M") < end


# -- determinism and housekeeping ----------------------------------------------------------


def test_same_seed_gives_identical_bytes_and_another_seed_differs(tmp_path: Path) -> None:
    first = generate_demo(tmp_path / "a")
    assert generate_demo(tmp_path / "b") == first
    a, b = tree(tmp_path / "a"), tree(tmp_path / "b")
    assert list(a) == list(b)
    assert [k for k in a if a[k] != b[k]] == []
    generate_demo(tmp_path / "c", seed=8)
    c = tree(tmp_path / "c")
    assert c["github/prs.json"] != a["github/prs.json"]
    assert c["slack/users.json"] != a["slack/users.json"]


def test_rerun_replaces_only_its_own_outputs(tmp_path: Path) -> None:
    (tmp_path / "slack" / "old-channel").mkdir(parents=True)
    (tmp_path / "slack" / "old-channel" / "2020-01-01.json").write_text("[]")
    (tmp_path / "github").mkdir()
    (tmp_path / "github" / "old.json").write_text("[]")
    (tmp_path / "people.csv").write_text("stale\n")
    (tmp_path / "notes.txt").write_text("mine")
    generate_demo(tmp_path)
    assert not (tmp_path / "slack" / "old-channel").exists()
    assert not (tmp_path / "github" / "old.json").exists()
    assert (tmp_path / "people.csv").read_text().startswith("person,slack_id,")
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_history_ends_at_today_and_spans_five_months(tmp_path: Path) -> None:
    today = date(2026, 3, 2)
    generate_demo(tmp_path, today=today)
    stems = sorted(p.stem for p in (tmp_path / "slack").rglob("????-??-??.json"))
    assert stems[0] >= (today - timedelta(days=153)).isoformat()
    assert stems[-1] <= today.isoformat()
    prs = orjson.loads((tmp_path / "github" / "prs.json").read_bytes())
    stamps = [s for pr in prs for s in (pr["createdAt"], pr["closedAt"], pr["mergedAt"]) if s]
    assert max(stamps) <= f"{today.isoformat()}T23:59:59Z"


def test_counts_match_the_files(demo: Demo) -> None:
    msgs = [m for rows in demo.msgs.values() for _, m in rows]
    assert demo.counts["people"] == len(demo.people) == 30
    assert demo.counts["slack_users"] == len(demo.users) == 32
    assert demo.counts["conversations"] == sum(len(v) for v in demo.meta.values()) == 15 + 9 + 2
    assert demo.counts["messages"] == sum(is_human(demo, m) for m in msgs)
    assert demo.counts["threads"] == sum(m.get("reply_count", 0) > 0 for m in msgs) == len(demo.threads())
    assert demo.counts["pull_requests"] == len(demo.prs) == 160 + 2
    assert demo.counts["reviews"] == sum(len(pr["reviews"]) for pr in demo.prs)
    assert demo.counts["pr_comments"] == sum(len(pr["comments"]) for pr in demo.prs)
    assert 4000 <= demo.counts["messages"] <= 10000


# -- the Slack export's structure -----------------------------------------------------------


def test_every_conversation_has_its_folder_and_no_folder_is_unlisted(demo: Demo) -> None:
    listed = [c["name"] for k in ("channels", "groups", "mpims") for c in demo.meta[k]]
    listed += [c["id"] for c in demo.meta["dms"]]
    assert sorted(listed) == sorted(demo.msgs)
    assert all(demo.msgs[f] for f in listed)
    assert [len(demo.meta[k]) for k in ("channels", "groups", "dms", "mpims")] == [13, 2, 9, 2]
    assert all(c["id"].startswith("C") for c in demo.meta["channels"])
    assert all(c["id"].startswith("G") for c in demo.meta["groups"] + demo.meta["mpims"])
    assert all(c["id"].startswith("D") and len(c["members"]) == 2 for c in demo.meta["dms"])
    assert all(c["name"].startswith("mpdm-") and c["name"].endswith("-1") and len(c["members"]) == 3
               for c in demo.meta["mpims"])
    assert [c["name"] for c in demo.meta["channels"] if c["is_general"]] == ["general"]
    assert [c["name"] for c in demo.meta["channels"] if c["is_archived"]] == ["proj-q3-launch"]
    members = {u for k in demo.meta for c in demo.meta[k] for u in c["members"]}
    assert members <= set(demo.users)


def test_extra_files_sit_beside_the_messages(demo: Demo) -> None:
    slack = demo.out / "slack"
    assert (slack / "platform" / "canvas_in_the_conversation.json").is_file()
    assert "logs" in orjson.loads((slack / "integration_logs.json").read_bytes())


def test_day_files_hold_their_own_utc_day_sorted_with_unique_ts(demo: Demo) -> None:
    for folder, rows in demo.msgs.items():
        stamps = [m["ts"] for _, m in rows]
        assert len(set(stamps)) == len(stamps), folder
        assert stamps == sorted(stamps, key=float), folder  # files are read in date order
        for stem, m in rows:
            assert re.fullmatch(r"\d{10}\.\d{6}", m["ts"])
            assert at(m).date().isoformat() == stem, (folder, m["ts"])


def test_every_reply_has_its_parent_and_the_parent_lists_it(demo: Demo) -> None:
    replies = 0
    for rows in demo.msgs.values():
        by_ts = {m["ts"]: m for _, m in rows}
        listed: dict[str, list[str]] = defaultdict(list)
        for _, m in rows:
            if "thread_ts" in m and m["thread_ts"] != m["ts"]:
                replies += 1
                parent = by_ts[m["thread_ts"]]
                # A deleted parent's replies still name its original author.
                assert m["parent_user_id"] == parent["user"] or parent.get("subtype") == "tombstone"
                assert float(m["ts"]) > float(parent["ts"])
                listed[m["thread_ts"]].append(m["ts"])
        for ts, got in listed.items():
            parent = by_ts[ts]
            assert [r["ts"] for r in parent["replies"]] == got
            assert parent["reply_count"] == len(got) and parent["latest_reply"] == got[-1]
            assert parent["reply_users_count"] == len({r["user"] for r in parent["replies"]})
    assert replies > 2000


def test_users_have_bots_a_deleted_person_and_missing_timezones(demo: Demo) -> None:
    users = list(demo.users.values())
    assert sorted(u["name"] for u in users if u["is_bot"]) == ["deploybot", "standupbot"]
    assert [u["name"] for u in users if u["deleted"]] == ["rachel.green"]
    no_tz = sorted(u["name"] for u in users if "tz" not in u)
    assert no_tz == ["felix.braun", "jun.lim"]
    rows = {u["name"]: demo.person(u["id"]) or {} for u in users if u["name"] in no_tz}
    assert rows["felix.braun"]["tz"] == "Europe/Berlin"  # known only from people.csv
    assert rows["jun.lim"]["tz"] == ""  # unknown everywhere
    for u in users:
        assert u["id"].startswith("U") and set(u["profile"]) >= {"real_name", "display_name"}
        if "tz" in u:
            off = datetime(2026, 11, 16, 23, 59, 59, tzinfo=UTC).astimezone(ZoneInfo(u["tz"])).utcoffset()
            assert off is not None and u["tz_offset"] == off.total_seconds()


def test_special_message_shapes_are_present(demo: Demo) -> None:
    msgs = [m for rows in demo.msgs.values() for _, m in rows]
    bots = {u["id"] for u in demo.users.values() if u["is_bot"]}
    subtypes = Counter(m.get("subtype") for m in msgs)
    assert subtypes["file_share"] == 2
    assert subtypes["tombstone"] == 1
    assert subtypes["channel_join"] == 3
    assert subtypes["thread_broadcast"] >= 3
    assert subtypes["bot_message"] >= 100
    tomb = next(m for m in msgs if m.get("subtype") == "tombstone")
    assert tomb["user"] == "USLACKBOT" and tomb["reply_count"] >= 2
    assert all("user" not in m and m["bot_id"] and m["username"] == "deploybot"
               for m in msgs if m.get("subtype") == "bot_message")
    # The standup app posts as its bot user with no subtype: only is_bot / bot_id tell.
    assert sum(m.get("user") in bots and "subtype" not in m and "bot_id" in m for m in msgs) >= 100
    assert all(m["root"]["ts"] == m["thread_ts"] for m in msgs if m.get("subtype") == "thread_broadcast")
    assert sum("edited" in m for m in msgs) >= 50
    assert sum("files" in m for m in msgs) >= 10
    assert sum("reactions" in m for m in msgs) >= 300
    assert sum(bool(re.search(r"<@U[0-9A-Z]+>", m["text"])) for m in msgs) >= 300
    assert sum(bool(re.search(r"<https://[^|>]+\|[^>]+>", m["text"])) for m in msgs) >= 300
    assert all("user_profile" in m for m in msgs if is_human(demo, m))


# -- people.csv --------------------------------------------------------------------------------


def test_people_file_covers_timezones_teams_and_identity_gaps(demo: Demo) -> None:
    header = (demo.out / "people.csv").read_text(encoding="utf-8").splitlines()[0]
    assert header == ",".join(HEADER)
    rows = demo.people
    assert len(rows) == 30
    assert len({r["tz"] for r in rows if r["tz"]}) == 11
    assert sorted({r["team"] for r in rows}) == ["Data", "Infra", "Mobile", "Platform", "Web"]
    assert sorted((r["person"], r["work_start"], r["work_end"], r["workdays"]) for r in rows if
                  r["work_start"] or r["workdays"]) == [("Noa Levi", "08:30", "17:30", "Sun-Thu"),
                                                         ("Sam Rivera", "07:00", "15:00", "")]
    emails = {u["profile"]["email"] for u in demo.users.values() if "email" in u["profile"]}
    assert sum(r["email"] in emails for r in rows) == 28  # one differs in case, one is blank
    assert sum(r["email"].lower() in emails for r in rows) == 29
    assert sum(bool(r["github_login"]) for r in rows) == 28
    names = {u["name"] for u in demo.users.values()}
    assert not any(r["github_login"] in names for r in rows)
    assert sum(not r["slack_id"] for r in rows) == 2
    assert all(demo.person(u["id"]) for u in demo.users.values() if not u["is_bot"])
    # Slack's stale tz for the person who moved; people.csv wins.
    tomas = next(u for u in demo.users.values() if u["name"] == "tomas.ferreira")
    assert tomas["tz"] == "America/New_York" and demo.tz_of(tomas["id"]) == "Europe/Lisbon"


def test_messages_mostly_follow_working_hours_and_always_on_people_do_not(demo: Demo) -> None:
    inside: dict[str, list[bool]] = defaultdict(list)
    for rows in demo.msgs.values():
        for _, m in rows:
            if is_human(demo, m) and (ok := in_work_hours(demo, m["user"], at(m))) is not None:
                inside[demo.users[m["user"]]["name"]].append(ok)
    every = [ok for v in inside.values() for ok in v]
    assert sum(every) / len(every) > 0.85
    share = {name: 1 - sum(v) / len(v) for name, v in inside.items()}
    always_on = ("maya.patel", "marcus.johnson", "liam.obrien")
    assert min(share[n] for n in always_on) > 0.1
    assert max(v for n, v in share.items() if n not in always_on) < 0.1


# -- the deliberate patterns -------------------------------------------------------------


def test_timezone_ping_pong_between_us_west_and_uk(demo: Demo) -> None:
    def side(m: dict[str, Any]) -> str | None:
        tz = demo.tz_of(m["user"])
        off = at(m).astimezone(ZoneInfo(tz)).utcoffset() if tz else None
        hours = off.total_seconds() / 3600 if off is not None else None
        return "west" if hours in (-8, -7) else "uk" if hours in (0, 1) else None

    found = 0
    for msgs in demo.threads().values():
        if len(msgs) < 4 or not all(is_human(demo, m) for m in msgs):
            continue
        sides = [side(m) for m in msgs]
        users = [m["user"] for m in msgs]
        alternates = all(a != b for a, b in zip(users, users[1:], strict=False)) and None not in sides and all(
            a != b for a, b in zip(sides, sides[1:], strict=False))
        if alternates and at(msgs[-1]) - at(msgs[0]) >= timedelta(hours=12):
            found += 1
    assert found >= 8


def test_long_debates_end_decided_checked_or_open(demo: Demo) -> None:
    long = [msgs for msgs in demo.threads().values() if len(msgs) >= 15]
    assert len(long) == 9
    decided = [t for t in long if any(m["text"].startswith("Decision: we'll go with") for m in t)]
    checked = [t for t in long if any(r["name"] == "white_check_mark" for m in t for r in m.get("reactions", []))]
    assert len(decided) == 3 and len(checked) == 3
    assert not {id(t) for t in decided} & {id(t) for t in checked}
    outcome = re.compile(r"decision:|decided|we'll go with|let's go with|agreed|resolved|/rfc/", re.I)
    open_ = [t for t in long if t not in decided and t not in checked]
    assert len(open_) == 3 and not any(outcome.search(m["text"]) for t in open_ for m in t)
    for t in long:
        pairs = Counter(frozenset((a["user"], b["user"])) for a, b in zip(t, t[1:], strict=False)
                        if a["user"] != b["user"])
        # The same two people back and forth: strikes = handoffs // 2 >= 3, an overdue call.
        assert pairs.most_common(1)[0][1] // 2 >= 3


def test_low_context_and_rich_openers(demo: Demo) -> None:
    def bare(text: str) -> str:
        return re.sub(r"<@U\w+>|:\w+:", "", text).strip().lower()

    channel_low = dm_low = rich = 0
    for folder, rows in demo.msgs.items():
        kind = demo.kind_of(folder)
        previous: datetime | None = None
        for _, m in rows:
            top_level = m.get("thread_ts", m["ts"]) == m["ts"]
            if kind in ("public", "private") and top_level and is_human(demo, m):
                channel_low += bool(GREETING_ONLY.match(bare(m["text"])))
                rich += bool(re.search(r"\b[A-Z]+-\d+\b", m["text"])
                             and re.search(r"because|blocking|impact", m["text"], re.I)
                             and re.search(r"by EOD|no rush|within 24 h|by 15:00 UTC", m["text"], re.I))
            if kind in ("dm", "mpim"):
                silent = previous is None or at(m) - previous >= timedelta(minutes=60)
                dm_low += silent and bool(GREETING_ONLY.match(bare(m["text"])))
                previous = at(m)
    assert channel_low == 12
    assert dm_low >= 20
    assert rich >= 14


def test_broadcasts_and_pr_links(demo: Demo) -> None:
    msgs = [m for rows in demo.msgs.values() for _, m in rows if is_human(demo, m)]
    assert sum(bool(re.search(r"<!(channel|here)>", m["text"])) for m in msgs) == 14
    urls = {pr["url"] for pr in demo.prs}
    linked = [u for m in msgs for u in re.findall(r"https://github\.com/acme/\w+/pull/\d+", m["text"])]
    assert len(linked) >= 40 and set(linked) <= urls


def test_dms_are_a_visible_share_and_channels_are_long_tailed(demo: Demo) -> None:
    by_kind = Counter(demo.kind_of(f) for f, rows in demo.msgs.items() for _, m in rows if is_human(demo, m))
    total = sum(by_kind.values())
    assert 0.05 < (by_kind["dm"] + by_kind["mpim"]) / total < 0.25
    assert by_kind["private"] > 100
    sizes = sorted(sum(is_human(demo, m) for _, m in demo.msgs[c["name"]]) for c in demo.meta["channels"]
                   if c["name"] != "deploys")
    assert sizes[-1] > 8 * sizes[0]


# -- GitHub --------------------------------------------------------------------------------


def stripped(body: str) -> str:
    """Remove what a template leaves untouched: comments, headings, unticked boxes."""
    body = re.sub(r"<!--.*?-->", "", body, flags=re.S)
    return "\n".join(line for line in body.splitlines()
                     if line.strip() and not line.startswith("#") and not line.startswith("- [ ]")).strip()


def test_pull_requests_have_the_gh_layout(demo: Demo) -> None:
    iso = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
    keys = {"number", "title", "body", "author", "createdAt", "closedAt", "mergedAt", "isDraft", "labels",
            "url", "files", "reviews", "comments"}
    for pr in demo.prs:
        assert set(pr) == keys
        assert re.fullmatch(rf"https://github\.com/acme/(api|web)/pull/{pr['number']}", pr["url"])
        assert iso.fullmatch(pr["createdAt"]) and set(pr["author"]) == {"login"}
        assert pr["mergedAt"] is None or pr["mergedAt"] == pr["closedAt"]
        for r in pr["reviews"]:
            assert r["state"] in ("APPROVED", "CHANGES_REQUESTED", "COMMENTED") and iso.fullmatch(r["submittedAt"])
            assert r["submittedAt"] >= pr["createdAt"]
        for c in pr["comments"]:
            assert iso.fullmatch(c["createdAt"]) and c["createdAt"] >= pr["createdAt"]
    assert Counter(pr["url"].split("/")[4] for pr in demo.prs) == {"api": 85, "web": 77}
    assert len({(pr["url"]) for pr in demo.prs}) == len(demo.prs)


def test_pr_states_bots_and_descriptions(demo: Demo) -> None:
    prs = demo.prs
    assert Counter(pr["author"]["login"] for pr in prs if pr["author"]["login"].endswith("[bot]")) == {
        "dependabot[bot]": 1, "renovate[bot]": 1}
    assert sum(pr["isDraft"] for pr in prs) == 6
    assert all(pr["mergedAt"] is None and pr["closedAt"] is None for pr in prs if pr["isDraft"])
    assert sum(pr["closedAt"] is not None and pr["mergedAt"] is None for pr in prs) >= 8
    bot_logins = {e["author"]["login"] for pr in prs for e in pr["reviews"] + pr["comments"]
                  if e["author"]["login"].endswith("[bot]")}
    assert bot_logins >= {"codecov[bot]", "github-actions[bot]", "renovate[bot]", "dependabot[bot]"}
    human = [pr for pr in prs if not pr["author"]["login"].endswith("[bot]")]
    assert sum(pr["body"] == "" for pr in human) == 24
    assert sum(pr["body"] != "" and stripped(pr["body"]) == "" for pr in human) == 22  # untouched template
    assert sum("<!--" in pr["body"] and stripped(pr["body"]) != "" for pr in human) == 24  # only "What" filled
    filled = [pr for pr in human if "## Why\n" in pr["body"] and "<!--" not in pr["body"]]
    assert len(filled) == 42
    assert all(re.search(r"Fixes #\d+", pr["body"]) and re.search(r"[A-Z]+-\d+", pr["body"]) for pr in filled)
    assert sum("Reviewers: please" in pr["body"] or "want eyes on" in pr["body"] for pr in human) >= 10
    ui = [pr for pr in human if any(re.search(r"^web/.*\.(tsx|css)$", f["path"]) for f in pr["files"])]
    assert len(ui) >= 20
    assert all("![" in pr["body"] for pr in ui if "Tested:" in pr["body"] or pr in filled)
    assert sum("![" in pr["body"] for pr in human) == sum("Tested:" in pr["body"] or pr in filled for pr in ui)


def test_reviews_bounce_across_timezones(demo: Demo) -> None:
    tz = {r["github_login"]: r["tz"] for r in demo.people if r["github_login"] and r["tz"]}

    def offset(login: str, stamp: str) -> float:
        when = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        off = when.astimezone(ZoneInfo(tz[login])).utcoffset()
        return off.total_seconds() / 3600 if off else 0.0

    rounds = cross = 0
    for pr in demo.prs:
        author = pr["author"]["login"]
        events = sorted([(r["submittedAt"], r["author"]["login"], r["state"]) for r in pr["reviews"]]
                        + [(c["createdAt"], c["author"]["login"], "COMMENT") for c in pr["comments"]])
        asks = [i for i, e in enumerate(events) if e[2] == "CHANGES_REQUESTED"]
        answered = [i for i in asks if any(e[1] == author for e in events[i + 1:])]
        rounds += len(answered) >= 2
        for stamp, login, _ in events:
            if login in tz and author in tz and abs(offset(login, stamp) - offset(author, stamp)) >= 5:
                cross += 1
    assert rounds >= 10
    assert cross >= 100

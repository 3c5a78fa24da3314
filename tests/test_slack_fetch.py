"""`asyncpulse fetch slack` against a Slack Web API on 127.0.0.1 (tests/slack_api.py).

With 2 records a page, a first fetch calls: auth.test; users.list twice
(4 users); conversations.list once per type (group DMs refused:
missing_scope); #general's history twice (3 messages) and its thread's
replies twice (parent + 2 replies); #random's history (not_in_channel);
#leads' and the DM's history once each.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from pytest_httpserver import HTTPServer

from pipelines import jobs
from pipelines.cli import main
from tests.conftest import SlackExport, query
from tests.slack_api import TOKEN, FakeSlack

RAW = {"raw.slack_users": "id", "raw.slack_conversations": "id", "raw.slack_messages": "conversation_id, ts"}
THREAD = "1709542800.100001"
FIRST_FETCH = [
    "auth.test", "users.list", "users.list", "conversations.list", "conversations.list",
    "conversations.list", "conversations.list", "conversations.history", "conversations.history",
    "conversations.replies", "conversations.replies", "conversations.history", "conversations.history",
    "conversations.history",
]


@pytest.fixture
def slack(httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSlack]:
    from pipelines.settings import get_settings

    fake = FakeSlack()
    httpserver.expect_request(re.compile("^/api/.*")).respond_with_handler(fake)
    monkeypatch.setenv("SLACK_TOKEN", TOKEN)
    monkeypatch.setenv("ASYNCPULSE_FETCH__SLACK_API_URL", httpserver.url_for("/api"))
    monkeypatch.setenv("ASYNCPULSE_FETCH__PER_PAGE", "2")
    monkeypatch.setenv("ASYNCPULSE_FETCH__RETRY_SECONDS", "0.05")
    get_settings.cache_clear()
    yield fake


def fetch(db: Path, *args: str) -> int:
    return main(["fetch", "slack", "--db", str(db), *args])


def raw_tables(db: Path) -> dict[str, pl.DataFrame]:
    return {t: query(db, f"select * exclude (_load_id, _loaded_at) from {t} order by {k}")
            for t, k in RAW.items()}


def export_db(tmp_path: Path, fake: FakeSlack) -> Path:
    """The same workspace as Slack's export page writes it (worked out by hand), loaded.

    #random (the token is not in it) and group DMs (no mpim:read) are what
    the token cannot see, so they are not in it; a reply sits in the day
    file of the day it was posted.
    """
    by_ts = {m["ts"]: m for k, v in fake.data.items() if k.startswith("conversations.")
             and isinstance(v, list) for m in v if "ts" in m}
    convs = {c["id"]: c for c in fake.data["conversations.list"]}
    e = SlackExport(tmp_path / "export")
    e.json("users.json", fake.data["users.list"])
    e.json("channels.json", [convs["C01GENERAL"]]).json("groups.json", [convs["G01LEADS"]])
    e.json("mpims.json", []).json("dms.json", [{**convs["D01ANABEN"], "members": ["U01ANA", "U02BEN"]}])
    days = {
        "general/2024-03-04.json": [THREAD, "1709544600.200002", "1709546400.000100"],
        "general/2024-03-05.json": ["1709629200.300003", "1709636400.400004"],
        "leads/2024-03-06.json": ["1709726400.500005"],
        "D01ANABEN/2024-03-04.json": ["1709557200.600006", "1709557500.700007"],
    }
    for rel, stamps in days.items():
        e.json(rel, [by_ts[t] for t in stamps])
    db = tmp_path / "export.duckdb"
    jobs.ingest(db, "slack", e.root)
    return db


def assert_same_raw(a: Path, b: Path) -> None:
    ta, tb = raw_tables(a), raw_tables(b)
    for t in RAW:
        assert_frame_equal(ta[t], tb[t])


def test_fetch_writes_the_export_the_loader_reads(slack: FakeSlack, tmp_path: Path) -> None:
    db = tmp_path / "fetch.duckdb"
    assert fetch(db) == 0
    assert slack.methods() == FIRST_FETCH
    assert [p.get("cursor") for _, p in slack.requests] == [None] * len(FIRST_FETCH)  # kept apart
    assert_same_raw(db, export_db(tmp_path, slack))
    assert query(db, 'select conversation_id, ts, "user", thread_ts, _source_file from raw.slack_messages '
                     "order by _source_file, ts").rows() == [
        ("D01ANABEN", "1709557200.600006", "U02BEN", None, "D01ANABEN/2024-03-04.json"),
        ("D01ANABEN", "1709557500.700007", "U01ANA", None, "D01ANABEN/2024-03-04.json"),
        ("C01GENERAL", THREAD, "U01ANA", THREAD, "general/2024-03-04.json"),
        ("C01GENERAL", "1709544600.200002", "U02BEN", THREAD, "general/2024-03-04.json"),
        ("C01GENERAL", "1709546400.000100", "U02BEN", None, "general/2024-03-04.json"),
        ("C01GENERAL", "1709629200.300003", "U03CAI", THREAD, "general/2024-03-05.json"),
        ("C01GENERAL", "1709636400.400004", "U03CAI", None, "general/2024-03-05.json"),
        ("G01LEADS", "1709726400.500005", "U01ANA", None, "leads/2024-03-06.json"),
    ]
    assert query(db, "select scope, item, cursor, status from raw.fetch_state order by scope, item").rows() == [
        ("C01GENERAL", "", "1709636400.400004", "ok"),
        ("C01GENERAL", f"thread:{THREAD}", "1709629200.300003", "ok"),
        ("C02RANDOM", "", None, "not_in_channel"),
        ("D01ANABEN", "", "1709557500.700007", "ok"),
        ("G01LEADS", "", "1709726400.500005", "ok"),
        ("type:mpim", "", None, "missing_scope"),
    ]


def test_coverage_says_what_the_token_could_not_read(slack: FakeSlack, tmp_path: Path) -> None:
    db = tmp_path / "fetch.duckdb"
    fetch(db)
    jobs.build(db)
    assert query(db, "select value, note from marts.coverage where item = 'conversations the token could not read'"
                 ).rows() == [("2", "mpim conversations (needs mpim:read): missing_scope; random (public): "
                                    "not_in_channel")]


def test_incremental_fetch_asks_from_oldest_and_only_the_changed_thread(slack: FakeSlack, tmp_path: Path) -> None:
    db = tmp_path / "fetch.duckdb"
    fetch(db)
    slack.requests.clear()
    reply = {"type": "message", "user": "U02BEN", "text": "16:00 works.", "ts": "1709802000.800008",
             "thread_ts": THREAD, "parent_user_id": "U01ANA", "team": "T01ACME"}
    new = {"type": "message", "user": "U01ANA", "text": "Shipped.", "ts": "1709805600.900009", "team": "T01ACME"}
    slack.add_message("C01GENERAL", reply, thread=THREAD)
    slack.add_message("C01GENERAL", new)
    assert fetch(db) == 0
    calls = [(m, p) for m, p in slack.requests if m.startswith("conversations.") and "channel" in p]
    # 14 days before each conversation's newest message; the thread from its last reply
    assert calls == [
        ("conversations.history", {"channel": "C01GENERAL", "limit": "2", "oldest": "1708426800.400004"}),
        ("conversations.history", {"channel": "C01GENERAL", "limit": "2", "oldest": "1708426800.400004"}),
        ("conversations.replies", {"channel": "C01GENERAL", "limit": "2", "oldest": "1709629200.300003",
                                   "ts": THREAD}),
        ("conversations.history", {"channel": "C02RANDOM", "limit": "2"}),
        ("conversations.history", {"channel": "G01LEADS", "limit": "2", "oldest": "1708516800.500005"}),
        ("conversations.history", {"channel": "D01ANABEN", "limit": "2", "oldest": "1708347900.700007"}),
    ]
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    assert_same_raw(db, export_db_with(fresh, slack, {"general/2024-03-07.json": [reply["ts"], new["ts"]]}))
    assert query(db, "select rows_added, rows_replaced from raw.loads order by started_at").rows() == [
        # 4 users, 3 readable conversations, 8 messages; then the two new messages, and the
        # thread's parent replaced (its reply_count went 2 -> 3); the rest fetched again is the same
        (15, 0), (2, 1)]


def export_db_with(tmp_path: Path, fake: FakeSlack, extra: dict[str, list[str]]) -> Path:
    """`export_db` plus more day files (stamps of messages now in the fake's history)."""
    db = export_db(tmp_path, fake)
    by_ts = {m["ts"]: m for k, v in fake.data.items() if k.startswith("conversations.")
             and isinstance(v, list) for m in v if "ts" in m}
    e = SlackExport(tmp_path / "export")
    for rel, stamps in extra.items():
        e.json(rel, [by_ts[t] for t in stamps])
    jobs.ingest(db, "slack", e.root)
    return db


def test_nothing_changed_is_a_handful_of_requests(slack: FakeSlack, tmp_path: Path) -> None:
    db = tmp_path / "fetch.duckdb"
    fetch(db)
    before = raw_tables(db)
    slack.requests.clear()
    assert fetch(db) == 0
    # the metadata, and one history page per readable conversation; no replies
    assert slack.methods() == FIRST_FETCH[:7] + ["conversations.history"] * 5
    for t, frame in raw_tables(db).items():
        assert_frame_equal(frame, before[t])


def test_429_waits_retry_after(slack: FakeSlack, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "fetch.duckdb"
    slack.rate_limit("conversations.history", retry_after=1)
    assert fetch(db) == 0
    assert slack.methods() == FIRST_FETCH[:7] + ["conversations.history"] + FIRST_FETCH[7:]
    assert "secondary rate limit (HTTP 429): retrying after 1 s" in capsys.readouterr().err
    assert_same_raw(db, export_db(tmp_path, slack))


class Killed(BaseException):
    pass


def test_killed_mid_fetch_resumes_to_the_same_rows(
    slack: FakeSlack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipelines.sources import http

    db = tmp_path / "fetch.duckdb"
    real = http.Client.__post_init__

    def before(url: str) -> None:
        if "conversations.history" in url and "G01LEADS" in url:
            raise Killed

    def with_kill(self: Any) -> None:
        real(self)
        self.before_request = before

    with monkeypatch.context() as m:
        m.setattr(http.Client, "__post_init__", with_kill)
        with pytest.raises(Killed):
            fetch(db)
    assert not db.exists()
    slack.requests.clear()
    assert fetch(db) == 0
    # #general and #random were complete: not asked again; the run finishes from #leads
    assert [p.get("channel") for m, p in slack.requests if m == "conversations.history"][:2] == [
        "G01LEADS", "D01ANABEN"]
    assert_same_raw(db, export_db(tmp_path, slack))


def test_no_token_is_one_line(slack: FakeSlack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                              capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("SLACK_TOKEN")
    assert fetch(tmp_path / "fetch.duckdb") == 1
    assert capsys.readouterr().err.startswith("asyncpulse: fetch slack needs a token in SLACK_TOKEN")


def test_since_bounds_the_first_fetch(slack: FakeSlack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`fetch.since`: history from that day on (UTC); a thread begun before it is not fetched."""
    from pipelines.settings import get_settings

    monkeypatch.setenv("ASYNCPULSE_FETCH__SINCE", "2024-03-05")
    get_settings.cache_clear()
    db = tmp_path / "fetch.duckdb"
    assert fetch(db) == 0
    oldest = {p.get("oldest") for m, p in slack.requests if m == "conversations.history"}
    assert oldest == {"1709596800"}  # 2024-03-05 00:00:00 UTC
    assert "conversations.replies" not in slack.methods()
    assert query(db, "select conversation_id, ts from raw.slack_messages order by ts").rows() == [
        ("C01GENERAL", "1709636400.400004"), ("G01LEADS", "1709726400.500005")]

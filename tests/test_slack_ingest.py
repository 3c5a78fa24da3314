"""Slack export -> raw and staging: shapes, idempotence, increments, bad input."""

from __future__ import annotations

import zipfile
from datetime import UTC, datetime
from pathlib import Path

import orjson
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from pipelines import jobs
from pipelines.exports import ExportError
from tests.conftest import SlackExport, msg, query, ts
from tests.workspace import FACTS, PARENT_TS, build_workspace

RAW_COLUMNS = "conversation_id, ts, subtype, \"user\", text, thread_ts, reply_count, edited_ts"


def load(db: Path, path: Path, people: Path | None = None) -> jobs.LoadReport:
    report = jobs.ingest(db, "slack", path)
    jobs.build(db, people)
    return report


def test_every_conversation_type_and_unlisted_folder(export: SlackExport, db_path: Path) -> None:
    build_workspace(export)
    report = load(db_path, export.root)
    assert (report.status, report.files_read, report.files_skipped) == ("ok", FACTS["day_files"], 0)
    convs = query(db_path, "select id, conversation_type, folder, is_listed from raw.slack_conversations order by id")
    assert convs.rows() == FACTS["conversations"]
    per = query(db_path, "select conversation_id, count(*) n from raw.slack_messages group by 1 order by 1")
    assert dict(per.rows()) == FACTS["per_conversation"]
    # Unlisted folders, the canvas file and the extra top-level files are noted, not errors.
    assert report.problems == []
    assert report.notes == [
        "1 non-message files in conversation folders skipped: general/canvas_in_the_conversation.json",
        "3 folders not in any metadata file, typed by name: DABCDEF123 (dm), mpdm-x--y-1 (mpim), "
        "old-channel (public)",
    ]


def test_raw_rows_carry_source_file_and_load(export: SlackExport, db_path: Path) -> None:
    build_workspace(export)
    report = load(db_path, export.root)
    got = query(db_path, "select _source_file, count(*) n, count(distinct _load_id) loads from raw.slack_messages group by 1 order by 1")
    assert got.rows() == [
        ("D1/2024-03-04.json", 2, 1), ("DABCDEF123/2024-03-07.json", 1, 1),
        ("design/2024-03-04.json", 2, 1), ("general/2024-03-04.json", 4, 1),
        ("general/2024-03-05.json", 6, 1), ("leads/2024-03-06.json", 1, 1),
        ("mpdm-ana--ben--cai-1/2024-03-04.json", 1, 1), ("mpdm-x--y-1/2024-03-07.json", 1, 1),
        ("old-channel/2024-03-07.json", 1, 1),
    ]
    loads = query(db_path, "select distinct _load_id from raw.slack_messages")
    assert loads.item() == report.load_id
    row = query(db_path, "select load_id, source, status, files_read, files_skipped, rows_added, rows_replaced, problems from raw.loads")
    # rows added: 19 messages + 5 users + 8 conversations
    assert row.rows() == [(report.load_id, "slack", "ok", 9, 0, 32, 0, [])]


def test_staging_messages_exact_rows(export: SlackExport, db_path: Path) -> None:
    build_workspace(export)
    load(db_path, export.root)
    got = query(db_path, """
        select message_id, conversation_type, author_id, subtype, is_human, thread_id, is_reply,
               is_thread_parent, is_edited, has_files
        from staging.stg_slack__messages where conversation_id = 'C1' order by ts""")
    t = PARENT_TS
    thread = f"slack:C1:{t}"
    expected = pl.DataFrame(
        [
            (f"C1:{t}", "public", "U1", None, True, thread, False, True, False, False),
            (f"C1:{ts('2024-03-04', 17, 5)}", "public", "U3", "channel_join", False,
             f"slack:C1:{ts('2024-03-04', 17, 5)}", False, False, False, False),
            (f"C1:{ts('2024-03-04', 17, 10)}", "public", None, "bot_message", False,
             f"slack:C1:{ts('2024-03-04', 17, 10)}", False, False, False, False),
            (f"C1:{ts('2024-03-04', 18)}", "public", "U2", None, True, thread, True, False, False, False),
            (f"C1:{ts('2024-03-05', 9)}", "public", "U1", None, True, thread, True, False, False, False),
            (f"C1:{ts('2024-03-05', 9, 30)}", "public", "U2", "thread_broadcast", True, thread, True, False, False, False),
            (f"C1:{ts('2024-03-05', 10)}", "public", "U1", None, True,
             f"slack:C1:{ts('2024-03-05', 10)}", False, False, True, False),
            (f"C1:{ts('2024-03-05', 11)}", "public", "USLACKBOT", "tombstone", False,
             f"slack:C1:{ts('2024-03-05', 11)}", False, False, False, False),
            (f"C1:{ts('2024-03-05', 12)}", "public", "U2", "me_message", True,
             f"slack:C1:{ts('2024-03-05', 12)}", False, False, False, False),
            (f"C1:{ts('2024-03-05', 13)}", "public", "B1", None, False,
             f"slack:C1:{ts('2024-03-05', 13)}", False, False, False, False),
        ],
        schema=list(got.columns), orient="row",
    )
    assert_frame_equal(got, expected)
    assert query(db_path, "select count(*) from staging.stg_slack__messages where is_human").item() == FACTS["human"]


def test_times_keep_microseconds_and_local_time(export: SlackExport, db_path: Path) -> None:
    build_workspace(export)
    load(db_path, export.root)
    got = query(db_path, """
        select author_id, author_tz, sent_at, sent_at_local from staging.stg_slack__messages
        where message_id in (?, ?, ?) order by sent_at""",
        [f"C1:{PARENT_TS}", f"C1:{ts('2024-03-04', 18)}", f"C2:{ts('2024-03-04', 12, 30)}"])
    assert got.rows() == [
        # dee's tz is not an IANA name: unknown, so no local time (never silently UTC)
        ("U4", None, datetime(2024, 3, 4, 12, 30, tzinfo=UTC), None),
        # 17:00:00.123456 UTC is 09:00:00.123456 in Los Angeles (PST, UTC-8, before DST on 10 March)
        ("U1", "America/Los_Angeles", datetime(2024, 3, 4, 17, 0, 0, 123456, tzinfo=UTC),
         datetime(2024, 3, 4, 9, 0, 0, 123456)),
        ("U2", "Europe/London", datetime(2024, 3, 4, 18, tzinfo=UTC), datetime(2024, 3, 4, 18)),
    ]


def test_users_with_unknown_timezones(export: SlackExport, db_path: Path) -> None:
    build_workspace(export)
    load(db_path, export.root)
    got = query(db_path, "select user_id, tz, tz_as_exported, has_known_tz, is_bot from staging.stg_slack__users order by user_id")
    assert got.rows() == [
        ("B1", None, None, False, True),
        ("U1", "America/Los_Angeles", "America/Los_Angeles", True, False),
        ("U2", "Europe/London", "Europe/London", True, False),
        ("U3", None, None, False, False),
        ("U4", None, "Mars/Olympus_Mons", False, False),
    ]


def test_old_format_file_comment_and_unicode(export: SlackExport, db_path: Path) -> None:
    build_workspace(export)
    load(db_path, export.root)
    got = query(db_path, """
        select conversation_id, author_id, subtype, is_human, has_files, text
        from staging.stg_slack__messages where conversation_id in ('old-channel', 'C2') order by ts""")
    assert got.rows() == [
        ("C2", "U2", "file_share", True, True, "mockup attached"),
        ("C2", "U4", None, True, False, "Grüße 👋 日本語 — ünïcödé"),
        ("old-channel", "U2", "file_comment", True, True, "<@U2> commented on mock.png: nice"),
    ]


def test_zip_and_folder_load_the_same_rows(export: SlackExport, tmp_path: Path) -> None:
    build_workspace(export)
    a, b = tmp_path / "a.duckdb", tmp_path / "b.duckdb"
    load(a, export.root)
    # Slack's own ZIPs have no wrapping folder; people's re-zips often do.
    load(b, export.zip(tmp_path / "export.zip", prefix="acme-export/"))
    sql = f"select {RAW_COLUMNS}, _source_file from raw.slack_messages order by conversation_id, ts"
    assert_frame_equal(query(a, sql), query(b, sql))


def test_same_export_twice_changes_nothing(export: SlackExport, db_path: Path, tmp_path: Path) -> None:
    build_workspace(export)
    z = export.zip(tmp_path / "export.zip")
    load(db_path, z)
    before = query(db_path, "select * from raw.slack_messages order by conversation_id, ts")
    again = jobs.ingest(db_path, "slack", z)
    assert (again.status, again.rows_added, again.rows_replaced, again.files_read) == ("unchanged", 0, 0, 0)
    assert_frame_equal(query(db_path, "select * from raw.slack_messages order by conversation_id, ts"), before)
    assert query(db_path, "select status from raw.loads order by started_at").to_series().to_list() == ["ok", "unchanged"]


def test_later_export_adds_new_and_replaces_edited(export: SlackExport, db_path: Path, tmp_path: Path) -> None:
    build_workspace(export)
    load(db_path, export.zip(tmp_path / "first.zip"))
    # The next export: one message edited, one new day, everything else identical.
    export.day("leads", "2024-03-06", [
        msg("U1", "private note (edited)", ts("2024-03-06", 8), edited={"user": "U1", "ts": ts("2024-03-06", 9)}),
    ])
    export.day("leads", "2024-03-08", [msg("U2", "new day", ts("2024-03-08", 8))])
    second = jobs.ingest(db_path, "slack", export.zip(tmp_path / "second.zip"))
    assert (second.status, second.rows_added, second.rows_replaced) == ("ok", 1, 1)
    # Only the two changed day files were parsed; the other eight were known by their CRC.
    assert second.files_read == 2
    got = query(db_path, "select ts, text, edited_ts is not null edited from raw.slack_messages where conversation_id = 'G1' order by ts")
    assert got.rows() == [
        (ts("2024-03-06", 8), "private note (edited)", True),
        (ts("2024-03-08", 8), "new day", False),
    ]
    assert query(db_path, "select count(*) from raw.slack_messages").item() == FACTS["messages"] + 1
    dup = query(db_path, "select count(*) from (select conversation_id, ts from raw.slack_messages group by all having count(*) > 1)")
    assert dup.item() == 0


def test_thread_reply_arriving_later_updates_parent(export: SlackExport, db_path: Path, tmp_path: Path) -> None:
    """A reply in a later export bumps the parent's reply_count: the parent row is replaced."""
    build_workspace(export)
    load(db_path, export.root)
    day = orjson.loads((export.root / "general/2024-03-04.json").read_bytes())
    day[0]["reply_count"] = 4
    export.day("general", "2024-03-04", day)
    export.day("general", "2024-03-09", [msg("U2", "late reply", ts("2024-03-09", 9), thread_ts=PARENT_TS, parent_user_id="U1")])
    r = jobs.ingest(db_path, "slack", export.root)
    assert (r.rows_added, r.rows_replaced) == (1, 1)
    jobs.build(db_path)
    got = query(db_path, "select count(*) from staging.stg_slack__messages where thread_id = ?", [f"slack:C1:{PARENT_TS}"])
    assert got.item() == 5


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b'[{"type": "message", "ts": "1709571600.000000", "text": "cut', "truncated or invalid JSON"),
        (b"not json at all", "truncated or invalid JSON"),
        (b'{"messages": []}', "not a JSON array of messages"),
        (b'[1, 2, 3]', "element 0 is not a message object"),
        (b'[{"ts": "1709571600.000000", "user": "U1", "text": {"oops": 1}}]',
         "field 'text' has a value of the wrong type"),
        (b'[{"ts": "1709571600.000000", "user": "U1", "reply_count": "three"}]',
         "field 'reply_count' has a value of the wrong type"),
    ],
)
def test_bad_day_file_is_skipped_and_named(
    export: SlackExport, db_path: Path, content: bytes, problem: str
) -> None:
    build_workspace(export)
    export.raw("general/2024-03-10.json", content)
    report = load(db_path, export.root)
    assert report.status == "partial" and report.exit_code == 3
    assert (report.files_read, report.files_skipped) == (FACTS["day_files"] + 1, 1)
    assert report.problems == [f"general/2024-03-10.json: {problem}; skipped"]
    assert query(db_path, "select count(*) from raw.slack_messages").item() == FACTS["messages"]
    stored = query(db_path, "select status, files_skipped, problems from raw.loads")
    assert stored.rows() == [("partial", 1, [f"general/2024-03-10.json: {problem}; skipped"])]


def test_messages_without_valid_ts_are_dropped_and_reported(export: SlackExport, db_path: Path) -> None:
    build_workspace(export)
    export.day("design", "2024-03-11", [
        msg("U1", "ok", ts("2024-03-11", 9)), {"type": "message", "user": "U1", "text": "no ts"},
        msg("U1", "bad ts", "yesterday"),
    ])
    report = load(db_path, export.root)
    assert report.problems == ["design/2024-03-11.json: 2 messages without a valid ts; those dropped"]
    assert query(db_path, "select count(*) from raw.slack_messages where conversation_id = 'C2'").item() == 3


def test_failed_file_is_retried_by_a_fixed_export(export: SlackExport, db_path: Path) -> None:
    build_workspace(export)
    export.raw("general/2024-03-10.json", b"[{")
    load(db_path, export.root)
    export.day("general", "2024-03-10", [msg("U1", "repaired", ts("2024-03-10", 9))])
    r = jobs.ingest(db_path, "slack", export.root)
    assert (r.status, r.files_read, r.rows_added) == ("ok", 1, 1)


def test_unsafe_zip_entries_are_refused_never_written(export: SlackExport, tmp_path: Path, db_path: Path) -> None:
    build_workspace(export)
    z = export.zip(tmp_path / "evil.zip")
    with zipfile.ZipFile(z, "a") as zf:
        zf.writestr("../escape/2024-03-04.json", b"[]")
        zf.writestr("/abs/2024-03-04.json", b"[]")
    report = load(db_path, z)
    assert sorted(report.problems) == [
        "../escape/2024-03-04.json: '..' in path",
        "/abs/2024-03-04.json: absolute path",
    ]
    assert not (tmp_path.parent / "escape").exists() and not Path("/abs").exists()
    assert query(db_path, "select count(*) from raw.slack_messages").item() == FACTS["messages"]


def test_zip_bomb_entry_is_refused(export: SlackExport, tmp_path: Path, db_path: Path) -> None:
    build_workspace(export)
    z = export.zip(tmp_path / "bomb.zip")
    with zipfile.ZipFile(z, "a", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("general/2024-03-12.json", b"[" + b" " * 5_000_000 + b"]")
        info = zf.getinfo("general/2024-03-12.json")
    ratio = info.file_size // info.compress_size
    assert ratio > 200  # the default limit
    report = load(db_path, z)
    assert report.problems == [f"general/2024-03-12.json: compression ratio {ratio}:1, a likely zip bomb"]


@pytest.mark.parametrize("kind", ["corrupt zip", "not an export", "missing"])
def test_unreadable_export_leaves_database_untouched(
    export: SlackExport, tmp_path: Path, db_path: Path, kind: str
) -> None:
    build_workspace(export)
    load(db_path, export.root)
    before = db_path.read_bytes()
    bad = tmp_path / "bad"
    if kind == "corrupt zip":
        bad = tmp_path / "bad.zip"
        bad.write_bytes(export.zip(tmp_path / "ok.zip").read_bytes()[:500])
    elif kind == "not an export":
        (bad / "photos").mkdir(parents=True)
        (bad / "photos" / "cat.jpg").write_bytes(b"\xff\xd8")
    with pytest.raises(ExportError):
        jobs.ingest(db_path, "slack", bad)
    assert db_path.read_bytes() == before
    assert sorted(p.name for p in db_path.parent.glob("*.tmp*")) == []


def test_settings_filter_channels_and_since(
    export: SlackExport, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipelines.settings import get_settings

    build_workspace(export)
    monkeypatch.setenv("ASYNCPULSE_EXCLUDE_CHANNELS", '["design", "D1"]')
    monkeypatch.setenv("ASYNCPULSE_SINCE", "2024-03-05")
    get_settings.cache_clear()
    load(db_path, export.root)
    per = query(db_path, "select conversation_id, count(*) from raw.slack_messages group by 1 order by 1")
    assert per.rows() == [("C1", 6), ("DABCDEF123", 1), ("G1", 1), ("mpdm-x--y-1", 1), ("old-channel", 1)]


PANDAS_PROBE = """
import sys
from pipelines.sources.slack_parse import append_messages_fast, MESSAGE_FIELDS, _columns_to_arrays
cols = [[] for _ in MESSAGE_FIELDS]
n = append_messages_fast(b'[{"ts": "1700000000.000100", "user": "U1", "text": "hi"}]', cols)
arrays = _columns_to_arrays(cols, 0, n)
print("pandas" in sys.modules, arrays[0].to_pylist())
import pandas as pd
from pipelines.arrow import pa
print(pa.Table.from_pandas(pd.DataFrame({"a": [1, 2]})).column("a").to_pylist())
"""


def test_the_parse_converts_to_arrow_without_importing_pandas() -> None:
    """pyarrow's probe for pandas (0.25 s a process) is skipped; pandas still works when wanted."""
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", PANDAS_PROBE], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).parent.parent).stdout.splitlines()
    assert out == ["False ['1700000000.000100']", "[1, 2]"]

"""`--redact`: a redacted database holds no message text and no real name, and still builds."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pytest

from pipelines.cli import main
from pipelines.redact import key_path, pseudonym
from tests.conftest import SlackExport, msg, query, ts
from tests.workspace import USERS, build_workspace

LINKED = msg("U1", "<!here> decision: we'll go with <https://github.com/acme/api/pull/12|#12> because "
                   "it is faster, can you review by Friday?", ts("2024-03-06", 10),
             thread_ts=ts("2024-03-06", 10), reply_count=1)


@pytest.fixture(autouse=True)
def _redact_off_after(monkeypatch: pytest.MonkeyPatch) -> None:
    """`--redact` sets ASYNCPULSE_REDACT for the process (the CLI's lifetime); undo it after each test."""
    monkeypatch.setenv("ASYNCPULSE_REDACT", "false")


def _workspace(root: Path) -> SlackExport:
    e = build_workspace(SlackExport(root))
    e.day("general", "2024-03-06", [LINKED, msg("U2", "sounds good", ts("2024-03-06", 11), thread_ts=ts("2024-03-06", 10))])
    return e


def _needles(e: SlackExport) -> set[str]:
    """Every message text, topic, purpose, file name and user name of the export, and lower forms."""
    found: set[str] = set()

    def walk(v: Any, key: str = "") -> None:
        if isinstance(v, dict):
            for k, x in v.items():
                walk(x, k)
        elif isinstance(v, list):
            for x in v:
                walk(x, key)
        elif isinstance(v, str) and v and key in (
            "text", "value", "name", "real_name", "display_name", "email", "title", "comment"
        ) and not v.startswith(("mpdm-", "general", "design", "leads")):
            found.add(v)

    for p in e.root.rglob("*.json"):
        walk(orjson.loads(p.read_bytes()))
    for u in USERS:
        walk(u)
    return found | {n.lower() for n in found}


def _strings(v: Any) -> list[str]:
    if isinstance(v, str):
        return [v]
    if isinstance(v, (list, tuple)):
        return [s for x in v for s in _strings(x)]
    if isinstance(v, dict):
        return [s for x in v.values() for s in _strings(x)]
    return []


def _leaks(db: Path, needles: set[str]) -> list[str]:
    """Scan every text, JSON and list column of every table in every schema for a needle."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        cols = con.execute(
            "select schema_name, table_name, column_name from duckdb_columns() "
            "where database_name = current_database() and (data_type like '%VARCHAR%' "
            "or data_type like '%JSON%' or data_type like '%[]%' or data_type like 'STRUCT%')"
        ).fetchall()
        assert len(cols) > 50
        leaks = []
        long = [n.lower() for n in needles if len(n) >= 8]
        exact = {n.lower() for n in needles}
        for schema, table, column in cols:
            for (v,) in con.execute(f'select distinct "{column}" from "{schema}"."{table}"').fetchall():
                for s in _strings(v):
                    low = s.lower()
                    if low in exact or any(n in low for n in long):
                        leaks.append(f"{schema}.{table}.{column}: {s[:60]!r}")
        return leaks
    finally:
        con.close()


def test_the_scan_finds_what_an_ordinary_load_keeps(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The scan works: a database loaded without --redact is full of text and names."""
    e = _workspace(tmp_path / "export")
    db = tmp_path / "clear.duckdb"
    assert main(["ingest", "slack", str(e.root), "--db", str(db)]) == 0
    assert main(["build", "--db", str(db)]) == 0
    leaks = _leaks(db, _needles(e))
    assert any(x.startswith("raw.slack_messages.text") for x in leaks)
    assert any(x.startswith("raw.slack_users.real_name") for x in leaks)
    assert any(x.startswith("marts.openers.text") for x in leaks)


def test_a_redacted_database_holds_no_text_and_no_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    e = _workspace(tmp_path / "export")
    people = tmp_path / "people.csv"
    people.write_text(
        "person,slack_id,email,github_login,tz,work_start,work_end,workdays,team\n"
        "Ana Lopez,U1,ana@example.com,ana-gh,,,,,core\n"
    )
    db = tmp_path / "red.duckdb"
    assert main(["ingest", "slack", str(e.root), "--db", str(db), "--redact"]) == 0
    assert main(["build", "--db", str(db), "--people", str(people), "--redact"]) == 0
    needles = _needles(e) | {"Ana Lopez", "ana lopez"}
    assert _leaks(db, needles) == []
    # The metrics still have what they need.
    assert query(db, "select count(*) as n from raw.slack_messages where text is not null").item() == 0
    assert query(db, "select count(*) as n from raw.slack_messages where text_redacted").item() == 21
    row = query(db, """select text_words, text_links, has_broadcast, has_decision, pr_links,
                              opener_low_context, opener_has_what, opener_has_why, opener_has_ask,
                              opener_has_expectation
                       from raw.slack_messages where ts = ?""", [LINKED["ts"]]).row(0)
    assert row == (15, 1, True, True, ["acme/api#12"], False, True, True, True, True)
    hey = query(db, "select opener_low_context, text_words from raw.slack_messages where text_words = 1 "
                    "and conversation_id = 'D1' order by ts").rows()
    assert hey == [(True, 1), (True, 1)]  # "hey", "hi"
    # Names are pseudonyms, the same one wherever the name appears; e-mail matching still works.
    key = key_path(db).read_bytes().strip()
    users = dict(query(db, "select id, email from raw.slack_users").rows())
    assert users["U1"] == pseudonym("ana@example.com", key)
    assert query(db, "select person, email from raw.people").row(0) == (
        pseudonym("Ana Lopez", key), pseudonym("ana@example.com", key))
    matched = query(db, "select display_name, matched_by from intermediate.int_people__matched "
                        "where list_contains(slack_ids, 'U1')").row(0)
    assert matched[0] == pseudonym("Ana Lopez", key)
    # The key lives outside the database, readable by its owner only; so does the database.
    assert stat.S_IMODE(key_path(db).stat().st_mode) == 0o600
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
    for mart in ("threads", "openers", "people_weekly", "weekly_mix", "coverage"):
        assert query(db, f"select count(*) as n from marts.{mart}").item() > 0


def test_redacting_again_redacts_what_was_loaded_in_clear(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The same export loaded with --redact is not 'unchanged': its rows are replaced, redacted."""
    e = _workspace(tmp_path / "export")
    db = tmp_path / "db.duckdb"
    assert main(["ingest", "slack", str(e.root), "--db", str(db)]) == 0
    assert main(["ingest", "slack", str(e.root), "--db", str(db), "--redact"]) == 0
    assert query(db, "select count(*) as n from raw.slack_messages where text is not null").item() == 0
    assert query(db, "select count(*) as n from raw.slack_users where real_name not like 'person-%'").item() == 0


def test_the_redact_key_setting_gives_the_same_pseudonyms_everywhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from pipelines.settings import get_settings

    monkeypatch.setenv("ASYNCPULSE_REDACT", "true")
    monkeypatch.setenv("ASYNCPULSE_REDACT_KEY", "team-secret")
    get_settings.cache_clear()
    e = _workspace(tmp_path / "export")
    db = tmp_path / "db.duckdb"
    assert main(["ingest", "slack", str(e.root), "--db", str(db)]) == 0
    assert not key_path(db).exists()
    assert query(db, "select name from raw.slack_users where id = 'U2'").item() == pseudonym("ben", b"team-secret")

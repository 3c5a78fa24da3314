"""What SECURITY.md promises, tried as an attacker and as bad luck would.

`sql` reaches no file, the database's own included; `forget` and `--redact`
leave no removed word in the file's bytes; archive bombs are measured by the
bytes really inflated; crashes leave nothing behind for long; edges get one line.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipelines.cli import main
from tests.conftest import SlackExport, msg, query, ts, user
from tests.helpers import digest, load_and_build, make_workspace, tree
from tests.workspace import FACTS, USERS, build_workspace


@pytest.fixture(scope="module")
def built_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("trust")
    mp = pytest.MonkeyPatch()
    mp.setenv("ASYNCPULSE_SETTINGS", str(root / "no-settings.toml"))
    db = root / "built.duckdb"
    load_and_build(db, make_workspace(root / "export"))
    mp.undo()
    yield db


# --- sql reaches no file ----------------------------------------------------------------------

# Each names the database's own files, which DuckDB's enable_external_access=false still allows.
OWN_FILES = [
    "copy (select 'x' as a) to '{db}' (format csv, use_tmp_file false)",
    "copy (select 'x' as a) to '{db}.wal' (format csv, use_tmp_file false)",
    "copy (select 'x' as a) to '{db}.wal.recovery' (format csv)",
    "copy (select 'x' as a) to '{db}.wal.checkpoint' (format csv)",
    "copy raw.slack_messages to '{db}.tmp/messages.csv'",
    "export database '{db}.tmp'",
    "export database '{db}.tmp' (format parquet)",
    "select count(*) from read_blob('{db}')",
    "select content from read_text('{db}.wal')",
    "select * from read_csv('{db}')",
    "from '{db}.tmp/messages.csv'",
    "attach '{db}' as again",
    "attach '{db}' as again (read_only)",
    "checkpoint",
    "force checkpoint",
    "vacuum",
    "pragma enable_profiling",
    "prepare p as copy (select 1) to '{db}'",
    "select 1; copy (select 'x' as a) to '{db}' (format csv)",
    "call checkpoint()",
]


@pytest.mark.parametrize("sql", OWN_FILES)
def test_sql_reaches_not_even_the_databases_own_files(
    sql: str, built_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "copy.duckdb"
    shutil.copyfile(built_db, db)
    before = tree(tmp_path)
    code = main(["sql", sql.format(db=db), "--db", str(db)])
    out, err = capsys.readouterr()
    assert (code, out) == (1, ""), f"the statement ran: {sql}"
    assert len(err.splitlines()) == 1 and err.startswith("asyncpulse: "), err
    assert tree(tmp_path) == before  # byte for byte, and nothing created beside it
    assert query(db, "select count(*) from raw.slack_messages").item() == FACTS["messages"]


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("select count(*) as n from raw.slack_messages", f"│ {FACTS['messages']} │"),
        ("from raw.loads select count(*) as n", "│ 1 │"),
        ("describe raw.loads", "│ load_id "),
        ("summarize raw.loads", "│ load_id "),
        ("show tables", "│ name "),
        ("explain select 1", "physical_plan"),
        ("with x as (select 41 + 1 as n) select * from x", "│ 42 │"),
    ],
)
def test_sql_still_answers_queries(
    sql: str, expected: str, built_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["sql", sql, "--db", str(built_db)])
    out, err = capsys.readouterr()
    assert (code, err) == (0, "")
    assert expected in out


def test_sql_says_why_a_statement_is_refused(
    built_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sql", "export database '/tmp/x'", "--db", str(built_db)]) == 1
    assert capsys.readouterr().err == (
        "asyncpulse: `asyncpulse sql` runs queries only (SELECT, WITH, DESCRIBE, SHOW, "
        "SUMMARIZE, EXPLAIN); EXPORT statements are refused\n"
    )
    assert main(["sql", f"select * from read_blob('{built_db}')", "--db", str(built_db)]) == 1
    assert capsys.readouterr().err == (
        "asyncpulse: `asyncpulse sql` reads and writes no files, only the database's tables\n"
    )


# --- forget and --redact leave nothing in the bytes -------------------------------------------


def _tokens(who: str, n: int) -> list[str]:
    """Return long words nobody else writes (text DuckDB stores readable: each appears once)."""
    return [hashlib.sha256(f"{who}-{i}".encode()).hexdigest()[:40] for i in range(n)]


BEN_WORDS = _tokens("ben", 40)
ANA_WORDS = _tokens("ana", 40)


def _export_with_words(root: Path) -> SlackExport:
    e = build_workspace(SlackExport(root))
    day = "2024-03-07"
    e.day("general", day, [
        msg(uid, f"status report {w}", ts(day, 8 + i // 10, i % 60, micros=123456))
        for i, (uid, w) in enumerate(
            [("U2", w) for w in BEN_WORDS] + [("U1", w) for w in ANA_WORDS])
    ])
    return e


def _readable(db: Path, words: list[str]) -> int:
    data = db.read_bytes()
    return sum(w.encode() in data for w in words)


def test_forget_leaves_none_of_their_words_in_the_files_bytes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "db.duckdb"
    assert main(["ingest", "slack", str(_export_with_words(tmp_path / "x").root), "--db", str(db)]) == 0
    assert main(["build", "--db", str(db)]) == 0
    before = _readable(db, BEN_WORDS)
    assert before >= len(BEN_WORDS) // 2, "the test needs words the file stores readable"
    assert main(["forget", "U2", "--yes", "--db", str(db)]) == 0
    assert _readable(db, BEN_WORDS) == 0
    assert _readable(db, ANA_WORDS) >= len(ANA_WORDS) // 2  # others' words are still there
    assert query(db, "select count(*) from raw.slack_messages where text like 'status report %'"
                 ).item() == len(ANA_WORDS)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["db.duckdb", "db.duckdb.lock", "x"]
    assert (db.stat().st_mode & 0o777) == 0o600


def test_redacting_a_clear_database_leaves_no_text_in_its_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "db.duckdb"
    export = _export_with_words(tmp_path / "x").root
    assert main(["ingest", "slack", str(export), "--db", str(db)]) == 0
    assert _readable(db, BEN_WORDS + ANA_WORDS) >= len(BEN_WORDS)
    monkeypatch.setenv("ASYNCPULSE_REDACT", "false")  # the CLI sets it for its process; undone after
    assert main(["ingest", "slack", str(export), "--redact", "--db", str(db)]) == 0
    assert _readable(db, BEN_WORDS + ANA_WORDS) == 0
    assert query(db, "select count(*) filter (text is not null), count(*) filter (text_redacted) "
                 "from raw.slack_messages").row(0) == (0, FACTS["messages"] + 80)


# --- forget names one person ------------------------------------------------------------------


@pytest.fixture
def two_sams(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    e = build_workspace(SlackExport(tmp_path / "x"))
    users = [*USERS, user("U7", "sam"), user("U8", "sam.k"),
             {**user("U9", "noemail"), "profile": {"display_name": "", "real_name": "", "email": ""}}]
    users[-3]["real_name"] = users[-2]["real_name"] = "Sam"
    e.json("users.json", users)
    e.day("general", "2024-03-07", [msg("U7", "one", ts("2024-03-07", 9)),
                                    msg("U8", "two", ts("2024-03-07", 10)),
                                    msg("U9", "three", ts("2024-03-07", 11))])
    db = tmp_path / "db.duckdb"
    assert main(["ingest", "slack", str(e.root), "--db", str(db)]) == 0
    capsys.readouterr()
    return db


@pytest.mark.parametrize("spec", ["", "  "])
def test_forget_an_empty_spec_is_refused(
    spec: str, two_sams: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = digest(two_sams)
    assert main(["forget", spec, "--yes", "--db", str(two_sams)]) == 1
    assert capsys.readouterr().err == (
        "asyncpulse: PERSON is empty: name someone (a name, e-mail, Slack id or GitHub login)\n")
    assert digest(two_sams) == before


def test_forget_a_spec_that_matches_several_people_lists_them_and_refuses(
    two_sams: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = digest(two_sams)
    assert main(["forget", "sam", "--yes", "--db", str(two_sams)]) == 1
    assert capsys.readouterr().err == (
        "asyncpulse: 'sam' matches 2 people: Sam (U7); Sam (U8). Nothing deleted: name each one "
        "to forget by Slack id or GitHub login (several may be given)\n")
    assert digest(two_sams) == before
    assert main(["forget", "U7", "U8", "--yes", "--db", str(two_sams)]) == 0
    assert capsys.readouterr().err.splitlines()[-1].startswith(
        "forgot 'U7, U8' (U7, U8): slack messages 2, slack users 2,")
    assert query(two_sams, "select \"user\", text from raw.slack_messages "
                 "where text in ('one', 'two', 'three')").rows() == [("U9", "three")]

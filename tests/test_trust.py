"""What SECURITY.md promises, tried as an attacker and as bad luck would.

`sql` reaches no file, the database's own included; `forget` and `--redact`
leave no removed word in the file's bytes; archive bombs are measured by the
bytes really inflated; crashes leave nothing behind for long; edges get one line.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipelines.cli import main
from tests.conftest import query
from tests.helpers import load_and_build, make_workspace, tree
from tests.workspace import FACTS


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

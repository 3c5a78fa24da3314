"""The `asyncpulse` command line (README, "Every command"): help, --db, usage errors, sql, exit statuses."""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import polars as pl
import pytest

from pipelines import jobs
from pipelines.cli import main, make_parser
from tests.conftest import SlackExport, query
from tests.helpers import (
    ROWS_ADDED,
    digest,
    leftovers,
    make_workspace,
    messages_per_conversation,
    tree,
)
from tests.workspace import FACTS

ASYNCPULSE = Path(sys.executable).with_name("asyncpulse")


def sub_commands() -> list[str]:
    """Return the parser's sub-commands, so a new one is covered without editing this file."""
    (action,) = (a for a in make_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return sorted(action.choices)


def run_main(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Call the CLI in-process; return (exit status, stdout, stderr)."""
    try:
        code = main(argv)
    except SystemExit as e:  # argparse: --help and usage errors
        code = e.code if isinstance(e.code, int) else 1
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    return make_workspace(tmp_path / "export")


@pytest.fixture(scope="module")
def sample_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample workspace, ingested once for the module (tests work on copies)."""
    root = tmp_path_factory.mktemp("sample")
    db = root / "sample.duckdb"
    assert jobs.ingest(db, "slack", make_workspace(root / "export")).status == "ok"
    return db


@pytest.fixture
def loaded(tmp_path: Path, sample_db: Path) -> Path:
    """A private copy of a database holding the sample workspace."""
    db = tmp_path / "loaded.duckdb"
    shutil.copyfile(sample_db, db)
    return db


# --- help and usage -----------------------------------------------------------------------


def test_sub_commands_are_the_spec_verbs_built_so_far() -> None:
    assert {"ingest", "build", "run", "sql", "dashboard", "demo"} <= set(sub_commands())


@pytest.mark.parametrize("command", sub_commands())
def test_every_sub_command_has_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_main([command, "--help"], capsys)
    assert (code, err) == (0, "")
    assert out.startswith(f"usage: asyncpulse {command} ")
    assert "options:" in out


def test_top_level_help_lists_every_sub_command(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_main(["--help"], capsys)
    assert code == 0
    for command in sub_commands():
        assert re.search(rf"^ +{command}\b", out, re.MULTILINE), command


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param(["frobnicate"], id="unknown command"),
        pytest.param(["ingest", "github-typo", "export.zip"], id="unknown source"),
        pytest.param([], id="no command"),
        pytest.param(["ingest", "slack"], id="missing path"),
        pytest.param(["sql"], id="missing query"),
        pytest.param(["sql", "select 1", "--format", "xml"], id="unknown format"),
        pytest.param(["dashboard", "--port", "eighty"], id="port not a number"),
    ],
)
def test_usage_errors_exit_2(argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_main(["--db", str(tmp_path / "u.duckdb"), *argv], capsys)
    assert (code, out) == (2, "")
    assert err.startswith("usage: asyncpulse")
    assert "error:" in err.splitlines()[-1]
    assert not (tmp_path / "u.duckdb").exists()


def test_usage_error_as_a_real_process(tmp_path: Path) -> None:
    p = subprocess.run(
        [str(ASYNCPULSE), "ingest", "github-typo", str(tmp_path)],
        capture_output=True, text=True, timeout=60,
    )
    assert (p.returncode, p.stdout) == (2, "")
    assert p.stderr.splitlines()[-1] == (
        "asyncpulse ingest: error: argument source: invalid choice: 'github-typo' (choose from 'slack', 'github')"
    )


# --- --db before or after the command -------------------------------------------------------


@pytest.mark.parametrize(
    "where", ["before", "after", "both"],
)
def test_db_accepted_before_and_after_the_command(
    where: str, tmp_path: Path, workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target, other = tmp_path / "target.duckdb", tmp_path / "other.duckdb"
    command = ["ingest", "slack", str(workspace)]
    argv = {
        "before": ["--db", str(target), *command],
        "after": [*command, "--db", str(target)],
        # the sub-command's value wins
        "both": ["--db", str(other), *command, "--db", str(target)],
    }[where]
    code, _, _ = run_main(argv, capsys)
    assert code == 0
    assert query(target, "select count(*) as n from raw.slack_messages").item() == FACTS["messages"]
    assert not other.exists()
    assert not (tmp_path / "default.duckdb").exists()  # $ASYNCPULSE_DB, set by conftest


def test_db_defaults_to_the_environment(
    tmp_path: Path, workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, _ = run_main(["ingest", "slack", str(workspace)], capsys)
    assert code == 0
    default = tmp_path / "default.duckdb"
    assert query(default, "select count(*) as n from raw.slack_messages").item() == FACTS["messages"]


# --- sql --------------------------------------------------------------------------------------

PER_CONVERSATION_SQL = (
    "select conversation_id, count(*) as messages from raw.slack_messages "
    "group by conversation_id order by conversation_id"
)
EXPECTED_ROWS = sorted(FACTS["per_conversation"].items())  # DuckDB orders text bytewise too


def test_sql_table_format(loaded: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_main(["sql", PER_CONVERSATION_SQL, "--db", str(loaded)], capsys)
    assert (code, err) == (0, "")
    lines = out.splitlines()
    cells = [
        [c.strip() for c in line.strip().strip("│").split("┆")]
        for line in lines if line.startswith("│")
    ]
    assert cells == [["conversation_id", "messages"]] + [[c, str(n)] for c, n in EXPECTED_ROWS]
    assert lines[-1] == f"({len(EXPECTED_ROWS)} rows)"


def test_sql_csv_format(loaded: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_main(["sql", PER_CONVERSATION_SQL, "--format", "csv", "--db", str(loaded)], capsys)
    assert (code, err) == (0, "")
    assert out == (
        "conversation_id,messages\n"
        "C1,10\nC2,2\nD1,2\nDABCDEF123,1\nG1,1\nG2,1\nmpdm-x--y-1,1\nold-channel,1\n"
    )
    assert list(csv.reader(io.StringIO(out)))[1:] == [[c, str(n)] for c, n in EXPECTED_ROWS]


def test_sql_json_format(loaded: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_main(["sql", PER_CONVERSATION_SQL, "--format", "json", "--db", str(loaded)], capsys)
    assert (code, err) == (0, "")
    expected = [{"conversation_id": c, "messages": n} for c, n in EXPECTED_ROWS]
    assert json.loads(out) == expected
    assert out == json.dumps(expected, indent=2) + "\n"


def test_sql_json_keeps_types_a_reader_can_use(loaded: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sql = (
        "select 'a,b' as text, null as nothing, 1.5 as half, true as yes, "
        "timestamptz '2024-03-04 17:00:00+00' as at, [1, 2] as list"
    )
    code, out, _ = run_main(["sql", sql, "--format", "json", "--db", str(loaded)], capsys)
    assert code == 0
    assert json.loads(out) == [
        {"text": "a,b", "nothing": None, "half": "1.5", "yes": True,
         "at": "2024-03-04T17:00:00+00:00", "list": [1, 2]}
    ]


def test_sql_csv_quotes_as_csv_does(loaded: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sql = "select 'a,b' as text, 'say \"hi\"' as quoted, null as nothing"
    code, out, _ = run_main(["sql", sql, "--format", "csv", "--db", str(loaded)], capsys)
    assert code == 0
    assert out == 'text,quoted,nothing\n"a,b","say ""hi""",\n'


def test_sql_as_a_real_process(tmp_path: Path, workspace: Path) -> None:
    """The installed console script: ingest a ZIP, then query it in another process."""
    db = tmp_path / "proc.duckdb"
    archive = SlackExport(workspace).zip(tmp_path / "export.zip")
    env = {**os.environ, "ASYNCPULSE_DB": str(db)}
    ing = subprocess.run([str(ASYNCPULSE), "ingest", "slack", str(archive)],
                         capture_output=True, text=True, env=env, timeout=120)
    assert ing.returncode == 0, ing.stderr
    assert ing.stderr.splitlines()[-1] == (
        f"slack: ok; {FACTS['day_files']} files read, 0 skipped; {ROWS_ADDED} rows added, 0 replaced"
    )
    q = subprocess.run([str(ASYNCPULSE), "sql", PER_CONVERSATION_SQL, "--format", "csv"],
                       capture_output=True, text=True, env=env, timeout=60)
    assert (q.returncode, q.stderr) == (0, "")
    assert pl.read_csv(io.StringIO(q.stdout)).rows() == EXPECTED_ROWS


def test_sql_on_a_missing_database_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "none.duckdb"
    code, out, err = run_main(["sql", "select 1", "--db", str(db)], capsys)
    assert (code, out) == (1, "")
    assert err == f"asyncpulse: {db}: no database here yet (run `asyncpulse ingest` first)\n"
    assert not db.exists()


@pytest.mark.parametrize(
    "sql",
    [
        "create table x(a int)",
        "create view v as select 1",
        "insert into raw.loads (load_id, source, path, started_at, status) "
        "values ('x', 'slack', 'p', now(), 'ok')",
        "update raw.slack_messages set text = 'changed'",
        "delete from raw.slack_messages",
        "drop table raw.slack_messages",
        "alter table raw.slack_messages add column x int",
        "copy raw.loads to '{tmp}/x.csv'",
        "export database '{tmp}/dump'",
        "attach '{tmp}/other.duckdb' as o",
        "install httpfs",
        "load httpfs",
        "select * from read_csv('{tmp}/some.csv')",
        "select * from read_text('{tmp}/some.csv')",
        "set enable_external_access = true",
        "set lock_configuration = false",
    ],
)
def test_sql_cannot_write_or_reach_out(
    sql: str, loaded: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # DuckDB keeps extensions under $HOME: point it inside tmp_path so the snapshot covers it.
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    (tmp_path / "some.csv").write_text("a,b\n1,2\n")
    before = tree(tmp_path)
    code, out, err = run_main(["sql", sql.format(tmp=tmp_path), "--db", str(loaded)], capsys)
    assert (code, out) == (1, "")
    assert len(err.splitlines()) == 1 and err.startswith("asyncpulse: "), err
    assert tree(tmp_path) == before  # database bytes unchanged, no file created
    assert query(loaded, "select count(*) as n from raw.slack_messages").item() == FACTS["messages"]


# --- ingest exit statuses ---------------------------------------------------------------------


def test_ingest_clean_exits_0(tmp_path: Path, workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "clean.duckdb"
    code, out, err = run_main(["ingest", "slack", str(workspace), "--db", str(db)], capsys)
    assert (code, out) == (0, "")
    assert err.splitlines() == [
        "note: 1 non-message files in conversation folders skipped: "
        "general/canvas_in_the_conversation.json",
        "note: 3 folders not in any metadata file, typed by name: "
        "DABCDEF123 (dm), mpdm-x--y-1 (mpim), old-channel (public)",
        f"slack: ok; {FACTS['day_files']} files read, 0 skipped; {ROWS_ADDED} rows added, 0 replaced",
    ]
    assert query(db, "select status, files_read, files_skipped, rows_added, problems from raw.loads").rows() == [
        ("ok", FACTS["day_files"], 0, ROWS_ADDED, [])
    ]


def test_ingest_again_is_unchanged_and_exits_0(
    loaded: Path, sample_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    workspace = sample_db.parent / "export"  # the export `loaded` was made from
    code, _, err = run_main(["ingest", "slack", str(workspace), "--db", str(loaded)], capsys)
    assert code == 0
    assert err == f"slack: {workspace} unchanged since it was last loaded; nothing to do\n"
    assert query(loaded, "select status from raw.loads order by started_at").rows() == [
        ("ok",), ("unchanged",)
    ]


def test_ingest_with_a_truncated_day_file_exits_3(
    tmp_path: Path, workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    day = workspace / "general" / "2024-03-05.json"  # six of #general's ten messages
    day.write_bytes(day.read_bytes()[:50])
    db = tmp_path / "partial.duckdb"
    code, _, err = run_main(["ingest", "slack", str(workspace), "--db", str(db)], capsys)
    assert code == 3
    assert "skipped: general/2024-03-05.json: truncated or invalid JSON; skipped" in err.splitlines()
    assert query(
        db, "select status, files_read, files_skipped, rows_added, problems from raw.loads"
    ).rows() == [("partial", FACTS["day_files"], 1, ROWS_ADDED - 6,
                  ["general/2024-03-05.json: truncated or invalid JSON; skipped"])]
    expected = {**FACTS["per_conversation"], "C1": FACTS["per_conversation"]["C1"] - 6}
    assert messages_per_conversation(db) == expected


def _zip_with_bad_central_directory(zip_path: Path) -> None:
    data = bytearray(zip_path.read_bytes())
    eocd = data.rfind(b"PK\x05\x06")
    (cd_offset,) = struct.unpack("<I", data[eocd + 16:eocd + 20])
    data[cd_offset:cd_offset + 4] = b"XXXX"
    zip_path.write_bytes(bytes(data))


def _zip_with_damaged_members(zip_path: Path) -> None:
    data = bytearray(zip_path.read_bytes())
    eocd = data.rfind(b"PK\x05\x06")
    (cd_offset,) = struct.unpack("<I", data[eocd + 16:eocd + 20])
    for i in range(0, cd_offset):  # every local header and all compressed data
        data[i] ^= 0x5A
    zip_path.write_bytes(bytes(data))


def _not_an_export(root: Path, workspace: Path) -> Path:
    folder = root / "holiday-photos"
    folder.mkdir()
    (folder / "README.md").write_text("not Slack\n")
    (folder / "beach").mkdir()
    (folder / "beach" / "2024-03-04.json").write_text("[]")
    return folder


def _corrupt(kind: str, root: Path, workspace: Path) -> tuple[Path, str]:
    """Make a bad export of `kind`; return it and the one line the CLI must print."""
    if kind == "not an export":
        folder = _not_an_export(root, workspace)
        return folder, f"asyncpulse: {folder}: not a Slack export: no users.json or channels.json in it"
    if kind == "missing path":
        p = root / "nowhere.zip"
        return p, f"asyncpulse: {p}: no such file or folder"
    archive = SlackExport(workspace).zip(root / f"{kind.replace(' ', '-')}.zip")
    if kind == "truncated zip":
        archive.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
        return archive, f"asyncpulse: {archive}: not a ZIP, tar archive or folder"
    if kind == "zip with a bad central directory":
        _zip_with_bad_central_directory(archive)
        return archive, f"asyncpulse: {archive}: corrupt ZIP (Bad magic number for central directory)"
    if kind == "random bytes named .zip":
        archive.write_bytes(b"PK\x03\x04" + bytes(range(256)) * 4)
        return archive, f"asyncpulse: {archive}: not a ZIP, tar archive or folder"
    _zip_with_damaged_members(archive)
    return archive, ""  # any one line


BAD_EXPORTS = [
    "not an export",
    "missing path",
    "truncated zip",
    "zip with a bad central directory",
    "random bytes named .zip",
    "zip with damaged members",
]


@pytest.mark.parametrize("existing", [False, True], ids=["no database yet", "existing database"])
@pytest.mark.parametrize("kind", BAD_EXPORTS)
def test_ingest_of_nothing_loadable_exits_1_and_leaves_the_database(
    kind: str, existing: bool, tmp_path: Path, workspace: Path, sample_db: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    db = tmp_path / "db.duckdb"
    if existing:
        shutil.copyfile(sample_db, db)
        before = digest(db)
    bad, line = _corrupt(kind, tmp_path, workspace)
    code, out, err = run_main(["ingest", "slack", str(bad), "--db", str(db)], capsys)
    assert (code, out) == (1, "")
    assert len(err.splitlines()) == 1 and err.startswith("asyncpulse: "), err
    if line:
        assert err == line + "\n"
    if existing:
        assert digest(db) == before
    else:
        assert not db.exists()
    assert leftovers(db) == []


def test_ingest_refuses_a_zip_member_escaping_the_export(
    tmp_path: Path, workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A path-traversal member is refused and named, the rest loads: exit 3, nothing written outside."""
    archive = SlackExport(workspace).zip(tmp_path / "evil.zip")
    with zipfile.ZipFile(archive, "a") as zf:
        zf.writestr("../../escaped.json", b"[]")
    db = tmp_path / "evil.duckdb"
    before = {p.name for p in tmp_path.parent.iterdir()}
    code, _, err = run_main(["ingest", "slack", str(archive), "--db", str(db)], capsys)
    assert code == 3
    assert "skipped: ../../escaped.json: '..' in path" in err.splitlines()
    assert {p.name for p in tmp_path.parent.iterdir()} == before
    assert query(db, "select count(*) as n from raw.slack_messages").item() == FACTS["messages"]


# --- a first-time user's edges ----------------------------------------------------------------


def test_ingest_of_something_else_names_the_path_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("README.md").write_text("# a project\n")
    Path("docs").mkdir()
    Path("docs/metrics.md").write_text("how\n")
    db = str(tmp_path / "db.duckdb")
    assert run_main(["ingest", "github", "README.md", "--db", db], capsys) == (1, "", (
        "asyncpulse: README.md: not a GitHub export (no gh pr list JSON, pulls.json or "
        "pull_requests_*.json; found README.md)\n"))
    assert run_main(["ingest", "slack", "docs", "--db", db], capsys) == (
        1, "", "asyncpulse: docs: not a Slack export: no users.json or channels.json in it\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["README.md", "docs"]  # no db, no lock
    # a path that is not there: one line, and not even the database's folder is made
    assert run_main(["ingest", "slack", "typo.zip", "--db", str(tmp_path / "data" / "db.duckdb")], capsys) == (
        1, "", "asyncpulse: typo.zip: no such file or folder\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["README.md", "docs"]


def test_build_with_nothing_loaded_says_how_to_load(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "empty.duckdb"
    line = (f"asyncpulse: nothing is loaded in {db}, so there is nothing to build: load an export "
            "first with `asyncpulse ingest slack EXPORT.zip` or `asyncpulse ingest github PRS.json` "
            "(or `asyncpulse run --slack ... --github ...`), then build\n")
    assert run_main(["build", "--db", str(db)], capsys) == (1, "", line)
    assert list(tmp_path.iterdir()) == []  # no database made, no lock left
    # a database whose every load failed (here: made by an older build) holds nothing either
    jobs.build(db)
    before = digest(db)
    assert run_main(["build", "--db", str(db)], capsys) == (1, "", line)
    assert digest(db) == before and leftovers(db) == []


def test_demo_leaves_no_lock(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                             capsys: pytest.CaptureFixture[str]) -> None:
    from pipelines.settings import get_settings

    monkeypatch.setenv("ASYNCPULSE_DEMO_DIR", str(tmp_path / "demo"))
    monkeypatch.setenv("ASYNCPULSE_DEMO_DB", str(tmp_path / "demo.duckdb"))
    get_settings.cache_clear()
    code, _, err = run_main(["demo", "--no-dashboard"], capsys)
    assert code == 0, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo", "demo.duckdb"]


WIDE_SQL = "select 'abcdefghijklmnopqrstuvwxyz0123456789' as long_text, 1 as n, 139.325737 as x"


def test_sql_table_fits_the_terminal_and_rounds_for_reading(
    loaded: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COLUMNS", "30")  # the long column gives what it must (down to 12)
    assert run_main(["sql", WIDE_SQL, "--db", str(loaded)], capsys) == (0, (
        "┌───────────────┬───┬────────┐\n"
        "│ long_text     ┆ n ┆ x      │\n"
        "╞═══════════════╪═══╪════════╡\n"
        "│ abcdefghijkl… ┆ 1 ┆ 139.33 │\n"
        "└───────────────┴───┴────────┘\n"
        "(1 rows)\n"), "")
    monkeypatch.setenv("COLUMNS", "20")  # then the columns that do not fit are left out, and named
    assert run_main(["sql", WIDE_SQL, "--db", str(loaded)], capsys) == (0, (
        "┌──────────────┬───┐\n"
        "│ long_text    ┆ … │\n"
        "╞══════════════╪═══╡\n"
        "│ abcdefghijk… ┆ … │\n"
        "└──────────────┴───┘\n"
        "(1 rows; 2 more columns do not fit: n, x; select fewer, widen the terminal, "
        "or use --format csv)\n"), "")
    # csv and json stay exact
    assert run_main(["sql", WIDE_SQL, "--format", "csv", "--db", str(loaded)], capsys) == (
        0, "long_text,n,x\nabcdefghijklmnopqrstuvwxyz0123456789,1,139.325737\n", "")
    code, out, _ = run_main(["sql", WIDE_SQL, "--format", "json", "--db", str(loaded)], capsys)
    assert json.loads(out) == [{"long_text": "abcdefghijklmnopqrstuvwxyz0123456789", "n": 1, "x": "139.325737"}]


@pytest.mark.parametrize("value, shown", [
    (139.325737, "139.33"), (18.0, "18.0"), (0.034567, "0.035"), (0.5, "0.5"), (-2.004, "-2.0"),
    (0.0, "0.0"), (0.000012345, "1.2e-05"), (17734647.123, "17734647.12"),
])
def test_numbers_are_rounded_for_reading(value: float, shown: str) -> None:
    from pipelines.table import readable

    assert readable(value) == shown


def test_people_table_fits_the_terminal(
    loaded: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    jobs.build(loaded)
    monkeypatch.setenv("COLUMNS", "80")
    code, out, _ = run_main(["people", "--db", str(loaded)], capsys)
    lines = out.splitlines()
    assert code == 0 and len(lines) > 5
    from pipelines.table import width

    assert max(width(line) for line in lines[:-1]) <= 80, out
    assert "more columns do not fit: " in lines[-1]
    wide = max(width(line) for line in lines[:-1])
    monkeypatch.setenv("COLUMNS", "1000")  # room for everything: every column, nothing cut
    code, out, _ = run_main(["people", "--db", str(loaded)], capsys)
    assert "…" not in out and out.splitlines()[-1].endswith(" rows)") and wide < len(out.splitlines()[0])

"""What SECURITY.md promises, tried as an attacker and as bad luck would.

`sql` reaches no file, the database's own included; `forget` and `--redact`
leave no removed word in the file's bytes; archive bombs are measured by the
bytes really inflated; crashes leave nothing behind for long; edges get one line.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipelines.cli import main
from tests.conftest import SlackExport, msg, query, ts, user
from tests.github_history import gh_prs, write_gh
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
    assert sorted(p.name for p in tmp_path.iterdir()) == ["db.duckdb", "x"]  # no lock file either
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


# --- archive bombs: bounded by the bytes really inflated --------------------------------------


class _Zeros(io.RawIOBase):
    """`n` zero bytes, read in chunks: a bomb's member written without holding it."""

    def __init__(self, n: int) -> None:
        self.left = n

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        k = min(len(b), self.left)
        b[:k] = bytes(k)
        self.left -= k
        return k


def _tar_bomb(path: Path, members: int, size: int) -> Path:
    with tarfile.open(path, "w:gz", compresslevel=1) as tf:
        for i in range(members):
            info = tarfile.TarInfo(f"pull_requests_{i:06d}.json")
            info.size = size
            tf.addfile(info, _Zeros(size))
    return path


def _lying_zip(path: Path, real: int, claimed: int) -> Path:
    """A ZIP whose central directory says its day file inflates to `claimed` bytes, not `real`."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        zf.writestr("users.json", b"[]")
        zf.writestr("channels.json", b'[{"id": "C1", "name": "general"}]')
        with zf.open("general/2024-03-06.json", "w") as f:
            for _ in range(real >> 20):
                f.write(bytes(1 << 20))
    data = bytearray(path.read_bytes())
    cd = data.rindex(b"PK\x01\x02")  # the day file's central directory entry (written last)
    data[cd + 24:cd + 28] = claimed.to_bytes(4, "little")  # its uncompressed size
    path.write_bytes(bytes(data))
    return path


def _ingest_measured(source: str, path: Path, db: Path) -> tuple[int, str, int]:
    """Ingest in a fresh process; return (exit status, stderr, peak RSS in MiB)."""
    script = (
        "import resource, sys; from pipelines.cli import main; "
        f"code = main(['ingest', {source!r}, {str(path)!r}, '--db', {str(db)!r}]); "
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024); sys.exit(code)"
    )
    p = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    return p.returncode, p.stderr, int(p.stdout.split()[-1]) if p.stdout.split() else -1


def test_a_tar_bomb_is_refused_by_its_ratio_within_bounded_memory(tmp_path: Path) -> None:
    bomb = _tar_bomb(tmp_path / "migration.tar.gz", members=8, size=200 << 20)
    code, err, peak = _ingest_measured("github", bomb, tmp_path / "db.duckdb")
    packed = bomb.stat().st_size
    assert (code, err) == (1, (
        f"asyncpulse: {bomb}: its members inflate to {8 * (200 << 20):,} bytes from {packed:,} "
        f"({8 * (200 << 20) // packed}:1, over the 200:1 limit), a likely archive bomb; refusing\n"))
    assert peak < 1024, "peak RSS in MiB"
    assert not (tmp_path / "db.duckdb").exists()


def test_a_zip_that_understates_a_member_is_skipped_within_bounded_memory(tmp_path: Path) -> None:
    bomb = _lying_zip(tmp_path / "export.zip", real=1 << 30, claimed=1000)
    code, err, peak = _ingest_measured("slack", bomb, tmp_path / "db.duckdb")
    assert code == 1, err  # the one day file is skipped: nothing else in it could be read
    assert err.splitlines()[-1] == (
        f"asyncpulse: {bomb}: nothing in it could be read (general/2024-03-06.json: "
        "corrupt ZIP member (Bad CRC-32 for file 'general/2024-03-06.json'); skipped)")
    assert peak < 1024, "peak RSS in MiB"


def test_a_single_github_file_over_the_file_limit_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ASYNCPULSE_MAX_FILE_BYTES", "1000")
    gh = write_gh(tmp_path / "prs.json")
    size = gh.stat().st_size
    assert main(["ingest", "github", str(gh), "--db", str(tmp_path / "db.duckdb")]) == 1
    assert capsys.readouterr().err == (
        f"asyncpulse: {gh}: {size} bytes, over the 1000-byte limit (max_file_bytes); refusing\n")
    assert not (tmp_path / "db.duckdb").exists()


def test_texts_over_the_limit_are_cut_at_ingest_and_noted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ASYNCPULSE_MAX_TEXT_CHARS", "30")
    prs = gh_prs()
    prs[2]["title"] = "é" * 100  # characters, not bytes: 100 characters, 200 bytes
    db = tmp_path / "db.duckdb"
    assert main(["ingest", "github", str(write_gh(tmp_path / "prs.json", prs)), "--db", str(db)]) == 0
    # PR 7: its title, its body (55 characters) and its review "Needs a test for the timeout
    # path." (34); PR 8's review (22), body (32) and the others are within 30.
    assert "note: prs.json: 4 titles or bodies over 30 characters cut to that length " \
        "(max_text_chars)" in capsys.readouterr().err.splitlines()
    assert query(db, "select title from raw.github_pull_requests where number = 7").item() == "é" * 30


def test_a_pr_number_beyond_64_bits_skips_that_file_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "gh"
    write_gh(folder / "good.json")
    bad = gh_prs()[:1]
    bad[0]["number"] = 1 << 63
    (folder / "bad.json").write_bytes(json.dumps(bad).encode())  # orjson refuses such integers
    db = tmp_path / "db.duckdb"
    assert main(["ingest", "github", str(folder), "--db", str(db)]) == 3
    err = capsys.readouterr().err.splitlines()
    assert "skipped: bad.json: the number 9223372036854775808... is out of range; skipped" in err
    assert "Traceback" not in "\n".join(err)
    assert query(db, "select number from raw.github_pull_requests order by number")["number"].to_list() == [7, 8, 9]


# --- crashes leave nothing for long -----------------------------------------------------------

KILL_SCRIPT = """
import sys
from pipelines.sources import slack
slack.PARALLEL_MIN_BYTES = 0  # parse on worker processes even for this small export
from pipelines.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.fixture(scope="module")
def big_export(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    """About 60,000 messages in 120 day files (an ingest of a few seconds, on workers); their count."""
    root = tmp_path_factory.mktemp("big")
    e = build_workspace(SlackExport(root / "export"))
    words = " ".join(f"word{i}" for i in range(30))
    for d in range(120):
        day = f"2024-{1 + d // 28:02d}-{1 + d % 28:02d}"
        e.day("general", day, [
            msg(("U1", "U2")[i % 2], f"{words} {d}-{i}", ts(day, 8 + i // 60, i % 60, micros=i + 1))
            for i in range(500)
        ])
    reference = _start(["ingest", "slack", str(e.root), "--db", str(root / "ref.duckdb")], root)
    assert reference.wait(timeout=300) == 0
    return e.root, int(query(root / "ref.duckdb", "select count(*) from raw.slack_messages").item())


def _start(args: list[str], folder: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "ASYNCPULSE_WORKERS": "2", "ASYNCPULSE_BATCH_BYTES": str(1 << 20),
           "ASYNCPULSE_SETTINGS": str(folder / "none.toml")}
    return subprocess.Popen([sys.executable, "-c", KILL_SCRIPT, *args], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=folder)


def _descendants(pid: int) -> list[int]:
    try:
        return [c.pid for c in psutil.Process(pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def _alive(pids: list[int]) -> list[int]:
    out = []
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                out.append(pid)
        except psutil.NoSuchProcess:
            pass
    return out


def _wait_gone(pids: list[int], seconds: float = 20) -> list[int]:
    deadline = time.monotonic() + seconds
    while _alive(pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    return _alive(pids)


@pytest.mark.parametrize("signal_", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
@pytest.mark.parametrize("command", ["ingest", "build"])
@pytest.mark.parametrize("after", [0.6, 2.0])
def test_a_killed_writer_leaves_nothing_after_the_next_run(
    signal_: signal.Signals, command: str, after: float, big_export: tuple[Path, int],
    tmp_path: Path,
) -> None:
    export, messages = big_export
    data = tmp_path / "data"
    data.mkdir()
    db = data / "db.duckdb"
    ingest = ["ingest", "slack", str(export), "--db", str(db)]
    if command == "build":
        first = _start(ingest, tmp_path)
        assert first.wait(timeout=300) == 0, first.communicate()[1]
    victim = _start(ingest if command == "ingest" else ["build", "--db", str(db)], tmp_path)
    seen: set[int] = set()
    deadline = time.monotonic() + after
    while time.monotonic() < deadline and victim.poll() is None:
        seen |= set(_descendants(victim.pid))
        time.sleep(0.05)
    seen |= set(_descendants(victim.pid))
    victim.send_signal(signal_)
    code = victim.wait(timeout=120)
    err = victim.communicate()[1]
    if signal_ == signal.SIGTERM and (code, err) != (-signal.SIGTERM, ""):
        # Stopped with one line, or it had finished first. (A SIGTERM during start-up, before
        # the handler is installed, ends it silently: it had written nothing yet.)
        assert "Traceback" not in err, err
        last = err.splitlines()[-1]
        assert (code, last) == (1, "interrupted; the database is as it was") or \
            last.startswith(("slack: ok", "built ")), (code, err)
    assert _wait_gone(sorted(seen)) == [], "processes outlived the writer"
    again = _start(ingest if command == "ingest" else ["build", "--db", str(db)], tmp_path)
    assert again.wait(timeout=300) == 0, again.communicate()[1]
    assert sorted(p.name for p in data.iterdir()) == ["db.duckdb"]  # the next run removed the lock too
    assert query(db, "select count(*) from raw.slack_messages").item() == messages


def test_the_private_copy_and_scratch_are_owner_only_from_their_first_byte(
    big_export: tuple[Path, int], tmp_path: Path
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    db = data / "db.duckdb"
    victim = _start(["ingest", "slack", str(big_export[0]), "--db", str(db), "--redact"], tmp_path)
    modes: dict[str, int] = {}
    texts: set[str] = set()
    while victim.poll() is None:
        with contextlib.suppress(FileNotFoundError):  # the walk meets folders being removed
            for p in data.rglob("*"):
                with contextlib.suppress(FileNotFoundError):
                    modes.setdefault(p.relative_to(data).as_posix(), p.stat().st_mode & 0o777)
                    if p.suffix == ".parquet" and p.stat().st_size:
                        with contextlib.suppress(OSError, pa.ArrowInvalid):
                            t = pq.read_table(p, columns=["text"])
                            texts |= {x for x in t.column("text").to_pylist() if x is not None}
        time.sleep(0.02)
    assert victim.returncode == 0, victim.communicate()[1]
    scratch = [n for n in modes if n.endswith(".parquet")]
    copies = [n for n in modes if n.endswith(".tmp")]
    assert scratch and copies, f"the test saw no scratch or copy: {sorted(modes)}"
    loose = {n: oct(m) for n, m in modes.items() if m & 0o077}
    assert loose == {}, "readable by others"
    assert texts == set(), "the scratch held text --redact drops"


# --- a full disk gets one line ----------------------------------------------------------------


def test_too_little_free_space_for_the_copy_is_refused_before_copying(
    built_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from pipelines import db as dbmod

    db = tmp_path / "db.duckdb"
    shutil.copyfile(built_db, db)
    before = tree(tmp_path)
    size = db.stat().st_size
    real = shutil.disk_usage

    def nearly_full(path: Any) -> Any:
        return real(path)._replace(free=size)  # the copy fits, the tenth more does not

    monkeypatch.setattr(dbmod.shutil, "disk_usage", nearly_full)
    assert main(["build", "--db", str(db)]) == 1
    assert capsys.readouterr().err == (
        f"asyncpulse: {tmp_path}: {size / 2**20:,.1f} MiB free, but writing db.duckdb needs a copy "
        f"of it ({size / 2**20:,.1f} MiB and a tenth more); the database is as it was\n")
    assert tree(tmp_path) == before  # no lock file left either


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 24 MiB file system of its own (tmpfs; root only), unmounted after."""
    where = tmp_path / "disk"
    where.mkdir()
    if os.geteuid() != 0 or subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", str(where)], capture_output=True
    ).returncode != 0:
        pytest.skip("mounting a small file system needs root")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def test_a_disk_that_fills_up_during_ingest_gets_one_line_and_loses_nothing(
    small_disk: Path, big_export: tuple[Path, int], tmp_path: Path
) -> None:
    db = small_disk / "db.duckdb"
    first = _start(["ingest", "slack", str(make_workspace(tmp_path / "small")), "--db", str(db)],
                   tmp_path)
    assert first.wait(timeout=120) == 0, first.communicate()[1]
    before = tree(small_disk)
    filler = small_disk / "filler"  # leave room for the copy, not for 60,000 more messages
    free = shutil.disk_usage(small_disk).free
    filler.write_bytes(bytes(free - 2 * db.stat().st_size - (1 << 20)))
    big = _start(["ingest", "slack", str(big_export[0]), "--db", str(db)], tmp_path)
    code = big.wait(timeout=300)
    err = big.communicate()[1]
    assert (code, err.splitlines()[-1]) == (1, (
        f"asyncpulse: {small_disk}: the disk filled up while writing db.duckdb; the database is "
        "as it was (free some space and run again)")), err
    assert "Traceback" not in err
    filler.unlink()
    assert tree(small_disk) == before
    assert query(db, "select count(*) from raw.slack_messages").item() == FACTS["messages"]


@pytest.mark.parametrize("signal_", [signal.SIGINT, signal.SIGTERM], ids=["Ctrl-C", "SIGTERM"])
def test_stopping_a_running_query_prints_one_line(
    signal_: signal.Signals, built_db: Path, tmp_path: Path
) -> None:
    q = _start(["sql", "select count(*) from range(1000000000000)", "--db", str(built_db)], tmp_path)
    time.sleep(2.5)  # well inside the query (start-up takes about a second)
    q.send_signal(signal_)
    assert q.wait(timeout=60) == 1
    assert q.communicate() == ("", "interrupted; the database is as it was\n")

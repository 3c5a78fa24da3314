"""Hostile exports: a corpus of malformed inputs through the CLI, and property tests of the parser.

Every case ends in a one-line error (exit 1, database untouched) or in skips
recorded in `raw.loads.problems` (exit 3) or notes (exit 0) — never a
traceback, and never a lost or half-written load: the rows of the good export
loaded before are all still there afterwards.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines import jobs
from pipelines.cli import main
from pipelines.db import ensure_raw
from pipelines.exports import ExportError
from pipelines.sources.slack import load_slack
from pipelines.sources.slack_parse import (
    MESSAGE_FIELDS,
    DayBatch,
    append_messages,
    append_messages_fast,
    parse_day_batch,
)
from tests.conftest import SHARED_DATA, SlackExport, msg, query, ts, user
from tests.conftest_hostile import CASES
from tests.helpers import digest, leftovers
from tests.workspace import FACTS, build_workspace

DAY = "general/2024-03-06.json"


def dump(value: Any) -> bytes:
    """Return JSON bytes; the standard library writes the integers beyond 64 bits orjson refuses."""
    return json.dumps(value).encode()  # a day the sample workspace does not have
STDERR_STARTS = ("skipped: ", "note: ", "asyncpulse: ", "slack: ", "parsing slack export: ")


# --- the good export, loaded before every hostile one ------------------------------------------


@pytest.fixture(scope="module")
def good_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("good")
    db = root / "good.duckdb"
    assert jobs.ingest(db, "slack", build_workspace(SlackExport(root / "export")).root).status == "ok"
    return db


@pytest.fixture(scope="module")
def good_rows(good_db: Path) -> dict[str, set[tuple[Any, ...]]]:
    return _rows(good_db)


def _rows(db: Path) -> dict[str, set[tuple[Any, ...]]]:
    return {
        "messages": set(query(db, 'select conversation_id, ts, "user", text, _row_hash from raw.slack_messages').rows()),
        "users": set(query(db, "select id, name, tz from raw.slack_users").rows()),
        "conversations": set(query(db, "select id, conversation_type from raw.slack_conversations").rows()),
    }


@pytest.fixture
def db(tmp_path: Path, good_db: Path) -> Path:
    d = tmp_path / "db.duckdb"
    shutil.copyfile(good_db, d)
    return d


def ingest(db: Path, path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """Run `asyncpulse ingest slack PATH` in-process; return (exit status, stderr)."""
    code = main(["ingest", "slack", str(path), "--db", str(db)])
    out, err = capsys.readouterr()
    assert out == ""
    return code, err


def assert_survived(
    db: Path, code: int, err: str, good: dict[str, set[tuple[Any, ...]]], *, build: bool = False,
    capsys: pytest.CaptureFixture[str] | None = None,
) -> None:
    """(a) the exit status is 0, 3 or 1; (b) stderr is report lines only; (c) nothing was lost."""
    assert code in (0, 1, 3), err
    lines = err.splitlines()
    assert lines and all(line.startswith(STDERR_STARTS) for line in lines), err
    assert "Traceback" not in err
    if code == 1:
        assert len(lines) == 1 and lines[0].startswith("asyncpulse: "), err
    now = _rows(db)
    for table, rows in good.items():
        assert rows <= now[table], f"rows of {table} lost"
    assert leftovers(db) == []
    if code != 1:
        (status, problems) = query(
            db, "select status, problems from raw.loads order by started_at desc limit 1"
        ).row(0)
        assert status == {0: "ok", 3: "partial"}.get(code, status)
        skipped = [line.removeprefix("skipped: ") for line in lines if line.startswith("skipped: ")]
        assert skipped == problems  # every skip is recorded, with its path
    if build:
        assert capsys is not None
        assert main(["build", "--db", str(db)]) == 0, capsys.readouterr().err
        capsys.readouterr()
        assert query(db, "select count(*) as n from marts.weekly_mix").item() > 0


# --- the corpus ------------------------------------------------------------------------------------

Case = Callable[[Path], tuple[Path, int, str]]  # root -> (export, exit status, a line stderr must hold)


def _ws(root: Path) -> SlackExport:
    return build_workspace(SlackExport(root / "export"))


def _day_bytes(data: bytes, code: int = 3, line: str = f"skipped: {DAY}: truncated or invalid JSON; skipped") -> Case:
    def make(root: Path) -> tuple[Path, int, str]:
        return _ws(root).raw(DAY, data).root, code, line
    return make


def _with(rel: str, data: bytes | None, code: int, line: str) -> Case:
    def make(root: Path) -> tuple[Path, int, str]:
        e = _ws(root)
        if data is None:
            (e.root / rel).unlink()
        else:
            e.raw(rel, data)
        return e.root, code, line
    return make


def _truncated(root: Path) -> tuple[Path, int, str]:
    e = _ws(root)
    day = e.root / "general" / "2024-03-05.json"
    day.write_bytes(day.read_bytes()[:70])
    return e.root, 3, "skipped: general/2024-03-05.json: truncated or invalid JSON; skipped"


def _conversation_is_a_file(root: Path) -> tuple[Path, int, str]:
    e = _ws(root)
    shutil.rmtree(e.root / "leads")
    e.raw("leads", b'[{"ts": "1709712000.000000", "text": "not in a folder"}]')
    return e.root, 0, "note: 1 conversations have a file where their folder should be, so no messages: leads"


def _symlink_in_folder(root: Path) -> tuple[Path, int, str]:
    e = _ws(root)
    (e.root / DAY).symlink_to("/etc/passwd")
    return e.root, 3, f"skipped: {DAY}: symbolic link, not followed"


def _symlinked_folder(root: Path) -> tuple[Path, int, str]:
    e = _ws(root)
    (e.root / "etc").symlink_to("/etc", target_is_directory=True)
    return e.root, 3, "skipped: etc: symbolic link, not followed"


def _surrogate(kind: str) -> Case:
    def make(root: Path) -> tuple[Path, int, str]:
        e = _ws(root)
        base = os.fsencode(e.root)
        if kind == "folder":  # a conversation folder whose name is Latin-1, not UTF-8
            os.mkdir(base + b"/caf\xe9")
            with open(base + b"/caf\xe9/2024-03-04.json", "wb") as f:
                f.write(orjson.dumps([msg("U1", "x", ts("2024-03-04", 1))]))
            return e.root, 3, "skipped: caf\\xe9: name is not valid UTF-8"
        with open(base + b"/general/2024-03-0\xff.json", "wb") as f:
            f.write(b"[]")
        return e.root, 3, "skipped: general/2024-03-0\\xff.json: name is not valid UTF-8"
    return make


def _zip(root: Path, extra: Callable[[zipfile.ZipFile], None]) -> Path:
    e = _ws(root)
    z = e.zip(root / "export.zip")
    with zipfile.ZipFile(z, "a", zipfile.ZIP_DEFLATED) as zf:
        extra(zf)
    return z


def _zip_bomb(root: Path) -> tuple[Path, int, str]:
    z = _zip(root, lambda zf: zf.writestr(DAY, b"[" + b" " * (64 << 20) + b"]"))
    info = zipfile.ZipFile(z).getinfo(DAY)
    assert info.file_size / info.compress_size > 1000  # a real high-ratio member
    return z, 3, f"skipped: {DAY}: compression ratio {info.file_size // info.compress_size}:1, a likely zip bomb"


def _zip_over_total(root: Path) -> tuple[Path, int, str]:
    os.environ["ASYNCPULSE_MAX_EXPORT_BYTES"] = "20000"  # the whole sample is ~4 KB; this adds 30 KB
    z = _zip(root, lambda zf: zf.writestr(DAY, orjson.dumps([msg("U1", os.urandom(15000).hex(), "1.0")])))
    return z, 1, f"asyncpulse: {z}: uncompressed size over 20000 bytes; refusing"


def _zip_lying_size(root: Path) -> tuple[Path, int, str]:
    """A member whose header claims 2 bytes but inflates to 32 MB: the read stops at the claim."""
    z = _zip(root, lambda zf: zf.writestr(DAY, b"[" + b" " * (32 << 20) + b"]"))
    data = bytearray(z.read_bytes())
    name = DAY.encode()
    for header, off in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):  # local header, central directory
        start = 0
        while (i := data.find(header, start)) >= 0:
            start = i + 4
            name_at = i + (30 if header == b"PK\x03\x04" else 46)
            if data[name_at:name_at + len(name)] == name:
                data[i + off:i + off + 4] = (2).to_bytes(4, "little")
    z.write_bytes(bytes(data))
    return z, 3, f"skipped: {DAY}: corrupt ZIP member"


def _zip_symlink(root: Path) -> tuple[Path, int, str]:
    def extra(zf: zipfile.ZipFile) -> None:
        info = zipfile.ZipInfo(DAY)
        info.external_attr = 0o120777 << 16
        zf.writestr(info, "/etc/passwd")
    return _zip(root, extra), 3, f"skipped: {DAY}: symbolic link"


def _zip_name(name: str, line: str) -> Case:
    def make(root: Path) -> tuple[Path, int, str]:
        return _zip(root, lambda zf: zf.writestr(name, b"[]")), 3, line
    return make


def _zip_invalid_utf8_name(root: Path) -> tuple[Path, int, str]:
    """The UTF-8 flag is set but the name's bytes are not UTF-8: the archive cannot be listed."""
    z = _zip(root, lambda zf: zf.writestr("caf\u00e9/2024-03-04.json", b"[]"))
    data = z.read_bytes().replace("caf\u00e9".encode(), b"caf\xff\xfe")  # both headers
    z.write_bytes(data)
    return z, 1, f"asyncpulse: {z}: corrupt ZIP ('utf-8' codec can't decode byte 0xff in position 3: invalid start byte)"


def _zip_cp437_name(root: Path) -> tuple[Path, int, str]:
    """No UTF-8 flag: the name is read as cp437 (0x82 is 'é'), a folder like any other."""
    z = _zip(root, lambda zf: zf.writestr("gxneral/2024-03-04.json", orjson.dumps([msg("U1", "x", "1.0")])))
    z.write_bytes(z.read_bytes().replace(b"gxneral", b"g\x82neral"))  # both headers, same length
    return z, 0, ("note: 4 folders not in any metadata file, typed by name: DABCDEF123 (dm), "
                  "g\u00e9neral (public), mpdm-x--y-1 (mpim), old-channel (public)")


def _tar(root: Path, extra: Callable[[tarfile.TarFile], None], arcname: str = "export") -> Path:
    e = _ws(root)
    t = root / "export.tar.gz"
    with tarfile.open(t, "w:gz") as tf:
        tf.add(e.root, arcname=arcname)
        extra(tf)
    return t


def _tar_member(name: str, line: str, *, link: str | None = None, hard: bool = False) -> Case:
    def extra(tf: tarfile.TarFile) -> None:
        info = tarfile.TarInfo(name)
        if link is not None:
            info.type = tarfile.LNKTYPE if hard else tarfile.SYMTYPE
            info.linkname = link
            tf.addfile(info)
        else:
            info.size = 2
            tf.addfile(info, io.BytesIO(b"[]"))

    def make(root: Path) -> tuple[Path, int, str]:
        return _tar(root, extra), 3, line
    return make


def _tar_dot_prefix(root: Path) -> tuple[Path, int, str]:
    """`tar czf x.tgz -C export .`: every name starts with './'."""
    return _tar(root, lambda tf: None, arcname="."), 0, f"slack: ok; {FACTS['day_files']} files read, 0 skipped"


def _empty_zip(root: Path) -> tuple[Path, int, str]:
    z = root / "empty.zip"
    zipfile.ZipFile(z, "w").close()
    return z, 1, f"asyncpulse: {z}: not a Slack export: no users.json or channels.json in it"


CORPUS: dict[str, Case] = {
    "truncated day file": _truncated,
    "day file nested 2000 deep": _day_bytes(b"[" * 2000 + b"]" * 2000),
    "files field nested 300 deep": _day_bytes(
        b'[{"ts": "1709712000.000000", "files": ' + b"[" * 300 + b"]" * 300 + b"}]",
        line=f"skipped: {DAY}: field 'files' cannot be stored (Recursion limit reached); skipped"),
    "users.json nested 2000 deep": _with("users.json", b"[" * 2000 + b"]" * 2000, 3,
                                         "skipped: users.json: truncated or invalid JSON; users skipped"),
    "day file an object": _day_bytes(b'{"ts": "1.0"}', line=f"skipped: {DAY}: not a JSON array of messages; skipped"),
    "day file of numbers": _day_bytes(b"[1, 2]", line=f"skipped: {DAY}: element 0 is not a message object; skipped"),
    "day file random bytes": _day_bytes(bytes(range(256)) * 8),
    "day file invalid UTF-8": _day_bytes(b'[{"ts": "1.0", "text": "caf\xe9"}]'),
    "day file a lone surrogate": _day_bytes(b'[{"ts": "1.0", "text": "\\ud800"}]'),
    "day file a number out of range": _day_bytes(b'[{"ts": 1e400}]'),
    "empty day file": _day_bytes(b""),
    "empty users.json": _with("users.json", b"", 3, "skipped: users.json: truncated or invalid JSON; users skipped"),
    "empty channels.json": _with("channels.json", b"", 3,
                                 "skipped: channels.json: truncated or invalid JSON; its conversations are typed by guess"),
    "users.json an object": _with("users.json", b'{"id": "U1"}', 3,
                                  "skipped: users.json: not a JSON array of users; users skipped"),
    "channels.json missing": _with("channels.json", None, 0,
                                   "note: 5 folders not in any metadata file, typed by name: DABCDEF123 (dm), "
                                   "design (public), general (public), mpdm-x--y-1 (mpim), old-channel (public)"),
    "a conversation folder that is a file": _conversation_is_a_file,
    "symlink day file": _symlink_in_folder,
    "symlinked folder": _symlinked_folder,
    "folder name not UTF-8": _surrogate("folder"),
    "file name not UTF-8": _surrogate("file"),
    "zip bomb (ratio)": _zip_bomb,
    "zip over the total size": _zip_over_total,
    "zip member lying about its size": _zip_lying_size,
    "zip symlink": _zip_symlink,
    "zip absolute path": _zip_name("/etc/2024-03-04.json", "skipped: /etc/2024-03-04.json: absolute path"),
    "zip '..'": _zip_name("general/../../x/2024-03-04.json", "skipped: general/../../x/2024-03-04.json: '..' in path"),
    "zip newline in a name": _zip_name("gen\neral/2024-03-04.json",
                                       "skipped: gen\\neral/2024-03-04.json: control character in name"),
    "zip name invalid UTF-8": _zip_invalid_utf8_name,
    "zip name cp437": _zip_cp437_name,
    "empty zip": _empty_zip,
    "tar symlink outside": _tar_member("export/general/2024-03-06.json",
                                       "skipped: export/general/2024-03-06.json: link or special file",
                                       link="../../../../etc/passwd"),
    "tar hard link": _tar_member("export/general/2024-03-06.json",
                                 "skipped: export/general/2024-03-06.json: link or special file",
                                 link="/etc/passwd", hard=True),
    "tar absolute path": _tar_member("/etc/users.json", "skipped: /etc/users.json: absolute path"),
    "tar '..'": _tar_member("export/../../evil.json", "skipped: export/../../evil.json: '..' in path"),
    "tar './' names": _tar_dot_prefix,
}


@pytest.mark.parametrize("case", sorted(CORPUS))
def test_hostile_export(
    case: str, db: Path, good_rows: dict[str, set[tuple[Any, ...]]], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("ASYNCPULSE_MAX_EXPORT_BYTES", str(32 << 30))  # a case may lower it
    before = digest(db)
    export, expected_code, line = CORPUS[case](tmp_path)
    from pipelines.settings import get_settings
    get_settings.cache_clear()
    code, err = ingest(db, export, capsys)
    CASES["malformed exports (CLI)"] += 1
    assert code == expected_code, err
    assert any(e.startswith(line) for e in err.splitlines()), err
    assert_survived(db, code, err, good_rows)
    if code == 1:
        assert digest(db) == before


# --- wrong types in every field ---------------------------------------------------------------

WRONG = [12345, 1.5, True, {"value": "x"}, ["x"], "", 2**70, -(2**70)]
MESSAGE_KEYS = ["ts", "type", "subtype", "user", "bot_id", "username", "text", "thread_ts",
                "parent_user_id", "reply_count", "edited", "comment", "user_profile", "files",
                "file", "reactions"]
GOOD_TS = "1709712000.000100"
USER_KEYS = ["id", "team_id", "name", "real_name", "deleted", "is_bot", "is_app_user", "tz",
             "tz_label", "tz_offset", "updated", "profile"]
CHANNEL_KEYS = ["id", "name", "created", "creator", "is_archived", "is_general", "members",
                "topic", "purpose"]


def _wrong_messages(e: SlackExport, key: str) -> None:
    """One day file per wrong value of `key`: a fine message and one with the wrong type."""
    for i, value in enumerate(WRONG):
        nested = {"ts": value} if key == "edited" else {"user": value} if key == "comment" else \
            {"real_name": value} if key == "user_profile" else value
        e.raw(f"{key}-{i}/2024-03-06.json",
              dump([msg("U1", "fine", GOOD_TS), {**msg("U2", "odd", "1709712001.0"), key: nested}]))


def _wrong_users(key: str) -> list[dict[str, Any]]:
    users = []
    for i, value in enumerate(WRONG):
        u = user(f"U{key}{i}", f"w{i}")
        if key.startswith("profile."):
            u["profile"][key.removeprefix("profile.")] = value
        else:
            u[key] = value
        users.append(u)
    return users


def _wrong_channels(e: SlackExport, key: str) -> list[dict[str, Any]]:
    channels = []
    for i, value in enumerate(WRONG):
        channels.append({"id": f"C{key}{i}", "name": f"{key}{i}", key: value})
        e.day(f"{key}{i}", "2024-03-06", [msg("U1", "in a strange channel", f"1709712{i:03d}.0")])
    return channels


@pytest.mark.parametrize("key", MESSAGE_KEYS)
def test_wrong_types_in_message_fields(key: str, tmp_path: Path) -> None:
    """A file is either skipped whole and named, or loads every message with a valid ts."""
    e = SlackExport(tmp_path / "export").json("users.json", [user("U1", "ana")])
    _wrong_messages(e, key)
    rows, problems = _ingest_direct(e.root)
    CASES["wrong-typed fields"] += len(WRONG)
    for i in range(len(WRONG)):
        conv = f"{key}-{i}"
        mine = [p for p in problems if p.startswith(f"{conv}/2024-03-06.json: ")]
        if any(p.endswith("; skipped") for p in mine):
            assert len(mine) == 1 and conv not in rows
            assert "has a value of the wrong type" in mine[0]
        elif mine:
            assert mine == [f"{conv}/2024-03-06.json: 1 messages without a valid ts; those dropped"]
            assert key == "ts" and rows[conv] == 1
        else:
            assert rows[conv] == 2, (conv, problems)


@pytest.mark.parametrize("key", USER_KEYS + [f"profile.{k}" for k in ("email", "display_name", "real_name", "title")])
def test_wrong_types_in_user_fields(key: str, tmp_path: Path) -> None:
    """Users load with the wrong-typed value as NULL (or as text); only a user without an id is dropped."""
    e = SlackExport(tmp_path / "export").raw("users.json", dump(_wrong_users(key)))
    e.day("general", "2024-03-06", [msg("U1", "fine", GOOD_TS)])
    con = duckdb.connect()
    ensure_raw(con)
    report = load_slack(con, e.root)
    n = con.execute("select count(*) from raw.slack_users").fetchall()[0][0]
    con.close()
    CASES["wrong-typed fields"] += len(WRONG)
    assert report.problems == []
    assert n == (sum(isinstance(v, str) for v in WRONG) if key == "id" else len(WRONG))


@pytest.mark.parametrize("key", CHANNEL_KEYS)
def test_wrong_types_in_channel_fields(key: str, tmp_path: Path) -> None:
    """Every message loads, under the channel's id or (when the entry is unusable) its folder."""
    e = SlackExport(tmp_path / "export").json("users.json", [user("U1", "ana")])
    e.raw("channels.json", dump(_wrong_channels(e, key)))
    rows, problems = _ingest_direct(e.root)
    CASES["wrong-typed fields"] += len(WRONG)
    assert problems == []
    assert sum(rows.values()) == len(WRONG)


def test_wrong_types_everywhere_then_build(
    db: Path, good_rows: dict[str, set[tuple[Any, ...]]], tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Every wrong-typed field at once, through the CLI, then a full build of every model."""
    e = _ws(tmp_path)
    for key in MESSAGE_KEYS:
        _wrong_messages(e, key)
    users = orjson.loads((e.root / "users.json").read_bytes())
    channels = orjson.loads((e.root / "channels.json").read_bytes())
    for key in USER_KEYS:
        users += _wrong_users(key)
    for key in CHANNEL_KEYS:
        channels += _wrong_channels(e, key)
    e.raw("users.json", dump(users)).raw("channels.json", dump(channels))
    code, err = ingest(db, e.root, capsys)
    CASES["wrong-typed fields (CLI and build)"] += 1
    assert code == 3, err
    assert_survived(db, code, err, good_rows, build=True, capsys=capsys)


# --- values: out-of-range timestamps, duplicates, time zones -------------------------------------


def test_timestamps_out_of_range_are_dropped_and_reported(
    db: Path, good_rows: dict[str, set[tuple[Any, ...]]], tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    e = _ws(tmp_path)
    bad = ["99999999999999.1", "-5.0", "1e400", "", " 1.0", "1.0\n", "١٢٣.٤", "1.0000000001", "NaN"]
    e.day("general", "2024-03-06", [
        *(msg("U1", f"bad {i}", t) for i, t in enumerate(bad)),
        msg("U1", "ok, odd refs", "999999999999.999999", thread_ts="99999999999999.1",
            edited={"ts": "1e400"}, reply_count=-5),
        msg("U1", "epoch", "0.0", thread_ts="-5.0"),
    ])
    code, err = ingest(db, e.root, capsys)
    CASES["timestamps out of range"] += len(bad) + 2
    assert code == 3
    assert f"skipped: {DAY}: {len(bad)} messages without a valid ts; those dropped" in err.splitlines()
    assert_survived(db, code, err, good_rows, build=True, capsys=capsys)
    assert sorted(query(db, "select ts from raw.slack_messages where text in ('ok, odd refs', 'epoch')")
                  ["ts"].to_list()) == ["0.0", "999999999999.999999"]


def test_duplicate_ts_kept_once_and_noted(
    db: Path, good_rows: dict[str, set[tuple[Any, ...]]], tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    e = _ws(tmp_path)
    e.day("general", "2024-03-06", [msg("U1", "first", GOOD_TS), msg("U2", "second", GOOD_TS)])
    e.day("general", "2024-03-07", [msg("U1", "third", GOOD_TS)])
    code, err = ingest(db, e.root, capsys)
    CASES["duplicate ts"] += 1
    assert code == 0
    assert "note: 1 messages appear more than once (same conversation and ts); each kept once" in err.splitlines()
    assert_survived(db, code, err, good_rows, build=True, capsys=capsys)
    assert query(db, "select count(*) as n from raw.slack_messages where ts = ?", [GOOD_TS]).item() == 1


def test_invalid_timezone_names_are_unknown(
    db: Path, good_rows: dict[str, set[tuple[Any, ...]]], tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    zones = ["Not/AZone", "", "../../etc/passwd", "UTC'; drop table raw.slack_messages; --",
             "Europe/London\n", "+05:30", "x" * 10_000, "America/Los_Angeles "]
    e = _ws(tmp_path)
    e.json("users.json", [user(f"UZ{i}", f"z{i}", z) for i, z in enumerate(zones)])
    e.day("general", "2024-03-06", [msg(f"UZ{i}", "hi", f"1709712{i:03d}.0") for i in range(len(zones))])
    code, err = ingest(db, e.root, capsys)
    CASES["invalid time zones"] += len(zones)
    assert code == 0, err
    assert_survived(db, code, err, good_rows, build=True, capsys=capsys)
    known = query(db, "select user_id, has_known_tz, tz from staging.stg_slack__users where user_id like 'UZ%'")
    assert known["has_known_tz"].to_list() == [False] * len(zones)
    assert known["tz"].to_list() == [None] * len(zones)


def test_huge_message_loads_within_bounded_memory(tmp_path: Path) -> None:
    """A 50 MB text field loads cut to max_text_chars, with a note; the ingest stays under 1 GB."""
    e = SlackExport(tmp_path / "big")
    e.json("users.json", [user("U1", "ana")])
    e.day("general", "2024-03-06", [msg("U1", "x" * (50 << 20), GOOD_TS)])
    db = tmp_path / "big.duckdb"
    script = (
        "import resource, sys; from pipelines.cli import main; "
        f"code = main(['ingest', 'slack', {str(e.root)!r}, '--db', {str(db)!r}]); "
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024); sys.exit(code)"
    )
    p = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    CASES["huge messages"] += 1
    assert p.returncode == 0, p.stderr
    assert "Traceback" not in p.stderr
    assert int(p.stdout.split()[-1]) < 1024, "peak RSS in MB"
    assert "note: general/2024-03-06.json: 1 messages over 1,000,000 characters cut to that " \
        "length (max_text_chars)" in p.stderr.splitlines()
    assert query(db, "select length(text) as n from raw.slack_messages").item() == 1_000_000


def test_huge_message_over_the_file_limit_is_refused_with_one_line(
    db: Path, good_rows: dict[str, set[tuple[Any, ...]]], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    from pipelines.settings import get_settings

    monkeypatch.setenv("ASYNCPULSE_MAX_FILE_BYTES", str(10 << 20))
    get_settings.cache_clear()
    e = _ws(tmp_path)
    e.day("general", "2024-03-06", [msg("U1", "x" * (50 << 20), GOOD_TS)])
    size = (e.root / DAY).stat().st_size
    code, err = ingest(db, e.root, capsys)
    CASES["huge messages"] += 1
    assert code == 3
    assert f"skipped: {DAY}: {size} bytes, over the {10 << 20}-byte limit" in err.splitlines()
    assert_survived(db, code, err, good_rows)


# --- properties --------------------------------------------------------------------------------

VALID_TS = re.compile(r"[0-9]{1,12}(\.[0-9]{1,9})?")
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
TS_TEXT = st.one_of(  # Slack's ts is text: valid ones, out-of-range ones, near misses
    st.builds(lambda s, f: f"{s}.{f:06d}", st.integers(0, 2_000_000_000), st.integers(0, 999_999)),
    st.sampled_from(["99999999999999.1", "-5.0", "1e400", "", "1.", ".5", "0", "1.0000000001"]),
    st.text(alphabet="0123456789.-e", max_size=16),
)
TS = st.one_of(TS_TEXT, JSON)
STR_FIELDS = ["type", "subtype", "user", "bot_id", "username", "text", "thread_ts", "parent_user_id"]


def _typed_message() -> st.SearchStrategy[dict[str, Any]]:
    """A message whose every field has the type Slack gives it (values arbitrary)."""
    return st.fixed_dictionaries(
        {"ts": st.none() | TS_TEXT},
        optional={
            **{k: st.none() | st.text(max_size=40) for k in STR_FIELDS},
            "reply_count": st.none() | st.integers(-(2**62), 2**62),
            "edited": st.none() | st.fixed_dictionaries({"ts": st.text(max_size=20)}),
            "user_profile": st.none() | st.dictionaries(
                st.sampled_from(["name", "real_name", "display_name"]), st.text(max_size=10)),
            "files": JSON, "reactions": JSON, "blocks": JSON,
        },
    )


def _any_message() -> st.SearchStrategy[Any]:
    """A message with any JSON in any field, or not a message at all."""
    keys = st.sampled_from([*MESSAGE_KEYS, "blocks", "x"])
    return st.one_of(
        st.dictionaries(keys, JSON, max_size=6).map(lambda d: d),
        st.builds(lambda m, extra: {**m, **extra}, _typed_message(), st.dictionaries(keys, JSON, max_size=2)),
        JSON,
    )


DAY_FILES = st.lists(
    st.one_of(
        st.tuples(st.just("typed"), st.lists(_typed_message(), max_size=8)),
        st.tuples(st.just("any"), st.lists(_any_message(), max_size=6)),
        st.tuples(st.just("bytes"), st.binary(max_size=300)),
        st.tuples(st.just("json"), JSON),
    ),
    min_size=1, max_size=4,
)


_MEMORY: list[duckdb.DuckDBPyConnection] = []


def _ingest_direct(root: Path) -> tuple[dict[str, int], list[str]]:
    """Load the export at `root` into an empty in-memory database; return rows per conversation and problems.

    One connection serves every call; each load runs in a transaction rolled back after.
    """
    if not _MEMORY:
        _MEMORY.append(duckdb.connect())
        ensure_raw(_MEMORY[0])
    con = _MEMORY[0]
    con.begin()
    try:
        report = load_slack(con, root)
        rows = dict(con.execute(
            "select conversation_id, count(*) from raw.slack_messages group by 1").fetchall())
        return rows, report.problems
    finally:
        con.rollback()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(files=DAY_FILES)
def test_property_ingest_loads_every_valid_message_and_reports_the_rest(
    files: list[tuple[str, Any]],
) -> None:
    CASES["property: random exports"] += 1
    with tempfile.TemporaryDirectory() as tmp:
        e = SlackExport(Path(tmp))
        e.json("users.json", [user("U1", "ana")])
        for i, (kind, content) in enumerate(files):
            e.raw(f"c{i}/2024-03-04.json", content if kind == "bytes" else dump(content))
        try:
            rows, problems = _ingest_direct(e.root)
        except ExportError as err:  # the one failure allowed: nothing readable at all
            assert "nothing in it could be read" in str(err)
            return
    for i, (kind, content) in enumerate(files):
        conv, member = f"c{i}", f"c{i}/2024-03-04.json"
        mine = [p for p in problems if p.startswith(member + ": ")]
        skipped = [p for p in mine if p.endswith("; skipped")]
        if skipped:  # skipped whole, named once, nothing of it loaded
            assert len(skipped) == 1 and conv not in rows
            assert kind != "typed", skipped
            continue
        assert isinstance(content, list)
        tss = [m.get("ts") for m in content]
        valid = {t for t in tss if isinstance(t, str) and VALID_TS.fullmatch(t)}
        invalid = len(tss) - sum(1 for t in tss if isinstance(t, str) and VALID_TS.fullmatch(t))
        assert rows.get(conv, 0) == len(valid)
        if invalid:
            assert mine == [f"{member}: {invalid} messages without a valid ts; those dropped"]
        else:
            assert mine == []


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=2000), prefix=st.sampled_from([b"", b"[", b'[{"ts": "1.0", "text": "', b"{"]))
def test_property_random_bytes_day_file_is_parsed_or_skipped(data: bytes, prefix: bytes) -> None:
    """The parser on any bytes: a file parses to its messages, or is skipped with one reason."""
    CASES["property: random day-file bytes"] += 1
    raw = prefix + data
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "day.json").write_bytes(raw)
        batch = DayBatch(tmp, "dir", (("day.json", "C1", len(raw), "sig"),), str(Path(tmp, "out.parquet")))
        result = parse_day_batch(batch)
    (outcome,) = result.outcomes
    try:
        parsed = orjson.loads(raw)
    except orjson.JSONDecodeError:
        assert (outcome.rows, outcome.problem) == (0, "truncated or invalid JSON")
        return
    if not isinstance(parsed, list):
        assert (outcome.rows, outcome.problem) == (0, "not a JSON array of messages")
    elif outcome.problem is None:
        assert outcome.rows == result.rows == len(parsed)
    else:
        assert outcome.rows == 0 and result.parquet is None


def _both_ways(raw: bytes) -> tuple[list[list[object]] | None, list[list[object]] | None]:
    """Columns of one day file read the fast way and the reference way (None where it raised)."""
    fast: list[list[object]] | None = [[] for _ in MESSAGE_FIELDS]
    ref: list[list[object]] | None = [[] for _ in MESSAGE_FIELDS]
    try:
        append_messages_fast(raw, fast)  # type: ignore[arg-type]
    except (ValueError, TypeError, RecursionError):
        fast = None
    try:
        append_messages(orjson.loads(raw), ref)  # type: ignore[arg-type]
    except (orjson.JSONDecodeError, ValueError, AttributeError):
        ref = None
    return fast, ref


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(content=st.one_of(st.lists(_typed_message(), max_size=8), st.lists(_any_message(), max_size=6), JSON),
       pretty=st.booleans())
def test_property_fast_and_reference_parsers_agree(content: Any, pretty: bool) -> None:
    """Whatever the fast way (msgspec) accepts, it reads exactly as the reference way (orjson) does."""
    CASES["property: fast vs reference parser"] += 1
    raw = json.dumps(content, indent=4 if pretty else None).encode()
    fast, ref = _both_ways(raw)
    if fast is not None:
        assert ref == fast


@settings(max_examples=200, deadline=None)
@given(messages=st.lists(_typed_message().filter(
    lambda m: all(isinstance(m.get(k), list | None) for k in ("files", "reactions"))
    and not _too_big_for_orjson(m)), min_size=1, max_size=8))
def test_property_fast_parser_takes_well_typed_day_files(messages: list[dict[str, Any]]) -> None:
    """Day files shaped as Slack writes them never fall back to the slow way."""
    CASES["property: fast vs reference parser"] += 1
    fast, ref = _both_ways(json.dumps(messages).encode())
    assert fast is not None and fast == ref


def _too_big_for_orjson(value: Any) -> bool:
    """True for integers orjson does not read as integers (beyond 64 bits), anywhere in `value`."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return not -(2**63) <= value < 2**64
    if isinstance(value, dict):
        return any(_too_big_for_orjson(v) for v in value.values())
    if isinstance(value, list):
        return any(_too_big_for_orjson(v) for v in value)
    return False


def test_fast_parser_on_the_sample_workspace_and_real_exports(tmp_path: Path) -> None:
    """Every day file of the sample workspace, and of the real exports when present, reads the fast way."""
    day = re.compile(r"(^|/)\d{4}-\d{2}-\d{2}\.json$")
    root = build_workspace(SlackExport(tmp_path)).root
    day_files = {str(f): f.read_bytes() for f in sorted(root.glob("*/*.json")) if day.search(str(f))}
    for zpath in sorted((SHARED_DATA / "slack").glob("*.zip")):  # the real exports, when present
        with zipfile.ZipFile(zpath) as zf:
            day_files |= {f"{zpath.name}:{n}": zf.read(n) for n in zf.namelist() if day.search(n)}
    fell_back = []
    for name, raw in day_files.items():
        fast, ref = _both_ways(raw)
        if fast is None:
            fell_back.append(name)
        else:
            assert fast == ref, name
    assert len(day_files) >= 9 and len(fell_back) <= len(day_files) // 100, fell_back


def test_enough_hostile_cases_were_tried() -> None:
    """Runs last in this file (pytest keeps file order): the corpus and properties really ran."""
    if len(CASES) < 5:
        pytest.skip("run with the whole file to count cases")
    assert CASES["property: random exports"] >= 150
    assert CASES["property: random day-file bytes"] >= 150
    assert sum(CASES.values()) >= 400


# --- hostile SQL: what tests/test_cli.py does not already try ----------------------------------

MORE_ESCAPES = [
    "copy (select * from raw.slack_messages) to '{tmp}/out.parquet' (format parquet)",
    "attach '{tmp}/other.duckdb' as o (read_only false)",
    "attach ':memory:' as m",
    "select * from read_parquet('{tmp}/some.parquet')",
    "select * from read_json('{tmp}/some.json')",
    "select * from glob('{tmp}/*')",
    "select * from read_blob('/etc/passwd')",
    "select * from read_csv('https://example.com/x.csv')",
    "create secret s (type s3, key_id 'k', secret 's')",
    "create macro m() as 1",
    "set memory_limit = '1TB'",
    "set temp_directory = '{tmp}/spill'",
    "pragma enable_profiling",
    "force install httpfs",
    "insert into raw.loads select * from raw.loads",
    "begin; delete from raw.slack_messages; commit",
]


@pytest.mark.parametrize("sql", MORE_ESCAPES)
def test_sql_more_escape_attempts_fail(
    sql: str, good_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    db = tmp_path / "db.duckdb"
    shutil.copyfile(good_db, db)
    (tmp_path / "some.json").write_text('[{"a": 1}]')
    before = {p.name: digest(p) for p in tmp_path.rglob("*") if p.is_file()}
    code = main(["sql", sql.format(tmp=tmp_path), "--db", str(db)])
    out, err = capsys.readouterr()
    CASES["hostile SQL"] += 1
    assert (code, out) == (1, ""), f"the attempt succeeded: {sql}"
    assert len(err.splitlines()) == 1 and err.startswith("asyncpulse: "), err
    assert {p.name: digest(p) for p in tmp_path.rglob("*") if p.is_file()} == before


def test_sql_statement_timeout_gives_one_line(
    good_db: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    import time

    from pipelines.settings import get_settings

    monkeypatch.setenv("ASYNCPULSE_SQL_TIMEOUT_SECONDS", "1")
    get_settings.cache_clear()
    start = time.monotonic()
    code = main(["sql", "select count(*) from range(1000000000000)", "--db", str(good_db)])
    took = time.monotonic() - start
    out, err = capsys.readouterr()
    CASES["hostile SQL"] += 1
    assert (code, out) == (1, "")
    assert len(err.splitlines()) == 1 and err.startswith("asyncpulse: "), err
    assert took < 10

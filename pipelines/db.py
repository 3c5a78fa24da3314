"""The database file: connections, the copy-and-swap writer, and the SQL build.

Storage design (README, "How it stays safe while the dashboard is open"). DuckDB lets one process write a file, and a
reader in another process blocks that writer (and the other way round).
So the published file is not written in place:

* a writer (ingest, build, the nightly run) takes ``<db>.lock`` (flock),
  copies the published file to ``.<db>.<pid>.tmp`` beside it, does all its
  work there, checkpoints, and ``os.replace``-s the copy over the published
  file: an atomic rename on the same file system;
* a reader (dashboard, ``asyncpulse sql``) opens the published file
  read-only for one query batch and closes it. A reader that still has the
  old file open keeps reading the old inode; the next open sees the new one.

One exception, for speed: recording that an export is unchanged (one
``raw.loads`` row) is written in place when no other process has the file
open (``connect_in_place``): copying a large database for one row would
cost more than the rest of the run. DuckDB's lock refuses it while a reader
has the file open, and then the copy is made as usual.

A writer that fails at any step deletes its copy: the published database is
exactly as it was. Files are written with DuckDB's v1.5.0 storage format so
the DuckDB 1.5 CLI and harlequin open them.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import re
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import duckdb

from pipelines.models import PythonModel, python_models
from pipelines.settings import get_settings

STORAGE_VERSION = "v1.5.0"
LOCK_WAIT_SECONDS = 10.0  # a reader waits this long for an in-place write to finish
LAYERS = ("staging", "intermediate", "marts")
# A model whose header says `-- materialized: view` is a view: cheaper than writing a
# table when its readers each take a few columns of it (dbt's default for staging).
MATERIALIZED_VIEW = re.compile(r"^--\s*materialized:\s*view\b", re.MULTILINE)
REFERENCE = re.compile(r"\b((?:staging|intermediate|marts)\.[a-z_][a-z0-9_]*)")


class BusyError(Exception):
    """Another writer holds the database."""


class BuildError(RuntimeError):
    """A model failed to build; the message names the file and the first error line."""


class DiskFullError(OSError):
    """Not enough free disk for the private copy, or the disk filled up during a write."""


# Beside the database, what a writer makes while it works (`private_copy`, the Slack loader's
# scratch folder); a writer that takes the lock removes what dead writers left of these.
COPY_GLOB = ".{name}.*.tmp*"
SCRATCH_PREFIX = ".asyncpulse-batches-{name}."


def connect_writer(path: Path) -> duckdb.DuckDBPyConnection:
    """Open `path` for writing (created in the 1.5-compatible format when new)."""
    s = get_settings()
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(
        str(path),
        config={
            "storage_compatibility_version": STORAGE_VERSION,
            "memory_limit": s.memory_limit,
            "preserve_insertion_order": False,
        },
    )
    con.execute("set global TimeZone = 'UTC'")
    con.execute("set enable_progress_bar = false")  # it writes to stdout
    return con


def connect_reader(path: Path, timeout_seconds: float = 60) -> duckdb.DuckDBPyConnection:
    """Open `path` read-only with no way out: no files, network or extensions."""
    if not Path(path).exists():
        raise FileNotFoundError(f"{path}: no database here yet (run `asyncpulse ingest` first)")
    config: dict[str, str | bool | int | float | list[str]] = {
        "enable_external_access": False,
        "autoinstall_known_extensions": False,
        "autoload_known_extensions": False,
    }
    deadline = time.monotonic() + LOCK_WAIT_SECONDS
    while True:
        try:
            con = duckdb.connect(str(path), read_only=True, config=config)
            break
        except duckdb.IOException as e:
            # A writer is recording a row in place (connect_in_place): a fraction of a second.
            if not _is_lock_conflict(e) or time.monotonic() >= deadline:
                raise
            time.sleep(0.05)
    try:
        # global: cursors and later connections to this instance start in UTC too
        con.execute("set global TimeZone = 'UTC'")
        # DuckDB's progress bar writes to stdout: into `sql --format csv` output.
        con.execute("set enable_progress_bar = false")
        # enable_external_access=false still lets a query read and write the database's own
        # file and WAL (DuckDB allows those paths): `copy ... to '<db>'` would destroy it.
        # With the local file system off, no statement reaches any file; the database itself
        # is read through the handle opened above.
        con.execute("set disabled_filesystems = 'LocalFileSystem'")
        con.execute("set lock_configuration = true")
    except duckdb.InvalidInputException:
        # Another reader in this process opened (and locked) the same instance already;
        # it made the same settings, which is checked here.
        zone = con.execute("select current_setting('TimeZone')").fetchall()[0][0]
        if zone != "UTC" or not _files_disabled(con):
            con.close()
            raise
    return con


def _files_disabled(con: duckdb.DuckDBPyConnection) -> bool:
    """Tell whether this connection can reach no file (its setting does not show its value)."""
    try:
        con.execute("select count(*) from glob('/*')").fetchall()
    except duckdb.PermissionException:
        return True
    return False


@contextlib.contextmanager
def writer_lock(db: Path, wait_seconds: float = 600) -> Iterator[None]:
    """Hold the database's writer lock; wait for another writer up to `wait_seconds`.

    While it is held, everything this process creates is readable by its owner
    only (umask 077): the private copy, its WAL and the scratch batches hold
    messages from their first byte. On taking the lock, what writers killed
    earlier left beside the database is removed: nobody else can be using it.
    The lock is an flock on `<db>.lock`, which is removed (while still held) when the
    writer is done, so no lock file is left beside the database.
    """
    db.parent.mkdir(parents=True, exist_ok=True)
    lock_path = db.with_name(db.name + ".lock")
    umask = os.umask(0o077)
    try:
        with _locked(db, lock_path, wait_seconds):
            remove_debris(db)
            yield
    finally:
        os.umask(umask)


def remove_debris(db: Path) -> list[str]:
    """Delete dead writers' private copies and scratch folders beside `db`; return their names.

    Call it with the writer lock held: every writer makes these under the lock,
    so any found then (from another process) was left by one that was killed.
    """
    mine = f".{os.getpid()}."
    gone = []
    for p in db.parent.glob(COPY_GLOB.format(name=db.name)):
        if mine not in p.name:
            with contextlib.suppress(FileNotFoundError):
                p.unlink()
            gone.append(p.name)
    scratch = get_settings().scratch_dir
    for folder in {db.parent, *([scratch] if scratch else [])}:
        for p in Path(folder).glob(SCRATCH_PREFIX.format(name=db.name) + "*"):
            if not p.name.startswith(scratch_prefix(db)):
                shutil.rmtree(p, ignore_errors=True)
                gone.append(p.name)
    return gone


def scratch_prefix(db: Path) -> str:
    """Return the name prefix of this process's scratch folders for `db` (see remove_debris)."""
    return SCRATCH_PREFIX.format(name=db.name) + f"{os.getpid()}-"


@contextlib.contextmanager
def _locked(db: Path, lock_path: Path, wait_seconds: float) -> Iterator[None]:
    """Hold an flock on `lock_path`, and remove the file (while still holding it) when done:
    no <db>.lock is left beside the database."""
    deadline = time.monotonic() + wait_seconds
    told = False
    while True:
        f = open(lock_path, "a+")  # noqa: SIM115 - closed below, or on leaving the block
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.close()
            if time.monotonic() >= deadline:
                raise BusyError(
                    f"{db}: another asyncpulse run is writing it (lock {lock_path}); try later"
                ) from None
            if not told:
                print(f"waiting for another asyncpulse run to finish with {db} ...", file=sys.stderr)
                told = True
            time.sleep(0.2)
            continue
        # The holder removes the file before letting go: a lock taken on a file that is no
        # longer at lock_path guards nothing, so take it again on the file that is there.
        if _same_file(f, lock_path):
            break
        f.close()
    try:
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(lock_path)
        f.close()  # lets go of the lock


def _same_file(f: IO[str], path: Path) -> bool:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return False
    own = os.fstat(f.fileno())
    return (own.st_dev, own.st_ino) == (st.st_dev, st.st_ino)


@contextlib.contextmanager
def writable_copy(db: Path, fresh: bool = False) -> Iterator[Path]:
    """Yield a private copy of `db` to write; publish it atomically if the block succeeds.

    `fresh`: publish a new file written table by table instead of the copy
    (see `private_copy`); `forget` asks for it.
    """
    db = Path(db)
    with writer_lock(db), private_copy(db, fresh) as work:
        yield work


@contextlib.contextmanager
def private_copy(db: Path, fresh: bool = False) -> Iterator[Path]:
    """`writable_copy` for a caller that holds the writer lock already.

    The copy is byte for byte, freed blocks included: text deleted from it is
    still in its bytes. So when rows must really be gone (`fresh`, or a
    redacted write over a database that held text in clear), what is
    published is a new file that the copy's tables are written into one by
    one: no block of the old file survives in it.
    """
    work = db.with_name(f".{db.name}.{os.getpid()}.tmp")
    out = db.with_name(f".{db.name}.{os.getpid()}.fresh.tmp")
    _remove(work)
    wal = db.with_name(db.name + ".wal")
    try:
        if db.exists():
            _check_free_space(db, wal)
            shutil.copyfile(db, work)
            if wal.exists():  # left by someone who opened the file read-write by hand
                shutil.copyfile(wal, work.with_name(work.name + ".wal"))
            fresh = fresh or _holds_clear_text_to_redact(work)
        yield work
        if work.exists():
            _checkpoint(work)
            if fresh:
                _write_fresh(work, out)
                _remove(work)
            else:
                out = work
            with open(out, "rb") as f:
                os.fsync(f.fileno())
            _remove(wal)
            _restrict(out)
            os.replace(out, db)
            _fsync_dir(db.parent)
    except (OSError, duckdb.Error) as e:
        if _is_disk_full(e):
            raise DiskFullError(
                f"{db.parent}: the disk filled up while writing {db.name}; "
                "the database is as it was (free some space and run again)"
            ) from e
        raise
    finally:
        _remove(work)
        _remove(out)


def _check_free_space(db: Path, wal: Path) -> None:
    """Refuse to start a copy that the disk cannot hold (the copy needs the database's size)."""
    need = db.stat().st_size + (wal.stat().st_size if wal.exists() else 0)
    free = shutil.disk_usage(db.parent).free
    if free < need + need // 10:
        raise DiskFullError(
            f"{db.parent}: {_mib(free)} free, but writing {db.name} needs a copy of it "
            f"({_mib(need)} and a tenth more); the database is as it was"
        )


def _mib(n: int) -> str:
    return f"{n / 2**20:,.1f} MiB"


def _is_disk_full(e: BaseException) -> bool:
    if isinstance(e, DiskFullError):
        return False  # says so already
    if isinstance(e, OSError):
        return e.errno == errno.ENOSPC
    return "No space left on device" in str(e) or "ENOSPC" in str(e)


def _holds_clear_text_to_redact(work: Path) -> bool:
    """Tell whether a redacted write is about to replace rows the file holds in clear."""
    if not get_settings().redact:
        return False
    con = connect_writer(work)
    try:
        tables = {r[0] for r in con.execute(
            "select table_name from duckdb_tables() where schema_name = 'raw'").fetchall()}
        checks = {
            "slack_messages": "text_redacted is null",
            "slack_users": "coalesce(real_name, name, '') not similar to '(person-[0-9a-f]{10})?'",
            "github_users": "coalesce(name, '') not similar to '(person-[0-9a-f]{10})?'",
            "people": "coalesce(person, '') not similar to '(person-[0-9a-f]{10})?'",
        }
        return any(
            con.execute(f"select exists (from raw.{t} where {where})").fetchall()[0][0]
            for t, where in checks.items() if t in tables
        )
    finally:
        con.close()


def _write_fresh(work: Path, out: Path) -> None:
    """Write every schema, table, view and macro of `work` into a new database file `out`."""
    _remove(out)
    con = duckdb.connect(config={"memory_limit": get_settings().memory_limit})
    try:
        con.execute(f"attach '{_quoted(work)}' as src (read_only)")
        con.execute(f"attach '{_quoted(out)}' as dst (storage_version '{STORAGE_VERSION}')")
        con.execute("copy from database src to dst")
        con.execute("detach dst")
    finally:
        con.close()
    _remove(out.with_name(out.name + ".wal"))


def _quoted(path: Path) -> str:
    return str(path).replace("'", "''")


def connect_in_place(db: Path) -> duckdb.DuckDBPyConnection | None:
    """Open the published file itself for writing, or return None if anyone has it open.

    For writes of a row or two (an unchanged export's `raw.loads` row), where
    copying a large database would cost more than all the rest. Call it with
    the writer lock held. DuckDB's own file lock refuses us while a reader in
    another process (the dashboard) has the file open, and this process's
    readers are seen too; then the caller takes the copy-and-swap path. A
    reader that opens the file during the write waits for it
    (`connect_reader`), and the write is one transaction: a failure leaves
    the file as it was.
    """
    if not db.exists():
        return None
    try:
        return connect_writer(db)
    except (duckdb.IOException, duckdb.ConnectionException) as e:
        if _is_lock_conflict(e):
            return None
        raise


def _is_lock_conflict(e: duckdb.Error) -> bool:
    text = str(e)
    return "Could not set lock" in text or "different configuration" in text


def _restrict(path: Path) -> None:
    """Give the file the `db_file_mode` setting's permissions (default 0600: it holds messages)."""
    mode = get_settings().db_file_mode
    if mode:
        os.chmod(path, int(mode, 8))


def _checkpoint(path: Path) -> None:
    """Fold the WAL into the file so the published copy is self-contained."""
    con = connect_writer(path)
    try:
        con.execute("checkpoint")
    finally:
        con.close()
    _remove(path.with_name(path.name + ".wal"))


def _remove(path: Path) -> None:
    for p in (path, path.with_name(path.name + ".wal")):
        with contextlib.suppress(FileNotFoundError):
            p.unlink()


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fetch_row(
    con: duckdb.DuckDBPyConnection, sql: str, params: list[object] | None = None
) -> tuple[object, ...]:
    """Run `sql` and return its single row (DuckDB 2.0 keeps a half-fetched result open)."""
    rows = con.execute(sql, params or []).fetchall()
    if len(rows) != 1:
        raise ValueError(f"expected one row, got {len(rows)}: {sql}")
    return rows[0]


def sql_files(layer: str) -> list[Path]:
    """Return the model files of one layer, in name order."""
    return sorted((get_settings().sql_dir / layer).glob("*.sql"))


def ensure_raw(con: duckdb.DuckDBPyConnection) -> None:
    """Create the raw schema's tables (DDL in sql/raw) where missing."""
    con.execute("create schema if not exists raw")
    for f in sql_files("raw"):
        con.execute(f.read_text())


def model_order(models: dict[str, str]) -> list[str]:
    """Order one layer's models (name -> the SQL it runs) so each follows what it reads.

    A model names what it reads as `schema.relation`; a cycle is an error.
    """
    deps = {
        name: {d for d in REFERENCE.findall(text.lower()) if d in models and d != name}
        for name, text in models.items()
    }
    ordered: list[str] = []
    done: set[str] = set()
    while deps:
        ready = sorted(n for n, d in deps.items() if d <= done)
        if not ready:
            raise BuildError(f"models depend on each other in a cycle: {sorted(deps)}")
        for n in ready:
            ordered.append(n)
            done.add(n)
            del deps[n]
    return ordered


def _write_build_settings(con: duckdb.DuckDBPyConnection) -> None:
    """Put the thresholds the models read into staging.build_settings (one row; no templating)."""
    s = get_settings()
    con.execute(
        """create table staging.build_settings as select
            ?::double  as bounce_offset_hours,
            ?::integer as opener_silence_minutes,
            ?::integer as checkin_gap_minutes,
            ?::integer as fast_reply_minutes,
            ?::integer as decision_min_messages,
            ?::time    as work_start,
            ?::time    as work_end,
            ?::varchar as workdays,
            ?::varchar[] as bot_logins,
            ?::varchar as slack_workspace_url""",
        [s.bounce_offset_hours, s.opener_silence_minutes, s.checkin_gap_minutes,
         s.fast_reply_minutes, s.decision_min_messages, s.work_start, s.work_end, s.workdays,
         [b.lower() for b in s.bot_logins], s.slack_workspace_url],
    )


def _build_python(con: duckdb.DuckDBPyConnection, model: PythonModel) -> None:
    """Run a Python model: its query -> Polars (lazy) -> its transform -> a table."""
    frame = model.transform(con.sql(model.reads).pl().lazy()).collect()
    con.register("_model_output", frame.to_arrow())
    try:
        con.execute(f"create table {model.layer}.{model.name} as select * from _model_output")
    finally:
        con.unregister("_model_output")


def build(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Rebuild staging, intermediate and marts from raw; return rows per relation.

    Each file is one relation named after the file, built as a table, in
    dependency order within its layer.
    """
    ensure_raw(con)
    counts: dict[str, int] = {}
    # Start each layer empty, so a model never reads a relation left by the last build.
    for layer in reversed(LAYERS):
        con.execute(f"drop schema if exists {layer} cascade")
    for f in sql_files("macros"):
        con.execute(f.read_text())
    python = {f"{m.layer}.{m.name}": m for m in python_models()}
    for layer in LAYERS:
        con.execute(f"create schema {layer}")
        if layer == "staging":
            _write_build_settings(con)
            from pipelines.agreements import write_agreements  # the agreements the marts read

            write_agreements(con)
        files = {f"{layer}.{f.stem}": f for f in sql_files(layer)}
        texts = {name: f.read_text() for name, f in files.items()}
        texts |= {name: m.reads for name, m in python.items() if m.layer == layer}
        for name in model_order(texts):
            where = files[name].name if name in files else f"the Python model {name}"
            try:
                if name in files:
                    kind = "view" if MATERIALIZED_VIEW.search(texts[name]) else "table"
                    con.execute(f"create {kind} {name} as\n{texts[name]}")
                else:
                    _build_python(con, python[name])
            except duckdb.Error as e:
                hint = ""
                if isinstance(e, duckdb.OutOfMemoryException):
                    hint = (f" (memory_limit is {get_settings().memory_limit}: raise it, "
                            "e.g. ASYNCPULSE_MEMORY_LIMIT=4GB)")
                raise BuildError(f"build failed in {where}: {str(e).splitlines()[0]}{hint}") from e
            counts[name] = int(fetch_row(con, f"select count(*) from {name}")[0])  # type: ignore[call-overload]
    return counts

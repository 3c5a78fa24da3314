"""Measure `asyncpulse ingest` and `build` against the floors of reading the export and the naive way.

For each size: generate (or reuse) a Slack export and its GitHub history
under benchmarks/data/, read every file once to warm the page cache, then time
- the floors, each in its own process: reading every day file's bytes
  (`cat`), `json.loads` of each (the reference), `orjson.loads` of each;
- DuckDB's own `read_json` over the glob, for comparison;
- the naive way (benchmarks/naive.py: json.load per file into pandas, into
  DuckDB, metrics in pandas);
- `asyncpulse ingest slack`, `asyncpulse ingest github`, `asyncpulse build`,
  and both ingests again on the unchanged exports; then the dashboard's pages,
polling the memory of each process tree every 20 ms. The tables, the checks
(per size and across sizes) are printed and written to benchmarks/results.md,
with a plot of time versus size (benchmarks/time_vs_size.png).

    python -m benchmarks.bench [--messages N | --sizes 100000,1000000] [--with-5m] [--keep]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import orjson
import psutil

from benchmarks.generate import generate_slack
from benchmarks.generate_github import generate_github, prs_for

BENCH_DIR = Path(__file__).resolve().parent
DATA_DIR = BENCH_DIR / "data"
RESULTS = BENCH_DIR / "results.md"
PLOT = BENCH_DIR / "time_vs_size.png"  # .svg, drawn by hand, when matplotlib is missing
DEFAULT_SIZES = "100000,1000000"
FIVE_M = 5_000_000
FREE_DISK_FOR_5M = 15 * 10**9  # the 5M export is about 4 GB, its databases and scratch more
# The console script sits beside the interpreter running the bench (.venv/bin).
ASYNCPULSE = Path(sys.executable).parent / "asyncpulse"
DAY_FILE = re.compile(r"\d{4}-\d{2}-\d{2}\.json")
MB = 1_000_000  # data sizes and rates, as `du --si` and disk makers count
MIB = 1 << 20  # memory, as the OS counts it
GIB = 1 << 30
POLL_SECONDS = 0.02

TARGET_INGEST_VS_JSON = 1.5
TARGET_BUILD_VS_INGEST = 1.5
TARGET_RSS_BYTES = 1 * GIB  # up to one million messages
TARGET_RSS_BYTES_5M = 2 * GIB  # above one million (the 5M run)
TARGET_NAIVE_SPEEDUP = 3.0  # naive / (ingest + build) at least this
TARGET_RERUN = 0.10  # re-run on unchanged exports / first run
TARGET_LINEAR = 5.5  # (ingest + build) at 5M / at 1M
NAIVE_TIMEOUT_S = 3600.0
NAIVE_RSS_LIMIT = 16 * GIB  # a safety stop for a shared 24 GB machine
DUCKDB_TIMEOUT_S = 120.0
DUCKDB_RSS_LIMIT = 3 * GIB
ASYNCPULSE_RSS_LIMIT = 8 * GIB  # a safety stop for a shared machine, far above the target


@dataclass
class Run:
    """One measured process tree: how long, how much memory, and how it ended."""

    label: str
    seconds: float | None = None
    peak_tree_rss: int = 0
    peak_single_rss: int = 0
    returncode: int | None = None
    stdout: str = ""
    stderr_tail: str = ""
    stopped: str = ""  # why the bench killed it: "timeout 120 s", "RSS > 3.0 GiB"
    items: int | None = None  # messages handled, where known
    nbytes: int | None = None  # bytes handled, where known
    note: str = ""

    @property
    def ok(self) -> bool:
        """Say whether the process finished with status 0 or 3 (loaded, some files skipped)."""
        return not self.stopped and self.returncode in (0, 3)


@dataclass
class SizeResult:
    """Everything measured for one export size."""

    messages: int
    export: Path
    summary: dict[str, Any]
    runs: list[Run] = field(default_factory=list)
    checks: list[tuple[str, str, str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    github: dict[str, Any] = field(default_factory=dict)
    skipped: str = ""  # why this size was not run at all


def bench_env(workdir: Path) -> dict[str, str]:
    """Return the environment for measured subprocesses: no telemetry, Prefect kept local."""
    env = dict(os.environ)
    env["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    env["DO_NOT_TRACK"] = "1"
    env.setdefault("PREFECT_HOME", str(workdir / "prefect"))
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _tree_rss(proc: psutil.Process) -> tuple[int, int]:
    """Return (sum, max) of the RSS of a process and all its descendants."""
    total = biggest = 0
    try:
        members = [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return 0, 0
    for p in members:
        try:
            rss = p.memory_info().rss
        except psutil.Error:  # exited between listing and reading
            continue
        total += rss
        biggest = max(biggest, rss)
    return total, biggest


def _kill_tree(proc: psutil.Process) -> None:
    """Kill a process and its descendants (children first, so none is orphaned)."""
    try:
        members = proc.children(recursive=True)
    except psutil.Error:
        members = []
    for p in [*members, proc]:
        with contextlib.suppress(psutil.Error):
            p.kill()


def measure(
    label: str,
    cmd: list[str],
    env: dict[str, str],
    cwd: Path,
    timeout_s: float | None = None,
    rss_limit: int | None = None,
) -> Run:
    """Run cmd, polling its process tree's RSS every 20 ms; stop it past a time or RSS limit."""
    run = Run(label)
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        popen = subprocess.Popen(cmd, stdout=out, stderr=err, env=env, cwd=cwd)
        proc = psutil.Process(popen.pid)
        while popen.poll() is None:
            total, biggest = _tree_rss(proc)
            run.peak_tree_rss = max(run.peak_tree_rss, total)
            run.peak_single_rss = max(run.peak_single_rss, biggest)
            elapsed = time.perf_counter() - started
            if timeout_s is not None and elapsed > timeout_s:
                run.stopped = f"timeout {timeout_s:.0f} s"
            elif rss_limit is not None and total > rss_limit:
                run.stopped = f"RSS > {rss_limit / GIB:.1f} GiB"
            if run.stopped:
                _kill_tree(proc)
                popen.wait()
                break
            time.sleep(POLL_SECONDS)
        run.seconds = time.perf_counter() - started
        run.returncode = popen.returncode
        out.seek(0)
        err.seek(0)
        run.stdout = out.read().decode("utf-8", "replace")
        lines = [ln for ln in err.read().decode("utf-8", "replace").splitlines() if ln.strip()]
        run.stderr_tail = lines[-1].strip() if lines else ""
    return run


# ---------------------------------------------------------------- floors


def day_files(export: Path) -> list[Path]:
    """List the export's day files (``<conversation>/YYYY-MM-DD.json``), sorted."""
    return sorted(p for p in export.glob("*/*.json") if DAY_FILE.fullmatch(p.name))


def run_floor(kind: str, export: Path) -> dict[str, float | int]:
    """Time one floor over every day file in this process; return seconds, files, bytes, messages."""
    files = day_files(export)
    nbytes = messages = 0
    started = time.perf_counter()
    if kind == "cat":
        for path in files:
            with open(path, "rb") as fh:
                nbytes += len(fh.read())
    else:
        loads = json.loads if kind == "json" else orjson.loads
        for path in files:
            with open(path, "rb") as fh:
                data = fh.read()
            nbytes += len(data)
            messages += len(loads(data))
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "files": len(files), "bytes": nbytes, "messages": messages}


def measure_floor(kind: str, export: Path, env: dict[str, str]) -> Run:
    """Measure a floor in a fresh interpreter; its time excludes interpreter start-up."""
    label = {"cat": "floor: cat (read bytes)", "json": "floor: json.loads (reference)"}.get(
        kind, f"floor: {kind}.loads"
    )
    cmd = [sys.executable, "-m", "benchmarks.bench", "--floor", kind, str(export)]
    run = measure(label, cmd, env, BENCH_DIR.parent)
    if run.ok:
        result = json.loads(run.stdout.strip().splitlines()[-1])
        run.seconds = result["seconds"]
        run.nbytes = result["bytes"]
        run.items = result["messages"] or None
        run.note = f"{result['files']:,} files, single process"
    return run


def measure_duckdb(export: Path, env: dict[str, str]) -> Run:
    """Count the messages with DuckDB's read_json over the glob, in a guarded subprocess."""
    glob = str(export / "*" / "*.json")
    script = (
        "import sys, time, duckdb\n"
        "con = duckdb.connect()\n"
        "con.execute('set enable_progress_bar = false')\n"
        "t = time.perf_counter()\n"
        "n = con.execute(\"select count(*) from read_json(?, format='array', "
        "columns={'ts': 'VARCHAR', 'user': 'VARCHAR', 'text': 'VARCHAR', "
        "'thread_ts': 'VARCHAR', 'subtype': 'VARCHAR'})\", [sys.argv[1]]).fetchone()[0]\n"
        "print(n, time.perf_counter() - t)\n"
    )
    cmd = [sys.executable, "-c", script, glob]
    run = measure(
        "duckdb read_json (count)",
        cmd,
        env,
        BENCH_DIR.parent,
        timeout_s=DUCKDB_TIMEOUT_S,
        rss_limit=DUCKDB_RSS_LIMIT,
    )
    if run.ok:
        run.items = int(run.stdout.split()[-2])
        run.note = "explicit columns, 2 threads; wall time incl. start-up"
    return run


def measure_naive(export: Path, workdir: Path, env: dict[str, str], timeout_s: float) -> Run:
    """Run the naive way (benchmarks/naive.py) into a fresh DuckDB file; wall time of the command."""
    db = workdir / "naive.duckdb"
    for path in workdir.glob(db.name + "*"):
        path.unlink()
    cmd = [sys.executable, "-m", "benchmarks.naive", str(export), "--db", str(db)]
    run = measure(
        "naive: json.load → pandas → DuckDB, metrics in pandas",
        cmd,
        env,
        BENCH_DIR.parent,
        timeout_s=min(timeout_s * 2, NAIVE_TIMEOUT_S),
        rss_limit=NAIVE_RSS_LIMIT,
    )
    if run.ok:
        out = json.loads(run.stdout.strip().splitlines()[-1])
        run.items = out["messages"]
        ph = out["phases"]
        run.note = (
            f"load {ph['load_json_to_pandas']:.1f} s, to DuckDB {ph['pandas_to_duckdb']:.1f} s, "
            f"metrics {ph['metrics_in_pandas']:.1f} s, save {ph['metrics_to_duckdb']:.1f} s; "
            f"{out['threads']:,} threads, {out['bounces']:,} bounces"
        )
    return run


# ---------------------------------------------------------------- asyncpulse


def asyncpulse_works(exe: Path, workdir: Path, env: dict[str, str]) -> tuple[bool, str]:
    """Say whether the asyncpulse CLI exists and answers `--help`."""
    if not exe.exists():
        return False, f"{exe} not installed"
    run = measure("help", [str(exe), "--help"], env, workdir, timeout_s=120)
    if not run.ok:
        return False, f"`asyncpulse --help` exit {run.returncode}: {run.stderr_tail}"
    return True, ""


def measure_startup(exe: Path, env: dict[str, str]) -> Run:
    """Time `asyncpulse --help`: the fixed cost inside every command's wall time."""
    run = measure("asyncpulse --help (start-up)", [str(exe), "--help"], env, BENCH_DIR.parent, 120)
    run.note = "interpreter and imports; included in every row below"
    return run


def measure_asyncpulse(
    exe: Path, label: str, args: list[str], db: Path, env: dict[str, str], timeout_s: float
) -> Run:
    """Run one asyncpulse command against the bench database and measure it."""
    cmd = [str(exe), "--db", str(db), *args]
    return measure(
        label, cmd, env, BENCH_DIR.parent, timeout_s=timeout_s, rss_limit=ASYNCPULSE_RSS_LIMIT
    )


def count_loaded(db: Path, env: dict[str, str]) -> str:
    """Return the row counts of raw.slack_messages and raw.github_pull_requests, and the db size."""
    script = (
        "import sys, duckdb\n"
        "con = duckdb.connect(sys.argv[1], read_only=True)\n"
        "print(con.execute('select count(*) from raw.slack_messages').fetchone()[0])\n"
        "print(con.execute('select count(*) from raw.github_pull_requests').fetchone()[0])\n"
    )
    run = measure("count", [sys.executable, "-c", script, str(db)], env, BENCH_DIR.parent, 120)
    size = db.stat().st_size if db.exists() else 0
    if run.ok:
        slack, prs = run.stdout.split()[:2]
        rows = f"raw.slack_messages holds {slack} rows, raw.github_pull_requests {prs}"
    else:
        rows = f"rows unknown ({run.stderr_tail})"
    return f"{rows}; database {size / MB:,.0f} MB"


# ---------------------------------------------------------------- one size

INGEST_SLACK = "asyncpulse ingest slack"
INGEST_GITHUB = "asyncpulse ingest github"
BUILD = "asyncpulse build"
AGAIN_SLACK = "asyncpulse ingest slack (again, unchanged)"
AGAIN_GITHUB = "asyncpulse ingest github (again, unchanged)"
NAIVE = "naive:"


def bench_size(
    messages: int,
    seed: int,
    workdir: Path,
    timeout_s: float = 1800,
    repeat: int = 1,
    exe: Path = ASYNCPULSE,
) -> SizeResult:
    """Generate (or reuse) the exports for `messages` and measure every step over them.

    With repeat > 1 every step runs that many times (asyncpulse into a fresh
    database each time) and a row keeps the fastest time and the highest
    memory of its runs: on a shared machine the fastest is the least disturbed.
    """
    export = DATA_DIR / f"slack-{_size_name(messages)}"
    print(f"== {messages:,} messages: {export}", flush=True)
    summary = generate_slack(export, messages, seed)
    how = "reused (cached)" if summary["cached"] else f"generated in {summary['seconds']} s"
    print(f"   export {how}: {summary['files']:,} day files, {summary['bytes'] / MB:,.0f} MB")
    gh = generate_github(DATA_DIR / f"github-{_size_name(messages)}", export, prs_for(messages), seed)
    how = "reused (cached)" if gh["cached"] else f"generated in {gh['seconds']} s"
    print(f"   GitHub {how}: {gh['prs']:,} PRs, {gh['events']:,} reviews and comments, "
          f"{gh['bytes'] / MB:,.1f} MB")
    result = SizeResult(messages, export, summary, github=gh)
    env = bench_env(workdir)

    # Warm the cache so every row below reads from memory alike.
    run_floor("cat", export)
    for kind in ("cat", "json", "orjson"):
        result.runs.append(
            _best([_report(measure_floor(kind, export, env)) for _ in range(repeat)])
        )
    duck = _best([_report(measure_duckdb(export, env)) for _ in range(repeat)])
    duck.nbytes = int(summary["day_bytes"])
    result.runs.append(duck)
    naive = _best([_report(measure_naive(export, workdir, env, timeout_s)) for _ in range(repeat)])
    naive.nbytes = int(summary["bytes"])
    result.runs.append(naive)
    for path in workdir.glob("naive.duckdb*"):
        path.unlink()

    works, why = asyncpulse_works(exe, workdir, env)
    if not works:
        result.notes.append(f"asyncpulse not measured: {why}")
        print(f"   {why}")
        _checks(result)
        return result
    result.runs.append(_best([_report(measure_startup(exe, env)) for _ in range(repeat)]))
    slack_args = ["ingest", "slack", str(export)]
    github_args = ["ingest", "github", str(gh["file"])]
    steps: dict[str, list[Run]] = {}
    db = workdir / "none.duckdb"
    for attempt in range(repeat):
        db = workdir / f"bench-{_size_name(messages)}-{attempt + 1}.duckdb"
        for path in workdir.glob(db.name + "*"):
            path.unlink()
        for label, args in (
            (INGEST_SLACK, slack_args),
            (INGEST_GITHUB, github_args),
            (BUILD, ["build"]),
            (AGAIN_SLACK, slack_args),
            (AGAIN_GITHUB, github_args),
        ):
            run = _report(measure_asyncpulse(exe, label, args, db, env, timeout_s))
            steps.setdefault(label, []).append(run)
            if attempt == 0 and run.ok and label in (INGEST_GITHUB, AGAIN_GITHUB):
                result.notes.append(
                    f"after `{label.removeprefix('asyncpulse ')}`: " + count_loaded(db, env)
                )
            if not run.ok:
                break
        if any(not r.ok for runs in steps.values() for r in runs):
            break
        if attempt < repeat - 1:  # keep only the last database for the page queries
            for path in workdir.glob(db.name + "*"):
                path.unlink()
    for label, runs in steps.items():
        best = _best(runs)
        if "slack" in label:
            best.items, best.nbytes = messages, int(summary["bytes"])
        elif "github" in label:
            best.items, best.nbytes = int(gh["prs"]), int(gh["bytes"])
            best.note = (f"{gh['prs']:,} PRs, {gh['events']:,} reviews and comments; "
                         f"messages/s column counts PRs; {best.note}").rstrip("; ")
        else:
            best.items = messages
        result.runs.append(best)
    if all(r.ok for r in steps.get(BUILD, [])) and steps.get(BUILD):
        result.notes.extend(measure_pages(db, env))
    _checks(result)
    return result


def measure_pages(db: Path, env: dict[str, str]) -> list[str]:
    """Time each dashboard page's queries on the built database (benchmarks/bench_pages.py)."""
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_pages", "--db", str(db)],
        env=env, capture_output=True, text=True, cwd=BENCH_DIR.parent, timeout=600,
    )
    if proc.returncode != 0:
        return [f"dashboard page queries not measured: {proc.stderr.strip().splitlines()[-1:]}"]
    rows = [line for line in proc.stdout.splitlines() if line.startswith("| ") and "---" not in line]
    print("\n".join(rows), flush=True)
    return ["dashboard page queries, cold cache (target: each page ≤ 300 ms):"] + [
        "  " + " ".join(cell.strip() for cell in row.strip("|").split("|")) for row in rows[1:]
    ]


def _best(runs: list[Run]) -> Run:
    """Merge repeats of one step: the first failure if any, else the fastest with the peak memory."""
    failed = [r for r in runs if not r.ok]
    if failed or len(runs) == 1:
        return (failed or runs)[0]
    best = min(runs, key=lambda r: r.seconds or 0.0)
    best.peak_tree_rss = max(r.peak_tree_rss for r in runs)
    best.peak_single_rss = max(r.peak_single_rss for r in runs)
    times = ", ".join(f"{r.seconds:.2f}" for r in runs)
    best.note = f"{best.note}; fastest of {len(runs)} ({times} s)".lstrip("; ")
    return best


def _size_name(messages: int) -> str:
    """Name a size the way the data folders are named: 1m, 100k, 2500."""
    if messages % 1_000_000 == 0:
        return f"{messages // 1_000_000}m"
    if messages % 1_000 == 0:
        return f"{messages // 1_000}k"
    return str(messages)


def _report(run: Run) -> Run:
    """Print one run as soon as it is done, so a long bench shows progress."""
    state = "ok" if run.ok else _failure(run)
    seconds = f"{run.seconds:.2f} s" if run.seconds is not None else "-"
    print(
        f"   {run.label:<44} {seconds:>10}  peak tree RSS {_mib(run.peak_tree_rss)}  {state}",
        flush=True,
    )
    return run


def _failure(run: Run) -> str:
    """Describe how a run failed: stopped by the bench, or its exit status and last stderr line."""
    if run.stopped:
        return f"stopped: {run.stopped}"
    tail = f": {run.stderr_tail}" if run.stderr_tail else ""
    return f"exit {run.returncode}{tail}"


def _by_label(result: SizeResult, prefix: str) -> Run | None:
    """Return the run whose label is prefix, else the first whose label starts with it."""
    exact = next((r for r in result.runs if r.label == prefix), None)
    return exact or next((r for r in result.runs if r.label.startswith(prefix)), None)


def _seconds(*runs: Run | None) -> float | None:
    """Return the summed time of runs that all finished, else None."""
    if not runs or any(r is None or not r.ok or r.seconds is None for r in runs):
        return None
    return sum(r.seconds for r in runs if r is not None and r.seconds is not None)


def ingest_seconds(result: SizeResult) -> float | None:
    """Return the first ingest of both exports (Slack, then GitHub)."""
    return _seconds(_by_label(result, INGEST_SLACK), _by_label(result, INGEST_GITHUB))


def total_seconds(result: SizeResult) -> float | None:
    """Return ingest (both exports) + build: what the naive way is compared with."""
    return _seconds(
        _by_label(result, INGEST_SLACK), _by_label(result, INGEST_GITHUB), _by_label(result, BUILD)
    )


def rss_target(messages: int) -> int:
    """Return the peak-RSS target for a size: 1 GiB up to one million messages, 2 GiB above."""
    return TARGET_RSS_BYTES if messages <= 1_000_000 else TARGET_RSS_BYTES_5M


def _verdict(value: float | None, target: float | None, at_least: bool = False) -> str:
    if target is None:
        return "-"
    if value is None:
        return "FAIL"
    return "PASS" if (value >= target if at_least else value <= target) else "FAIL"


def _checks(result: SizeResult) -> None:
    """Compare the runs with the targets: the ratios and the peak memory."""
    ref = _by_label(result, "floor: json")
    naive = _by_label(result, NAIVE)
    build = _by_label(result, BUILD)
    ingest = ingest_seconds(result)
    total = total_seconds(result)
    slack = _seconds(_by_label(result, INGEST_SLACK))
    again = _seconds(_by_label(result, AGAIN_SLACK), _by_label(result, AGAIN_GITHUB))
    again_slack = _seconds(_by_label(result, AGAIN_SLACK))

    def add(name: str, value: float | None, target: float | None, at_least: bool = False,
            fmt: str = "{:.2f}") -> None:
        shown = "n/a" if value is None else fmt.format(value)
        tgt = "-" if target is None else f"{'≥' if at_least else '≤'} {target:g}"
        result.checks.append((name, shown, tgt, _verdict(value, target, at_least)))

    def div(a: float | None, b: float | None) -> float | None:
        return a / b if a is not None and b else None

    add("ingest slack / json.loads", div(slack, _seconds(ref)), TARGET_INGEST_VS_JSON)
    add("build / ingest (slack + github)", div(_seconds(build), ingest), TARGET_BUILD_VS_INGEST)
    add("naive / (ingest + build): times faster", div(_seconds(naive), total),
        TARGET_NAIVE_SPEEDUP, at_least=True, fmt="{:.2f}×")
    # The first run of an export is ingest + build; a re-run of unchanged exports is both
    # ingests recognising them (nothing is parsed, and there is nothing to rebuild: README "Run it every night").
    add("re-run on unchanged exports / first run (ingest + build)", div(again, total),
        TARGET_RERUN)
    add("re-run on unchanged exports / first ingest (slack + github)", div(again, ingest), None)
    add("re-run ingest slack / first ingest slack", div(again_slack, slack), None)
    limit = rss_target(result.messages)
    for label in (INGEST_SLACK, INGEST_GITHUB, BUILD, AGAIN_SLACK, AGAIN_GITHUB):
        run = _by_label(result, label)
        if run is None:
            continue
        name = f"peak RSS, {label.removeprefix('asyncpulse ')}"
        lim = f"≤ {limit / MIB:,.0f} MiB"
        if not run.ok:
            result.checks.append((name, "n/a", lim, "FAIL"))
            continue
        verdict = "PASS" if run.peak_tree_rss <= limit else "FAIL"
        result.checks.append((name, _mib(run.peak_tree_rss), lim, verdict))
    if naive is not None and naive.ok:
        result.checks.append(("peak RSS, naive (for information)", _mib(naive.peak_tree_rss), "-", "-"))


def cross_checks(results: list[SizeResult]) -> list[tuple[str, str, str, str]]:
    """Growth with size: (ingest + build) at each size over the next smaller size."""
    by_size = {r.messages: r for r in results if not r.skipped}
    out = []
    sizes = sorted(by_size)
    for small, big in zip(sizes, sizes[1:], strict=False):
        a, b = total_seconds(by_size[small]), total_seconds(by_size[big])
        factor = big / small
        gated = small == 1_000_000 and big == FIVE_M
        target = TARGET_LINEAR if gated else None
        value = b / a if a and b else None
        name = (f"(ingest + build) at {_size_name(big)} / at {_size_name(small)} "
                f"(size ×{factor:g}{'' if gated else ', for information'})")
        shown = "n/a" if value is None else f"{value:.2f}"
        out.append((name, shown, "-" if target is None else f"≤ {target}",
                    _verdict(value, target)))
        for label in (INGEST_SLACK, BUILD, NAIVE, "floor: json"):
            ra, rb = _by_label(by_size[small], label), _by_label(by_size[big], label)
            sa, sb = _seconds(ra), _seconds(rb)
            if sa and sb:
                out.append((f"{label.rstrip(':')} at {_size_name(big)} / at {_size_name(small)}",
                            f"{sb / sa:.2f}", "-", "-"))
    if FIVE_M not in by_size:
        out.append(("(ingest + build) at 5m / at 1m (size ×5)", "not run", f"≤ {TARGET_LINEAR}",
                    "not run (add --with-5m)"))
    return out


def _mib(nbytes: int) -> str:
    """Format a memory size in MiB."""
    return f"{nbytes / MIB:,.0f} MiB"


# ---------------------------------------------------------------- plot


def plot(results: list[SizeResult], out: Path = PLOT) -> Path | None:
    """Plot ingest, build, naive and the json floor against size, log-log; return the file."""
    series: dict[str, list[tuple[int, float]]] = {}
    for res in sorted((r for r in results if not r.skipped), key=lambda r: r.messages):
        points = {
            "ingest (slack + github)": ingest_seconds(res),
            "build": _seconds(_by_label(res, BUILD)),
            "ingest + build": total_seconds(res),
            "naive (pandas)": _seconds(_by_label(res, NAIVE)),
            "floor: json.loads": _seconds(_by_label(res, "floor: json")),
        }
        for name, secs in points.items():
            if secs:
                series.setdefault(name, []).append((res.messages, secs))
    if not series:
        return None
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:  # no heavy dependency needed: draw the SVG by hand
        return _svg_plot(series, out.with_suffix(".svg"))
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=110)
    for name, pts in series.items():
        xs, ys = zip(*pts, strict=True)
        style = "--" if name.startswith(("floor", "naive")) else "-"
        ax.plot(xs, ys, style, marker="o", label=name)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("Slack messages (GitHub: one PR per 200)")
    ax.set_ylabel("wall time, s")
    ax.set_title("asyncpulse: time versus export size (2 cores)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)
    return out


def _svg_plot(series: dict[str, list[tuple[int, float]]], out: Path) -> Path:
    """Write a small log-log line chart as SVG, without any plotting library."""
    import math

    w, h, left, right, top, bottom = 640, 400, 70, 180, 30, 50
    xs = [x for pts in series.values() for x, _ in pts]
    ys = [y for pts in series.values() for _, y in pts]
    x0, x1 = math.log10(min(xs)) - 0.1, math.log10(max(xs)) + 0.1
    y0, y1 = math.log10(min(ys)) - 0.2, math.log10(max(ys)) + 0.2

    def px(x: float) -> float:
        return left + (math.log10(x) - x0) / (x1 - x0) * (w - left - right)

    def py(y: float) -> float:
        return h - bottom - (math.log10(y) - y0) / (y1 - y0) * (h - top - bottom)

    colours = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd")
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
             'font-family="sans-serif" font-size="11">',
             f'<rect width="{w}" height="{h}" fill="white"/>',
             f'<text x="{left}" y="18" font-size="13">time versus export size (log-log)</text>']
    for e in range(math.ceil(y0), math.floor(y1) + 1):
        y = py(10**e)
        parts.append(f'<line x1="{left}" x2="{w - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>'
                     f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{10**e:g} s</text>')
    for x in sorted(set(xs)):
        parts.append(f'<text x="{px(x):.1f}" y="{h - bottom + 16}" text-anchor="middle">'
                     f'{_size_name(x)}</text>')
    for i, (name, pts) in enumerate(series.items()):
        c = colours[i % len(colours)]
        path = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in pts)
        parts.append(f'<polyline points="{path}" fill="none" stroke="{c}" stroke-width="2"/>')
        parts += [f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="3" fill="{c}"/>' for x, y in pts]
        parts.append(f'<text x="{w - right + 10}" y="{top + 16 * i + 10}" fill="{c}">{name}</text>')
    parts.append(f'<text x="{(left + w - right) / 2}" y="{h - 10}" text-anchor="middle">'
                 "Slack messages</text></svg>")
    out.write_text("\n".join(parts))
    return out


# ---------------------------------------------------------------- report


def machine() -> dict[str, str]:
    """Describe the machine and the software versions the numbers were taken with."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass

    def version(dist: str) -> str:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            return "not installed"

    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=BENCH_DIR
    ).stdout.strip()
    # The bench measures the working tree: say so when the product code differs from the commit.
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--", "pipelines", "sql", "transforms", "pyproject.toml"],
        capture_output=True, text=True, cwd=BENCH_DIR.parent,
    ).stdout.strip()
    changed = (f" plus uncommitted changes to {len(dirty.splitlines())} product files"
               if dirty else "")
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "ram": f"{psutil.virtual_memory().total / GIB:.1f} GiB",
        "python": platform.python_version(),
        "duckdb": version("duckdb"),
        "orjson": version("orjson"),
        "polars": version("polars"),
        "pandas": version("pandas"),
        "os": f"{platform.system()} {platform.release()}",
        "commit": commit or "unknown",
        "changed": changed,
    }


def _fmt(secs: float | None) -> str:
    return "-" if secs is None else f"{secs:.2f}"


def summary_table(results: list[SizeResult]) -> list[str]:
    """One row per size: the headline times, rates, memory and the naive comparison."""
    out = [
        "| messages | export MB | json.loads s | ingest slack s | ingest github s | build s "
        "| ingest + build s | naive s | naive / (ingest + build) | re-run s | ingest msgs/s "
        "| ingest MB/s | peak RSS (max of asyncpulse rows) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for res in results:
        if res.skipped:
            out.append(f"| {res.messages:,} | - | - | - | - | - | - | - | - | - | - | - | "
                       f"skipped: {res.skipped} |")
            continue
        slack = _seconds(_by_label(res, INGEST_SLACK))
        total, naive = total_seconds(res), _seconds(_by_label(res, NAIVE))
        again = _seconds(_by_label(res, AGAIN_SLACK), _by_label(res, AGAIN_GITHUB))
        mbytes = int(res.summary["bytes"]) / MB
        peak = max((r.peak_tree_rss for r in res.runs if r.label.startswith("asyncpulse ")
                    and "--help" not in r.label), default=0)
        out.append(
            f"| {res.messages:,} | {mbytes:,.0f} "
            f"| {_fmt(_seconds(_by_label(res, 'floor: json')))} | {_fmt(slack)} "
            f"| {_fmt(_seconds(_by_label(res, INGEST_GITHUB)))} "
            f"| {_fmt(_seconds(_by_label(res, BUILD)))} | {_fmt(total)} | {_fmt(naive)} "
            f"| {f'{naive / total:.1f}×' if naive and total else '-'} | {_fmt(again)} "
            f"| {f'{res.messages / slack:,.0f}' if slack else '-'} "
            f"| {f'{mbytes / slack:,.1f}' if slack else '-'} "
            f"| {_mib(peak)} |"
        )
    return out


def render(results: list[SizeResult], info: dict[str, str], load: tuple[str, str],
           plot_file: Path | None = None) -> str:
    """Render the results as markdown: the machine, the summary, then one table per size."""
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    out = [
        "# asyncpulse benchmark",
        "",
        f"Run {now} with `python -m benchmarks.bench` at commit `{info['commit']}`"
        f"{info.get('changed', '')}.",
        "",
        f"- Machine: {info['cpu']}, {info['cores']} cores, {info['ram']} RAM, {info['os']}",
        f"- Python {info['python']}, DuckDB {info['duckdb']}, orjson {info['orjson']}, "
        f"Polars {info['polars']}, pandas {info['pandas']} (the naive way)",
        f"- Load average (1 min) at start {load[0]}, at end {load[1]}: other work on the "
        "machine slows every row alike, but not exactly alike.",
        "- The page cache cannot be dropped without root, so the bench reads every file once "
        "before measuring: every row sees a warm cache.",
        "- Floors run in a fresh process each and time only the loop over the files; "
        "DuckDB, naive and asyncpulse rows are wall time of the whole command, start-up included.",
        "- Peak RSS is polled every 20 ms and summed over the process and all its children "
        "(shared pages count once per process, so the sum errs high). Memory targets are in "
        "GiB (1 GiB = 1,024 MiB).",
        "- `ingest` is `asyncpulse ingest slack` then `asyncpulse ingest github` (one PR per 200 "
        "messages); `build` builds every model from both. The naive way reads Slack only, so "
        "comparing it with ingest + build of both errs in its favour.",
        "",
        "## Summary",
        "",
        *summary_table(results),
        "",
        "| check across sizes | value | target | result |",
        "|---|---:|---:|---|",
        *[f"| {a} | {b} | {c} | {d} |" for a, b, c, d in cross_checks(results)],
        "",
    ]
    if plot_file is not None:
        out += [f"![time versus size]({plot_file.name})", ""]
    for res in results:
        if res.skipped:
            out += [f"## {res.messages:,} messages", "", f"Skipped: {res.skipped}", ""]
            continue
        s, g = res.summary, res.github
        how = "reused from cache" if s.get("cached") else f"generated in {s['seconds']} s"
        ghow = "reused from cache" if g.get("cached") else f"generated in {g.get('seconds')} s"
        out += [
            f"## {res.messages:,} messages",
            "",
            f"Export `{res.export.relative_to(BENCH_DIR.parent)}`: {int(s['files']):,} day files, "
            f"{int(s['conversations']):,} conversations, {int(s['users']):,} users, "
            f"{int(s['bytes']) / MB:,.0f} MB ({how}). GitHub `{Path(g['file']).relative_to(BENCH_DIR.parent)}`: "
            f"{int(g['prs']):,} PRs with {int(g['events']):,} reviews and comments, "
            f"{int(g['bytes']) / MB:,.1f} MB ({ghow}).",
            "",
            "| step | wall s | messages/s | MB/s | peak RSS, tree | peak RSS, one process | status |",
            "|---|---:|---:|---:|---:|---:|---|",
        ]
        for run in res.runs:
            secs = f"{run.seconds:.2f}" if run.seconds is not None else "-"
            rate = (
                f"{run.items / run.seconds:,.0f}" if run.ok and run.items and run.seconds else "-"
            )
            mbs = (
                f"{run.nbytes / MB / run.seconds:,.1f}"
                if run.ok and run.nbytes and run.seconds
                else "-"
            )
            status = ("ok" if run.ok else _failure(run).replace("|", "\\|")) + (
                f"; {run.note}" if run.note and run.ok else ""
            )
            out.append(
                f"| {run.label} | {secs} | {rate} | {mbs} | {_mib(run.peak_tree_rss)} | "
                f"{_mib(run.peak_single_rss)} | {status} |"
            )
        out += ["", "| check | value | target | result |", "|---|---:|---:|---|"]
        out += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in res.checks]
        if res.notes:
            out += ["", *[f"- {n}" for n in res.notes]]
        out.append("")
    return "\n".join(out)


def parse_sizes(args: argparse.Namespace, parser: argparse.ArgumentParser) -> list[int]:
    """Return the sizes to run: --messages N, or the --sizes list (default 100k and 1M), + 5M."""
    if args.messages is not None and args.sizes is not None:
        parser.error("give --messages or --sizes, not both")
    if args.messages is not None:
        sizes = [args.messages]
    else:
        try:
            sizes = [int(x.replace("_", "")) for x in (args.sizes or DEFAULT_SIZES).split(",") if x]
        except ValueError:
            parser.error(f"--sizes: not a list of numbers: {args.sizes}")
    if args.with_5m and FIVE_M not in sizes:
        sizes.append(FIVE_M)
    if not sizes or min(sizes) < 100:
        parser.error("sizes must be at least 100 messages")
    return sorted(sizes)


def disk_note(messages: int) -> str:
    """Return why a size must be skipped for want of disk (5M and above, not yet generated), or ''."""
    if messages < FIVE_M:
        return ""
    free = shutil.disk_usage(BENCH_DIR).free
    if free >= FREE_DISK_FOR_5M:
        return ""
    return (f"only {free / 10**9:,.1f} GB free on the disk holding benchmarks/, "
            f"{FREE_DISK_FOR_5M / 10**9:,.0f} GB needed for the {_size_name(messages)} export "
            "(about 4 GB) and its databases; free some space and rerun with --with-5m")


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark for each size, print the tables and write benchmarks/results.md."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.bench", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--messages", type=int, help="one size to run")
    parser.add_argument("--sizes", help=f"comma-separated sizes (default {DEFAULT_SIZES})")
    parser.add_argument("--with-5m", action="store_true",
                        help="add 5,000,000 messages (about 4 GB of files; needs 15 GB free)")
    parser.add_argument("--seed", type=int, default=1, help="generator seed")
    parser.add_argument("--keep", action="store_true", help="keep the bench databases (printed)")
    parser.add_argument(
        "--timeout", type=float, default=1800, help="seconds allowed per asyncpulse command"
    )
    parser.add_argument(
        "--repeat", type=int, default=1, help="run each step N times and keep the fastest"
    )
    parser.add_argument(
        "--asyncpulse", type=Path, default=ASYNCPULSE, help=f"the CLI to measure ({ASYNCPULSE})"
    )
    parser.add_argument("--no-write", action="store_true",
                        help="print only: leave results.md and the plot as they are")
    parser.add_argument("--floor", nargs=2, metavar=("KIND", "EXPORT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.floor:  # internal: one floor measurement, in its own process
        kind, export = args.floor
        print(json.dumps(run_floor(kind, Path(export))))
        return 0
    sizes = parse_sizes(args, parser)

    load_start = f"{os.getloadavg()[0]:.2f}"
    workdir = Path(tempfile.mkdtemp(prefix="asyncpulse-bench-"))
    results: list[SizeResult] = []
    try:
        for size in sizes:
            cached = (DATA_DIR / f"slack-{_size_name(size)}" / ".complete").exists()
            why = "" if cached else disk_note(size)
            if why:
                print(f"== {size:,} messages: skipped: {why}", flush=True)
                results.append(SizeResult(size, DATA_DIR / f"slack-{_size_name(size)}", {},
                                          skipped=why))
                continue
            results.append(
                bench_size(size, args.seed, workdir, args.timeout, args.repeat, args.asyncpulse)
            )
    finally:
        if args.keep:
            print(f"kept the bench databases in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    plot_file = None if args.no_write else plot(results)
    text = render(results, machine(), (load_start, f"{os.getloadavg()[0]:.2f}"), plot_file)
    print()
    print(text)
    if not args.no_write:
        RESULTS.write_text(text)
        print(f"written to {RESULTS}" + (f" and {plot_file}" if plot_file else ""))

    # --- nightly flow re-run vs first run, against a Prefect server (benchmarks/bench_nightly.py) ---
    from benchmarks.bench_nightly import bench_nightly_rerun

    print()
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        bench_nightly_rerun()
    print(out.getvalue(), end="")
    if not args.no_write:
        RESULTS.write_text(RESULTS.read_text() + NIGHTLY_SECTION.format(output=out.getvalue().rstrip()))
    return 0


NIGHTLY_SECTION = """
## The nightly run again on an unchanged export

`python -m benchmarks.bench_nightly` (run by `make bench` after the sizes above):
the Prefect `nightly` flow against a running Prefect server, on the 100k export,
first run then re-runs. The flow's own work is its `raw.runs` row (the flow body
to its record); the flow run's time adds Prefect's task orchestration.

```
{output}
```
"""


if __name__ == "__main__":
    sys.exit(main())

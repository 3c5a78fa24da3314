"""Measure `asyncpulse ingest slack` and `build` against the floors of reading the export.

For each size: generate (or reuse) an export under benchmarks/data/, read
every file once to warm the page cache, then time
- the floors, each in its own process: reading every day file's bytes
  (`cat`), `json.loads` of each (the reference), `orjson.loads` of each;
- DuckDB's own `read_json` over the glob, for comparison;
- `asyncpulse ingest slack`, `asyncpulse build`, and the ingest again on
  the unchanged export,
polling the memory of each process tree every 20 ms. The table is printed
and written to benchmarks/results.md.

    python -m benchmarks.bench [--messages N | --sizes 100000,1000000] [--keep]
"""

from __future__ import annotations

import argparse
import contextlib
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

BENCH_DIR = Path(__file__).resolve().parent
DATA_DIR = BENCH_DIR / "data"
RESULTS = BENCH_DIR / "results.md"
# The console script sits beside the interpreter running the bench (.venv/bin).
ASYNCPULSE = Path(sys.executable).parent / "asyncpulse"
DAY_FILE = re.compile(r"\d{4}-\d{2}-\d{2}\.json")
MB = 1_000_000  # data sizes and rates, as `du --si` and disk makers count
MIB = 1 << 20  # memory, as the OS counts it
GIB = 1 << 30
POLL_SECONDS = 0.02

TARGET_INGEST_VS_JSON = 1.5
TARGET_BUILD_VS_INGEST = 1.5
TARGET_RSS_BYTES = 1 * GIB
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
    """Return the row count of raw.slack_messages and the database size, for the notes."""
    script = (
        "import sys, duckdb\n"
        "con = duckdb.connect(sys.argv[1], read_only=True)\n"
        "print(con.execute('select count(*) from raw.slack_messages').fetchone()[0])\n"
    )
    run = measure("count", [sys.executable, "-c", script, str(db)], env, BENCH_DIR.parent, 120)
    size = db.stat().st_size if db.exists() else 0
    rows = run.stdout.strip() if run.ok else f"unknown ({run.stderr_tail})"
    return f"raw.slack_messages holds {rows} rows; database {size / MB:,.0f} MB"


# ---------------------------------------------------------------- one size


def bench_size(
    messages: int,
    seed: int,
    workdir: Path,
    timeout_s: float = 1800,
    repeat: int = 1,
    exe: Path = ASYNCPULSE,
) -> SizeResult:
    """Generate (or reuse) an export of `messages` and measure every step over it.

    With repeat > 1 every step runs that many times (asyncpulse into a fresh
    database each time) and a row keeps the fastest time and the highest
    memory of its runs: on a shared machine the fastest is the least disturbed.
    """
    export = DATA_DIR / f"slack-{_size_name(messages)}"
    print(f"== {messages:,} messages: {export}", flush=True)
    summary = generate_slack(export, messages, seed)
    how = "reused (cached)" if summary["cached"] else f"generated in {summary['seconds']} s"
    print(f"   export {how}: {summary['files']:,} day files, {summary['bytes'] / MB:,.0f} MB")
    result = SizeResult(messages, export, summary)
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

    works, why = asyncpulse_works(exe, workdir, env)
    if not works:
        result.notes.append(f"asyncpulse not measured: {why}")
        print(f"   {why}")
        _checks(result)
        return result
    result.runs.append(_best([_report(measure_startup(exe, env)) for _ in range(repeat)]))
    ingest_args = ["ingest", "slack", str(export)]
    steps: dict[str, list[Run]] = {}
    for attempt in range(repeat):
        db = workdir / f"bench-{_size_name(messages)}-{attempt + 1}.duckdb"
        for path in workdir.glob(db.name + "*"):
            path.unlink()
        for label, args in (
            ("asyncpulse ingest slack", ingest_args),
            ("asyncpulse build", ["build"]),
            ("asyncpulse ingest slack (again, unchanged)", ingest_args),
        ):
            run = _report(measure_asyncpulse(exe, label, args, db, env, timeout_s))
            steps.setdefault(label, []).append(run)
            if attempt == 0 and run.ok and "ingest" in label:
                result.notes.append(
                    f"after `{label.removeprefix('asyncpulse ')}`: " + count_loaded(db, env)
                )
            if not run.ok:
                break
        if any(not r.ok for r in steps.get("asyncpulse ingest slack", [])):
            break
    for label, runs in steps.items():
        best = _best(runs)
        best.items = messages
        if "ingest" in label:
            best.nbytes = int(summary["bytes"])
        result.runs.append(best)
    if all(r.ok for r in steps.get("asyncpulse build", [])):
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
    """Return the first run whose label starts with prefix."""
    return next((r for r in result.runs if r.label.startswith(prefix)), None)


def _checks(result: SizeResult) -> None:
    """Compare the runs with the targets: the ratios and the peak memory."""
    ref = _by_label(result, "floor: json")
    ingest = _by_label(result, "asyncpulse ingest slack")
    build = _by_label(result, "asyncpulse build")
    again = _by_label(result, "asyncpulse ingest slack (again")

    def ratio(name: str, num: Run | None, den: Run | None, target: float | None) -> None:
        if not (num and den and num.ok and den.ok and num.seconds and den.seconds):
            result.checks.append((name, "n/a", _target(target), "FAIL" if target else "-"))
            return
        value = num.seconds / den.seconds
        verdict = "-" if target is None else "PASS" if value <= target else "FAIL"
        result.checks.append((name, f"{value:.2f}", _target(target), verdict))

    ratio("ingest / json.loads", ingest, ref, TARGET_INGEST_VS_JSON)
    ratio("build / ingest", build, ingest, TARGET_BUILD_VS_INGEST)
    ratio("second ingest / first ingest", again, ingest, None)
    for run in (ingest, build, again):
        if run is None:
            continue
        name = f"peak RSS, {run.label.removeprefix('asyncpulse ')}"
        if not run.ok:
            result.checks.append((name, "n/a", _LIMIT, "FAIL"))
            continue
        verdict = "PASS" if run.peak_tree_rss <= TARGET_RSS_BYTES else "FAIL"
        result.checks.append((name, _mib(run.peak_tree_rss), _LIMIT, verdict))


def _target(target: float | None) -> str:
    """Format a ratio target."""
    return "-" if target is None else f"≤ {target}"


def _mib(nbytes: int) -> str:
    """Format a memory size in MiB."""
    return f"{nbytes / MIB:,.0f} MiB"


_LIMIT = f"≤ {TARGET_RSS_BYTES / MIB:,.0f} MiB"


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
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "ram": f"{psutil.virtual_memory().total / GIB:.1f} GiB",
        "python": platform.python_version(),
        "duckdb": version("duckdb"),
        "orjson": version("orjson"),
        "polars": version("polars"),
        "os": f"{platform.system()} {platform.release()}",
        "commit": commit or "unknown",
    }


def render(results: list[SizeResult], info: dict[str, str], load: tuple[str, str]) -> str:
    """Render the results as markdown: the machine, then one table of runs and checks per size."""
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    out = [
        "# asyncpulse benchmark",
        "",
        f"Run {now} with `python -m benchmarks.bench` at commit `{info['commit']}`.",
        "",
        f"- Machine: {info['cpu']}, {info['cores']} cores, {info['ram']} RAM, {info['os']}",
        f"- Python {info['python']}, DuckDB {info['duckdb']}, orjson {info['orjson']}, "
        f"Polars {info['polars']}",
        f"- Load average (1 min) at start {load[0]}, at end {load[1]}: other work on the "
        "machine slows every row alike, but not exactly alike.",
        "- The page cache cannot be dropped without root, so the bench reads every file once "
        "before measuring: every row sees a warm cache.",
        "- Floors run in a fresh process each and time only the loop over the files; "
        "DuckDB and asyncpulse rows are wall time of the whole command, start-up included.",
        "- Peak RSS is polled every 20 ms and summed over the process and all its children "
        "(shared pages count once per process, so the sum errs high).",
        "",
    ]
    for res in results:
        s = res.summary
        how = "reused from cache" if s.get("cached") else f"generated in {s['seconds']} s"
        out += [
            f"## {res.messages:,} messages",
            "",
            f"Export `{res.export.relative_to(BENCH_DIR.parent)}`: {int(s['files']):,} day files, "
            f"{int(s['conversations']):,} conversations, {int(s['users']):,} users, "
            f"{int(s['bytes']) / MB:,.0f} MB ({how}).",
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
    """Return the sizes to run: --messages N, or the --sizes list (default one million)."""
    if args.messages is not None and args.sizes is not None:
        parser.error("give --messages or --sizes, not both")
    if args.messages is not None:
        return [args.messages]
    try:
        sizes = [int(x.replace("_", "")) for x in (args.sizes or "1000000").split(",") if x]
    except ValueError:
        parser.error(f"--sizes: not a list of numbers: {args.sizes}")
    if not sizes or min(sizes) < 100:
        parser.error("sizes must be at least 100 messages")
    return sizes


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark for each size, print the tables and write benchmarks/results.md."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.bench", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--messages", type=int, help="one size to run")
    parser.add_argument("--sizes", help="comma-separated sizes (default 1000000)")
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
            results.append(
                bench_size(size, args.seed, workdir, args.timeout, args.repeat, args.asyncpulse)
            )
    finally:
        if args.keep:
            print(f"kept the bench databases in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    text = render(results, machine(), (load_start, f"{os.getloadavg()[0]:.2f}"))
    RESULTS.write_text(text)
    print()
    print(text)
    print(f"written to {RESULTS}")

    # --- nightly flow re-run vs first run, against a Prefect server (benchmarks/bench_nightly.py) ---
    from benchmarks.bench_nightly import bench_nightly_rerun

    print()
    bench_nightly_rerun()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Measure the nightly flow against a running Prefect server: first run vs re-run, unchanged export.

Target: re-running the nightly flow on an unchanged export costs at most
10 % of the first run, Prefect's own start-up aside. A Prefect server is
started (home in a temporary folder, analytics off); in this process,
pointed at it, a warm-up run on a tiny export pays the one-off imports and
client start-up; then `nightly()` runs on the generated export (100k
messages, cached under benchmarks/data) three times: the first load, then
twice unchanged (the Prefect task cache hits, the database confirms). Each run is timed three ways: the flow's own
work (its `raw.runs` row: the flow body's start to the run being recorded,
just before the publish), its flow run's time on the server (adds
Prefect's task orchestration), and the wall clock around the call (adds
Prefect's per-run start and finish). The target is judged on the first.

    python -m benchmarks.bench_nightly [--messages N]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
DATA_DIR = BENCH_DIR / "data"
BIN = Path(sys.executable).parent  # prefect and asyncpulse sit beside the interpreter
TARGET_RERUN_SHARE = 0.10


def free_port() -> int:
    """Return a TCP port nobody listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def prefect_env(home: Path, api_url: str | None = None) -> dict[str, str]:
    """Return this environment with Prefect's home at `home`, telemetry off, and the API set."""
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env.update(PREFECT_HOME=str(home), PREFECT_SERVER_ANALYTICS_ENABLED="false",
               DO_NOT_TRACK="1", PREFECT_UI_ENABLED="false")
    if api_url:
        env["PREFECT_API_URL"] = api_url
    return env


def stop(proc: subprocess.Popen[Any], timeout: float = 20) -> None:
    """Stop `proc` and its process group: Ctrl-C first, then kill."""
    if proc.poll() is not None:
        return
    for sig, wait in ((signal.SIGINT, timeout), (signal.SIGKILL, 5)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue


def wait_for(url: str, timeout: float, proc: subprocess.Popen[Any] | None = None) -> Any:
    """GET `url` until it answers 200 and return its JSON; fail after `timeout` s or if `proc` exits."""
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{proc.args} exited with {proc.returncode} before {url} answered")
        with contextlib.suppress(httpx.HTTPError):
            r = httpx.get(url, timeout=2)
            if r.status_code == 200:
                return r.json()
        time.sleep(0.25)
    raise TimeoutError(f"{url} did not answer within {timeout} s")


@contextlib.contextmanager
def prefect_server(home: Path, log: Path, timeout: float = 90) -> Iterator[str]:
    """Run `prefect server start` on a free port of 127.0.0.1; yield its API URL; stop it after."""
    home.mkdir(parents=True, exist_ok=True)
    port = free_port()
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            env=prefect_env(home), stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    try:
        api = f"http://127.0.0.1:{port}/api"
        wait_for(f"{api}/health", timeout, proc)
        yield api
    finally:
        stop(proc)


def bench_nightly_rerun(messages: int = 100_000, seed: int = 1) -> float:
    """Time the nightly flow's first run and its re-run on an unchanged export; return the ratio."""
    from benchmarks.generate import generate_slack

    export = DATA_DIR / f"slack-{messages // 1000}k"
    summary = generate_slack(export, messages, seed)
    print(f"nightly re-run: {export} ({summary['messages']:,} messages, {summary['files']:,} day files)")
    work = Path(tempfile.mkdtemp(prefix="asyncpulse-bench-nightly-"))
    try:
        with prefect_server(work / "prefect-home", work / "server.log") as api:
            return _measure(api, work, export)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _measure(api: str, work: Path, export: Path) -> float:
    os.environ.update(prefect_env(work / "prefect-home", api))
    os.environ["ASYNCPULSE_SETTINGS"] = str(work / "no-settings.toml")
    from prefect.settings import get_current_settings

    assert get_current_settings().api.url == api, "this process must talk to the bench's server"
    from pipelines.demo import generate_demo
    from pipelines.flows import nightly

    def timed(db: Path, slack: Path) -> tuple[float, float, float, str]:
        started = time.perf_counter()
        state = nightly(db=str(db), slack=str(slack), return_state=True)
        wall = time.perf_counter() - started
        if not state.is_completed():
            raise RuntimeError(f"nightly failed: {state.message}")
        (report,) = state.result()
        flow_run_id = str(state.state_details.flow_run_id)
        return wall, _flow_run_seconds(api, flow_run_id), _run_seconds(db, flow_run_id), report["status"]

    demo = work / "demo"
    generate_demo(demo)
    timed(work / "warmup.duckdb", demo / "slack")  # imports, client, first API calls
    db = work / "bench.duckdb"
    first = timed(db, export)
    rerun = timed(db, export)
    third = timed(db, export)
    from prefect.logging.handlers import APILogHandler

    APILogHandler().flush()  # send the runs' logs while the server is still up
    rows = [("first run", first), ("re-run, unchanged", rerun), ("third run", third)]
    print(f"{'':20} {'wall s':>8} {'flow run s':>11} {'own work s':>11}  status")
    for label, (wall, flow_s, own_s, status) in rows:
        print(f"{label:20} {wall:8.2f} {flow_s:11.2f} {own_s:11.2f}  {status}")
    wall, flow_run, own = (rerun[i] / first[i] for i in range(3))
    verdict = "ok" if own <= TARGET_RERUN_SHARE else "OVER TARGET"
    print(f"re-run / first run: {own:.1%} of the flow's own work (target <= "
          f"{TARGET_RERUN_SHARE:.0%}: {verdict}); {flow_run:.1%} of the flow run's time on the "
          f"server (with Prefect's task orchestration); {wall:.1%} wall clock (with Prefect's "
          "per-run start and finish)")
    return own


def _run_seconds(db: Path, flow_run_id: str) -> float:
    """Return the flow's own work as its raw.runs row has it: the flow body's start to its record."""
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        (seconds,) = con.execute(
            "select epoch(finished_at) - epoch(started_at) from raw.runs where flow_run_id = ?",
            [flow_run_id],
        ).fetchall()[0]
        return float(seconds)
    finally:
        con.close()


def _flow_run_seconds(api: str, flow_run_id: str) -> float:
    """Return the flow run's own duration on the server (its start to its end)."""
    from datetime import datetime

    run = wait_for(f"{api}/flow_runs/{flow_run_id}", 10)
    start, end = (datetime.fromisoformat(run[k]) for k in ("start_time", "end_time"))
    return (end - start).total_seconds()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.bench_nightly", description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=100_000)
    args = ap.parse_args(argv)
    ratio = bench_nightly_rerun(args.messages)
    return 0 if ratio <= TARGET_RERUN_SHARE else 1


if __name__ == "__main__":
    sys.exit(main())

"""`asyncpulse schedule`: picking the newest export of a drop folder, and a real Prefect server.

The server test starts `prefect server start` on a free port (home in tmp,
analytics off), serves the deployment from `asyncpulse schedule` in a
subprocess, triggers it with `prefect deployment run`, waits for the flow
run to complete and reads the data it loaded. Every process it starts runs
in its own process group and is stopped in a finally block.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest

from pipelines import jobs
from pipelines.sources.picking import export_fingerprint, pick_export
from tests.conftest import SlackExport, query
from tests.github_history import write_gh, write_rest
from tests.helpers import make_newer_workspace, make_workspace


def age(path: Path, seconds_ago: float) -> Path:
    """Set `path`'s modification time `seconds_ago` seconds back; return it."""
    t = time.time() - seconds_ago
    os.utime(path, (t, t))
    return path


# --- picking the newest export --------------------------------------------------------------


def test_an_export_itself_is_taken_as_given(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path / "ws")
    zipped = SlackExport(ws).zip(tmp_path / "ws.zip")
    gh = write_gh(tmp_path / "gh" / "prs.json")
    rest = write_rest(tmp_path / "rest")
    assert pick_export("slack", ws) == ws
    assert pick_export("slack", zipped) == zipped
    assert pick_export("github", gh) == gh
    assert pick_export("github", gh.parent) == gh.parent  # a folder of gh JSON files
    assert pick_export("github", rest) == rest
    missing = tmp_path / "missing"
    assert pick_export("slack", missing) == missing  # the loader says what is wrong


def test_the_newest_slack_export_of_a_drop_folder_is_taken(tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    old_zip = age(SlackExport(make_workspace(tmp_path / "a")).zip(drop / "2024-03-06.zip"), 300)
    folder = age(make_workspace(drop / "2024-03-07"), 200)
    new_zip = age(SlackExport(make_newer_workspace(tmp_path / "b")).zip(drop / "2024-03-08.zip"), 100)
    # not exports, or not finished: a dotfile, a partial download, a stray file
    age(SlackExport(make_workspace(tmp_path / "c")).zip(drop / ".2024-03-09.zip"), 0)
    (drop / "2024-03-09.zip.part").write_bytes(b"PK")
    (drop / "notes.txt").write_text("hello")
    assert pick_export("slack", drop) == new_zip

    age(new_zip, 400)
    assert pick_export("slack", drop) == folder
    age(folder, 500)
    assert pick_export("slack", drop) == old_zip


def test_the_newest_github_export_of_a_drop_folder_is_taken(tmp_path: Path) -> None:
    import tarfile

    drop = tmp_path / "drop"
    drop.mkdir()
    age(write_rest(drop / "2024-03-07"), 200)
    tgz = drop / "2024-03-08.tar.gz"
    with tarfile.open(tgz, "w:gz") as tf:
        tf.add(write_rest(tmp_path / "r"), arcname=".")
    assert pick_export("github", age(tgz, 100)) == tgz
    assert pick_export("github", drop) == tgz


def test_an_empty_drop_folder_is_passed_on_for_the_loader_to_refuse(tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    assert pick_export("slack", drop) == drop


@pytest.mark.parametrize("kind", ["folder", "zip"])
def test_the_fingerprint_is_the_one_the_loader_records(
    kind: str, tmp_path: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Prefect cache key and raw.loads' unchanged check must see the same digest."""
    from pipelines.settings import get_settings

    monkeypatch.setenv("ASYNCPULSE_EXCLUDE_CHANNELS", '["random"]')
    get_settings.cache_clear()
    ws = make_workspace(tmp_path / "ws")
    slack = ws if kind == "folder" else SlackExport(ws).zip(tmp_path / "ws.zip")
    gh = write_gh(tmp_path / "gh" / "prs.json")
    jobs.ingest(db_path, "slack", slack)
    jobs.ingest(db_path, "github", gh)
    assert query(db_path, "select source, fingerprint from raw.loads order by source").rows() == [
        ("github", export_fingerprint("github", gh)),
        ("slack", export_fingerprint("slack", slack)),
    ]


# --- a real Prefect server --------------------------------------------------------------------


def test_schedule_serves_a_deployment_that_a_real_server_runs(tmp_path: Path) -> None:
    """`asyncpulse schedule` against `prefect server start`; a triggered run loads the newest export."""
    import subprocess

    from benchmarks.bench_nightly import BIN, prefect_env, prefect_server, stop, wait_for

    drop = tmp_path / "drop"
    drop.mkdir()
    age(SlackExport(make_workspace(tmp_path / "old")).zip(drop / "2024-03-07.zip"), 100)
    newest = SlackExport(make_newer_workspace(tmp_path / "new")).zip(drop / "2024-03-08.zip")
    db = tmp_path / "asyncpulse.duckdb"
    home = tmp_path / "prefect-home"
    logs = tmp_path / "logs"
    logs.mkdir()

    with prefect_server(home, logs / "server.log") as api:
        env = prefect_env(home, api) | {"ASYNCPULSE_SETTINGS": str(tmp_path / "none.toml")}
        with open(logs / "serve.log", "wb") as out:
            serve = subprocess.Popen(
                [str(BIN / "asyncpulse"), "schedule", "--slack", str(drop), "--db", str(db),
                 "--name", "test", "--cron", "0 2 * * *"],
                env=env, cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )
        try:
            deployment = wait_for(f"{api}/deployments/name/nightly/test", 60, serve)
            assert deployment["parameters"] == {"slack": str(drop), "db": str(db)}
            assert [s["schedule"]["cron"] for s in deployment["schedules"]] == ["0 2 * * *"]
            triggered = subprocess.run(
                [str(BIN / "prefect"), "deployment", "run", "nightly/test"],
                env=env, capture_output=True, text=True, timeout=60, check=True,
            )
            found = re.search(r"UUID: ([0-9a-f-]{36})", triggered.stdout)
            assert found, triggered.stdout + triggered.stderr
            flow_run_id = found.group(1)
            deadline = time.monotonic() + 90
            state = None
            while time.monotonic() < deadline and state not in ("COMPLETED", "FAILED", "CRASHED"):
                time.sleep(0.5)
                state = wait_for(f"{api}/flow_runs/{flow_run_id}", 10)["state"]["type"]
            assert state == "COMPLETED", (logs / "serve.log").read_text()[-3000:]
            # beside it, the digests deployment (what is due at 09:00 in each team's zone), served
            # by the same process; a run of it completes (no [[delivery]] here: nothing to send)
            digests = wait_for(f"{api}/deployments/name/digests/test", 60, serve)
            assert digests["parameters"] == {"db": str(db)}
            assert [s["schedule"]["cron"] for s in digests["schedules"]] == ["*/15 * * * *"]
            triggered = subprocess.run(
                [str(BIN / "prefect"), "deployment", "run", "digests/test"],
                env=env, capture_output=True, text=True, timeout=60, check=True,
            )
            found = re.search(r"UUID: ([0-9a-f-]{36})", triggered.stdout)
            assert found, triggered.stdout + triggered.stderr
            deadline, state = time.monotonic() + 90, None
            while time.monotonic() < deadline and state not in ("COMPLETED", "FAILED", "CRASHED"):
                time.sleep(0.5)
                state = wait_for(f"{api}/flow_runs/{found.group(1)}", 10)["state"]["type"]
            assert state == "COMPLETED", (logs / "serve.log").read_text()[-3000:]
        finally:
            stop(serve)

    assert query(db, "select source, path, status from raw.loads").rows() == [
        ("slack", str(newest), "ok")]
    assert query(db, "select flow_run_id, status from raw.runs").rows() == [(flow_run_id, "ok")]
    assert query(db, "select count(*) as n from staging.stg_slack__messages").item() > 0

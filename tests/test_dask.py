"""Parsing on worker processes (a local pool, or a Dask cluster) gives exactly the rows parsing in one process gives."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from pipelines import jobs
from pipelines.settings import get_settings
from tests.helpers import make_workspace

# What differs between two loads of the same export: ids and clocks.
VOLATILE = {"_load_id", "_loaded_at", "load_id", "started_at", "finished_at"}


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, processes=True, dashboard_address=None) as c:
        yield c


def raw_tables(db: Path) -> dict[str, pl.DataFrame]:
    """Every raw table without its load ids and clocks, sorted."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        out = {}
        for (name,) in con.execute(
            "select table_name from duckdb_tables() where schema_name = 'raw' order by 1"
        ).fetchall():
            cols = [c for (c,) in con.execute(
                "select column_name from duckdb_columns() where schema_name = 'raw' "
                "and table_name = ? order by column_index", [name]).fetchall() if c not in VOLATILE]
            select = ", ".join(f'"{c}"' for c in cols)
            out[name] = con.sql(f"select {select} from raw.{name} order by all").pl()
        return out
    finally:
        con.close()


def ingest(db: Path, export: Path, monkeypatch: pytest.MonkeyPatch, **env: str) -> None:
    monkeypatch.setenv("ASYNCPULSE_BATCH_BYTES", "1")  # one batch per day file: many batches
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    get_settings.cache_clear()
    report = jobs.ingest(db, "slack", export)
    assert report.status == "ok", report


@pytest.mark.parametrize("where", ["a running cluster", "a local cluster per ingest"])
def test_slack_ingest_on_dask_gives_the_same_raw_rows(
    where: str, cluster: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from distributed import Client

    export = make_workspace(tmp_path / "export")
    local, dask = tmp_path / "local.duckdb", tmp_path / "dask.duckdb"
    ingest(local, export, monkeypatch)
    env = {"ASYNCPULSE_TASK_RUNNER": "dask", "ASYNCPULSE_WORKERS": "2"}
    if where == "a running cluster":
        env["ASYNCPULSE_DASK_ADDRESS"] = cluster.scheduler_address
    ingest(dask, export, monkeypatch, **env)

    want, got = raw_tables(local), raw_tables(dask)
    assert list(got) == list(want)
    assert len(got["slack_messages"]) > 0
    for name in want:
        assert_frame_equal(got[name], want[name])
    if where == "a running cluster":
        # the batches really ran there
        with Client(cluster, set_as_default=False) as client:
            prefixes = client.run_on_scheduler(lambda dask_scheduler: list(dask_scheduler.task_prefixes))
        assert "parse_day_batch" in prefixes


def test_slack_ingest_on_local_worker_processes_gives_the_same_raw_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The process pool (used from 96 MB on) gives the rows parsing in this process gives."""
    import concurrent.futures

    from pipelines import parallel
    from pipelines.sources import slack

    export = make_workspace(tmp_path / "export")
    one, pool = tmp_path / "one.duckdb", tmp_path / "pool.duckdb"
    ingest(one, export, monkeypatch, ASYNCPULSE_WORKERS="1")
    pools: list[int] = []

    class CountedPool(concurrent.futures.ProcessPoolExecutor):
        def __init__(self, max_workers: int, **kw: Any) -> None:
            pools.append(max_workers)
            super().__init__(max_workers, **kw)

    monkeypatch.setattr(parallel, "ProcessPoolExecutor", CountedPool)
    monkeypatch.setattr(slack, "PARALLEL_MIN_BYTES", 0)
    ingest(pool, export, monkeypatch, ASYNCPULSE_WORKERS="2")
    assert pools == [2]  # the batches really went to two worker processes
    want, got = raw_tables(one), raw_tables(pool)
    assert list(got) == list(want) and len(got["slack_messages"]) > 0
    for name in want:
        assert_frame_equal(got[name], want[name])

"""Run a parse function over batches on every core, or on a Dask cluster, results streamed back.

The batch function must be a module-level function of picklable arguments
(a path, a list of member names) so the same batches go to a process pool
here or to Dask workers at scale. A worker writes its rows to a Parquet
file named in the batch and returns only that path and the outcomes, so
the batches' output directory (the scratch dir) and the export must be
reachable by every worker: anything on a local cluster; a shared file
system for a remote one (set ASYNCPULSE_SCRATCH_DIR).

`ASYNCPULSE_TASK_RUNNER=dask` sends every batch to Dask: the scheduler at
`ASYNCPULSE_DASK_ADDRESS`, or a local cluster of `workers` processes
started for the call. The default, `local`, uses a process pool.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")


def worker_count(requested: int) -> int:
    """Return the parser processes to use: `requested`, or one per core when 0."""
    return requested if requested > 0 else (os.cpu_count() or 1)


def map_batches(fn: Callable[[T], R], batches: Iterable[T], workers: int) -> Iterator[R]:
    """Yield fn(batch) for each batch, in completion order.

    With the Dask runner selected in the settings, on the Dask cluster.
    Otherwise, with one worker (or one batch) it runs in this process; with
    more, a spawn-started pool (no fork of a process holding DuckDB threads)
    keeps at most two batches per worker in flight, so memory does not
    grow with the export.
    """
    from pipelines.settings import get_settings

    todo = list(batches)
    s = get_settings()
    if s.task_runner == "dask" and todo:
        yield from map_batches_dask(fn, todo, s.dask_address, worker_count(s.workers))
        return
    if workers <= 1 or len(todo) <= 1:
        yield from map(fn, todo)
        return
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=die_with_parent,
                             initargs=(os.getpid(),)) as pool:
        pending: set[Future[R]] = set()
        it = iter(todo)
        window = 2 * workers
        # The first submits start the workers: a stop in the middle of handing a new process
        # its start-up data makes it die with a traceback; the stop waits until they are up.
        with deferred_stops():
            for batch in it:
                pending.add(pool.submit(fn, batch))
                if len(pending) >= window:
                    break
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                nxt = next(it, None)
                if nxt is not None:
                    pending.add(pool.submit(fn, nxt))
                yield fut.result()


PR_SET_PDEATHSIG = 1
_stops = {"deferred": 0, "pending": False}


def install_stop_handlers() -> None:
    """Make SIGINT and SIGTERM raise KeyboardInterrupt, except inside `deferred_stops()`.

    SIGTERM is what systemd and Prefect's cancellation send: handled like
    Ctrl-C, so every `finally` runs and the private copy and scratch go.
    """
    import signal
    import threading

    def stop(signum: int, frame: object) -> None:
        if _stops["deferred"]:
            _stops["pending"] = True
            return
        raise KeyboardInterrupt

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)


@contextlib.contextmanager
def deferred_stops() -> Iterator[None]:
    """Hold a stop signal until the block ends (then raise KeyboardInterrupt)."""
    _stops["deferred"] += 1
    try:
        yield
    finally:
        _stops["deferred"] -= 1
    if not _stops["deferred"] and _stops["pending"]:
        _stops["pending"] = False
        raise KeyboardInterrupt


def die_with_parent(parent: int) -> None:
    """Make this worker end when the process that started it dies (even by SIGKILL).

    Without it, a killed ingest left its parse workers (and through them
    multiprocessing's resource tracker) running for as long as they pleased,
    holding the export open. Linux only; elsewhere workers end at their next
    batch, when the pool's pipe is gone.
    """
    import ctypes
    import signal

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the parent died before the line above: nobody to wait for
        os._exit(1)


def map_batches_dask(
    fn: Callable[[T], R], batches: list[T], address: str | None, workers: int
) -> Iterator[R]:
    """Yield fn(batch) for each batch computed on Dask, in completion order.

    Connects to the scheduler at `address`, or starts a local cluster of
    `workers` processes for this call. Results are small (a Parquet path
    and outcomes), so every batch is submitted at once and gathered as
    each completes; an error in a batch is raised here and the rest
    cancelled.
    """
    from distributed import Client, LocalCluster, as_completed

    cluster: Any = None
    if address is None:
        cluster = LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0"
        )
    client = Client(cluster if cluster is not None else address, set_as_default=False)
    try:
        # pure=False: a batch names its output file, re-running it must really re-run it
        futures = client.map(fn, batches, pure=False)
        try:
            with client.as_current():  # as_completed finds its client as the current one
                for fut in as_completed(futures):
                    yield fut.result()
        finally:
            client.cancel(futures)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()

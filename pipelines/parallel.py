"""Run a parse function over batches on every core, results streamed back in a bounded window.

The batch function must be a module-level function of picklable arguments
(a path, a list of member names) so the same batches can go to a process
pool here or to Dask workers at scale.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def worker_count(requested: int) -> int:
    """Return the parser processes to use: `requested`, or one per core when 0."""
    return requested if requested > 0 else (os.cpu_count() or 1)


def map_batches(fn: Callable[[T], R], batches: Iterable[T], workers: int) -> Iterator[R]:
    """Yield fn(batch) for each batch, in completion order.

    With one worker (or one batch) it runs in this process. Otherwise a
    spawn-started pool (no fork of a process holding DuckDB threads) keeps
    at most two batches per worker in flight, so memory does not grow with
    the export.
    """
    todo = list(batches)
    if workers <= 1 or len(todo) <= 1:
        yield from map(fn, todo)
        return
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        pending: set[Future[R]] = set()
        it = iter(todo)
        window = 2 * workers
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

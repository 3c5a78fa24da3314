"""Time every dashboard page's queries on a built database, cold (no result cache).

Each page's number is the sum of the queries it runs (the sidebar's included), as the
page runs them through dashboard.queries, with Streamlit's result cache cleared first —
the cost a user pays the first time a page opens after a nightly build. The median of
three runs is reported.

    python -m benchmarks.bench_pages --db benchmarks/b1m.duckdb
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

TARGET_MS = 300.0


def page_queries() -> dict[str, Callable[[], object]]:
    """Return, per page, a function running the queries that page runs (sidebar included)."""
    from dashboard import queries as q

    def sidebar() -> q.Filters:
        q.state()
        bounds = q.date_bounds()
        q.channel_options()
        q.team_options()
        q.data_as_of()
        q.newest()
        q.coverage_flags()
        start = end = None
        if bounds is not None and not bounds.is_empty():
            start, end = bounds.row(0)[0], bounds.row(0)[1]
        return q.Filters(start=start, end=end)

    def overview() -> None:
        q.headline(sidebar())

    def trends() -> None:
        q.weekly_metrics(sidebar())

    def teams() -> None:
        f = sidebar()
        q.team_health(f, "team")
        q.team_health(f, "tz")
        q.team_people(f)

    def offenders() -> None:
        f = sidebar()
        q.worst_threads(f)
        q.has_prs()
        q.worst_pull_requests(f)

    def replay() -> None:
        choices = q.thread_choices(sidebar())
        if choices is not None and not choices.is_empty():
            thread = choices.row(0, named=True)["thread_id"]
            q.thread_summary(thread)
            q.slack_names()
            q.thread_messages(thread)
            q.thread_working_hours(thread)
            q.thread_handoffs(thread)

    def overlap() -> None:
        q.overlap_matrix(sidebar(), "team" if q.team_options() else "tz")

    def payoff() -> None:
        f = sidebar()
        q.has_prs()
        q.pr_payoff(f)
        q.pr_merge_gap(f)

    def coverage() -> None:
        sidebar()
        q.coverage()
        q.load_history()
        q.has_prs()

    return {"Overview": overview, "Trends": trends, "Teams": teams, "Worst offenders": offenders,
            "Thread replay": replay, "Timezone overlap": overlap, "PR payoff": payoff,
            "Coverage": coverage}


def bench_pages(db: Path, repeat: int = 3) -> list[tuple[str, float]]:
    """Return (page, median milliseconds) for every page, cold cache each run."""
    os.environ["ASYNCPULSE_DB"] = str(Path(db).resolve())
    logging.getLogger("streamlit").setLevel(logging.ERROR)
    import streamlit as st

    results = []
    for page, run in page_queries().items():
        runs = []
        for _ in range(repeat):
            st.cache_data.clear()
            t = time.perf_counter()
            run()
            runs.append((time.perf_counter() - t) * 1000)
        results.append((page, statistics.median(runs)))
    return results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", type=Path, required=True)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    rows = bench_pages(args.db, args.repeat)
    print("| page | queries, cold (ms) | target | result |\n|---|---:|---:|---|")
    for page, ms in rows:
        print(f"| {page} | {ms:,.0f} | ≤ {TARGET_MS:.0f} | {'PASS' if ms <= TARGET_MS else 'FAIL'} |")


if __name__ == "__main__":
    main()

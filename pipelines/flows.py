"""Prefect tasks and flows only: thin calls into `pipelines.jobs`, passing paths.

The nightly run works on one private copy of the database for all its
tasks and publishes it only when every task succeeded, so a run that fails
at any step leaves the database exactly as it was.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from prefect import flow, task

from pipelines import jobs
from pipelines.db import writable_copy


@task(retries=2, retry_delay_seconds=[2, 10], name="ingest")
def ingest_task(work: str, source: str, path: str) -> dict[str, Any]:
    """Load one export into the run's copy (one transaction, so a retry starts clean)."""
    return dataclasses.asdict(jobs.ingest_into(Path(work), source, Path(path)))


@task(name="build")
def build_task(work: str, people: str | None) -> dict[str, int]:
    """Rebuild staging, intermediate and marts in the run's copy."""
    return jobs.build_into(Path(work), Path(people) if people else None)


@flow(name="nightly", log_prints=True)
def nightly(
    db: str, slack: str | None = None, github: str | None = None, people: str | None = None
) -> list[dict[str, Any]]:
    """Ingest whatever is configured, then build; publish atomically. Return the load reports."""
    reports: list[dict[str, Any]] = []
    with writable_copy(Path(db)) as work:
        if slack:
            reports.append(ingest_task(str(work), "slack", slack))
        if github:
            reports.append(ingest_task(str(work), "github", github))
        changed = any(r["status"] != "unchanged" for r in reports)
        if changed or people or not reports:
            build_task(str(work), people)
    for r in reports:
        print(f"{r['source']}: {r['status']}, {r['rows_added']} added, {r['rows_replaced']} replaced")
    return reports


"""Prefect tasks and flows only: thin calls into `pipelines.jobs`, passing paths.

The nightly run works on one private copy of the database for all its
tasks and publishes it only when every task succeeded, so a run that fails
at any step leaves the data exactly as it was; the failure is then
recorded on its own in `raw.runs` (see `pipelines.runs`).

Two checks keep an unchanged export from being read again, and they use
the same fingerprint (`picking.export_fingerprint`, the digest the loaders
store in `raw.loads`):

* the database's own check, inside the loaders: an export whose
  fingerprint `raw.loads` already records is not parsed and adds an
  `unchanged` row. It is the truth, and works for every entry point
  (`ingest`, `run`, a scheduled run, with or without Prefect);
* the Prefect task cache on `ingest`, keyed by the fingerprint: a hit
  skips the task (the UI shows it as Cached), but the flow accepts it only
  when the run's database records that fingerprint; otherwise (a deleted
  or replaced database, another database) the task runs again with the
  cache refreshed. So the cache saves reading the export's metadata and a
  transaction, and can never skip an export the database lacks. A hit adds
  no `raw.loads` row; the run's `raw.runs` row says `unchanged (cached)`.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.context import FlowRunContext, TaskRunContext
from prefect.tasks import exponential_backoff

from pipelines import jobs, runs
from pipelines.db import BuildError, writable_copy
from pipelines.exports import ExportError
from pipelines.people import PeopleFileError
from pipelines.sources.http import ApiRefused
from pipelines.sources.picking import already_loaded, export_fingerprint, pick_export

DIGEST_CRON = "*/15 * * * *"  # digests are due at 09:00 local: a quarter of an hour late at most

# Errors a retry cannot fix: the export, a model or the people file is wrong; the API said no.
PERMANENT = (ExportError, BuildError, PeopleFileError, ApiRefused)


def is_transient(task: Any, task_run: Any, state: Any) -> bool:
    """Retry I/O failures (a network share away, a disk hiccup), not a bad input."""
    error = state.data if isinstance(state.data, BaseException) else None
    return not isinstance(error, PERMANENT)


def ingest_cache_key(context: TaskRunContext, params: dict[str, Any]) -> str | None:
    """Key an ingest by its export's fingerprint (the flow checks a hit against the database)."""
    try:
        fingerprint = export_fingerprint(params["source"], Path(params["path"]))
    except (ExportError, OSError):
        return None  # the task itself says what is wrong with the export
    return f"asyncpulse-ingest-{params['source']}-{fingerprint}"


RETRIES: dict[str, Any] = {
    "retries": 2,
    "retry_delay_seconds": exponential_backoff(backoff_factor=2),  # 2 s, then 4 s
    "retry_jitter_factor": 0.5,
    "retry_condition_fn": is_transient,
}


@task(name="ingest", cache_key_fn=ingest_cache_key, persist_result=True, **RETRIES)
def ingest_task(work: str, source: str, path: str) -> dict[str, Any]:
    """Load one export into the run's copy (one transaction, so a retry starts clean)."""
    return dataclasses.asdict(jobs.ingest_into(Path(work), source, Path(path)))


@task(name="build", **RETRIES)
def build_task(work: str, people: str | None) -> dict[str, int]:
    """Rebuild staging, intermediate and marts in the run's copy."""
    return jobs.build_into(Path(work), Path(people) if people else None)


@task(name="fetch github", task_run_name="fetch github {repo}", **RETRIES)
def fetch_github_task(db: str, work: str, repo: str) -> list[dict[str, Any]]:
    """Fetch one repository into the drop folder and load it into the run's copy (resumes a retry)."""
    from pipelines.sources.github_fetch import fetch_github

    done = fetch_github(Path(db), [repo], [], work=Path(work))
    return [{"line": line, "report": dataclasses.asdict(r) if r else None} for _, r, line in done]


@task(name="list org repos", task_run_name="list repos of {org}", **RETRIES)
def list_org_task(db: str, org: str) -> list[str]:
    """Return owner/repo of every repository of `org`."""
    from pipelines.settings import get_settings
    from pipelines.sources.github_fetch import client_for, drop_folder, list_org_repos

    with client_for(None, None, drop_folder(Path(db))) as c:
        return list_org_repos(c, org, get_settings().fetch.per_page)


@task(name="fetch slack", **RETRIES)
def fetch_slack_task(db: str, work: str) -> list[dict[str, Any]]:
    """Fetch Slack into the drop folder and load it into the run's copy (resumes a retry)."""
    from pipelines.sources.slack_fetch import fetch_slack

    done = fetch_slack(Path(db), None, work=Path(work))
    return [{"line": line, "report": dataclasses.asdict(r) if r else None} for _, r, line in done]


def _fetch_configured(db: Path, work: Path, run: runs.RunRecord) -> list[dict[str, Any]]:
    """Fetch what the `[fetch]` settings name, each its own task; return the load reports."""
    from pipelines.settings import get_settings

    f = get_settings().fetch
    repos = list(f.repos)
    for org in f.orgs:
        repos += [r for r in list_org_task(str(db), org) if r not in repos]
    results = [fetch_github_task(str(db), str(work), repo) for repo in repos]
    if f.slack:
        results.append(fetch_slack_task(str(db), str(work)))
    reports = []
    for done in results:
        for d in done:
            print(d["line"])
            run.steps.append(d["line"])
            if d["report"]:
                run.load_ids.append(d["report"]["load_id"])
                reports.append(d["report"])
    return reports


@task(name="deliver digests")
def deliver_task(work: str, now: str | None) -> list[str]:
    """Send the digests due by `now` (ISO instant; default: the current time) from the run's copy."""
    from pipelines.digest.deliver import DeliveryError, deliver_into

    try:
        return [o.line() for o in deliver_into(Path(work), _instant(now))]
    except DeliveryError as e:  # a bad [[delivery]] table must not cost the night's data
        print(f"digests not sent: {e}")
        return []


def _instant(now: str | None) -> datetime | None:
    return datetime.fromisoformat(now) if now else None


@flow(name="digests", log_prints=True)
def digests(db: str, now: str | None = None) -> list[str]:
    """Send the digests due by `now` (09:00 in each team's zone); each (team, week, channel) once."""
    from pipelines.digest.deliver import deliver_due

    lines = [o.line() for o in deliver_due(Path(db), _instant(now))]
    for line in lines:
        print(line)
    return lines


@flow(name="nightly", log_prints=True)
def nightly(
    db: str, slack: str | None = None, github: str | None = None, people: str | None = None,
    now: str | None = None,
) -> list[dict[str, Any]]:
    """Fetch and ingest whatever is configured, then build, then send the digests due; publish atomically.

    `slack` and `github` may each be an export or a folder where exports
    land (the newest is taken, see `pipelines.sources.picking`). `now` (an ISO
    instant, default the current time) is when the digests due are judged.
    Return the load reports.
    """
    ctx = FlowRunContext.get()
    run = runs.RunRecord(flow_run_id=str(ctx.flow_run.id) if ctx and ctx.flow_run else None)
    try:
        reports = _ingest_and_build(Path(db), run, {"slack": slack, "github": github}, people, now)
    except Exception as e:
        run.fail(e)
        if runs.record_failed_run(Path(db), run):
            print(f"run {run.run_id} failed ({run.error}); the data is as it was, "
                  "the failure is recorded in raw.runs")
        raise
    for r in reports:
        print(f"{r['source']}: {r['status']}, {r['rows_added']} added, {r['rows_replaced']} replaced")
    return reports


def _ingest_and_build(
    db: Path, run: runs.RunRecord, sources: dict[str, str | None], people: str | None,
    now: str | None = None,
) -> list[dict[str, Any]]:
    reports: list[dict[str, Any]] = []
    with writable_copy(db) as work:
        fetched = _fetch_configured(db, work, run)
        fetched_any = bool(run.steps)  # a fetch that found nothing new adds a step, no report
        reports += fetched
        for source, given in sources.items():
            if not given:
                continue
            path = pick_export(source, Path(given))
            if path != Path(given):
                print(f"{source}: the newest export in {given} is {path.name}")
            report, cached = _ingest(work, source, path)
            run.steps.append(f"{source}: {report['status']}{' (cached)' if cached else ''} {path}")
            if not cached:
                run.load_ids.append(report["load_id"])
            reports.append(report)
        # A fetch folder is new every night: its load changed something only if it added rows.
        changed = any(r["status"] != "unchanged" for r in reports[len(fetched):]) or any(
            r["rows_added"] or r["rows_replaced"] or r["status"] != "ok" for r in fetched)
        if changed or people or not (reports or fetched_any):
            counts = build_task(str(work), people)
            run.steps.append(f"build: {len(counts)} relations")
        run.steps += [f"digest: {line}" for line in deliver_task(str(work), now)]
        runs.record_run(work, run)
    return reports


def _ingest(work: Path, source: str, path: Path) -> tuple[dict[str, Any], bool]:
    """Run the ingest task; return its report and whether the cache answered for it."""
    state = ingest_task(str(work), source, str(path), return_state=True)
    report: dict[str, Any] = state.result()
    if state.name != "Cached":
        return report, False
    if already_loaded(work, source, report["fingerprint"]):
        note = "recognised by the Prefect task cache and the database; not read again"
        return report | {"status": "unchanged", "files_read": 0, "files_skipped": 0,
                         "rows_added": 0, "rows_replaced": 0, "problems": [], "notes": [note]}, True
    # The cache remembers this export, but this database lacks it: load it for real.
    refreshed = ingest_task.with_options(refresh_cache=True)
    return refreshed(str(work), source, str(path)), False


def serve_nightly(name: str, cron: str, parameters: dict[str, Any]) -> None:
    """Register `nightly` as the deployment nightly/`name` on `cron` and run its runs until stopped.

    One run at a time (the writer lock would serialise them anyway); on
    Ctrl-C Prefect pauses the schedule, so runs do not pile up unserved.
    Beside it, digests/`name` runs every 15 minutes and sends the digests that have come due
    (09:00 in each team's zone), so a team's morning does not wait for the nightly run.
    """
    from typing import cast

    from prefect import serve
    from prefect.deployments.runner import EntrypointType, RunnerDeployment

    # to_deployment is sync outside an event loop (it is typed for both)
    night = cast(RunnerDeployment, nightly.to_deployment(
        name=name, cron=cron, parameters=parameters,
        entrypoint_type=EntrypointType.MODULE_PATH,  # `pipelines.flows.nightly`, not a file path
        description="asyncpulse: ingest the newest exports, rebuild, publish atomically",
    ))
    morning = cast(RunnerDeployment, digests.to_deployment(
        name=name, cron=DIGEST_CRON, parameters={"db": parameters["db"]},
        entrypoint_type=EntrypointType.MODULE_PATH,
        description="asyncpulse: send each team's weekly digest at 09:00 in its timezone",
    ))
    serve(night, morning, limit=1)

"""The `asyncpulse` command line (README, "Every command").

Exit status: 0 everything loaded; 3 loaded but some files were skipped;
1 nothing loaded (database unchanged), with a one-line reason; 2 usage.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipelines.exitcodes import EXIT_FAILED, EXIT_OK, EXIT_PARTIAL, EXIT_USAGE

if TYPE_CHECKING:
    from pipelines.loads import LoadReport

# Heavier modules (settings, DuckDB, the loaders) are imported by the commands that use them:
# start-up is part of every command's time, and parse workers import this module again.


def _add_db(p: argparse.ArgumentParser, top: bool) -> None:
    # --db is accepted before or after the command; the sub-command's value wins.
    p.add_argument(
        "--db", type=Path, default=None if top else argparse.SUPPRESS,
        help="database file (default: $ASYNCPULSE_DB or data/asyncpulse.duckdb)",
    )


def _add_sources(p: argparse.ArgumentParser) -> None:
    where = "; or a folder where each night's export lands (the newest is taken)"
    p.add_argument("--slack", type=Path, help="Slack export (ZIP or folder)" + where)
    p.add_argument(
        "--github", type=Path, help="GitHub export (gh JSON, REST dump, migration archive)" + where
    )
    p.add_argument("--people", type=Path, help="people.csv; stored for later builds")


def make_parser() -> argparse.ArgumentParser:
    """Build the argument parser: one sub-command per verb of the README's command table."""
    p = argparse.ArgumentParser(
        prog="asyncpulse",
        description="Measure how well a distributed team works asynchronously.",
    )
    _add_db(p, top=True)
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    ing = sub.add_parser("ingest", help="load an export (idempotent and incremental)")
    _add_db(ing, top=False)
    ing.add_argument("source", choices=["slack", "github"], help="what kind of export")
    ing.add_argument(
        "path", type=Path,
        help="the export: Slack's ZIP or its folder; GitHub's gh JSON file, REST dump folder, "
        "or migration archive (.tar.gz or folder)",
    )
    _add_redact(ing)

    _add_fetch(sub)

    b = sub.add_parser("build", help="rebuild staging and marts from raw")
    _add_db(b, top=False)
    b.add_argument("--people", type=Path, help="people.csv; stored for later builds")
    _add_redact(b)

    r = sub.add_parser("run", help="the nightly Prefect flow: ingest what is given, then build")
    _add_db(r, top=False)
    _add_sources(r)
    _add_redact(r)

    sc = sub.add_parser(
        "schedule", help="serve the nightly flow as a Prefect deployment on a cron schedule",
        description="Register the nightly flow as the Prefect deployment nightly/NAME with a cron "
        "schedule and run its runs here until Ctrl-C. Needs a Prefect server (PREFECT_API_URL).",
    )
    _add_db(sc, top=False)
    sc.add_argument("--cron", default="0 2 * * *", help='when to run (default "0 2 * * *", 02:00 UTC)')
    _add_sources(sc)
    sc.add_argument("--name", default="asyncpulse", help="deployment name (default: asyncpulse)")

    fg = sub.add_parser(
        "forget", help="delete everything a person wrote and their name, then rebuild",
        description="Delete every raw row authored by PERSON's Slack ids and GitHub logins, "
        "their user and people-file rows; replace their mentions in others' messages; rebuild. "
        "Atomic; future ingests keep them out. See SECURITY.md.",
    )
    _add_db(fg, top=False)
    fg.add_argument(
        "person", nargs="+",
        help="a name, e-mail, Slack id or handle, or GitHub login; several to forget several people "
        "(each must name exactly one)",
    )
    fg.add_argument("--yes", action="store_true", help="do it without asking")

    q = sub.add_parser("sql", help="run one read-only query")
    _add_db(q, top=False)
    q.add_argument("query", help="the SQL query")
    q.add_argument("--format", choices=["table", "csv", "json"], default="table")
    q.add_argument("--max-rows", type=int, default=200, help="rows shown in table format")

    pe = sub.add_parser("people", help="everyone: source ids, timezone, working hours, how matched")
    _add_db(pe, top=False)
    pe.add_argument("--format", choices=["table", "csv", "json"], default="table")

    ag = sub.add_parser(
        "agreements", help="the working agreements in force; --preview: how often each would fire",
        description="List the working agreements ([[agreement]] in asyncpulse.toml or "
        "ASYNCPULSE_AGREEMENT; none: the defaults). --preview counts, per ISO week of the loaded "
        "history, the breaches each (enabled = false ones too) would have had.",
    )
    _add_db(ag, top=False)
    ag.add_argument("--preview", action="store_true", help="breaches per agreement and week")

    dg = sub.add_parser(
        "digest", help="a team's weekly digest; --send delivers it through its [[delivery]] tables",
        description="Render a team's week: headline numbers against the week before, open "
        "breaches, the worst threads and PRs with what would have helped, and what the data "
        "cannot tell. Without --team: every team. Without --week: the last full week.",
    )
    _add_db(dg, top=False)
    dg.add_argument("--team", help="one team (default: every team)")
    dg.add_argument("--week", help="ISO week, e.g. 2024-W10 (default: the last full week)")
    dg.add_argument("--format", choices=["markdown", "html", "text"], default="markdown")
    dg.add_argument("--send", action="store_true",
                    help="deliver it (each team, week and channel once; see raw.deliveries)")
    dg.add_argument("--private", action="store_true", help="names as the dashboard's pseudonyms")

    d = sub.add_parser("dashboard", help="start the Streamlit dashboard")
    _add_db(d, top=False)
    _add_listen(d)

    demo = sub.add_parser("demo", help="generate the sample workspace, load it, open the dashboard")
    _add_listen(demo)
    demo.add_argument("--no-dashboard", action="store_true", help="load only")
    return p


def _add_fetch(sub: Any) -> None:
    """`fetch github|slack`: the one command that talks to the network (SECURITY.md)."""
    f = sub.add_parser(
        "fetch", help="fetch the history from GitHub's or Slack's API, then ingest it",
        description="Fetch what changed since the last fetch into a run folder under the drop "
        "folder (the `fetch.dir` setting, default <db dir>/fetched), then ingest it. "
        "Incremental, rate-limit aware, resumable after a kill.",
    )
    _add_db(f, top=False)
    fsub = f.add_subparsers(dest="fetch_source", required=True, metavar="SOURCE")
    g = fsub.add_parser("github", help="pull requests, reviews, comments, events and files")
    _add_db(g, top=False)
    g.add_argument("repo", nargs="?", help="OWNER/REPO")
    g.add_argument("--org", action="append", default=[], help="every repository of ORG (repeatable)")
    g.add_argument("--since", type=_date, help="the first fetch goes back to this day (YYYY-MM-DD)")
    g.add_argument("--api-url", help="API root (GitHub Enterprise: https://HOST/api/v3); "
                   "token from GITHUB_TOKEN, GH_TOKEN or `gh auth token`")
    g.add_argument("--no-ingest", action="store_true", help="only write the run folder")
    sl = fsub.add_parser("slack", help="users, conversations, messages and threads (SLACK_TOKEN)")
    _add_db(sl, top=False)
    sl.add_argument("--api-url", help="Web API root (default https://slack.com/api)")
    sl.add_argument("--no-ingest", action="store_true", help="only write the export folder")


def _date(text: str) -> Any:
    from datetime import date

    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def _add_listen(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default="127.0.0.1",
                   help="address the dashboard listens on (default 127.0.0.1: this machine only; "
                        "0.0.0.0 shows every message to anyone who can reach this machine)")
    p.add_argument("--port", type=int, default=8501, help="port the dashboard listens on (default 8501)")


def _add_redact(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--redact", action="store_true",
        help="store no message text (only the flags the metrics need) and pseudonymise names "
        "(also the `redact` setting; see SECURITY.md)",
    )


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = make_parser().parse_args(argv)
    _stop_on_sigterm()
    from pipelines.settings import get_settings

    if getattr(args, "redact", False):  # the loaders read it from the settings
        os.environ["ASYNCPULSE_REDACT"] = "true"
        get_settings.cache_clear()
    s = get_settings()
    database = Path(args.db) if getattr(args, "db", None) else s.db
    try:
        return COMMANDS[args.command](args, database)
    except KeyboardInterrupt:
        print("interrupted; the database is as it was", file=sys.stderr)
        return EXIT_FAILED
    except BrokenPipeError:  # `asyncpulse sql ... | head`: the reader left; not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except Exception as e:  # the one-line reason; tracebacks are for developers
        if _interrupted(e):  # Ctrl-C or SIGTERM inside a DuckDB query
            print("interrupted; the database is as it was", file=sys.stderr)
            return EXIT_FAILED
        from pipelines.agreements import AgreementError
        from pipelines.db import BuildError, BusyError, DiskFullError
        from pipelines.digest.deliver import DeliveryError
        from pipelines.digest.render import DigestError
        from pipelines.exports import ExportError
        from pipelines.forget import ForgetError
        from pipelines.people import PeopleFileError
        from pipelines.sources.http import FetchError

        known = (ExportError, BusyError, BuildError, PeopleFileError, FileNotFoundError, ForgetError,
                 DiskFullError, FetchError, AgreementError, DigestError, DeliveryError)
        if os.environ.get("ASYNCPULSE_DEBUG") or not isinstance(e, known):
            raise
        print(f"asyncpulse: {e}", file=sys.stderr)
        return EXIT_FAILED


def _interrupted(e: BaseException) -> bool:
    """Tell whether `e` is DuckDB's answer to a KeyboardInterrupt during a query."""
    while e is not None:
        if type(e).__name__ == "InterruptException" or str(e) == "Query interrupted":
            return True
        e = e.__cause__ or e.__context__  # type: ignore[assignment]
    return False


def _stop_on_sigterm() -> None:
    """Treat SIGTERM (systemd's stop, Prefect's cancellation) as Ctrl-C: clean up, then exit."""
    from pipelines.parallel import install_stop_handlers

    install_stop_handlers()


def _report(r: LoadReport) -> int:
    for line in r.problems:
        print(f"skipped: {line}", file=sys.stderr)
    for line in r.notes:
        print(f"note: {line}", file=sys.stderr)
    print(r.summary(), file=sys.stderr)
    return r.exit_code


def cmd_ingest(args: argparse.Namespace, database: Path) -> int:
    from pipelines import jobs

    return _report(jobs.ingest(database, args.source, args.path))


def cmd_fetch(args: argparse.Namespace, database: Path) -> int:
    """Fetch from GitHub or Slack into the drop folder and ingest each run as it completes."""
    codes: list[int] = []
    if args.fetch_source == "github":
        if not args.repo and not args.org:
            print("asyncpulse: fetch github needs OWNER/REPO or --org ORG", file=sys.stderr)
            return EXIT_USAGE
        from pipelines.sources.github_fetch import fetch_github

        done = fetch_github(database, [args.repo] if args.repo else [], args.org, args.since,
                            args.api_url, ingest=not args.no_ingest)
    else:
        from pipelines.sources.slack_fetch import fetch_slack

        done = fetch_slack(database, args.api_url, ingest=not args.no_ingest)  # type: ignore[assignment]
    for _, report, line in done:
        print(line, file=sys.stderr)
        if report is not None:
            codes.append(_report(report))
    return EXIT_PARTIAL if EXIT_PARTIAL in codes else max(codes, default=EXIT_OK)


def cmd_build(args: argparse.Namespace, database: Path) -> int:
    from pipelines import jobs

    if not _anything_loaded(database):
        print(f"asyncpulse: nothing is loaded in {database}, so there is nothing to build: load an "
              "export first with `asyncpulse ingest slack EXPORT.zip` or `asyncpulse ingest github "
              "PRS.json` (or `asyncpulse run --slack ... --github ...`), then build", file=sys.stderr)
        return EXIT_FAILED
    counts = jobs.build(database, _people(args))
    print(f"built {len(counts)} relations in {database}", file=sys.stderr)
    return EXIT_OK


def _anything_loaded(database: Path) -> bool:
    """Say whether any export was loaded into `database` (no file: nothing)."""
    from pipelines.db import connect_reader, fetch_row

    if not database.exists():
        return False
    con = connect_reader(database)
    try:
        if not fetch_row(con, "select count(*) from duckdb_tables() "
                              "where schema_name = 'raw' and table_name = 'loads'")[0]:
            return False
        return bool(fetch_row(con, "select count(*) from raw.loads "
                                   "where status in ('ok', 'partial', 'unchanged')")[0])
    finally:
        con.close()


def cmd_run(args: argparse.Namespace, database: Path) -> int:
    from pipelines.flows import nightly
    from pipelines.loads import LoadReport

    reports = nightly(db=str(database), slack=_opt(args.slack), github=_opt(args.github),
                      people=_opt(_people(args)))
    codes = [_report(LoadReport(**r)) for r in reports]
    return EXIT_PARTIAL if EXIT_PARTIAL in codes else max(codes, default=EXIT_OK)


def _people(args: argparse.Namespace) -> Path | None:
    """Return the people file: --people, else the `people_file` setting (else the stored one)."""
    from pipelines.settings import get_settings

    return args.people if args.people is not None else get_settings().people_file


def _opt(p: Path | None) -> str | None:
    return str(p) if p is not None else None


def cmd_schedule(args: argparse.Namespace, database: Path) -> int:
    from prefect.client.schemas.schedules import CronSchedule
    from prefect.settings import PREFECT_API_URL

    from pipelines.flows import serve_nightly

    try:
        CronSchedule(cron=args.cron)
    except ValueError:
        print(f"asyncpulse: --cron {args.cron!r} is not a cron expression", file=sys.stderr)
        return EXIT_USAGE
    if not PREFECT_API_URL.value():
        print("asyncpulse: schedule needs a Prefect server: run `prefect server start` and set "
              "PREFECT_API_URL=http://127.0.0.1:4200/api (or run `asyncpulse run` from cron)",
              file=sys.stderr)
        return EXIT_FAILED
    given = {"slack": args.slack, "github": args.github, "people": _people(args)}
    for what, path in given.items():
        if path is not None and not path.exists():
            raise FileNotFoundError(f"--{what} {path}: no such file or folder")
    # Absolute paths: the runs may start in another working directory.
    params = {k: str(v.resolve()) for k, v in given.items() if v is not None}
    params["db"] = str(Path(database).resolve())
    print(f"serving nightly/{args.name} on {args.cron!r} against {PREFECT_API_URL.value()} "
          "(Ctrl-C to stop)", file=sys.stderr)
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is how serving ends
        serve_nightly(args.name, args.cron, params)
    return EXIT_OK


def cmd_sql(args: argparse.Namespace, database: Path) -> int:
    from pipelines.db import connect_reader
    from pipelines.settings import get_settings

    con = connect_reader(database)
    timer = threading.Timer(get_settings().sql_timeout_seconds, con.interrupt)
    timer.start()
    try:
        _refuse_non_queries(con, args.query)
        cur = con.execute(args.query)
        if cur.description is None:
            return EXIT_OK
        names = [d[0] for d in cur.description]
        rows = cur.fetchall()
    except Exception as e:
        import duckdb

        if not isinstance(e, duckdb.Error):
            raise
        line = str(e).splitlines()[0]
        if "LocalFileSystem" in line:
            line = "`asyncpulse sql` reads and writes no files, only the database's tables"
        print(f"asyncpulse: {line}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        timer.cancel()
        con.close()
    _print_rows(names, rows, args.format, args.max_rows)
    return EXIT_OK


# What `sql` runs: queries (SELECT, WITH, FROM, VALUES, TABLE, DESCRIBE, SHOW, SUMMARIZE parse
# as SELECT) and EXPLAIN. Everything else (COPY, EXPORT, ATTACH, CALL, CHECKPOINT,
# SET, PRAGMA, PREPARE, INSTALL, VACUUM, writes) is refused before it runs; the reader
# connection also reaches no file (`pipelines.db.connect_reader`), so this is a second wall.
QUERY_STATEMENTS = ("SELECT", "EXPLAIN")


def _refuse_non_queries(con: Any, query: str) -> None:
    import duckdb

    for statement in con.extract_statements(query):
        kind = statement.type.name
        if kind not in QUERY_STATEMENTS:
            raise duckdb.PermissionException(
                f"`asyncpulse sql` runs queries only (SELECT, WITH, DESCRIBE, SHOW, SUMMARIZE, "
                f"EXPLAIN); {kind} statements are refused"
            )


def _print_rows(names: list[str], rows: list[tuple[Any, ...]], fmt: str, max_rows: int) -> None:
    if fmt == "csv":
        w = csv.writer(sys.stdout, lineterminator="\n")
        w.writerow(names)
        w.writerows(rows)
    elif fmt == "json":
        import orjson

        sys.stdout.write(
            orjson.dumps(
                [dict(zip(names, r, strict=True)) for r in rows],
                default=str, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS,
            ).decode() + "\n"
        )
    else:  # fitted to the terminal, numbers rounded for reading (pipelines/table.py)
        from pipelines.table import render, terminal_width

        print(render(names, rows, terminal_width(), max_rows))


PEOPLE_QUERY = """
    select display_name as person, coalesce(team, '') as team,
           array_to_string(slack_ids, ' ') as slack_ids,
           array_to_string(github_logins, ' ') as github_logins,
           coalesce(tz, 'UNKNOWN') as tz, coalesce(tz_source, '') as tz_from,
           printf('%02d:%02d-%02d:%02d %s', work_start_s // 3600, work_start_s % 3600 // 60,
                  work_end_s // 3600, work_end_s % 3600 // 60, workdays_label(workdays_mask))
               as working_hours,
           schedule_source as hours_from, matched_by, coalesce(problems, '') as problems
    from intermediate.int_people__matched p
    order by p.has_known_tz, p.team nulls last, p.display_name
"""


def cmd_people(args: argparse.Namespace, database: Path) -> int:
    """List everyone with their ids, timezone, hours and matching; name who has no timezone."""
    import duckdb

    from pipelines.db import connect_reader

    con = connect_reader(database)
    try:
        cur = con.execute(PEOPLE_QUERY)
        names = [d[0] for d in cur.description or []]
        rows = cur.fetchall()
    except duckdb.CatalogException:
        print("asyncpulse: nothing built yet: run `asyncpulse build` first", file=sys.stderr)
        return EXIT_FAILED
    finally:
        con.close()
    _print_rows(names, rows, args.format, max_rows=10_000)
    unknown = [r[0] for r in rows if r[4] == "UNKNOWN"]
    if unknown:
        print(f"{len(unknown)} of {len(rows)} people have no known timezone "
              f"(no bounces or working-hours figures for them): {', '.join(unknown)}", file=sys.stderr)
    return EXIT_OK


def cmd_dashboard(args: argparse.Namespace, database: Path) -> int:
    return serve_dashboard(database, args.port, args.host)


def streamlit_command(port: int, host: str = "127.0.0.1") -> list[str]:
    """Return the command serving the dashboard: on `host` only, headless, no usage statistics,
    the viewer's toolbar (no "Deploy", no developer menu). The page loads nothing from elsewhere:
    Streamlit's fonts are bundled and the tab icon is dashboard/icon.png (tests/test_dashboard.py)."""
    from pipelines.settings import PROJECT_ROOT

    app = PROJECT_ROOT / "dashboard" / "streamlit_app.py"
    return [
        sys.executable, "-m", "streamlit", "run", str(app),
        "--server.headless", "true", "--browser.gatherUsageStats", "false",
        "--server.address", host, "--server.port", str(port),
        "--client.toolbarMode", "viewer",
    ]


def serve_dashboard(database: Path, port: int, host: str = "127.0.0.1") -> int:
    """Run Streamlit on the dashboard until stopped (see `streamlit_command`)."""
    env = {**os.environ, "ASYNCPULSE_DB": str(Path(database).resolve())}
    cmd = streamlit_command(port, host)
    shown = "localhost" if host == "127.0.0.1" else host
    print(f"dashboard on http://{shown}:{port} (Ctrl-C to stop)", file=sys.stderr)
    try:
        return subprocess.call(cmd, env=env)
    except KeyboardInterrupt:
        return EXIT_OK


def cmd_demo(args: argparse.Namespace, database: Path) -> int:
    from pipelines import jobs
    from pipelines.demo import generate_demo
    from pipelines.settings import get_settings

    s = get_settings()
    out = s.demo_dir
    counts = generate_demo(out)
    print("generated the sample workspace in " + str(out) + ": "
          + ", ".join(f"{v} {k}" for k, v in counts.items()), file=sys.stderr)
    demo_db = s.demo_db  # never the user's database
    if not s.agreement:  # the demo's own agreements (pipelines.demo.DEMO_AGREEMENTS)
        from pipelines.demo import DEMO_AGREEMENTS

        s.agreement = DEMO_AGREEMENTS
    code = _report(jobs.ingest(demo_db, "slack", out / "slack"))
    code = max(code, _report(jobs.ingest(demo_db, "github", out / "github" / "prs.json")))
    jobs.build(demo_db, out / "people.csv")
    print(f"built {demo_db}", file=sys.stderr)
    if code not in (EXIT_OK,) or args.no_dashboard:
        return code
    return serve_dashboard(demo_db, args.port, args.host)


def cmd_forget(args: argparse.Namespace, database: Path) -> int:
    from pipelines import forget

    plan = forget.plan(database, args.person)
    print(plan.summary(), file=sys.stderr)
    if not args.yes:
        if not sys.stdin.isatty():
            print("asyncpulse: nothing deleted: add --yes to forget them", file=sys.stderr)
            return EXIT_USAGE
        if input("forget them? [y/N] ").strip().lower() not in ("y", "yes"):
            print("nothing deleted", file=sys.stderr)
            return EXIT_OK
    done = forget.forget(database, args.person)
    print(done.summary(done=True), file=sys.stderr)
    return EXIT_OK


def cmd_agreements(args: argparse.Namespace, database: Path) -> int:
    """List the agreements in force; with --preview, their breaches per week."""
    from pipelines.agreements import configured_agreements, preview

    agreements = configured_agreements(include_disabled=True)
    for a in agreements:
        print(("" if a.enabled else "(preview only) ") + a.describe())
    if args.preview:
        import polars as pl

        counts = preview(database, agreements)
        wide = counts.pivot(on="agreement", index="week", values="breaches").sort("week")
        wide = wide.with_columns(pl.col("week").map_elements(
            lambda d: f"{d.isocalendar()[0]}-W{d.isocalendar()[1]:02d}", return_dtype=pl.String))
        _print_rows(wide.columns, wide.rows(), "table", max_rows=10_000)
    return EXIT_OK


def cmd_digest(args: argparse.Namespace, database: Path) -> int:
    """Print each team's digest (or one team's); with --send, deliver it and say how it went."""
    from datetime import UTC, datetime

    from pipelines.db import connect_reader
    from pipelines.digest import render

    con = connect_reader(database)
    try:
        week = render.parse_week(args.week) if args.week else render.latest_week(con, datetime.now(UTC).date())
        names = [args.team] if args.team else [t for t, _ in render.teams(con)]
        if not names:
            raise render.DigestError("the people file names no teams: no digest to write")
        digests, code = [], EXIT_OK
        for team in names:
            try:
                digests.append(render.gather(con, team, week, private=args.private))
            except render.DigestError as e:
                if args.team:
                    raise
                print(f"{team}: {e}", file=sys.stderr)
    finally:
        con.close()
    if not args.send:
        print("\n".join(render.render(d, args.format) for d in digests), end="")
        return code
    from pipelines.digest.deliver import configured_deliveries, deliver_due

    if not configured_deliveries():
        print("asyncpulse: nothing to send to: add a [[delivery]] table (README)", file=sys.stderr)
        return EXIT_FAILED
    outcomes = []
    for d in digests:
        outcomes += deliver_due(database, datetime.now(UTC), team=d.team, week=week)
    for o in outcomes:
        print(o.line(), file=sys.stderr)
    return EXIT_FAILED if any(o.status == "failed" for o in outcomes) else code


COMMANDS = {
    "ingest": cmd_ingest,
    "fetch": cmd_fetch,
    "build": cmd_build,
    "run": cmd_run,
    "schedule": cmd_schedule,
    "sql": cmd_sql,
    "forget": cmd_forget,
    "people": cmd_people,
    "agreements": cmd_agreements,
    "digest": cmd_digest,
    "dashboard": cmd_dashboard,
    "demo": cmd_demo,
}

if __name__ == "__main__":
    sys.exit(main())

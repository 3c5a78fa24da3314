"""Send each team's digest where its `[[delivery]]` tables say, exactly once per team, week
and channel.

    [[delivery]]
    kind = "folder"                 # folder | email | slack
    folder = "digests"              # folder: one file per team and week
    format = "markdown"             # folder: markdown | html | text
    team = ["Platform", "Web"]      # optional: these teams only (default: every team)
    timezone = "Europe/Berlin"      # optional: instead of the members' most common zone
    private = true                  # optional: names as the dashboard's pseudonyms

    [[delivery]]
    kind = "email"
    to = ["platform-leads@example.com"]     # SMTP: smtp_host, smtp_port, smtp_from settings;
                                            # STARTTLS always; ASYNCPULSE_SMTP_USERNAME and
                                            # ASYNCPULSE_SMTP_PASSWORD from the environment
    [[delivery]]
    kind = "slack"
    webhook_url_env = "PLATFORM_WEBHOOK"    # or webhook_url = "https://hooks.slack.com/..."

`raw.deliveries` records every attempt: a sent (team, week, channel) is never sent again; a
failed one is retried on a later run once its backoff (5 min, doubling, at most 6 h) is over.
Callers hold the writer lock (they run inside `db.writable_copy` or the nightly run's copy),
so two schedules cannot both send: the second waits, then finds the first's rows.
"""

from __future__ import annotations

import os
import re
import smtplib
import ssl
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import duckdb

from pipelines import db
from pipelines.digest import due, render
from pipelines.settings import get_settings

KINDS = ("folder", "email", "slack")
FIRST_BACKOFF = timedelta(minutes=5)
MAX_BACKOFF = timedelta(hours=6)
EXTENSIONS = {"markdown": "md", "html": "html", "text": "txt"}


class DeliveryError(ValueError):
    """A `[[delivery]]` table is not readable; the message names which and why."""


@dataclass(frozen=True)
class Delivery:
    """One configured channel."""

    name: str
    kind: str
    teams: tuple[str, ...] | None = None
    folder: Path | None = None
    format: str = "markdown"
    to: tuple[str, ...] = ()
    webhook_url: str | None = None
    timezone: str | None = None
    private: bool = False

    def covers(self, team: str) -> bool:
        return self.teams is None or team in self.teams


@dataclass
class Outcome:
    """What one (team, week, channel) came to on this run."""

    team: str
    week: date
    channel: str
    status: str  # sent | failed | already sent | waiting | skipped
    attempts: int = 0
    note: str = ""

    def line(self) -> str:
        extra = f" ({self.note})" if self.note else ""
        return f"{self.team} {render.week_label(self.week)} {self.channel}: {self.status}{extra}"


def parse_delivery(raw: dict[str, Any], where: str) -> Delivery:
    """Validate one `[[delivery]]` table; `where` names it in the one-line error."""
    known = {"kind", "name", "team", "folder", "format", "to", "webhook_url", "webhook_url_env", "timezone",
             "private"}
    if not isinstance(raw, dict):
        raise DeliveryError(f"{where}: expected a table")
    if set(raw) - known:
        raise DeliveryError(f"{where}: unknown keys {sorted(set(raw) - known)}")
    kind = raw.get("kind")
    if kind not in KINDS:
        raise DeliveryError(f"{where}: kind {kind!r} is not one of {', '.join(KINDS)}")
    team = raw.get("team")
    teams = None if team in (None, "*") else tuple([team] if isinstance(team, str) else team)
    tz = raw.get("timezone")
    if tz is not None:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise DeliveryError(f"{where}: timezone {tz!r} is not an IANA zone") from None
    fmt = raw.get("format", "markdown")
    if fmt not in EXTENSIONS:
        raise DeliveryError(f"{where}: format {fmt!r} is not one of markdown, html, text")
    private = raw.get("private", False)
    if not isinstance(private, bool):
        raise DeliveryError(f"{where}: private {private!r} must be true or false")
    d = Delivery(name=str(raw.get("name") or kind), kind=kind, teams=teams, format=fmt, timezone=tz,
                 private=private)
    if kind == "folder":
        if not raw.get("folder"):
            raise DeliveryError(f"{where}: a folder delivery needs `folder`")
        return _replace(d, folder=Path(raw["folder"]))
    if kind == "email":
        to = raw.get("to")
        to = [to] if isinstance(to, str) else to
        if not to or not all(isinstance(a, str) and "@" in a for a in to):
            raise DeliveryError(f"{where}: an email delivery needs `to`, a list of addresses")
        if not get_settings().smtp_host:
            raise DeliveryError(f"{where}: an email delivery needs the smtp_host setting")
        return _replace(d, to=tuple(to))
    url = raw.get("webhook_url")
    if raw.get("webhook_url_env"):
        url = os.environ.get(raw["webhook_url_env"])
        if not url:
            raise DeliveryError(f"{where}: ${raw['webhook_url_env']} (webhook_url_env) is not set")
    if not url or not str(url).startswith(("https://", "http://")):
        raise DeliveryError(f"{where}: a slack delivery needs webhook_url or webhook_url_env")
    return _replace(d, webhook_url=str(url))


def _replace(d: Delivery, **kw: Any) -> Delivery:
    from dataclasses import replace

    return replace(d, **kw)


def configured_deliveries() -> list[Delivery]:
    """Return the `[[delivery]]` tables of the settings; names must be unique."""
    out = [parse_delivery(r, f"[[delivery]] #{i}") for i, r in enumerate(get_settings().delivery, 1)]
    names = [d.name for d in out]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise DeliveryError(f"[[delivery]]: names must be unique; give `name` to {dupes}")
    return out


# --- the channels --------------------------------------------------------------------------------


def slug(team: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", team.lower()).strip("-") or "team"


def send(delivery: Delivery, digest: render.Digest) -> None:
    """Send `digest` through one channel; raise on any failure."""
    if delivery.kind == "folder":
        assert delivery.folder is not None
        delivery.folder.mkdir(parents=True, exist_ok=True)
        path = delivery.folder / f"{slug(digest.team)}-{digest.label}.{EXTENSIONS[delivery.format]}"
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(render.render(digest, delivery.format), encoding="utf-8")
        os.replace(tmp, path)  # a reader sees the whole file or none
    elif delivery.kind == "email":
        send_email(digest, list(delivery.to))
    else:
        import httpx

        assert delivery.webhook_url is not None
        r = httpx.post(delivery.webhook_url, json=render.blocks(digest), timeout=30)
        r.raise_for_status()


def send_email(digest: render.Digest, to: list[str]) -> None:
    """Send the digest as text and HTML over SMTP with STARTTLS (never in clear)."""
    s = get_settings()
    msg = EmailMessage()
    msg["Subject"] = f"asyncpulse digest: {digest.team}, {digest.label}"  # short: never folded
    msg["From"] = s.smtp_from
    msg["To"] = ", ".join(to)
    msg.set_content(render.text(digest))
    msg.add_alternative(render.to_html(digest), subtype="html")
    context = ssl.create_default_context(cafile=str(s.smtp_ca_file) if s.smtp_ca_file else None)
    assert s.smtp_host is not None
    with smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=30) as smtp:
        smtp.ehlo()
        if not smtp.has_extn("starttls"):
            raise smtplib.SMTPException(f"{s.smtp_host}:{s.smtp_port} does not offer STARTTLS: not sent")
        smtp.starttls(context=context)
        smtp.ehlo()
        user, password = os.environ.get("ASYNCPULSE_SMTP_USERNAME"), os.environ.get("ASYNCPULSE_SMTP_PASSWORD")
        if user:
            smtp.login(user, password or "")
        smtp.send_message(msg)


# --- exactly once --------------------------------------------------------------------------------


def backoff(attempts: int) -> timedelta:
    """The wait after the `attempts`-th failure: 5 min, 10, 20, ... at most 6 h."""
    return min(FIRST_BACKOFF * (2 ** (attempts - 1)), MAX_BACKOFF)


def _previous(con: duckdb.DuckDBPyConnection, team: str, week: date, channel: str) -> tuple[Any, ...] | None:
    if not _has_table(con, "raw", "deliveries"):
        return None
    rows = con.execute(
        "select status, attempts, next_attempt_at, first_attempt_at from raw.deliveries "
        "where team = ? and week = ? and channel = ?", [team, week, channel]).fetchall()
    return rows[0] if rows else None


def _record(con: duckdb.DuckDBPyConnection, team: str, week: date, delivery: Delivery, due_at: datetime,
            now: datetime, prev: tuple[Any, ...] | None, error: BaseException | None,
            digest: str | None) -> int:
    attempts = (prev[1] if prev else 0) + 1
    first = prev[3] if prev else now
    failed = error is not None
    err = None
    if error is not None:
        lines = str(error).strip().splitlines()
        err = f"{type(error).__name__}: {lines[0] if lines else ''}".rstrip(": ")
    con.execute(
        "insert or replace into raw.deliveries values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [team, week, delivery.name, delivery.kind, "failed" if failed else "sent", attempts, due_at,
         first, now, None if failed else now, now + backoff(attempts) if failed else None, err, digest])
    return attempts


def _has_table(con: duckdb.DuckDBPyConnection, schema: str, name: str) -> bool:
    return bool(con.execute("select count(*) from information_schema.tables where table_schema = ? "
                            "and table_name = ?", [schema, name]).fetchall()[0][0])


def deliver(
    con: duckdb.DuckDBPyConnection, now: datetime, team: str | None = None, week: date | None = None,
    dry_run: bool = False,
) -> list[Outcome]:
    """Send what is due by `now` (or, given `team` and `week`, that digest now); record it.

    Due: for each team and channel, the newest week whose digest was due (09:00 local on the
    team's first workday of the week after) by `now`. A sent row is skipped, a failed one
    waits for its backoff; a team under min_group_size or without data that week is skipped
    and nothing is recorded (there was nothing to send). `dry_run`: say what is due
    ('due'), send and record nothing (a read-only connection will do).
    """
    deliveries = configured_deliveries()
    if not deliveries or not _has_table(con, "marts", "team_weekly"):
        return []  # nothing configured, or nothing built yet
    if not dry_run:
        db.ensure_raw(con)
    clocks = due.team_clocks(con)
    cache: dict[tuple[str, date, bool], render.Digest | str] = {}
    out: list[Outcome] = []
    for name, clock in clocks.items():
        if team is not None and name != team:
            continue
        for d in deliveries:
            if not d.covers(name):
                continue
            c = due.TeamClock(name, d.timezone or clock.tz, clock.workdays_mask)
            digest_week, due_at = (week, now) if week is not None else due.latest_due(c, now)
            prev = _previous(con, name, digest_week, d.name)
            if prev and prev[0] == "sent":
                out.append(Outcome(name, digest_week, d.name, "already sent", prev[1]))
                continue
            if prev and prev[2] is not None and prev[2] > now and week is None:
                out.append(Outcome(name, digest_week, d.name, "waiting", prev[1],
                                   f"retry after {prev[2]:%Y-%m-%d %H:%M} UTC"))
                continue
            key = (name, digest_week, d.private)
            if key not in cache:
                try:
                    cache[key] = render.gather(con, name, digest_week, private=d.private)
                except render.DigestError as e:
                    cache[key] = str(e)
            digest = cache[key]
            if isinstance(digest, str):
                out.append(Outcome(name, digest_week, d.name, "skipped", 0, digest))
                continue
            if dry_run:
                out.append(Outcome(name, digest_week, d.name, "due", prev[1] if prev else 0))
                continue
            try:
                send(d, digest)
                error: BaseException | None = None
            except Exception as e:  # any failure of the channel: recorded, retried later
                error = e
            n = _record(con, name, digest_week, d, due_at, now, prev, error, render.markdown(digest))
            out.append(Outcome(name, digest_week, d.name, "failed" if error else "sent", n,
                               _record_error(error)))
    return out


def _record_error(error: BaseException | None) -> str:
    if error is None:
        return ""
    return f"{type(error).__name__}: {str(error).strip().splitlines()[0] if str(error).strip() else ''}"


def deliver_into(work: Path, now: datetime | None = None, team: str | None = None,
                 week: date | None = None) -> list[Outcome]:
    """`deliver` on the database at `work` (a private copy the caller publishes)."""
    if not get_settings().delivery:
        return []
    con = db.connect_writer(work)
    try:
        return deliver(con, now or datetime.now(UTC), team, week)
    finally:
        con.close()


def deliver_due(database: Path, now: datetime | None = None, team: str | None = None,
                week: date | None = None) -> list[Outcome]:
    """Send what is due from `database`, atomically recording it (copy-and-swap).

    Looks first on a read-only connection: when nothing is due (the common case of a
    schedule every quarter hour), the database is not copied at all.
    """
    if not get_settings().delivery or not Path(database).exists():
        return []
    when = now or datetime.now(UTC)
    reader = db.connect_reader(Path(database))
    try:
        planned = deliver(reader, when, team, week, dry_run=True)
    finally:
        reader.close()
    if not any(o.status == "due" for o in planned):
        return planned
    with db.writable_copy(Path(database)) as work:
        return deliver_into(work, when, team, week)

"""Working agreements: the fixed catalogue of rule kinds, the configured agreements, and
the table the build gives SQL (`staging.agreements`).

An agreement is one rule kind with a threshold and an optional team scope, set in
`asyncpulse.toml` as `[[agreement]]` tables or as JSON in `ASYNCPULSE_AGREEMENT`:

    [[agreement]]
    kind = "first_review"      # one of KINDS
    threshold = 8              # working hours, a count, or a share (see KINDS)
    team = "Platform"          # optional: only this team's threads, PRs and weeks
    name = "platform-review"   # optional: defaults to the kind
    enabled = false            # optional: preview only (`asyncpulse agreements --preview`)

With none configured, every kind is in force at its default. `marts.agreement_breaches`
computes the breaches in SQL; docs/metrics.md defines each kind.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import duckdb

from pipelines.settings import get_settings

if TYPE_CHECKING:
    import polars as pl

Unit = Literal["working hours", "count", "share"]


@dataclass(frozen=True)
class Kind:
    """One rule kind of the catalogue: what its threshold measures and its default."""

    unit: Unit
    default: Decimal
    summary: str
    helps: str  # the practice that would have helped, for the digest and the dashboard


KINDS: dict[str, Kind] = {
    # one working day of the default 09:00-17:00 schedule
    "first_review": Kind("working hours", Decimal(8),
                         "a ready PR waits more than N of the reviewer's working hours for a first review",
                         "Review within one working day; a self-contained request gets one"),
    # "normal channel messages expect a reply in 4-8 hours"
    "unanswered": Kind("working hours", Decimal(8),
                       "a channel opener with an ask gets no reply within N working hours of every member",
                       "Say what you need and by when; a named person answers sooner than a channel"),
    "escalation": Kind("count", Decimal(3),
                       "a thread at N strikes with no call or decision recorded",
                       "Three rounds without alignment: a 15-minute call, the outcome written back"),
    # "a thread with two or more bounces is a ping-pong thread"
    "ping_pong": Kind("count", Decimal(2),
                      "a thread with N or more timezone bounces",
                      "Frontload context so one reply resolves it; hand off a default path forward"),
    "dm_share": Kind("share", Decimal("0.25"),
                     "a team's weekly share of messages in DMs above N",
                     "Default to public channels: DMs fragment knowledge"),
    "low_context_share": Kind("share", Decimal("0.25"),
                              "a team's weekly share of low-context openers above N",
                              "Write the 3W message: what, why, what I need"),
    "after_hours_share": Kind("share", Decimal("0.15"),
                              "a team's weekly share of messages outside its members' hours above N",
                              "Respect focus time and local evenings; schedule the message"),
}


class AgreementError(ValueError):
    """An agreement in the settings is not readable; the message names which and why."""


@dataclass(frozen=True)
class Agreement:
    """One agreement: a rule kind, its threshold, its team scope (None: every team)."""

    name: str
    kind: str
    threshold: Decimal
    team: str | None = None
    enabled: bool = True

    @property
    def unit(self) -> Unit:
        return KINDS[self.kind].unit

    @property
    def threshold_seconds(self) -> int | None:
        """The threshold of a working-hours kind in whole seconds (exact, never a float)."""
        return int(self.threshold * 3600) if self.unit == "working hours" else None

    def describe(self) -> str:
        """Return the agreement in words: 'first_review: more than 8 working hours (Platform)'."""
        t = self.threshold.normalize()
        what = {"working hours": f"more than {t} working hours", "count": f"{t} or more",
                "share": f"share above {t}"}[self.unit]
        scope = f" ({self.team})" if self.team else " (every team)"
        return f"{self.name}: {KINDS[self.kind].summary.replace(' N', ' ' + str(t))}; {what}{scope}"


def default_agreements() -> list[Agreement]:
    """Return every kind at its default, for every team."""
    return [Agreement(k, k, v.default) for k, v in KINDS.items()]


def parse_agreement(raw: dict[str, Any], where: str) -> Agreement:
    """Validate one `[[agreement]]` table; `where` names it in the one-line error."""
    if not isinstance(raw, dict):
        raise AgreementError(f"{where}: expected a table, got {raw!r}")
    unknown = set(raw) - {"kind", "threshold", "team", "name", "enabled"}
    if unknown:
        raise AgreementError(f"{where}: unknown keys {sorted(unknown)}")
    kind = raw.get("kind")
    if kind not in KINDS:
        raise AgreementError(f"{where}: kind {kind!r} is not one of {', '.join(KINDS)}")
    spec = KINDS[kind]
    try:
        threshold = Decimal(str(raw.get("threshold", spec.default)))
    except InvalidOperation:
        raise AgreementError(f"{where}: threshold {raw.get('threshold')!r} is not a number") from None
    if not threshold.is_finite() or threshold < 0:
        raise AgreementError(f"{where}: threshold {threshold} must be a number >= 0")
    if spec.unit == "working hours" and (threshold * 3600) % 1:
        raise AgreementError(f"{where}: threshold {threshold} hours is not a whole number of seconds")
    if spec.unit == "count" and threshold % 1:
        raise AgreementError(f"{where}: threshold {threshold} must be a whole number")
    if spec.unit == "share" and threshold > 1:
        raise AgreementError(f"{where}: threshold {threshold} is a share: between 0 and 1")
    team = raw.get("team")
    if team is not None and (not isinstance(team, str) or not team.strip()):
        raise AgreementError(f"{where}: team {team!r} must be a team name")
    enabled = raw.get("enabled", True)
    if not isinstance(enabled, bool):
        raise AgreementError(f"{where}: enabled {enabled!r} must be true or false")
    name = str(raw.get("name") or kind)
    return Agreement(name, kind, threshold, team.strip() if team else None, enabled)


def configured_agreements(include_disabled: bool = False) -> list[Agreement]:
    """Return the agreements of the settings (none configured: the defaults)."""
    raws = get_settings().agreement
    if not raws:
        return default_agreements()
    out = [parse_agreement(r, f"[[agreement]] #{i} (asyncpulse.toml or ASYNCPULSE_AGREEMENT)")
           for i, r in enumerate(raws, 1)]
    names = [a.name for a in out]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise AgreementError(f"[[agreement]]: names must be unique; give `name` to {dupes}")
    return [a for a in out if a.enabled or include_disabled]


def write_agreements(con: duckdb.DuckDBPyConnection, agreements: list[Agreement] | None = None) -> None:
    """Write `staging.agreements` (one row per agreement in force) for the models to read."""
    rows = [(a.name, a.kind, KINDS[a.kind].unit, a.threshold, a.threshold_seconds,
             int(a.threshold) if a.unit == "count" else None, a.team)
            for a in (configured_agreements() if agreements is None else agreements)]
    con.execute("drop table if exists staging.agreements")
    con.execute("""create table staging.agreements (
        name varchar not null, kind varchar not null, unit varchar not null,
        threshold decimal(18, 6) not null, threshold_seconds bigint, threshold_count integer,
        team varchar)""")
    if rows:
        con.executemany("insert into staging.agreements values (?, ?, ?, ?, ?, ?, ?)", rows)


def preview(database: Path, agreements: list[Agreement] | None = None) -> pl.DataFrame:
    """Return how often each agreement would have fired per week: (agreement, week, breaches).

    Builds `marts.agreement_breaches` for `agreements` (default: every configured one,
    those with `enabled = false` too) on a scratch copy of the published database, so the
    counts are exactly what the mart would hold, and the database is not touched. Every
    week of the loaded history is listed, with 0 where nothing broke.
    """
    import polars as pl

    from pipelines import db

    chosen = configured_agreements(include_disabled=True) if agreements is None else agreements
    if not Path(database).exists():
        raise FileNotFoundError(f"{database}: no database here yet (run `asyncpulse ingest` first)")
    with tempfile.TemporaryDirectory(prefix="asyncpulse-preview-") as tmp:
        scratch = Path(tmp) / "preview.duckdb"
        shutil.copyfile(database, scratch)  # the published file is replaced, never written in place
        con = db.connect_writer(scratch)
        try:
            for f in db.sql_files("macros"):
                con.execute(f.read_text())
            write_agreements(con, chosen)
            model = next(f for f in db.sql_files("marts") if f.stem == "agreement_breaches")
            con.execute(f"create or replace table marts.agreement_breaches as\n{model.read_text()}")
            con.register("_chosen", pl.DataFrame({"agreement": [a.name for a in chosen]},
                                                 schema={"agreement": pl.String}).to_arrow())
            return con.sql("""
                with weeks as (
                    select distinct week from marts.team_weekly
                    union select distinct week from marts.agreement_breaches
                )
                select a.agreement, w.week, count(b.subject_id) as breaches
                from _chosen a
                cross join weeks w
                left join marts.agreement_breaches b on b.agreement = a.agreement and b.week = w.week
                group by all
                order by a.agreement, w.week
            """).pl()
        finally:
            con.close()

"""When each team's digest is due: 09:00 in the team's own timezone on its first workday.

A team's timezone is its members' most common IANA zone (a tie goes to the zone named
first), unless a `[[delivery]]` table sets `timezone`; its first workday is the first day
of its members' most common working week (Mon-Fri: Monday; Sun-Thu: the Sunday before the
ISO week's Monday). The digest sent in a week describes the ISO week before it. Local time comes from zoneinfo, so 09:00 stays 09:00 across daylight saving.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import duckdb

SEND_AT = time(9, 0)


@dataclass(frozen=True)
class TeamClock:
    """A team's timezone and workdays mask (bit 0 = Monday ... bit 6 = Sunday)."""

    team: str
    tz: str
    workdays_mask: int = 31


def team_clocks(con: duckdb.DuckDBPyConnection) -> dict[str, TeamClock]:
    """Return each team's most common member timezone and working week (unknown zones skipped)."""
    rows = con.execute("""
        with members as (
            select team, tz, workdays_mask from intermediate.int_people__matched
            where team is not null
        ),
        zones as (
            select team, tz from members where tz is not null
            group by team, tz
            qualify row_number() over (partition by team order by count(*) desc, tz) = 1
        ),
        weeks as (
            select team, workdays_mask from members where workdays_mask is not null
            group by team, workdays_mask
            qualify row_number() over (partition by team order by count(*) desc, workdays_mask) = 1
        )
        select t.team, z.tz, coalesce(w.workdays_mask, 31)
        from (select distinct team from members) t
        left join zones z using (team)
        left join weeks w using (team)
        order by t.team""").fetchall()
    return {team: TeamClock(team, tz or "UTC", int(mask)) for team, tz, mask in rows}


def send_day(week: date, workdays_mask: int) -> date:
    """Return the team's first workday of the ISO week starting Monday `week`.

    A week that starts on Sunday (Sun-Thu, Sun-Fri) starts on the Sunday before the ISO
    Monday: that Sunday is the team's first workday of the week.
    """
    days = [i for i in range(7) if (workdays_mask >> i) & 1] or [0]
    if 6 in days and 0 in days and 5 not in days:  # the week wraps: Sunday comes first
        return week - timedelta(days=1)
    return week + timedelta(days=days[0])


def due_at(week: date, clock: TeamClock) -> datetime:
    """Return the UTC instant of 09:00 local on the team's first workday of ISO week `week`."""
    try:
        zone = ZoneInfo(clock.tz)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    return datetime.combine(send_day(week, clock.workdays_mask), SEND_AT, tzinfo=zone).astimezone(UTC)


def monday_of(d: date) -> date:
    return d - timedelta(days=d.weekday())


def latest_due(clock: TeamClock, now: datetime) -> tuple[date, datetime]:
    """Return (the week the digest describes, when it was due) for the newest digest due by `now`.

    The digest sent in ISO week W describes week W-1. Looks at the week of `now` in the
    team's zone and the ones around it (a Sunday start is due the day before its ISO week).
    """
    local = now.astimezone(ZoneInfo(clock.tz) if clock.tz else UTC).date()
    for sending in (monday_of(local) + timedelta(days=7), monday_of(local), monday_of(local) - timedelta(days=7)):
        at = due_at(sending, clock)
        if at <= now:
            return sending - timedelta(days=7), at
    sending = monday_of(local) - timedelta(days=14)
    return sending - timedelta(days=7), due_at(sending, clock)

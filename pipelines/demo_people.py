"""Define the demo workspace's people and the clock that puts their messages in working hours.

The table below is the single source of truth for who exists: Slack users,
GitHub logins and ``people.csv`` rows are all derived from it. Each row's
flags encode the identity quirks a real workspace has (a stale Slack
timezone, a missing e-mail, a Sun-Thu week), so the loader meets them here
before it meets them in a customer's export.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

TEAM_ID = "T04ACME7Q2"
DOMAIN = "acme.io"
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

# handle, real name, GitHub login ('' = none), true IANA zone, team, title, flags.
# Flags: always_on (evenings and weekends too), no_slack_tz (users.json has no tz),
# csv_tz_blank (people.csv leaves tz blank), slack_tz=Z (users.json says Z, stale),
# hours=HH:MM-HH:MM and days=... (non-default working hours, written to people.csv),
# email_case / no_csv_email / no_csv_slack_id (people.csv identity gaps),
# joins=N (first active N days into the history), leaves=N (deleted after day N).
PEOPLE_TABLE: tuple[tuple[str, str, str, str, str, str, str], ...] = (
    ("alice.chen", "Alice Chen", "achen", "America/Los_Angeles", "Platform", "Staff Engineer", ""),
    ("dan.ortiz", "Dan Ortiz", "dortiz-acme", "America/Los_Angeles", "Web", "Engineering Manager", "email_case"),
    ("maya.patel", "Maya Patel", "mayap", "America/Los_Angeles", "Web", "Senior Frontend Engineer", "always_on"),
    ("sam.rivera", "Sam Rivera", "samr", "America/Los_Angeles", "Mobile", "Mobile Engineer", "hours=07:00-15:00"),
    ("kevin.wu", "Kevin Wu", "kwu", "America/Los_Angeles", "Data", "Data Engineer", "no_csv_slack_id"),
    ("grace.kim", "Grace Kim", "gracek", "America/New_York", "Platform", "Engineering Manager", ""),
    ("marcus.johnson", "Marcus Johnson", "mjohnson", "America/New_York", "Infra", "SRE", "always_on"),
    ("olivia.brown", "Olivia Brown", "", "America/New_York", "Web", "Product Manager", ""),
    ("lucas.almeida", "Lucas Almeida", "lucas-almeida", "America/Sao_Paulo", "Mobile", "Android Engineer", ""),
    ("beatriz.souza", "Beatriz Souza", "bia-souza", "America/Sao_Paulo", "Data", "Analytics Engineer", ""),
    ("oliver.hughes", "Oliver Hughes", "ohughes", "Europe/London", "Platform", "Senior Backend Engineer", ""),
    ("emma.clarke", "Emma Clarke", "emmac", "Europe/London", "Infra", "Platform SRE", ""),
    ("james.wright", "James Wright", "jwright", "Europe/London", "Web", "Frontend Engineer", ""),
    ("sophie.turner", "Sophie Turner", "", "Europe/London", "Web", "Product Designer", ""),
    ("harry.evans", "Harry Evans", "hevans", "Europe/London", "Data", "ML Engineer", "no_csv_email"),
    ("lena.fischer", "Lena Fischer", "lfischer", "Europe/Berlin", "Platform", "Backend Engineer", ""),
    ("jonas.weber", "Jonas Weber", "jweber", "Europe/Berlin", "Infra", "Infrastructure Engineer", ""),
    ("klara.schmidt", "Klara Schmidt", "kschmidt", "Europe/Berlin", "Mobile", "Mobile Lead", ""),
    ("felix.braun", "Felix Braun", "fbraun", "Europe/Berlin", "Data", "Data Lead", "no_slack_tz"),
    ("priya.nair", "Priya Nair", "priyanair", "Asia/Kolkata", "Platform", "Backend Engineer", ""),
    ("arjun.mehta", "Arjun Mehta", "arjunm", "Asia/Kolkata", "Data", "Data Engineer", ""),
    ("ananya.iyer", "Ananya Iyer", "ananya-i", "Asia/Kolkata", "Web", "Frontend Engineer", "joins=60"),
    ("rohan.gupta", "Rohan Gupta", "rgupta", "Asia/Kolkata", "Infra", "SRE", ""),
    ("wei.ling.tan", "Wei Ling Tan", "weiling", "Asia/Singapore", "Mobile", "Mobile Engineer", "no_csv_slack_id"),
    ("jun.lim", "Jun Lim", "junlim", "Asia/Singapore", "Platform", "Backend Engineer", "no_slack_tz csv_tz_blank"),
    ("chloe.nguyen", "Chloe Nguyen", "cnguyen", "Australia/Sydney", "Web", "Senior Frontend Engineer", ""),
    ("liam.obrien", "Liam O'Brien", "lobrien", "Australia/Sydney", "Infra", "Infra Lead", "always_on"),
    ("noa.levi", "Noa Levi", "noalevi", "Asia/Jerusalem", "Data", "Data Scientist", "hours=08:30-17:30 days=Sun-Thu"),
    ("tomas.ferreira", "Tomás Ferreira", "tferreira", "Europe/Lisbon", "Mobile", "Mobile Engineer", "slack_tz=America/New_York"),
    ("rachel.green", "Rachel Green", "rgreen", "America/Chicago", "Platform", "Backend Engineer", "leaves=45"),
)

TZ_LABELS = {
    "America/Los_Angeles": "Pacific Standard Time",
    "America/New_York": "Eastern Standard Time",
    "America/Chicago": "Central Standard Time",
    "America/Sao_Paulo": "Brasilia Standard Time",
    "Europe/London": "Greenwich Mean Time",
    "Europe/Lisbon": "Western European Standard Time",
    "Europe/Berlin": "Central European Standard Time",
    "Asia/Kolkata": "India Standard Time",
    "Asia/Singapore": "Singapore Standard Time",
    "Asia/Jerusalem": "Israel Standard Time",
    "Australia/Sydney": "Australian Eastern Daylight Time",
}


@dataclass
class Person:
    """One human of the workspace: identities, true timezone and working hours."""

    handle: str
    real_name: str
    slack_id: str
    email: str
    github: str
    tz: str  # where they really are; what the generator uses
    team: str
    title: str
    flags: frozenset[str]
    work_start: time
    work_end: time
    workdays: tuple[int, ...]  # Monday = 0
    active_from: date
    active_to: date

    @property
    def zone(self) -> ZoneInfo:
        """Return the person's true timezone."""
        return zone_of(self.tz)

    @property
    def first(self) -> str:
        """Return the first name, as people address each other in chat."""
        return self.real_name.split()[0]

    def flag(self, prefix: str) -> str | None:
        """Return the value of a ``prefix=value`` flag, or None."""
        for f in sorted(self.flags):
            if f.startswith(prefix + "="):
                return f.split("=", 1)[1]
        return None

    @property
    def slack_tz(self) -> str | None:
        """Return the tz users.json shows (absent, stale, or true)."""
        if "no_slack_tz" in self.flags:
            return None
        return self.flag("slack_tz") or self.tz


_ZONES: dict[str, ZoneInfo] = {}


def zone_of(name: str) -> ZoneInfo:
    """Return the ZoneInfo for an IANA name, cached."""
    # ZoneInfo() is cached by the stdlib too, but the dict lookup is cheaper
    # on the hot path of tens of thousands of conversions.
    z = _ZONES.get(name)
    if z is None:
        z = _ZONES[name] = ZoneInfo(name)
    return z


def make_id(rng: random.Random, prefix: str, n: int = 10) -> str:
    """Return a Slack-looking id (``U04X...``) drawn from `rng`."""
    return prefix + "".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789") for _ in range(n))


def parse_workdays(text: str) -> tuple[int, ...]:
    """Turn ``Mon-Fri`` or ``Sun-Thu`` into weekday numbers (Monday = 0)."""
    a, b = (WEEKDAYS.index(x) for x in text.split("-"))
    return tuple(sorted((a + i) % 7 for i in range((b - a) % 7 + 1)))


def build_people(rng: random.Random, start: date) -> list[Person]:
    """Build every person of the table with ids drawn from `rng`."""
    people = []
    for handle, real, gh, tz, team, title, flag_text in PEOPLE_TABLE:
        flags = frozenset(flag_text.split())
        p = Person(handle, real, make_id(rng, "U0"), f"{handle}@{DOMAIN}", gh, tz,
                   team, title, flags, time(9), time(17), (0, 1, 2, 3, 4), start, date.max)
        if hours := p.flag("hours"):
            s, e = hours.split("-")
            p.work_start, p.work_end = time.fromisoformat(s), time.fromisoformat(e)
        if days := p.flag("days"):
            p.workdays = parse_workdays(days)
        if joins := p.flag("joins"):
            p.active_from = start + timedelta(days=int(joins))
        if leaves := p.flag("leaves"):
            p.active_to = start + timedelta(days=int(leaves))
        people.append(p)
    return people


def people_csv_rows(people: list[Person]) -> list[list[str]]:
    """Return people.csv rows, header first, with the gaps the flags ask for."""
    rows = [["person", "slack_id", "email", "github_login", "tz", "work_start", "work_end", "workdays", "team"]]
    for p in people:
        email = "" if "no_csv_email" in p.flags else p.email
        if "email_case" in p.flags:
            # HR's system capitalises names; matching must ignore case.
            email = p.real_name.replace(" ", ".") + "@" + DOMAIN
        hours = p.flag("hours")
        rows.append([
            p.real_name,
            "" if "no_csv_slack_id" in p.flags else p.slack_id,
            email,
            p.github,
            "" if "csv_tz_blank" in p.flags else p.tz,
            hours.split("-")[0] if hours else "",
            hours.split("-")[1] if hours else "",
            p.flag("days") or "",
            p.team,
        ])
    return rows


def is_active(p: Person, day: date) -> bool:
    """Say whether `p` worked here on `day`."""
    return p.active_from <= day <= p.active_to


def work_window(p: Person, day: date) -> tuple[datetime, datetime] | None:
    """Return `p`'s working hours on local `day` in UTC, or None on a day off."""
    if day.weekday() not in p.workdays or not is_active(p, day):
        return None
    z = p.zone
    return (datetime.combine(day, p.work_start, z).astimezone(UTC),
            datetime.combine(day, p.work_end, z).astimezone(UTC))


def next_work_time(p: Person, after: datetime, rng: random.Random, lo: float = 5, hi: float = 60) -> datetime:
    """Return when `p` answers something seen at `after`: lo-hi minutes into their working time."""
    day = after.astimezone(p.zone).date()
    for i in range(21):
        w = work_window(p, day + timedelta(days=i))
        if w is None:
            continue
        t = max(w[0], after) + timedelta(minutes=rng.uniform(lo, hi))
        if t < w[1]:
            return t
    return after + timedelta(days=30)  # left the company: the caller's end-cutoff drops it


def random_work_time(p: Person, day: date, rng: random.Random) -> datetime | None:
    """Return a moment in `p`'s working hours on `day`; always-on people also post late."""
    if "always_on" in p.flags and rng.random() < 0.18 and is_active(p, day):
        # The after-hours habit the people_weekly mart should catch.
        local = datetime.combine(day, time(19), p.zone) + timedelta(minutes=rng.uniform(0, 270))
        return local.astimezone(UTC)
    w = work_window(p, day)
    if w is None:
        return None
    span = (w[1] - w[0]).total_seconds()
    return w[0] + timedelta(seconds=rng.uniform(0.02, 0.97) * span)

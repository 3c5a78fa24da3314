"""`asyncpulse forget PERSON`: delete a person's data and name, then rebuild (SECURITY.md).

PERSON is matched, case-insensitively, against the people file (person,
e-mail, Slack id, GitHub login), Slack users (id, handle, real and display
name, e-mail) and GitHub users (login, name, e-mail) — or their pseudonyms
in a redacted database. Everything is done in one private copy of the
database and published at once (`pipelines.db.writable_copy`):

* deleted: their Slack messages (author `user` or legacy `comment.user`),
  their GitHub events and pull requests (with the PRs' file lists), their
  Slack and GitHub user rows, their people-file row;
* redacted in others' rows: Slack mentions `<@Uxxx>` / `<@Uxxx|name>` ->
  `<@forgotten>`, GitHub `@login` -> `@forgotten`, their id in reactions,
  conversation members and creators, `parent_user_id`, and any profile
  column holding one of their names;
* withdrawn: the text of every sent digest (`raw.deliveries.digest`) that names them;
* remembered in `raw.forgotten` (ids only), so a later ingest of an export
  that still holds them drops them again (`apply_forgotten`);
* then staging, intermediate and marts are rebuilt.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from pipelines import db
from pipelines.redact import key_path, load_key, pseudonym

FORGOTTEN_DDL = """create table if not exists raw.forgotten (
    source        varchar not null,   -- 'slack' (a user id) | 'github' (a lower-case login)
    source_id     varchar not null,
    forgotten_at  timestamptz not null
)"""


class ForgetError(Exception):
    """Nobody matches, or the database is missing; one line for the user."""


@dataclass
class Identity:
    """Who PERSON is in the data."""

    person: str
    slack_ids: list[str] = field(default_factory=list)
    github_logins: list[str] = field(default_factory=list)
    names: list[str] = field(default_factory=list)  # every name and e-mail seen for them


@dataclass
class ForgetReport:
    """What was (or would be) deleted and redacted, per table."""

    who: Identity
    counts: dict[str, int] = field(default_factory=dict)

    def summary(self, done: bool = False) -> str:
        ids = ", ".join(self.who.slack_ids + [f"github:{g}" for g in self.who.github_logins])
        head = f"{'forgot' if done else 'would forget'} {self.who.person!r} ({ids})"
        if not self.counts:
            return head
        return head + ": " + ", ".join(f"{k} {v}" for k, v in self.counts.items())


def _tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    rows = con.execute(
        "select table_name from duckdb_tables() where schema_name = 'raw'"
    ).fetchall()
    return {r[0] for r in rows}


def identify(con: duckdb.DuckDBPyConnection, person: str, key: bytes | None) -> Identity:
    """Find the one person PERSON names; ForgetError when nobody or several people match.

    Each people-file row is one person; a Slack user or GitHub login that no
    matched row claims is one more, unless an e-mail ties a GitHub login to a
    matched Slack user. An empty PERSON is refused (it would match everyone
    whose name or e-mail is empty).
    """
    if not person.strip():
        raise ForgetError("PERSON is empty: name someone (a name, e-mail, Slack id or GitHub login)")
    wanted = [person.strip().lower()]
    if key is not None and (alias := pseudonym(person, key)):
        wanted.append(alias)
    tables = _tables(con)
    found: list[Identity] = []  # one per person matched
    emails: dict[str, Identity] = {}

    def claim(slack_id: str | None = None, login: str | None = None) -> Identity | None:
        return next((w for w in found if slack_id in w.slack_ids or login in w.github_logins), None)

    if "people" in tables:
        for name, sid, email, login in con.execute(
            "select person, slack_id, email, github_login from raw.people where lower(person) in "
            "(select unnest(?::varchar[])) or lower(slack_id) in (select unnest(?::varchar[])) "
            "or lower(email) in (select unnest(?::varchar[])) "
            "or lower(github_login) in (select unnest(?::varchar[])) order by person", [wanted] * 4
        ).fetchall():
            who = Identity(name, [sid] if sid else [], [login.lower()] if login else [], [name])
            if email:
                who.names.append(email)
                emails[email.lower()] = who
            found.append(who)
    linked = [i for w in found for i in w.slack_ids]
    for uid, *names in con.execute(
        "select id, name, real_name, display_name, email from raw.slack_users "
        "where id in (select unnest(?::varchar[])) or lower(id) in (select unnest(?::varchar[])) "
        "or lower(name) in (select unnest(?::varchar[])) "
        "or lower(real_name) in (select unnest(?::varchar[])) "
        "or lower(display_name) in (select unnest(?::varchar[])) "
        "or lower(email) in (select unnest(?::varchar[])) order by id",
        [linked, wanted, wanted, wanted, wanted, wanted],
    ).fetchall():
        email = (names[3] or "").lower()
        who = claim(slack_id=uid) or emails.get(email) or _new(found, names[1] or names[0] or uid)
        who.slack_ids = sorted({*who.slack_ids, uid})
        who.names = sorted({*who.names, *(n for n in names if n)})
        if email:
            emails[email] = who
    if "github_users" in tables:
        logins = [g for w in found for g in w.github_logins]
        for login, name, email in con.execute(
            "select lower(login), name, email from raw.github_users "
            "where lower(login) in (select unnest(?::varchar[]) union select unnest(?::varchar[])) "
            "or lower(name) in (select unnest(?::varchar[])) "
            "or lower(email) in (select unnest(?::varchar[]) union select unnest(?::varchar[])) "
            "order by 1",
            [wanted, logins, wanted, wanted, list(emails)],
        ).fetchall():
            who = (claim(login=login) or emails.get((email or "").lower())
                   or _new(found, name or login))
            who.github_logins = sorted({*who.github_logins, login})
            who.names = sorted({*who.names, *(n for n in (name, email) if n)})
    if "github_events" in tables and not found:  # a login seen only as an author
        for (login,) in con.execute(
            "select distinct lower(author_login) from raw.github_events "
            "where lower(author_login) in (select unnest(?::varchar[]))", [wanted]).fetchall():
            found.append(Identity(login, [], [login], []))
    found = [w for w in found if w.slack_ids or w.github_logins]
    if not found:
        raise ForgetError(f"nobody called {person!r} in the database (try a Slack id or e-mail)")
    if len(found) > 1:
        listed = "; ".join(_label(w) for w in found)
        raise ForgetError(
            f"{person!r} matches {len(found)} people: {listed}. Nothing deleted: name each one "
            "to forget by Slack id or GitHub login (several may be given)"
        )
    who = found[0]
    return Identity(person, who.slack_ids, who.github_logins, sorted(set(who.names)))


def _new(found: list[Identity], person: str) -> Identity:
    found.append(Identity(person))
    return found[-1]


def _label(who: Identity) -> str:
    ids = ", ".join(who.slack_ids + [f"github:{g}" for g in who.github_logins])
    return f"{who.person} ({ids})"


def identify_all(con: duckdb.DuckDBPyConnection, people: list[str], key: bytes | None) -> Identity:
    """Identify each of `people` (each must name one person) and return them as one."""
    each = [identify(con, p, key) for p in people]
    return Identity(
        ", ".join(people),
        sorted({i for w in each for i in w.slack_ids}),
        sorted({g for w in each for g in w.github_logins}),
        sorted({n for w in each for n in w.names}),
    )


def _count(con: duckdb.DuckDBPyConnection, sql: str, params: list[object]) -> int:
    return int(db.fetch_row(con, f"select count(*) from {sql}", params)[0])  # type: ignore[call-overload]


def remove(con: duckdb.DuckDBPyConnection, who: Identity, *, dry_run: bool = False) -> dict[str, int]:
    """Delete and redact `who` in raw.*; return rows affected per kind (nothing changes on a dry run)."""
    ids, logins = who.slack_ids, who.github_logins
    names = [n.lower() for n in who.names]
    tables = _tables(con)
    # Ids come from the export: escaped for the regex, passed as parameters.
    mention = "<@(" + "|".join(re.escape(i) for i in ids or ["-"]) + r")(\|[^>]*)?>"
    at_login = "@(" + "|".join(re.escape(g) for g in logins or ["-"]) + r")\b"
    steps: list[tuple[str, str, str, list[object]]] = [
        # (label, table, where, params); a step with `set ...` in its where is an update
        ("slack messages", "slack_messages",
         "\"user\" in (select unnest(?::varchar[])) or comment_user in (select unnest(?::varchar[]))",
         [ids, ids]),
        ("slack users", "slack_users", "id in (select unnest(?::varchar[]))", [ids]),
        ("github events", "github_events",
         "lower(author_login) in (select unnest(?::varchar[]))", [logins]),
        ("github pr files", "github_pr_files",
         "(repo, number) in (select (repo, number) from raw.github_pull_requests "
         "where lower(author_login) in (select unnest(?::varchar[])))", [logins]),
        ("github pull requests", "github_pull_requests",
         "lower(author_login) in (select unnest(?::varchar[]))", [logins]),
        ("github users", "github_users", "lower(login) in (select unnest(?::varchar[]))", [logins]),
        ("people-file rows", "people",
         "slack_id in (select unnest(?::varchar[])) or lower(github_login) in (select unnest(?::varchar[])) "
         "or lower(person) in (select unnest(?::varchar[])) or lower(email) in (select unnest(?::varchar[]))",
         [ids, logins, names, names]),
    ]
    counts: dict[str, int] = {}
    for label, table, where, params in steps:
        if table in tables:
            counts[label] = _count(con, f"raw.{table} where {where}", params)
            if not dry_run and counts[label]:
                con.execute(f"delete from raw.{table} where {where}", params)
    # (label, table, assignments, their params, where, its params)
    updates: list[tuple[str, str, str, list[object], str, list[object]]] = [
        ("mentions redacted", "slack_messages",
         "text = regexp_replace(text, ?, '<@forgotten>', 'g')", [mention],
         "regexp_matches(text, ?)", [mention]),
        ("reactions redacted", "slack_messages",
         "reactions = list_reduce([reactions] || ?::varchar[], "
         "lambda a, b: replace(a, '\"' || b || '\"', '\"forgotten\"'))", [ids],
         "list_bool_or(list_transform(?::varchar[], lambda i: contains(reactions, '\"' || i || '\"')))", [ids]),
        ("parent authors redacted", "slack_messages", "parent_user_id = 'forgotten'", [],
         "parent_user_id in (select unnest(?::varchar[]))", [ids]),
        ("profile names redacted", "slack_messages",
         "profile_name = null, profile_real_name = null, profile_display_name = null", [],
         "lower(profile_name) in (select unnest(?::varchar[])) or lower(profile_real_name) in "
         "(select unnest(?::varchar[])) or lower(profile_display_name) in (select unnest(?::varchar[]))",
         [names, names, names]),
        ("conversations redacted", "slack_conversations",
         "members = list_filter(members, lambda m: not list_contains(?::varchar[], m)), "
         "creator = case when list_contains(?::varchar[], creator) then null else creator end",
         [ids, ids],
         "list_has_any(members, ?::varchar[]) or list_contains(?::varchar[], creator)", [ids, ids]),
        ("github mentions redacted", "github_events",
         "body = regexp_replace(body, ?, '@forgotten', 'gi')", [at_login],
         "regexp_matches(body, ?, 'i')", [at_login]),
        ("github pr mentions redacted", "github_pull_requests",
         "body = regexp_replace(body, ?, '@forgotten', 'gi'), "
         "title = regexp_replace(title, ?, '@forgotten', 'gi')", [at_login, at_login],
         "regexp_matches(coalesce(body, '') || ' ' || coalesce(title, ''), ?, 'i')", [at_login]),
        # A digest as it was sent names people: one that names them is withdrawn (kept as sent,
        # without its text).
        ("digests withdrawn", "deliveries", "digest = null", [],
         "list_bool_or(list_transform(?::varchar[], lambda n: contains(lower(digest), n)))",
         [sorted({*names, *logins})]),
    ]
    for label, table, assign, assign_params, where, where_params in updates:
        if table not in tables:
            continue
        counts[label] = _count(con, f"raw.{table} where {where}", where_params)
        if not dry_run and counts[label]:
            con.execute(f"update raw.{table} set {assign} where {where}", assign_params + where_params)
    if not dry_run:
        con.execute(FORGOTTEN_DDL)
        now = datetime.now(UTC)
        con.executemany(
            "insert into raw.forgotten values (?, ?, ?)",
            [["slack", i, now] for i in ids] + [["github", g, now] for g in logins],
        )
    return counts


def apply_forgotten(con: duckdb.DuckDBPyConnection) -> None:
    """Drop again what an ingest brought back of people forgotten earlier."""
    if "forgotten" not in _tables(con):
        return
    rows = con.execute("select source, source_id from raw.forgotten").fetchall()
    ids = sorted({i for s, i in rows if s == "slack"})
    logins = sorted({i for s, i in rows if s == "github"})
    if ids or logins:
        remove(con, Identity("forgotten", ids, logins, []))


def _specs(person: str | list[str]) -> list[str]:
    return [person] if isinstance(person, str) else list(person)


def _key(database: Path) -> bytes | None:
    return load_key(database) if key_path(database).exists() else None


def plan(database: Path, person: str | list[str]) -> ForgetReport:
    """Say what forgetting `person` (one spec, or several) would delete; changes nothing."""
    if not Path(database).exists():
        raise ForgetError(f"{database}: no database here")
    con = db.connect_reader(database)
    try:
        who = identify_all(con, _specs(person), _key(database))
        con.execute("begin")
        counts = remove(con, who, dry_run=True)
    finally:
        con.close()
    return ForgetReport(who, counts)


def forget(database: Path, person: str | list[str]) -> ForgetReport:
    """Delete `person`'s rows, redact their name in others', rebuild; all in one atomic publish.

    The file published is written anew, table by table: the deleted rows are
    not in its bytes (a copy of the old file would keep them in freed blocks).
    """
    if not Path(database).exists():
        raise ForgetError(f"{database}: no database here")
    key = _key(database)
    with db.writable_copy(Path(database), fresh=True) as work:  # no block of the old file survives
        con = db.connect_writer(work)
        try:
            db.ensure_raw(con)
            con.begin()
            try:
                who = identify_all(con, _specs(person), key)
                counts = remove(con, who)
                db.build(con)
            except BaseException:
                con.rollback()
                raise
            con.commit()
        finally:
            con.close()
    return ForgetReport(who, counts)

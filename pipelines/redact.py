"""`--redact`: keep what the metrics need, drop message text, pseudonymise names (SECURITY.md).

At ingest, before a message's text is dropped, the flags the metrics read
from it are computed and stored beside it in `raw.slack_messages`:

* `text_words`, `text_links` — lengths;
* `has_broadcast` — `<!channel>`, `<!here>`, `<!everyone>` (people_weekly);
* `has_decision` — the decision vocabulary of `sql/macros/vocabulary.sql` (threads);
* `pr_links` — `['owner/repo#12', ...]`, the PRs it links (pull_requests.slack_mentions);
* `opener_low_context`, `opener_has_what/_why/_ask/_expectation` — the 3W
  flags of `transforms.openers.classify_openers` (openers).

Names become pseudonyms: `person-` + the first 10 hex digits of
HMAC-SHA256(key, the value trimmed and lower-cased), so one name maps to one
pseudonym across users, profiles and the people file (e-mail matching keeps
working), and nobody without the key can test a guess. The key comes from the
`redact_key` setting, or is a random key kept *outside* the database in
`<db>.key` (mode 0600): delete that file and the pseudonyms can no longer be
linked to anyone.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import re
import secrets
from pathlib import Path
from typing import Any

import duckdb

from pipelines.settings import get_settings

PSEUDONYM = re.compile(r"(person|mpdm)-[0-9a-f]{10}")
USER_NAME_FIELDS = ("name", "real_name", "display_name", "email", "title")
PROFILE_COLUMNS = ("profile_name", "profile_real_name", "profile_display_name", "username")
OPENER_FLAGS = ("low_context", "has_what", "has_why", "has_ask", "has_expectation")
WRITER_COPY = re.compile(r"^\.(?P<name>.+)\.\d+(\.fresh)?\.tmp$")  # pipelines.db.private_copy's


def key_path(database: Path) -> Path:
    """Return where the random key of `database` lives: `<db>.key`, beside it."""
    return database.with_name(database.name + ".key")


def published_database(path: Path) -> Path:
    """Return the published file a writer's private copy (`.<db>.<pid>.tmp`) stands for."""
    m = WRITER_COPY.match(path.name)
    return path.with_name(m["name"]) if m else path


def load_key(database: Path) -> bytes:
    """Return the pseudonym key: the `redact_key` setting, else `<db>.key` (created 0600 if new)."""
    s = get_settings()
    if s.redact_key:
        return s.redact_key.encode()
    path = key_path(database)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes().strip()
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_hex(32) + "\n")
    return path.read_bytes().strip()


def key_for(con: duckdb.DuckDBPyConnection) -> bytes:
    """Return the key of the database `con` writes (its published file's `.key`)."""
    rows = con.execute(
        "select path from duckdb_databases() where database_name = current_database()"
    ).fetchall()
    if not rows or not rows[0][0]:
        if get_settings().redact_key:
            return load_key(Path("memory"))
        raise ValueError("redaction of an in-memory database needs the redact_key setting")
    return load_key(published_database(Path(rows[0][0])))


def pseudonym(value: str | None, key: bytes, prefix: str = "person-") -> str | None:
    """Return the keyed pseudonym of `value` (None and '' stay as they are; pseudonyms too)."""
    if not value or PSEUDONYM.fullmatch(value):
        return value
    digest = hmac.new(key, value.strip().lower().encode(), hashlib.sha256).hexdigest()
    return prefix + digest[:10]


def redact_users(rows: list[dict[str, Any]], key: bytes) -> list[dict[str, Any]]:
    """Return user rows with every name field pseudonymised."""
    return [{**r, **{f: pseudonym(r[f], key) for f in USER_NAME_FIELDS}} for r in rows]


def redact_conversations(rows: list[dict[str, Any]], key: bytes) -> list[dict[str, Any]]:
    """Drop topics and purposes (free text); pseudonymise group-DM names (made of handles)."""
    out = []
    for r in rows:
        r = {**r, "topic": None, "purpose": None}
        if r["conversation_type"] == "mpim" and r["name"]:
            r["name"] = pseudonym(r["name"], key, prefix="mpdm-")
        out.append(r)
    return out


def _vocabulary(con: duckdb.DuckDBPyConnection) -> None:
    """Create the SQL vocabulary macros (the models' own patterns, not a copy)."""
    con.execute((get_settings().sql_dir / "macros" / "vocabulary.sql").read_text())


def redact_messages(con: duckdb.DuckDBPyConnection, source: str, key: bytes) -> str:
    """Turn the messages of relation `source` into temp table `_redacted`; return its name.

    Same columns as `source`, with `text` NULL, files reduced to "some file",
    profile names pseudonymised, and the derived columns of the module doc.
    """
    from transforms.openers import classify_openers  # Polars: only when redacting

    _vocabulary(con)
    con.execute(
        f"create or replace temp table _redact_in as select *, row_number() over () as _rid "
        f"from {source}"
    )
    frame = con.sql(
        "select _rid, text, files is not null and files <> '[]' as has_files from _redact_in"
    ).pl()
    flags = classify_openers(frame.lazy()).select("_rid", *OPENER_FLAGS).collect()
    con.register("_opener_flags", flags.to_arrow())
    con.create_function(
        "_asyncpulse_pseudonym", lambda v: pseudonym(v, key), ["VARCHAR"], "VARCHAR"
    )
    pr = r"github\.com/([\w.-]+/[\w.-]+)/pull/(\d+)"
    try:
        profiles = ", ".join(f"_asyncpulse_pseudonym({c}) as {c}" for c in PROFILE_COLUMNS)
        opener = ", ".join(f"f.{c} as opener_{c}" for c in OPENER_FLAGS)
        con.execute(
            f"""create or replace temp table _redacted as
            select m.* exclude (_rid) replace (
                       null::varchar as text,
                       case when m.files is null or m.files = '[]' then m.files
                            else '["redacted"]' end as files,
                       {profiles}),
                   true as text_redacted,
                   coalesce(len(regexp_extract_all(trim(m.text), '\\S+')), 0)::integer as text_words,
                   coalesce(len(regexp_extract_all(m.text, '<https?://')), 0)::integer as text_links,
                   regexp_matches(coalesce(m.text, ''), broadcast_pattern()) as has_broadcast,
                   regexp_matches(lower(coalesce(m.text, '')), decision_pattern()) as has_decision,
                   list_transform(regexp_extract_all(coalesce(m.text, ''), '{pr}', 0),
                                  lambda l: lower(regexp_extract(l, '{pr}', 1)) || '#'
                                       || regexp_extract(l, '{pr}', 2)) as pr_links,
                   {opener}
            from _redact_in m left join _opener_flags f using (_rid)"""
        )
    finally:  # on an error the transaction is rolled back; cleaning up must not hide the error
        with contextlib.suppress(duckdb.Error):
            con.remove_function("_asyncpulse_pseudonym")
            con.unregister("_opener_flags")
            con.execute("drop table _redact_in")
    return "_redacted"


def redact_people(con: duckdb.DuckDBPyConnection, key: bytes) -> None:
    """Pseudonymise the person and e-mail of every raw.people row."""
    rows = con.execute("select distinct person, email from raw.people").fetchall()
    for person, email in rows:
        con.execute(
            "update raw.people set person = ?, email = ? where person = ? and email is not distinct from ?",
            [pseudonym(person, key), pseudonym(email, key), person, email],
        )


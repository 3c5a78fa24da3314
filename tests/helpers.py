"""Helpers shared by the CLI, storage, flow and dashboard tests (not fixtures: plain functions)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import polars as pl

from pipelines import jobs
from tests.conftest import SlackExport, msg, query, ts
from tests.workspace import FACTS, USERS, build_workspace

# Human messages per conversation type in the sample workspace, worked out by hand:
# public  C1 10 messages - channel_join, bot_message, tombstone, bot user B1 = 6,
#         C2 2 (file_share, a plain message), old-channel 1 (legacy file_comment) -> 9;
# private G1 1; dm D1 2 + DABCDEF123 1 -> 3; mpim G2 1 + mpdm-x--y-1 1 -> 2.
HUMAN_BY_TYPE = pl.DataFrame(
    {
        "conversation_type": ["public", "dm", "mpim", "private"],
        "human_messages": [9, 3, 2, 1],
        "other_messages": [4, 0, 0, 0],
        "conversations": [3, 2, 2, 1],
    },
    schema={"conversation_type": pl.String, "human_messages": pl.Int64,
            "other_messages": pl.Int64, "conversations": pl.Int64},
)
assert HUMAN_BY_TYPE["human_messages"].sum() == FACTS["human"]
assert HUMAN_BY_TYPE["human_messages"].sum() + HUMAN_BY_TYPE["other_messages"].sum() == FACTS["messages"]

# The rows one clean load of the sample workspace adds: messages, users, conversations.
ROWS_ADDED = FACTS["messages"] + len(USERS) + len(FACTS["conversations"])


def make_workspace(root: Path) -> Path:
    """Write the sample workspace as a folder at `root`; return it."""
    build_workspace(SlackExport(root))
    return root


def make_newer_workspace(root: Path) -> Path:
    """Write the sample workspace plus one later day in #general (2 more messages)."""
    e = build_workspace(SlackExport(root))
    e.day("general", "2024-03-08", [
        msg("U1", "anyone around?", ts("2024-03-08", 9)),
        msg("U2", "yes", ts("2024-03-08", 9, 5)),
    ])
    return root


def load_and_build(database: Path, export: Path) -> None:
    """Ingest `export` into `database` and build it (through the copy-and-swap writer)."""
    report = jobs.ingest(database, "slack", export)
    assert report.status == "ok", report
    jobs.build(database)


def messages_per_conversation(database: Path, table: str = "raw.slack_messages") -> dict[str, int]:
    """Return {conversation_id: rows} of a message table."""
    df = query(database, f"select conversation_id, count(*) as n from {table} group by all")
    return dict(zip(df["conversation_id"].to_list(), df["n"].to_list(), strict=True))


def digest(path: Path) -> str:
    """Return the file's SHA-256 (its bytes, compared before and after)."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def tree(root: Path) -> dict[str, str]:
    """Return {relative path: sha256} of every file under `root`."""
    return {
        p.relative_to(root).as_posix(): digest(p)
        for p in sorted(root.rglob("*")) if p.is_file()
    }


def leftovers(database: Path) -> list[str]:
    """Return the names of writer copies (`.<db>.<pid>.tmp`, and their WAL) and of a writer lock
    (`<db>.lock`) left beside `database`: a writer that is done leaves neither."""
    return sorted(p.name for p in [*database.parent.glob(f".{database.name}.*.tmp*"),
                                   *database.parent.glob(f"{database.name}.lock")])


# References to a person that are NULL by definition: who replied or reviewed first when nobody
# did, and who opened a thread a bot opened (a bot's alert that people answer has no person).
NULLABLE_IDS = frozenset({"first_replier_person_id", "first_reviewer_person_id", "opener_person_id",
                          "pickup_reviewer_person_id"})


def mart_problems(database: Path) -> list[str]:
    """Check every table of the marts schema; return one line per broken rule (none: []).

    * a duration column (`*_hours`, waits, spans) is never negative;
    * no timestamp or date is before 1970 (gh's 0001-01-01 is no date);
    * every id column (`id`, `*_id`) is non-NULL, but for NULLABLE_IDS.
    """
    from pipelines.db import connect_reader

    con = connect_reader(database)
    try:
        columns = con.execute("""
            select table_name, column_name, data_type from information_schema.columns
            where table_schema = 'marts' order by table_name, ordinal_position""").fetchall()
        assert columns, f"{database}: no marts built"
        problems: list[str] = []
        for table, col, dtype in columns:
            name, where = col.lower(), f"marts.{table}.{col}"
            rule = None
            numeric = dtype in ("DOUBLE", "FLOAT", "BIGINT", "INTEGER", "HUGEINT") or dtype.startswith("DECIMAL")
            if numeric and (name.endswith("_hours") or "wait" in name or "span" in name):
                rule = f'"{col}" < 0', "negative"
            elif dtype in ("DATE", "TIMESTAMP", "TIMESTAMP WITH TIME ZONE"):
                rule = f"\"{col}\" < TIMESTAMPTZ '1970-01-01 00:00:00+00'", "before 1970"
            elif (name == "id" or name.endswith("_id")) and name not in NULLABLE_IDS:
                rule = f'"{col}" is null', "NULL"
            if rule is not None:
                (n,) = con.execute(f'select count(*) from marts."{table}" where {rule[0]}').fetchall()[0]
                if n:
                    problems.append(f"{where}: {n} rows {rule[1]}")
        return problems
    finally:
        con.close()

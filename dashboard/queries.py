"""Typed queries over the database for the dashboard: ? parameters, Polars out.

Every call opens the published file read-only and closes it again, so the
dashboard never holds the file the nightly run replaces. Results are cached
per file version (path, inode, mtime): a new build is seen on the next run.
"""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl
import streamlit as st

from pipelines.db import connect_reader
from pipelines.settings import get_settings


def database() -> Path:
    """Return the database this dashboard reads."""
    return Path(os.environ.get("ASYNCPULSE_DB") or get_settings().db)


def version() -> tuple[str, int, int] | None:
    """Return the published file's identity, or None when there is no database yet."""
    p = database()
    try:
        st_ = p.stat()
    except FileNotFoundError:
        return None
    return (str(p), st_.st_ino, st_.st_mtime_ns)


@st.cache_data(show_spinner=False, max_entries=256)
def _query(sql: str, params: tuple[object, ...], file_version: tuple[str, int, int]) -> pl.DataFrame:
    con = connect_reader(Path(file_version[0]))
    try:
        return con.sql(sql, params=list(params)).pl()
    finally:
        con.close()


def query(sql: str, *params: object) -> pl.DataFrame | None:
    """Run one read-only query on the current database version; None if there is none."""
    v = version()
    return None if v is None else _query(sql, params, v)


def load_history() -> pl.DataFrame | None:
    """Return the ingest history, newest first."""
    return query(
        """select started_at, source, status, path, files_read, files_skipped,
                  rows_added, rows_replaced, len(problems) as problems
           from raw.loads order by started_at desc"""
    )


def message_counts() -> pl.DataFrame | None:
    """Return human and other messages per conversation type; None until a build made staging."""
    built = query("select count(*) as n from duckdb_tables() "
                  "where schema_name = 'staging' and table_name = 'stg_slack__messages'")
    if built is None or built.item() == 0:
        return None
    return query(
        """select conversation_type,
                  count(*) filter (is_human) as human_messages,
                  count(*) filter (not is_human) as other_messages,
                  count(distinct conversation_id) as conversations
           from staging.stg_slack__messages group by all order by human_messages desc"""
    )

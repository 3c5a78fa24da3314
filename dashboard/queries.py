"""Typed queries over the marts for the dashboard: ? parameters, Polars out.

Every call opens the published file read-only and closes it again, so the
dashboard never holds the file the nightly run replaces. Results are cached
per file version (path, inode, mtime): a new build is seen on the next run.

Pages call these functions and nothing else; each function reads the marts
(and the intermediate models that drill-downs need), never staging messages,
so each stays fast at a million messages. A mart that a newer build brings
(`marts.pull_requests`, `marts.pr_payoff`) is looked up in the catalog first:
until it exists, its functions return None and the page shows an empty state.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Literal

import duckdb
import polars as pl
import streamlit as st

from pipelines.db import connect_reader
from pipelines.settings import get_settings

State = Literal["missing", "empty", "unbuilt", "built"]
GOOD_BAND, THIN_BAND = "70-100", "0-39"
# The PRs the PR figures describe, as marts.pr_payoff counts them: by people, out of draft.
HUMAN_PRS = "not coalesce(is_bot_author, false) and not coalesce(is_draft, false)"
PR_SCOPE = "{scope} and " + HUMAN_PRS
BANDS = ("0-39", "40-69", "70-100")


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


class _Reader:
    """One read-only connection to the published file, reopened when the file is replaced.

    Keeping it is safe: the nightly run never writes the published file in place (it
    builds a copy and renames it over), so this connection blocks no writer. It must be
    closed before the new file is opened — DuckDB hands out the already-open instance for
    a path, which after a swap is the old file — and not while a query is running on it,
    so a swap waits for the queries in flight (they take milliseconds).
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._version: tuple[str, int, int] | None = None
        self._con: duckdb.DuckDBPyConnection | None = None
        self._users = 0

    @contextlib.contextmanager
    def cursor(self) -> Iterator[duckdb.DuckDBPyConnection]:
        with self._cond:
            while True:
                current = version()
                if current is None:
                    raise FileNotFoundError(f"{database()}: no database")
                if current == self._version or self._users == 0:
                    break
                self._cond.wait(timeout=1.0)
            if current != self._version:
                if self._con is not None:
                    self._con.close()
                self._con, self._version = connect_reader(Path(current[0])), current
            assert self._con is not None
            self._users += 1
            cur = self._con.cursor()  # a cursor per query: connections are not thread-safe
        try:
            yield cur
        finally:
            cur.close()
            with self._cond:
                self._users -= 1
                self._cond.notify_all()


_READER = _Reader()


@st.cache_data(show_spinner=False, max_entries=512)
def _query(sql: str, params: tuple[object, ...], file_version: tuple[str, int, int]) -> pl.DataFrame:
    # file_version only keys the cache: results of a replaced file are never reused.
    with _READER.cursor() as con:
        return con.sql(sql, params=[list(x) if isinstance(x, tuple) else x for x in params]).pl()


def query(sql: str, *params: object) -> pl.DataFrame | None:
    """Run one read-only query on the current database version; None if there is none."""
    v = version()
    return None if v is None else _query(sql, params, v)


# --- what is there -----------------------------------------------------------------------------


def tables() -> frozenset[str]:
    """Return the `schema.table` names in the database (empty when there is none)."""
    df = query("select table_schema || '.' || table_name as name from information_schema.tables")
    return frozenset() if df is None else frozenset(df["name"].to_list())


def has(*names: str) -> bool:
    """Return whether every one of the `schema.table` names exists."""
    present = tables()
    return all(n in present for n in names)


def state() -> State:
    """Return how far the database got: missing, empty (nothing loaded), unbuilt, built."""
    if version() is None:
        return "missing"
    if not has("raw.loads"):
        return "empty"
    loads = query("select count(*) filter (status <> 'failed') as n from raw.loads")
    if loads is None or loads.item() == 0:
        return "empty"
    return "built" if has("marts.threads", "marts.coverage", "intermediate.int_people__matched") else "unbuilt"


def has_prs() -> bool:
    """Return whether any pull request is loaded (the mart exists, empty, without GitHub data)."""
    if not has("marts.pull_requests"):
        return False
    n = query("select count(*) from marts.pull_requests")
    return n is not None and n.item() > 0


def load_history() -> pl.DataFrame | None:
    """Return the ingest history, newest first."""
    if not has("raw.loads"):
        return None
    return query(
        """select started_at, source, status, path, files_read, files_skipped,
                  rows_added, rows_replaced, len(problems) as problems
           from raw.loads order by started_at desc"""
    )


def data_as_of() -> pl.DataFrame | None:
    """Return per source: the last successful load, the last load's status and its problems."""
    if not has("raw.loads"):
        return None
    return query(
        """with ranked as (
               select *, row_number() over (partition by source order by started_at desc) as rn
               from raw.loads)
           select source,
                  (select max(finished_at) from raw.loads o
                   where o.source = r.source and o.status in ('ok', 'partial', 'unchanged')) as last_ok_at,
                  status as last_status,
                  coalesce(array_to_string(problems, '; '), '') as last_problems
           from ranked r where rn = 1 order by source"""
    )


def newest() -> tuple[str | None, str | None]:
    """Return the newest human Slack message and the newest pull request in the data, as
    marts.coverage states them at build ("2026-11-16 18:36 UTC"), or None."""
    flags = coverage_flags()
    return flags.get("slack:newest message"), flags.get("github:newest pull request")


def last_run() -> pl.DataFrame | None:
    """Return the latest nightly run (raw.runs): when it finished, its status and error."""
    if not has("raw.runs"):
        return None
    return query("select finished_at, status, coalesce(error, '') as error, flow_run_id "
                 "from raw.runs order by finished_at desc limit 1")


def coverage() -> pl.DataFrame | None:
    """Return marts.coverage: what the loaded data can and cannot tell."""
    if not has("marts.coverage"):
        return None
    return query("select source, item, value, note from marts.coverage order by source, item")


def coverage_flags() -> dict[str, str | None]:
    """Return the coverage facts other pages caption: DMs present, people with a known timezone."""
    df = coverage()
    if df is None:
        return {}
    return {f"{s}:{i}": v for s, i, v in df.select("source", "item", "value").iter_rows()}


def coverage_note(source: str, item: str) -> str | None:
    """Return the note of one coverage row (e.g. who has an unknown timezone)."""
    df = coverage()
    if df is None:
        return None
    hit = df.filter((pl.col("source") == source) & (pl.col("item") == item))
    return None if hit.is_empty() else hit["note"].item()


# --- filters -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    """The sidebar's choices: a date range (inclusive, UTC days), conversations and teams."""

    start: date | None = None
    end: date | None = None
    channels: tuple[str, ...] = ()
    teams: tuple[str, ...] = ()

    def params(self) -> tuple[object, ...]:
        """Return the four parameters SCOPE takes."""
        return (self.start, self.end, self.channels or None, self.teams or None)


# Every filtered query starts with this: the filter values once, as a one-row relation `p`,
# and the identifiers (person ids, GitHub logins, Slack ids) of the chosen teams' members.
SCOPE = """
with p as (select ?::date as d0, ?::date as d1, ?::varchar[] as channels, ?::varchar[] as teams),
team_keys as (
    select unnest(list_concat([person_id], coalesce(github_logins, []::varchar[]),
                              coalesce(slack_ids, []::varchar[]))) as key
    from intermediate.int_people__matched, p
    where list_contains(p.teams, team)
)"""


def _in_scope(at: str, conversation: str | None, person: str | None) -> str:
    """Return the WHERE condition applying the filters to a time, a conversation and a person."""
    cond = [f"(p.d0 is null or {at} >= p.d0::timestamptz)",
            f"(p.d1 is null or {at} < (p.d1 + 1)::timestamptz)"]
    if conversation is not None:
        cond.append(f"(p.channels is null or list_contains(p.channels, {conversation}))")
    if person is not None:
        cond.append(f"(p.teams is null or {person} in (select key from team_keys))")
    return " and ".join(cond)


# The members of each DM and group DM by name ("Alice Chen, Dan Ortiz"), for labels: a raw id
# (D03RLP3T3RGZ) tells a reader nothing. A member without a person stays their Slack id.
def _dm_names(only: str = "true") -> str:
    """Return the CTE `dm_names` for the DMs and group DMs whose `id` satisfies `only` (a page
    labelling twenty threads names their DMs, not all of a workspace's thousands)."""
    return f"""
dm_names as (
    select m.conversation_id,
           string_agg(distinct coalesce(pm.display_name, m.member), ', '
                      order by coalesce(pm.display_name, m.member)) as members
    from (select id as conversation_id, unnest(members) as member
          from raw.slack_conversations where conversation_type in ('dm', 'mpim') and ({only})) m
    left join (select unnest(slack_ids) as slack_id, display_name from intermediate.int_people__matched) pm
           on pm.slack_id = m.member
    group by m.conversation_id)"""


def _dm_label(kind: str, conversation_id: str, name: str) -> str:
    """Return SQL labelling a conversation: '#general', 'DM Alice Chen, Dan Ortiz', a repository."""
    return (f"case when {kind} = 'dm' then 'DM ' || coalesce(dm_names.members, {conversation_id}) "
            f"when {kind} = 'mpim' then 'group DM ' || coalesce(dm_names.members, {conversation_id}) "
            f"else '#' || coalesce({name}, {conversation_id}) end")


def _pr_scope() -> str:
    return PR_SCOPE.format(scope=_in_scope("created_at", "repo", "coalesce(author_person_id, author)"))


def _hours_text(expr: str) -> str:
    """Return SQL formatting hours for people: '41 h' up to two days, then '2.5 days'."""
    return (f"case when {expr} is null then null when {expr} >= 48 then printf('%.1f days', {expr} / 24) "
            f"when {expr} >= 10 then printf('%.0f h', {expr}) else printf('%.1f h', {expr}) end")


def _city(tz: str) -> str:
    return f"replace(regexp_extract({tz}, '[^/]+$'), '_', ' ')"


def date_bounds() -> pl.DataFrame | None:
    """Return the first and last day (UTC) with threads, openers or pull requests."""
    parts = ["select min(started_at)::date lo, max(started_at)::date hi from marts.threads",
             "select min(sent_at)::date, max(sent_at)::date from marts.openers"]
    if has("marts.pull_requests"):
        parts.append("select min(created_at)::date, max(created_at)::date from marts.pull_requests")
    return query(f"select min(lo) as first_day, max(hi) as last_day from ({' union all '.join(parts)})")


def channel_options() -> pl.DataFrame | None:
    """Return the conversations a filter can pick: id and a label that names no person."""
    repos = ("select distinct repo as conversation_id, repo as label, 'pull_request' as conversation_type "
             "from marts.pull_requests" if has("marts.pull_requests") else
             "select distinct conversation_id, conversation_id, 'pull_request' from marts.threads "
             "where source = 'github'")
    return query(f"""
        with {_dm_names()}
        select conversation_id, label from (
            select conversation_id,
                   {_dm_label('conversation_type', 'conversation_id', 'conversation_name')} as label,
                   conversation_type
            from staging.stg_slack__conversations left join dm_names using (conversation_id)
            union all {repos})
        order by list_position(['public', 'private', 'pull_request', 'mpim', 'dm'], conversation_type), label""")


def team_options() -> tuple[list[str], list[str]]:
    """Return the teams of the people file a filter may offer, and those it may not.

    A team under `min_group_size` is never offered: the pages it would narrow
    would show a group that small.
    """
    df = query("""select team, count(*) >= ? as big_enough from intermediate.int_people__matched
                  where team is not null group by team order by team""", min_group_size())
    if df is None:
        return [], []
    rows = df.rows()
    return [t for t, ok in rows if ok], [t for t, ok in rows if not ok]


def slack_names() -> dict[str, str]:
    """Return each Slack user id with the display name of its person (for <@U123> mentions)."""
    df = query("""select slack_id, coalesce(display_name, person_id) as name from (
                      select unnest(slack_ids) as slack_id, display_name, person_id
                      from intermediate.int_people__matched) where slack_id is not null""")
    return {} if df is None else dict(df.iter_rows())


def people_names() -> pl.DataFrame | None:
    """Return every identifier a person goes by (key) with a stable pseudonym, 'Person N'.

    `is_name` marks display names and person ids (which may be written inside free text);
    Slack ids and GitHub logins only ever stand alone in a column.
    """
    return query(PEOPLE_NAMES_SQL)


# also read by the digest (pipelines/digest), so its pseudonyms are the dashboard's
PEOPLE_NAMES_SQL = """
        with numbered as (
            select *, 'Person ' || row_number() over (order by md5(person_id)) as pseudonym
            from intermediate.int_people__matched)
        select distinct key, pseudonym, is_name from (
            select person_id as key, pseudonym, true as is_name from numbered
            union all select display_name, pseudonym, true from numbered where display_name is not null
            union all select unnest(slack_ids), pseudonym, false from numbered
            union all select unnest(github_logins), pseudonym, false from numbered)
        where key is not null and key <> ''
        order by key"""


# --- metrics week by week ----------------------------------------------------------------------

METRICS = ("ping_pong_threads", "bounce_wait_hours", "dm_share", "low_context_share",
           "good_pr_share", "median_first_reply_work_hours")
# What each headline's figure is taken over (weekly_metrics' count column); DM share is
# workspace-wide, over every human message of the week.
BASIS = {"ping_pong_threads": "threads", "bounce_wait_hours": "threads", "dm_share": None,
         "low_context_share": "openers", "good_pr_share": "prs", "median_first_reply_work_hours": "threads"}
GOOD_QUALITY = 70  # "good description": quality 70-100, the payoff page's good band


def _week(at: str) -> str:
    """Return SQL for the ISO week (its Monday, UTC) of the timestamptz `at`.

    Truncated as a plain timestamp: readers run in UTC, so the result is the
    same, and it skips ICU's calendar (twice as fast on a million rows).
    """
    return f"date_trunc('week', {at}::timestamp)::date"


def _weekly_sql() -> str:
    if has("marts.pull_requests"):
        # The share at 70+, not the median: scores cluster at the ends, so a weekly median
        # flips between 0 and 100.
        prs = f"""select {_week('created_at')} as week, count(*) as prs,
                         count(*) filter (quality >= {GOOD_QUALITY}) as good_prs,
                         (count(*) filter (quality >= {GOOD_QUALITY}) / count(*))::double as good_pr_share
                  from marts.pull_requests, p
                  where {_pr_scope()} group by all"""
    else:
        prs = ("select null::date as week, 0::bigint as prs, 0::bigint as good_prs, "
               "null::double as good_pr_share where false")
    return f"""{SCOPE},
th as (
    select started_at, bounces, bounce_wait_hours, first_reply_work_hours
    from marts.threads, p
    where {_in_scope('started_at', 'conversation_id', 'opener_person_id')}),
th_w as (
    select {_week('started_at')} as week, count(*) as threads,
           count(*) filter (bounces >= 2) as ping_pong_threads,
           coalesce(sum(bounce_wait_hours), 0) as bounce_wait_hours,
           median(first_reply_work_hours) as median_first_reply_work_hours
    from th group by all),
op_w as (
    select {_week('sent_at')} as week, count(*) as openers,
           avg(low_context::int) as low_context_share
    from marts.openers, p
    where {_in_scope('sent_at', 'conversation_id', 'person_id')} group by all),
mix_w as (  -- workspace-wide: the mart has no channel or person (NULL when DMs are not exported)
    select week, sum(share) filter (conversation_type in ('dm', 'mpim')) as dm_share
    from marts.weekly_mix, p
    where (p.d0 is null or week + 6 >= p.d0) and (p.d1 is null or week <= p.d1) group by all),
pr_w as ({prs}),
weeks as (select week from th_w union select week from op_w union select week from mix_w
          union select week from pr_w),
data_end as (  -- where the data ends (not the filtered scope), or the date range ends
    select least(greatest((select max(started_at) from marts.threads)::date,
                          (select max(sent_at) from marts.openers)::date), any_value(p.d1)) as last_day
    from p)
select w.week,
       w.week + 6 <= (select last_day from data_end) as is_complete,
       coalesce(th_w.threads, 0) as threads,
       coalesce(th_w.ping_pong_threads, 0) as ping_pong_threads,
       coalesce(th_w.bounce_wait_hours, 0)::double as bounce_wait_hours,
       mix_w.dm_share,
       coalesce(op_w.openers, 0) as openers,
       op_w.low_context_share,
       coalesce(pr_w.prs, 0) as prs,
       coalesce(pr_w.good_prs, 0) as good_prs,
       pr_w.good_pr_share,
       th_w.median_first_reply_work_hours
from weeks w
left join th_w using (week) left join op_w using (week) left join mix_w using (week)
left join pr_w using (week)
where w.week is not null
order by w.week"""


def weekly_metrics(f: Filters) -> pl.DataFrame | None:
    """Return the headline metrics per ISO week (Monday, UTC) in the filters' scope.

    `is_complete` is false for a week the data (or the date range) covers only in part.
    DM share is workspace-wide: channel and team filters do not apply to it.
    """
    if not has("marts.threads"):
        return None
    return query(_weekly_sql(), *f.params())


def headline(f: Filters) -> pl.DataFrame | None:
    """Return each metric for the last complete week in scope, the week before, and the change.

    One row per metric, in METRICS order. When no week is complete, the latest week is used.
    `n` is what the week's figure is taken over (BASIS: threads, openers or PRs; NULL for DM
    share) and `hits` the PRs at 70+ behind the PR share.
    """
    if not has("marts.threads"):
        return None
    cols = ", ".join(f"{m}::double as {m}" for m in METRICS)
    long = " union all ".join(
        f"select {i} as k, '{m}' as metric, rn, week, is_complete, {m} as value, "
        f"{BASIS[m] or 'null::bigint'} as n, {'good_prs' if m == 'good_pr_share' else 'null::bigint'} as hits "
        f"from pick"
        for i, m in enumerate(METRICS))
    return query(f"""
        with w as ({_weekly_sql()}),
        pick as (
            select week, is_complete, {cols}, threads, openers, prs, good_prs,
                   row_number() over (order by week desc) as rn
            from w
            where is_complete or not exists (select 1 from w where is_complete)
            qualify rn <= 2),
        u as ({long})
        select metric,
               max(week) filter (rn = 1) as week,
               bool_or(is_complete) filter (rn = 1) as is_complete,
               max(value) filter (rn = 1) as value,
               max(value) filter (rn = 2) as previous,
               max(value) filter (rn = 1) - max(value) filter (rn = 2) as change,
               max(n) filter (rn = 1) as n,
               max(hits) filter (rn = 1) as hits
        from u group by k, metric order by k""", *f.params())


# --- worst offenders ---------------------------------------------------------------------------


def worst_threads(f: Filters, limit: int = 20) -> pl.DataFrame | None:
    """Return the threads that cost the most waiting, then the longest, with why and what helps."""
    if not has("marts.threads"):
        return None
    hours = _hours_text("t.bounce_wait_hours")
    return query(f"""{SCOPE},
        top as (
            select t.*, c.conversation_type as kind, c.conversation_name as name
            from marts.threads t left join staging.stg_slack__conversations c using (conversation_id), p
            where {_in_scope('t.started_at', 't.conversation_id', 't.opener_person_id')}
              and (t.bounces > 0 or t.strikes >= 3 or t.messages >= 10)
            order by t.bounce_wait_hours desc nulls last, t.messages desc, t.thread_id
            limit ?),
        {_dm_names("id in (select conversation_id from top)")},
        pairs as (
            select thread_id,
                   string_agg(distinct least({_city('tz_a')}, {_city('tz_b')}) || '↔'
                              || greatest({_city('tz_a')}, {_city('tz_b')}), ', '
                              order by least({_city('tz_a')}, {_city('tz_b')}) || '↔'
                              || greatest({_city('tz_a')}, {_city('tz_b')})) as tz_pairs,
                   -- whose working day the thread waited for: the off-the-clock side of each bounce
                   string_agg(distinct {_city('tz_b')}, ', ' order by {_city('tz_b')}) as waited_for
            from intermediate.int_handoffs
            where is_bounce and thread_id in (select thread_id from top)
            group by thread_id),
        opener as (
            select thread_id, bool_or(low_context) as low_context from marts.openers
            where thread_id in (select thread_id from top) group by thread_id)
        select t.thread_id, t.source,
               case when t.source = 'github' then t.conversation_id
                    else {_dm_label('t.kind', 't.conversation_id', 't.name')} end as channel,
               t.started_at, t.messages, t.participants,
               t.bounces, t.bounce_wait_hours, t.strikes,
               concat_ws(' · ',
                   case when t.bounces > 0 then t.bounces || (case when t.bounces = 1 then ' bounce ' else ' bounces ' end)
                        || coalesce(pairs.tz_pairs, '') || ', ' || {hours} || ' waiting' end,
                   case when t.strikes >= 3 then t.strikes || ' rounds between the same two people' end,
                   case when t.messages >= 10 and not t.decision_recorded
                        then t.messages || ' messages, no decision recorded' end,
                   case when opener.low_context then 'opened with a low-context message' end) as why,
               concat_ws(' · ',
                   case when opener.low_context then 'a 3W opener: what, why and what you need' end,
                   case when t.bounces > 0 then 'a default path forward, so nobody waits for '
                        || coalesce(pairs.waited_for, 'the other timezone') || ' (' || {hours} || ' here)' end,
                   case when t.strikes >= 3 then 'a 15-minute call after round 3 of ' || t.strikes
                        || ', the outcome written back' end,
                   case when t.messages >= 10 and not t.decision_recorded
                        then 'the decision written into the thread (' || t.messages || ' messages without one)' end)
                   as would_have_helped,
               t.url,
               '/replay?thread=' || url_encode(t.thread_id) as replay
        from top t left join pairs using (thread_id) left join opener using (thread_id)
        left join dm_names using (conversation_id)
        order by t.bounce_wait_hours desc nulls last, t.messages desc, t.thread_id""",
        *f.params(), limit)


def worst_pull_requests(f: Filters, limit: int = 20) -> pl.DataFrame | None:
    """Return the PRs with the thinnest descriptions, then the most review rounds, with why."""
    if not has("marts.pull_requests"):
        return None
    return query(f"""{SCOPE}
        select pr_id, repo, number, title, coalesce(author_name, author) as author, quality, review_rounds,
               time_to_first_review_hours,
               concat_ws(' · ', 'quality ' || quality || '/100',
                         review_rounds || (case when review_rounds = 1 then ' review round' else ' review rounds' end))
                   as why,  -- what the description misses is in would_have_helped, said as what to do
               concat_ws(' · ',
                   case when quality < 70 then 'a description that '
                        || coalesce(nullif(array_to_string(list_transform(missing, lambda m: case m
                               when 'no why/motivation' then 'says why'
                               when 'no linked issue' then 'links the issue'
                               when 'no risks called out' then 'calls out risk'
                               when 'no testing instructions' then 'says how to test'
                               when 'no guidance for reviewers' then 'says where reviewers should look'
                               when 'no screenshots for a UI change' then 'shows the UI change'
                               when 'description under 20 words' then 'says enough (20 words or more)'
                               else m end), ', '), ''),
                                    'says why, links the issue, calls out risk and says how to test') end,
                   case when review_rounds >= 3 then 'a 15-minute call after review round 3 of ' || review_rounds end,
                   case when bounces > 0 then 'a self-contained review request with a default path forward ('
                        || bounces || (case when bounces = 1 then ' bounce' else ' bounces' end) || ')' end)
                   as would_have_helped,
               url
        from marts.pull_requests, p
        where {_pr_scope()}
        order by quality asc nulls last, review_rounds desc nulls last, pr_id
        limit ?""", *f.params(), limit)


# --- thread replay -----------------------------------------------------------------------------


def thread_choices(f: Filters, limit: int = 200) -> pl.DataFrame | None:
    """Return threads to replay, worst first: id and a label that names no person."""
    if not has("marts.threads"):
        return None
    return query(f"""{SCOPE},
        ranked as (
            select t.thread_id, t.source, t.conversation_id, t.started_at, t.messages, t.bounces,
                   t.bounce_wait_hours, c.conversation_type as kind, c.conversation_name as name
            from marts.threads t left join staging.stg_slack__conversations c using (conversation_id), p
            where {_in_scope('t.started_at', 't.conversation_id', 't.opener_person_id')}
            order by t.bounce_wait_hours desc nulls last, t.messages desc, t.thread_id
            limit ?),
        {_dm_names("id in (select conversation_id from ranked)")}
        select t.thread_id,
               case when t.source = 'github' then t.conversation_id
                    else {_dm_label('t.kind', 't.conversation_id', 't.name')} end
               || ' · ' || strftime(t.started_at, '%d %b %Y %H:%M') || ' · ' || t.messages || ' messages, '
               || t.bounces || (case when t.bounces = 1 then ' bounce' else ' bounces' end) as label
        from ranked t left join dm_names using (conversation_id)
        order by t.bounce_wait_hours desc nulls last, t.messages desc, t.thread_id""", *f.params(), limit)


def thread_summary(thread_id: str) -> pl.DataFrame | None:
    """Return the thread's row of marts.threads."""
    if not has("marts.threads"):
        return None
    return query("""select thread_id, source, conversation_id, started_at, messages, participants,
                           span_hours, first_reply_hours, first_reply_work_hours, bounces,
                           bounce_wait_hours, strikes, escalation_overdue, decision_recorded, url
                    from marts.threads where thread_id = ?""", thread_id)


_LOCAL = """
    case when pm.has_known_tz
         then strftime(timezone(pm.tz, e.event_at), '%a %d %b %H:%M') || ' ' || {city}
         else strftime(e.event_at, '%a %d %b %H:%M') || ' UTC (timezone unknown)' end"""
# The same clock without the place: what the privacy switch shows (a city narrows down who).
_CLOCK = """
    case when pm.has_known_tz
         then strftime(timezone(pm.tz, e.event_at), '%a %d %b %H:%M') || ' their time'
         else strftime(e.event_at, '%a %d %b %H:%M') || ' UTC (timezone unknown)' end"""


def thread_messages(thread_id: str) -> pl.DataFrame | None:
    """Return the thread's human messages in order, each in its author's local time."""
    if not has("intermediate.int_conversation_events"):
        return None
    local = _LOCAL.format(city=_city("pm.tz"))
    return query(f"""
        select e.event_at as sent_at,
               coalesce(pm.display_name, e.person_id, e.author_id) as person,
               pm.tz,
               {local} as local_time,
               {_CLOCK} as local_clock,
               case when not pm.has_known_tz then null
                    else is_working(timezone(pm.tz, e.event_at), pm.work_start_s, pm.work_end_s,
                                    pm.workdays_mask) end as in_hours,
               e.kind, e.text
        from intermediate.int_conversation_events e
        left join intermediate.int_people__matched pm using (person_id)
        where e.thread_id = ? and e.is_human
        order by e.event_at, e.event_id""", thread_id)


def thread_working_hours(thread_id: str) -> pl.DataFrame | None:
    """Return each participant's working-hours windows (UTC) around the thread, DST included."""
    if not has("intermediate.int_conversation_events"):
        return None
    return query("""
        with ev as (
            select person_id, event_at from intermediate.int_conversation_events
            where thread_id = ? and is_human),
        span as (select min(event_at) - interval 12 hour as lo, max(event_at) + interval 12 hour as hi from ev),
        who as (
            select pm.* from intermediate.int_people__matched pm
            where pm.person_id in (select person_id from ev) and pm.has_known_tz),
        days as (
            select who.*, unnest(generate_series(timezone(who.tz, span.lo)::date - 1,
                                                 timezone(who.tz, span.hi)::date + 1,
                                                 interval 1 day))::date as day
            from who, span),
        win as (
            select coalesce(display_name, person_id) as person, tz,
                   timezone(tz, day + to_seconds(work_start_s)) as start_at,
                   timezone(tz, day + to_seconds(work_end_s)) as end_at
            from days where (workdays_mask >> (isodow(day) - 1)) & 1 = 1)
        select person, tz, greatest(start_at, lo) as start_at, least(end_at, hi) as end_at
        from win, span where end_at > lo and start_at < hi
        order by person, start_at""", thread_id)


def thread_handoffs(thread_id: str) -> pl.DataFrame | None:
    """Return the thread's handoffs: who to whom, when, the wait, and whether it bounced."""
    if not has("intermediate.int_handoffs"):
        return None
    return query("""
        select coalesce(a.display_name, h.person_a) as person_a, coalesce(b.display_name, h.person_b) as person_b,
               h.t_a, h.t_b, h.wait_hours, h.is_bounce
        from intermediate.int_handoffs h
        left join intermediate.int_people__matched a on a.person_id = h.person_a
        left join intermediate.int_people__matched b on b.person_id = h.person_b
        where h.thread_id = ? order by h.turn_no""", thread_id)


# --- timezone overlap --------------------------------------------------------------------------


def overlap_matrix(f: Filters, group_by: Literal["team", "tz"]) -> pl.DataFrame | None:
    """Return, per pair of teams (or timezones), working-hours overlap and bounces between them.

    `overlap_hours`: hours a week a member of one and a member of the other both work,
    averaged over the pairs of people (reference week: the last week with threads, so
    daylight saving is as it was then). `bounces`: timezone bounces between the two, either
    way, in scope. People with an unknown timezone are left out.
    """
    if not has("intermediate.int_handoffs", "intermediate.int_people__matched"):
        return None
    grp = "team" if group_by == "team" else "tz"
    return query(f"""{SCOPE},
        ref as (select coalesce(date_trunc('week', (select max(started_at) from marts.threads))::date,
                                date_trunc('week', current_date)::date) as wk),
        ppl as (
            select person_id, coalesce({grp}, '(no {grp})') as grp, tz, work_start_s, work_end_s, workdays_mask
            from intermediate.int_people__matched, p
            where has_known_tz and (p.teams is null or list_contains(p.teams, team))),
        -- people with the same group and schedule overlap alike: compute per profile,
        -- weight by head count (a few dozen profiles, not every pair of people)
        prof as (
            select row_number() over (order by grp, tz, work_start_s, work_end_s, workdays_mask) as pid,
                   grp, tz, work_start_s, work_end_s, workdays_mask, count(*) as n
            from ppl group by grp, tz, work_start_s, work_end_s, workdays_mask),
        days as (
            select prof.*, unnest(generate_series(wk - 1, wk + 7, interval 1 day))::date as day
            from prof, ref),
        win as (
            select pid, greatest(timezone(tz, day + to_seconds(work_start_s)), wk::timestamptz) as s,
                   least(timezone(tz, day + to_seconds(work_end_s)), (wk + 7)::timestamptz) as e
            from days, ref where (workdays_mask >> (isodow(day) - 1)) & 1 = 1),
        shared as (
            select a.pid as pa, b.pid as pb,
                   sum(us_between(greatest(a.s, b.s), least(a.e, b.e))) / 3600e6 as hours
            from win a join win b on a.s < b.e and b.s < a.e and a.s < a.e and b.s < b.e
            group by all),
        pair_overlap as (
            -- pairs of two different people: n_a * n_b, or n * (n - 1) within one profile
            select a.grp as group_a, b.grp as group_b,
                   sum(coalesce(shared.hours, 0) * a.n * (b.n - (a.pid = b.pid)::int))
                     / nullif(sum(a.n * (b.n - (a.pid = b.pid)::int)), 0) as overlap_hours
            from prof a cross join prof b
            left join shared on shared.pa = a.pid and shared.pb = b.pid
            group by all),
        sizes as (select grp, count(*) as people from ppl group by grp),
        bounced as (
            select pa.grp as ga, pb.grp as gb, count(*) as n
            from intermediate.int_handoffs h
            join marts.threads t using (thread_id)
            join ppl pa on pa.person_id = h.person_a
            join ppl pb on pb.person_id = h.person_b, p
            where h.is_bounce and {_in_scope('h.t_a', 't.conversation_id', None)}
            group by all),
        groups as (select a.grp as group_a, b.grp as group_b from sizes a, sizes b)
        select g.group_a, g.group_b, sa.people as people_a, sb.people as people_b,
               po.overlap_hours,
               coalesce((select sum(n) from bounced
                         where (ga = g.group_a and gb = g.group_b)
                            or (ga = g.group_b and gb = g.group_a and g.group_a <> g.group_b)), 0)::bigint as bounces,
               (select wk from ref) as overlap_week
        from groups g
        join sizes sa on sa.grp = g.group_a join sizes sb on sb.grp = g.group_b
        left join pair_overlap po using (group_a, group_b)
        order by g.group_a, g.group_b""", *f.params())


# --- pull requests -----------------------------------------------------------------------------


def pr_payoff(f: Filters) -> pl.DataFrame | None:
    """Return per description-quality band: PRs, and median review rounds and waits.

    The same figures as marts.pr_payoff, recomputed from marts.pull_requests so the
    filters apply. Every band is listed, with 0 PRs when it has none.
    """
    if not has("marts.pull_requests"):
        return None
    return query(f"""{SCOPE},
        prs as (select * from marts.pull_requests, p where {_pr_scope()}),
        bands as (select unnest(?::varchar[]) as quality_band)
        select b.quality_band, count(prs.pr_id) as prs, count(prs.merged_at) as merged_prs,
               median(prs.review_rounds)::double as median_review_rounds,
               median(prs.time_to_first_review_hours)::double as median_time_to_first_review_hours,
               median(prs.time_to_merge_hours)::double as median_time_to_merge_hours
        from bands b left join prs using (quality_band)
        group by b.quality_band order by b.quality_band""", *f.params(), list(BANDS))


def pr_merge_gap(f: Filters) -> pl.DataFrame | None:
    """Return PRs in the good and thin bands and how many hours sooner good ones merge (median)."""
    payoff = pr_payoff(f)
    if payoff is None:
        return None
    good = payoff.filter(pl.col("quality_band") == GOOD_BAND)
    thin = payoff.filter(pl.col("quality_band") == THIN_BAND)
    return pl.DataFrame({
        "good_prs": good["prs"], "thin_prs": thin["prs"],
        "hours_sooner": thin["median_time_to_merge_hours"] - good["median_time_to_merge_hours"],
    })


SIZE_BANDS = ("XS", "S", "M", "L", "XL")


def _has_phases() -> bool:
    """Return whether marts.pull_requests has sizes and phases (a build of this version)."""
    df = query("select count(*) from information_schema.columns where table_schema = 'marts' "
               "and table_name = 'pull_requests' and column_name in ('size_band', 'pickup_hours')")
    return df is not None and df.item() == 2


def pr_payoff_by_size(f: Filters) -> pl.DataFrame | None:
    """Return per size band and quality band: PRs, median review rounds and pickup (both clocks).

    marts.pr_payoff's sized rows, recomputed so the filters apply; every cell is listed, with 0
    PRs when it has none. PRs without a size are left out (marts.coverage counts them).
    """
    if not has("marts.pull_requests") or not _has_phases():
        return None
    return query(f"""{SCOPE},
        prs as (select * from marts.pull_requests, p where {_pr_scope()} and size_band is not null),
        cells as (select s.size_band, s.i, q.quality_band
                  from (select unnest(?::varchar[]) as size_band, unnest(range(5)) as i) s,
                       (select unnest(?::varchar[]) as quality_band) q)
        select c.size_band, c.quality_band, count(prs.pr_id) as prs,
               count(prs.pickup_hours) as picked_up_prs,
               median(prs.review_rounds)::double as median_review_rounds,
               median(prs.pickup_hours)::double as median_pickup_hours,
               median(prs.pickup_work_hours)::double as median_pickup_work_hours
        from cells c left join prs using (size_band, quality_band)
        group by c.size_band, c.quality_band, c.i order by c.i, c.quality_band""",
                 *f.params(), list(SIZE_BANDS), list(BANDS))


def pr_phases_weekly(f: Filters, work: bool) -> pl.DataFrame | None:
    """Return per week a PR was merged (Monday, UTC) and phase: the median hours and PRs.

    Phases pickup, review and merge of the PRs merged that week; `work` picks the waiting
    person's working hours instead of the wall clock. A phase with no PR that week is left out.
    """
    if not has("marts.pull_requests") or not _has_phases():
        return None
    clock = "work_hours" if work else "hours"
    return query(f"""{SCOPE},
        prs as (select * from marts.pull_requests, p
                where {_pr_scope()} and merged_at is not null),
        long as (
            select {_week('merged_at')} as week, 'pickup' as phase, 1 as i, pickup_{clock} as h from prs
            union all select {_week('merged_at')}, 'review', 2, review_{clock} from prs
            union all select {_week('merged_at')}, 'merge', 3, merge_{clock} from prs)
        select week, phase, i as phase_order, median(h)::double as median_hours, count(h) as prs
        from long where h is not null
        group by week, phase, i order by week, i""", *f.params())


def review_load(f: Filters) -> pl.DataFrame | None:
    """Return per reviewer over the selection: reviews given, first reviews, median pickup they gave.

    `team` is the reviewer's team ('no team' without one); `team_reviewers` how many reviewers
    of that team the selection holds, so the page can show only teams of min_group_size or more
    person by person. Reviews count in the week range by when they were given.
    """
    if not has("marts.review_load", "marts.pull_requests") or not _has_phases():
        return None
    return query(f"""{SCOPE},
        loads as (
            select l.person_id, any_value(l.reviewer_name) as reviewer,
                   coalesce(any_value(l.team), 'no team') as team,
                   sum(l.reviews)::bigint as reviews, sum(l.first_reviews)::bigint as first_reviews
            from marts.review_load l, p
            where (p.d0 is null or l.week + 6 >= p.d0) and (p.d1 is null or l.week <= p.d1)
              and (p.teams is null or l.person_id in (select key from team_keys))
            group by l.person_id),
        pickups as (
            select pickup_reviewer_person_id as person_id,
                   median(pickup_hours)::double as median_pickup_hours,
                   median(pickup_work_hours)::double as median_pickup_work_hours
            from marts.pull_requests, p
            where pickup_reviewer_person_id is not null and {_in_scope('first_review_at', 'repo', None)}
            group by 1)
        select l.team, count(*) over (partition by l.team) as team_reviewers, l.reviewer,
               l.reviews, l.first_reviews, k.median_pickup_hours, k.median_pickup_work_hours
        from loads l left join pickups k using (person_id)
        order by l.team, l.reviews desc, l.reviewer""", *f.params())


# --- working agreements (marts.agreement_breaches) --------------------------------------------


def agreements() -> pl.DataFrame | None:
    """Return the agreements the last build used (None before a build that has them)."""
    if not has("staging.agreements"):
        return None
    return query("select name, kind, unit, threshold::double as threshold, team "
                 "from staging.agreements order by name")


def _visible_team() -> str:
    """SQL for a breach's team, NULL when the team is under min_group_size (never shown)."""
    return f"""case when b.team in (select team from intermediate.int_people__matched
                                 where team is not null group by team
                                 having count(*) >= {int(get_settings().min_group_size)})
                    then b.team end"""


def breaches_by_week(f: Filters) -> pl.DataFrame | None:
    """Return breaches per ISO week and agreement, in the date range and teams chosen."""
    if not has("marts.agreement_breaches"):
        return None
    return query(f"""{SCOPE}
        select b.week, b.agreement, count(*) as breaches
        from marts.agreement_breaches b, p
        where (p.d0 is null or b.week >= p.d0 - 6) and (p.d1 is null or b.week <= p.d1)
          and (p.teams is null or list_contains(p.teams, {_visible_team()}))
        group by all order by b.week, b.agreement""", *f.params())


def open_breaches(f: Filters) -> pl.DataFrame | None:
    """Return the breaches still open, oldest first, in the teams chosen."""
    if not has("marts.agreement_breaches"):
        return None
    return query(f"""{SCOPE}
        select b.agreement, b.kind, {_visible_team()} as team, b.subject_id,
               case when t.source = 'slack' then '#' || t.conversation_name
                    else replace(b.subject_id, 'github:', '') end as subject,
               b.opened_at, b.detected_at, b.value, b.threshold, b.url
        from marts.agreement_breaches b
        cross join p
        left join marts.threads t on t.thread_id = b.subject_id
        where b.still_open and (p.teams is null or list_contains(p.teams, {_visible_team()}))
        order by b.opened_at, b.agreement, b.subject_id""", *f.params())


def latest_digest() -> pl.DataFrame | None:
    """Return the newest digest sent (team, week, channel, sent_at, digest), or None."""
    if not has("raw.deliveries"):
        return None
    return query("""select team, week, channel, sent_at, digest from raw.deliveries
                    where status = 'sent' order by sent_at desc, team, channel limit 1""")


# --- teams side by side ------------------------------------------------------------------------

# marts.team_health_weekly's figures the Teams page shows, in its order.
TEAM_METRICS = ("ping_pong_threads", "bounce_wait_hours", "dm_share", "low_context_share",
                "good_pr_share", "median_first_reply_work_hours")
TEAM_HABITS = ("after_hours_share", "checkins_per_day", "fast_reply_share", "broadcast_mentions")


def min_group_size() -> int:
    """Return the smallest group a view may show (setting `min_group_size`)."""
    return int(get_settings().min_group_size)


def team_health(f: Filters, grouping: Literal["team", "tz"]) -> pl.DataFrame | None:
    """Return per team (or timezone) the week's figures of marts.team_health_weekly and the change.

    The week is the last complete one in the date range (the latest when none is), as on the
    Overview. A group under `min_group_size` keeps its name and size but no figure
    (`hidden`); its figures would point at individuals. The team filter narrows the teams;
    channels do not apply (the mart is per person, not per conversation).
    """
    if not has("marts.team_health_weekly"):
        return None
    cols = TEAM_METRICS + TEAM_HABITS + ("threads", "openers", "prs", "good_prs", "messages",
                                         "active_people")
    now = ", ".join(f"case when not hidden then c.{m} end as {m}" for m in cols)
    change = ", ".join(f"case when not hidden then c.{m} - b.{m} end as {m}_change" for m in cols)
    return query(f"""{SCOPE},
        data_end as (
            select least(greatest((select max(started_at) from marts.threads)::date,
                                  (select max(sent_at) from marts.openers)::date), any_value(p.d1)) as last_day
            from p),
        weeks as (
            select distinct week, week + 6 <= (select last_day from data_end) as is_complete
            from marts.team_health_weekly, p
            where (p.d0 is null or week + 6 >= p.d0) and (p.d1 is null or week <= p.d1)),
        pick as (
            select week, is_complete from weeks
            where is_complete or not exists (select 1 from weeks where is_complete)
            order by week desc limit 1),
        c as (
            select t.*, t.members < ? as hidden from marts.team_health_weekly t, p
            where t.grouping = ? and t.week = (select week from pick)
              and (t.grouping <> 'team' or p.teams is null or list_contains(p.teams, t.group_name))),
        b as (select * from marts.team_health_weekly where grouping = ? and week = (select week from pick) - 7)
        select c.group_name, c.members, c.hidden, c.week, (select is_complete from pick) as is_complete,
               b.week is not null as has_previous, {now}, {change}
        from c left join b using (group_name)
        order by c.hidden, c.group_name""", *f.params(), min_group_size(), grouping, grouping)


def team_people(f: Filters) -> pl.DataFrame | None:
    """Return marts.people_weekly for the Teams page's week, one row per person, with their team.

    Only for a `min_group_size` of 1 or less: a row per person is a group of one.
    """
    if not has("marts.team_health_weekly", "marts.people_weekly") or min_group_size() > 1:
        return None
    health = team_health(f, "team")
    if health is None or health.is_empty():
        return None
    return query(f"""{SCOPE}
        select coalesce(pm.team, '(no team)') as team, w.person, w.messages, w.after_hours_share,
               w.checkins_per_day, w.fast_reply_share, w.broadcast_mentions
        from marts.people_weekly w left join intermediate.int_people__matched pm using (person_id), p
        where w.week = ? and (p.teams is null or list_contains(p.teams, pm.team))
        order by team, w.person""", *f.params(), health["week"][0])

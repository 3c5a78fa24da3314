"""Teams: the headline metrics and the habits of marts.people_weekly for each team (or timezone)
side by side, this week and the change from the week before, the worst of each column marked.
A group smaller than `min_group_size` is named but shows nothing: its figures would point at
individuals."""

from __future__ import annotations

from typing import Any, Literal

import pandas as pd
import polars as pl
import streamlit as st

from dashboard import queries, ui
from pipelines.settings import get_settings

WORST = "background-color: #fde0dc; color: #8b1a10; font-weight: 600"
# column: (heading, higher is worse?)
HEADLINE = {
    "ping_pong_threads": ("Ping-pong threads", True),
    "bounce_wait_hours": ("Waiting on bounces", True),
    "dm_share": ("DM share", True),
    "low_context_share": ("Low-context openers", True),
    "good_pr_share": ("PRs at 70+", False),
    "median_first_reply_work_hours": ("First reply (work h)", True),
}
HABITS = {
    "after_hours_share": ("After hours", True),
    "checkins_per_day": ("Check-ins a day", True),
    "fast_reply_share": ("Fast replies", True),
    "broadcast_mentions": ("@channel / @here", True),
}
HABIT_MEANING = {
    "after_hours_share": "Share of their messages outside their own working hours (local evenings, "
                         "weekends): respect focus time and local evenings.",
    "checkins_per_day": "Separate bursts of activity per working day: batching means 2–3 a day.",
    "fast_reply_share": "Share of their replies to someone else sent within {fast} minutes: a high "
                        "share is pseudo-async, everyone watching chat.",
    "broadcast_mentions": "Messages that notify a whole channel: reserve them for what concerns everyone.",
}


def cell(metric: str, value: Any, change: Any, row: dict[str, Any]) -> str:
    """Return one cell: this week's figure and the change ("18 h (+2 h)")."""
    if metric == "good_pr_share":
        text = "no PRs" if value is None else f"{ui.pct(value)} · {row['good_prs']} of {row['prs']}"
    elif metric == "checkins_per_day":
        text = "—" if value is None else f"{value:.1f}"
    else:
        text = ui.value_text(metric, value)
    delta = ui.delta_text(metric, change) if row["has_previous"] else None
    return text if delta is None or value is None else f"{text} ({delta})"


def worst_mask(df: pl.DataFrame, columns: dict[str, tuple[str, bool]]) -> pl.DataFrame:
    """Return, per column, whether the cell is the column's worst (none when all are equal)."""
    exprs = []
    for col, (_, higher_is_worse) in columns.items():
        worst = pl.col(col).max() if higher_is_worse else pl.col(col).min()
        varies = pl.col(col).max() != pl.col(col).min()
        exprs.append(((pl.col(col) == worst) & varies).fill_null(False).alias(col))
    return df.select(exprs)


def table(df: pl.DataFrame, columns: dict[str, tuple[str, bool]], first: dict[str, str]) -> None:
    """Show the groups as rows with each figure and change, the worst of each column marked."""
    rows = df.to_dicts()
    shown = {label: [r[c] for r in rows] for c, label in first.items()}
    for col, (label, _) in columns.items():
        shown[label] = [cell(col, r[col], r[f"{col}_change"], r) for r in rows]
    marks = worst_mask(df, columns)
    frame = pd.DataFrame(shown)
    css = pd.DataFrame("", index=frame.index, columns=frame.columns)
    for col, (label, _) in columns.items():
        css[label] = ["" if not m else WORST for m in marks[col].to_list()]
    st.table(frame.style.apply(lambda _: css, axis=None).hide(axis="index"))


st.title("Teams")
st.caption("Each team's week side by side: the headline metrics and working habits of its people, "
           "with the change from the week before. The worst figure of each column is marked red.")
ui.require_data()

f = ui.filters()
has_teams = any(queries.team_options())
group_by = st.radio("Group by", ["team", "tz"], horizontal=True, index=0 if has_teams else 1,
                    format_func=lambda g: "Team" if g == "team" else "Timezone", key="teams_group")
grouping: Literal["team", "tz"] = "team" if group_by == "team" else "tz"
health = queries.team_health(f, grouping)
if health is None:
    st.info("This database was built before the Teams page existed: run `asyncpulse build`.")
    st.stop()
if health.is_empty():
    st.info("No team in this selection: the people file (`asyncpulse build --people people.csv`) "
            "names each person's team." if grouping == "team" else "Nobody in this selection.")
    st.stop()

week, complete = health["week"][0], health["is_complete"][0]
st.subheader(ui.week_text(week) + ("" if complete else " (partial: no complete week in range)"))
minimum = queries.min_group_size()
shown, hidden = health.filter(~pl.col("hidden")), health.filter(pl.col("hidden"))
noun = "Team" if grouping == "team" else "Timezone"
st.caption("For the 7-day week Monday to Sunday (UTC); in brackets, the change against the week before. "
           "Threads count for the team of the person who opened them, openers and PRs for their author's. "
           "The channel filter does not apply here" + (" and the team filter applies to teams only."
                                                        if grouping == "tz" else "."))
if not hidden.is_empty():
    names = ", ".join(f"{g} ({n} {'person' if n == 1 else 'people'})"
                      for g, n in hidden.select("group_name", "members").iter_rows())
    st.info(f"Not shown: {names}. A group smaller than {minimum} people (`min_group_size`) shows "
            "nothing, because its figures would point at individuals.")
if shown.is_empty():
    st.stop()

st.subheader("Headline metrics")
table(shown, HEADLINE, {"group_name": noun, "members": "People", "threads": "Threads opened"})
st.caption("Ping-pong threads: of the threads opened. Waiting on bounces: summed over those threads. "
           "PRs at 70+: the share (and count) of their PRs, by people and out of draft, whose description "
           "scores 70 or more. First reply: the median, in the replier's working hours.")

st.subheader("Habits")
table(shown, HABITS, {"group_name": noun, "active_people": "People who wrote"})
for col, (label, _) in HABITS.items():
    st.caption(f"**{label}** — " + HABIT_MEANING[col].format(fast=get_settings().fast_reply_minutes))
st.caption("After hours, check-ins and fast replies: the mean of the figures of the people who wrote "
           "that week (after hours only for those with a known timezone); @channel / @here: the sum.")

people = queries.team_people(f) if grouping == "team" else None
if people is not None and not people.is_empty():
    st.subheader("People")
    st.caption(f"One row per person: shown because `min_group_size` is {minimum}.")
    ui.frame(people, column_config={
        "team": "Team", "person": "Person", "messages": "Messages",
        "after_hours_share": st.column_config.NumberColumn("After hours", format="percent"),
        "checkins_per_day": st.column_config.NumberColumn("Check-ins a day", format="%.1f"),
        "fast_reply_share": st.column_config.NumberColumn("Fast replies", format="percent"),
        "broadcast_mentions": "@channel / @here"})
elif grouping == "team":
    st.caption(f"No row per person: `min_group_size` is {minimum}; a row per person needs it at 1.")

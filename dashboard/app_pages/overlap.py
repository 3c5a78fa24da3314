"""Timezone overlap: for each pair of teams (or timezones), how many working hours a week
they share, and how many bounces went between them."""

from __future__ import annotations

import altair as alt
import polars as pl
import streamlit as st

from dashboard import queries, ui

st.title("Timezone overlap")
st.caption("Hours a week a member of one group and a member of the other both work (averaged over "
           "pairs of people), and timezone bounces between them. Little overlap and many bounces: hand "
           "off with a default path forward, and keep the overlap hours for the few live exchanges.")
ui.require_data()

has_teams = any(queries.team_options())
group_by = st.radio("Group by", ["team", "tz"], horizontal=True, index=0 if has_teams else 1,
                    format_func=lambda g: "Team" if g == "team" else "Timezone", key="overlap_group")
f = ui.filters()
matrix = queries.overlap_matrix(f, "team" if group_by == "team" else "tz")
if matrix is None or matrix.is_empty():
    st.info("No one with a known timezone in this selection.")
    st.stop()

# No group under min_group_size: its overlap and bounces would point at individuals.
minimum = queries.min_group_size()
small = matrix.filter(pl.col("people_a") < minimum).select("group_a", "people_a").unique().sort("group_a")
matrix = matrix.filter((pl.col("people_a") >= minimum) & (pl.col("people_b") >= minimum))
if not small.is_empty():
    st.info("Not shown: " + ", ".join(f"{g} ({n} {'person' if n == 1 else 'people'})" for g, n in small.iter_rows())
            + f". A group smaller than {minimum} people (`min_group_size`) shows nothing, because its figures "
            "would point at individuals.")
if matrix.is_empty():
    st.stop()

week = matrix["overlap_week"][0]
bounds = queries.date_bounds()
lo, hi = (f.start, f.end) if f.start and f.end else (bounds.row(0) if bounds is not None else (None, None))
st.caption(f"**Shared hours**: the week of {week:%d %b %Y} (Monday to Sunday, UTC; the last week with "
           "threads, daylight saving as it was then). **Bounces**: every timezone bounce from "
           + (f"{lo:%d %b %Y} to {hi:%d %b %Y}" if lo and hi else "the whole history")
           + " (the sidebar's dates). A group with one person has no pair inside it: —.")

matrix = matrix.with_columns(
    hours_label=pl.when(pl.col("overlap_hours").is_null()).then(pl.lit("—"))
    .otherwise(pl.col("overlap_hours").round(0).cast(pl.Int64).cast(pl.String) + " h"),
    bounce_label=pl.col("bounces").cast(pl.String) + pl.when(pl.col("bounces") == 1)
    .then(pl.lit(" bounce")).otherwise(pl.lit(" bounces")))
groups = matrix["group_a"].unique(maintain_order=True).to_list()
base = alt.Chart(matrix).encode(
    x=alt.X("group_b:N", title="with", sort=groups, axis=alt.Axis(labelAngle=-35, orient="top", labelLimit=0, labelOverlap=False,
                                                                 labelFontSize=12)),
    y=alt.Y("group_a:N", title=None, sort=groups, axis=alt.Axis(labelLimit=0, labelOverlap=False, labelFontSize=12)),
    tooltip=[alt.Tooltip("group_a:N", title="from"), alt.Tooltip("group_b:N", title="with"),
             alt.Tooltip("overlap_hours:Q", title="shared hours / week", format=".1f"),
             alt.Tooltip("bounces:Q"), alt.Tooltip("people_a:Q", title="people (row)"),
             alt.Tooltip("people_b:Q", title="people (column)")])
cells = base.mark_rect(stroke="white").encode(
    color=alt.Color("overlap_hours:Q", title="shared hours / week",
                    scale=alt.Scale(scheme="greens", zero=True)))  # from 0: pale means little overlap
dark = alt.condition("datum.overlap_hours > 25", alt.value("white"), alt.value("black"))
narrow = len(groups) > 6  # many groups: narrower cells, smaller text
hours_text = base.mark_text(fontSize=11 if narrow else 13, dy=-7, fontWeight="bold").encode(
    text="hours_label:N", color=dark)
bounce_text = base.mark_text(fontSize=9 if narrow else 11, dy=8).encode(text="bounce_label:N", color=dark)
st.altair_chart((cells + hours_text + bounce_text).properties(height=max(64 * len(groups), 120) + 60), width="stretch")
ui.caption_unknown_tz()
ui.frame(matrix.drop("hours_label", "bounce_label", "overlap_week"), column_config={
    "group_a": "Group", "group_b": "With", "people_a": "People", "people_b": "People (with)",
    "overlap_hours": st.column_config.NumberColumn("Shared hours / week", format="%.1f"),
    "bounces": "Bounces (either way)"})

"""Timezone overlap: for each pair of teams (or timezones), how many working hours a week
they share, and how many bounces went between them."""

from __future__ import annotations

import altair as alt
import streamlit as st

from dashboard import queries, ui

st.title("Timezone overlap")
st.caption("Hours a week a member of one group and a member of the other both work (averaged over "
           "pairs of people, in the last week with data), and timezone bounces between them. Little "
           "overlap and many bounces: hand off with a default path forward, and keep the overlap "
           "hours for the few live exchanges.")
ui.require_data()

has_teams = bool(queries.team_options())
group_by = st.radio("Group by", ["team", "tz"], horizontal=True, index=0 if has_teams else 1,
                    format_func=lambda g: "Team" if g == "team" else "Timezone", key="overlap_group")
matrix = queries.overlap_matrix(ui.filters(), "team" if group_by == "team" else "tz")
if matrix is None or matrix.is_empty():
    st.info("No one with a known timezone in this selection.")
    st.stop()

base = alt.Chart(matrix).encode(
    x=alt.X("group_b:N", title=None, axis=alt.Axis(labelAngle=-30)),
    y=alt.Y("group_a:N", title=None),
    tooltip=[alt.Tooltip("group_a:N", title="from"), alt.Tooltip("group_b:N", title="with"),
             alt.Tooltip("overlap_hours:Q", title="shared hours / week", format=".1f"),
             alt.Tooltip("bounces:Q"), alt.Tooltip("people_a:Q", title="people (row)"),
             alt.Tooltip("people_b:Q", title="people (column)")])
cells = base.mark_rect().encode(
    color=alt.Color("overlap_hours:Q", title="shared h/week", scale=alt.Scale(scheme="greens")))
text = base.mark_text(fontSize=12).encode(
    text=alt.Text("label:N"),
    color=alt.condition("datum.overlap_hours > 25", alt.value("white"), alt.value("black")))
st.altair_chart(
    (cells + text.transform_calculate(
        label="format(datum.overlap_hours, '.0f') + ' h · ' + datum.bounces + ' bounces'"))
    .properties(height=70 * matrix["group_a"].n_unique() + 40),
    width="stretch")
ui.caption_unknown_tz()
ui.frame(matrix, column_config={
    "group_a": "Group", "group_b": "With", "people_a": "People", "people_b": "People (with)",
    "overlap_hours": st.column_config.NumberColumn("Shared hours / week", format="%.1f"),
    "bounces": "Bounces (either way)"})

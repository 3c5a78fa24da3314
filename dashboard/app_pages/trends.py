"""Trends: every headline metric week by week, in the sidebar's date range, channels and teams."""

from __future__ import annotations

import altair as alt
import streamlit as st

from dashboard import queries, ui

st.title("Trends")
st.caption("Each metric per week (Monday, UTC). Hollow points: weeks the data covers only in part.")
ui.require_data()

weekly = queries.weekly_metrics(ui.filters())
if weekly is None or weekly.is_empty():
    st.info("Nothing in this date range, channel and team selection: widen the filters in the sidebar.")
    st.stop()

for i, (metric, (label, meaning, _)) in enumerate(ui.METRICS.items()):
    if i % 2 == 0:
        cols = st.columns(2)
    axis_format = ".0%" if metric.endswith("_share") else ",.1f"
    base = alt.Chart(weekly.select("week", "is_complete", metric)).encode(
        x=alt.X("week:T", title=None),
        y=alt.Y(f"{metric}:Q", title=label, axis=alt.Axis(format=axis_format)),
        tooltip=[alt.Tooltip("week:T", title="week of"),
                 alt.Tooltip(f"{metric}:Q", title=label, format=axis_format),
                 alt.Tooltip("is_complete:N", title="whole week")],
    )
    points = base.mark_point(size=45, filled=True).encode(
        fill=alt.condition(alt.datum.is_complete, alt.value("#1f77b4"), alt.value("white")))
    chart = (base.mark_line() + points).properties(height=220, title=label)
    with cols[i % 2]:
        st.altair_chart(chart, width="stretch")
        st.caption(meaning)
        if metric == "dm_share":
            st.caption("Workspace-wide: channel and team filters do not apply to DM share.")
            ui.caption_dms()
        if metric == "median_pr_quality" and not queries.has_prs():
            st.caption(ui.NO_PRS)

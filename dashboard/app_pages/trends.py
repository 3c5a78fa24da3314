"""Trends: every headline metric week by week, in the sidebar's date range, channels and teams."""

from __future__ import annotations

import altair as alt
import polars as pl
import streamlit as st

from dashboard import queries, ui

st.title("Trends")
st.caption("Each metric per 7-day week (Monday to Sunday, UTC), in the unit of its Overview card. "
           "The line joins whole weeks; a hollow point is a week the data covers only in part.")
ui.require_data()

weekly = queries.weekly_metrics(ui.filters())
if weekly is None or weekly.is_empty():
    st.info("Nothing in this date range, channel and team selection: widen the filters in the sidebar.")
    st.stop()

# One time axis for every chart: the same weeks, the same ticks.
first, last = weekly["week"].min(), weekly["week"].max()
x = alt.X("week:T", title="week of (UTC)", scale=alt.Scale(domain=[str(first), str(last)]),
          axis=alt.Axis(format="%d %b", labelAngle=0, tickCount="week", labelOverlap=True))


def unit_of(metric: str, values: pl.Series) -> tuple[str, float, str]:
    """Return the unit a metric's axis is drawn in, its divisor of the stored figure and the axis
    number format: the unit the Overview card uses for a typical week (the median week)."""
    if metric.endswith("_share"):
        return "%", 0.01, ",.0f"
    if metric.endswith("_hours"):
        typical = values.median()
        top = float(typical) if isinstance(typical, int | float) else 0.0
        if top >= 48:
            return "days", 24.0, ",.1f"
        if top >= 1:
            return "h", 1.0, ",.1f"
        return "min", 1 / 60, ",.0f"
    return "threads", 1.0, "d"


for i, (metric, (label, meaning, _)) in enumerate(ui.METRICS.items()):
    if i % 2 == 0:
        cols = st.columns(2)
    unit, divisor, fmt = unit_of(metric, weekly[metric])
    data = weekly.select(
        "week", "is_complete", (pl.col(metric) / divisor).alias("value"),
        pl.when(pl.col("is_complete")).then(pl.lit("whole week")).otherwise(pl.lit("partial week")).alias("coverage"),
        (pl.col("good_prs").cast(pl.String) + " of " + pl.col("prs").cast(pl.String) + " PRs").alias("count"))
    y = alt.Y("value:Q", title=unit, scale=alt.Scale(zero=True),
              axis=alt.Axis(format=fmt, tickMinStep=1 if unit == "threads" else alt.Undefined))
    tooltip = [alt.Tooltip("week:T", title="week of", format="%d %b %Y"),
               alt.Tooltip("value:Q", title=f"{label} ({unit})", format=fmt),
               alt.Tooltip("coverage:N", title="data")]
    if metric == "good_pr_share":
        tooltip.append(alt.Tooltip("count:N", title="at 70+"))
    base = alt.Chart(data).encode(x=x, y=y, tooltip=tooltip)
    line = base.transform_filter(alt.datum.is_complete).mark_line()
    points = base.mark_point(size=45, filled=True).encode(
        fill=alt.condition(alt.datum.is_complete, alt.value("#1f77b4"), alt.value("white")))
    chart = (line + points).properties(height=220, title=alt.TitleParams(f"{label} ({unit})", anchor="start"))
    with cols[i % 2]:
        st.altair_chart(chart, width="stretch")
        st.caption(meaning)
        if metric == "dm_share":
            st.caption("Workspace-wide: channel and team filters do not apply to DM share.")
            ui.caption_dms()
        if metric == "good_pr_share" and not queries.has_prs():
            st.caption(ui.NO_PRS)

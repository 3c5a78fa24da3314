"""PR payoff: do better descriptions go with fewer review rounds and faster merges here?"""

from __future__ import annotations

import altair as alt
import streamlit as st

from dashboard import queries, ui

MIN_BAND_PRS = 5  # a band with fewer PRs is shown faded and never quoted in a sentence

st.title("PR payoff")
st.caption("Review rounds, time to first review and time to merge by description-quality band "
           "(medians; PRs by people, out of draft). The practice: the description says why, links "
           "the issue, calls out risk and says how to test.")
ui.require_data()

f = ui.filters()
payoff = queries.pr_payoff(f)
if payoff is None or not queries.has_prs():
    st.info(ui.NO_PRS)
    st.stop()
if payoff["prs"].sum() == 0:
    st.info("No pull requests in this selection.")
    st.stop()

gap = queries.pr_merge_gap(f)
if gap is not None and not gap.is_empty():
    good, thin, sooner = gap.row(0)
    if good >= MIN_BAND_PRS and thin >= MIN_BAND_PRS and sooner is not None:
        st.success(f"On this team, PRs with good descriptions (quality 70–100, {good} PRs) merge "
                   f"{ui.hours(abs(sooner))} {'sooner' if sooner >= 0 else 'later'} than thin ones "
                   f"(0–39, {thin} PRs), at the median.")
    else:
        st.caption(f"Too few PRs to compare good and thin descriptions ({good} and {thin}; "
                   f"{MIN_BAND_PRS} each are needed).")

charts = [("median_review_rounds", "Review rounds", ".1f"),
          ("median_time_to_first_review_hours", "Hours to first review", ".0f"),
          ("median_time_to_merge_hours", "Hours to merge", ".0f")]
cols = st.columns(3)
for col, (field, title, fmt) in zip(cols, charts, strict=True):
    base = alt.Chart(payoff).encode(
        x=alt.X("quality_band:N", title="description quality", sort=list(queries.BANDS)),
        y=alt.Y(f"{field}:Q", title=title),
        tooltip=["quality_band:N", "prs:Q", "merged_prs:Q", alt.Tooltip(f"{field}:Q", format=fmt)])
    bars = base.mark_bar().encode(
        opacity=alt.condition(f"datum.prs >= {MIN_BAND_PRS}", alt.value(1.0), alt.value(0.3)))
    counts = base.mark_text(dy=-8).encode(text=alt.Text("n:N")).transform_calculate(
        n="'n = ' + datum.prs")
    with col:
        st.altair_chart((bars + counts).properties(title=title, height=260), width="stretch")
st.caption(f"n = PRs in the band; faded bands have fewer than {MIN_BAND_PRS} and say little.")
ui.frame(payoff, column_config={
    "quality_band": "Quality band", "prs": "PRs", "merged_prs": "Merged",
    "median_review_rounds": st.column_config.NumberColumn("Review rounds", format="%.1f"),
    "median_time_to_first_review_hours": st.column_config.NumberColumn("First review (h)", format="%.1f"),
    "median_time_to_merge_hours": st.column_config.NumberColumn("Merge (h)", format="%.1f")})

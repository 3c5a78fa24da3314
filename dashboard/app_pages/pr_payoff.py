"""PR payoff: do better descriptions go with fewer review rounds and faster merges here?"""

from __future__ import annotations

import altair as alt
import polars as pl
import streamlit as st

from dashboard import pr_sizes, queries, ui
from pipelines.settings import get_settings

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

# --- at the same size, where PRs wait, who reviews ---------------------------------------------
by_size = queries.pr_payoff_by_size(f)
if by_size is not None:
    st.subheader("At the same size")
    st.write(pr_sizes.size_sentence(by_size, MIN_BAND_PRS))
    size = st.segmented_control("Size band (lines changed)", list(queries.SIZE_BANDS), default="S",
                                help="XS < 10, S < 100, M < 400, L < 1000, XL 1000 or more "
                                     "(additions + deletions)")
    cell = by_size.filter(pl.col("size_band") == (size or "S"))
    ui.frame(cell.drop("size_band"), column_config={
        "quality_band": "Quality band", "prs": "PRs", "picked_up_prs": "Picked up",
        "median_review_rounds": st.column_config.NumberColumn("Review rounds", format="%.1f"),
        "median_pickup_hours": st.column_config.NumberColumn("Pickup (h)", format="%.1f"),
        "median_pickup_work_hours": st.column_config.NumberColumn("Pickup, reviewer's hours", format="%.1f")})
    missing = queries.coverage_note("github", "PRs without a size")
    if missing and not missing.startswith("every PR"):
        st.caption(f"Not sized: {missing}.")

    st.subheader("Where PRs wait")
    work = st.toggle("In the waiting person's working hours", value=True,
                     help="Pickup in the first reviewer's hours, review in the approver's, merge in the author's.")
    phases = queries.pr_phases_weekly(f, work)
    if phases is not None and not phases.is_empty():
        chart = alt.Chart(phases).mark_bar().encode(
            x=alt.X("week:T", title="week merged"),
            y=alt.Y("median_hours:Q", title="median hours", stack="zero"),
            color=alt.Color("phase:N", sort=["pickup", "review", "merge"], title="phase"),
            order=alt.Order("phase_order:Q"),
            tooltip=["week:T", "phase:N", alt.Tooltip("median_hours:Q", format=".1f"), "prs:Q"])
        st.altair_chart(chart.properties(height=260), width="stretch")
        st.caption("Medians of the PRs merged each week, phase by phase (they need not add up to "
                   "the median cycle). Pickup: ready → first review; review: → last approval; "
                   "merge: → merged.")
    else:
        st.caption("No merged PR with a review in this selection.")

    load = queries.review_load(f)
    if load is not None and not load.is_empty():
        st.subheader("Review load")
        min_size = get_settings().min_group_size
        ui.frame(pr_sizes.review_load_rows(load, min_size), column_config={
            "team": "Team", "team_reviewers": "Reviewers", "reviewer": "Reviewer", "reviews": "Reviews",
            "first_reviews": "First reviews",
            "median_pickup_hours": st.column_config.NumberColumn("Pickup given (h)", format="%.1f"),
            "median_pickup_work_hours": st.column_config.NumberColumn("in their hours", format="%.1f"),
            "note": "Note"})
        st.caption(f"Reviews given on others' PRs (bots' reviews never count). Teams with fewer than "
                   f"{min_size} reviewers in the selection are not shown person by person.")

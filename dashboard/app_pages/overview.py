"""Overview: the headline numbers for the last complete week, the change from the week
before, and what each means."""

from __future__ import annotations

import streamlit as st

from dashboard import queries, ui

st.title("asyncpulse")
st.caption("How well does this team work asynchronously?")
ui.require_data()

f = ui.filters()
numbers = queries.headline(f)
if numbers is None or numbers.is_empty():
    st.info("Nothing in this date range, channel and team selection: widen the filters in the sidebar.")
    st.stop()

week, complete = numbers["week"][0], numbers["is_complete"][0]
st.subheader(ui.week_text(week) + ("" if complete else " (partial: no complete week in range)"))
st.caption("Each number is for that week (Monday to Sunday, UTC); the change is against the week before.")

for i, (metric, _, _, value, _, change) in enumerate(numbers.iter_rows()):
    if i % 3 == 0:
        cols = st.columns(3)  # a row of three, read left to right
    label, meaning, lower_is_better = ui.METRICS[metric]
    with cols[i % 3]:
        st.metric(label, ui.value_text(metric, value), ui.delta_text(metric, change),
                  delta_color="inverse" if lower_is_better else "normal", border=True)
        st.caption(meaning)
        if metric == "dm_share":
            ui.caption_dms()
        if metric == "median_pr_quality" and value is None and not queries.has_prs():
            st.caption(ui.NO_PRS)
ui.caption_unknown_tz()

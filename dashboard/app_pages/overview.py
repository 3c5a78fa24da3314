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
st.caption("Each number is for that 7-day week (Monday to Sunday, UTC) and the threads opened, openers "
           "written and PRs opened in it; the change is against the week before, grey when there is none. "
           "DM share is of all the week's messages, workspace-wide.")

for i, row in enumerate(numbers.iter_rows(named=True)):
    if i % 3 == 0:
        cols = st.columns(3)  # a row of three, read left to right
    metric = row["metric"]
    with cols[i % 3]:
        ui.metric_card(metric, row["value"], row["change"], ui.covers_text(metric, row["n"], row["hits"]))
        st.caption(ui.METRICS[metric][1])
        if metric == "dm_share":
            ui.caption_dms()
        if metric == "good_pr_share" and row["value"] is None and not queries.has_prs():
            st.caption(ui.NO_PRS)
ui.caption_unknown_tz()

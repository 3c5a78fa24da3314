"""Coverage: what the loaded data can and cannot tell, and the history of loads."""

from __future__ import annotations

import streamlit as st

from dashboard import privacy, queries, ui

st.title("Coverage")
st.caption("What the loaded data can and cannot tell. Figures that depend on a row here say so "
           "where they are shown.")
ui.require_data()

coverage = queries.coverage()
if coverage is not None:
    st.table(privacy.redact(coverage).rename(
        {"source": "Source", "item": "What", "value": "Value", "note": "Note"}))
ui.caption_dms()
ui.caption_unknown_tz()
if not queries.has_prs():
    st.caption(ui.NO_PRS)

st.subheader("Loads")
history = queries.load_history()
if history is not None:
    ui.frame(history, column_config={
        "started_at": st.column_config.DatetimeColumn("Started (UTC)", format="D MMM YYYY HH:mm")})

"""Overview: what is loaded so far (the metric pages arrive with the metrics)."""

from __future__ import annotations

import streamlit as st

from dashboard import queries

st.title("asyncpulse")
st.caption("How well does this team work asynchronously?")

history = queries.load_history()
if history is None or history.is_empty():
    st.info(
        "No data loaded yet. Load a Slack export with "
        "`asyncpulse ingest slack export.zip` and `asyncpulse build`, "
        "or try `asyncpulse demo`."
    )
    st.stop()

counts = queries.message_counts()
if counts is not None and not counts.is_empty():
    cols = st.columns(len(counts))
    for col, row in zip(cols, counts.iter_rows(named=True), strict=True):
        col.metric(f"{row['conversation_type']} messages", f"{row['human_messages']:,}")
    st.dataframe(counts, hide_index=True)
else:
    st.warning("Data is loaded but not built yet: run `asyncpulse build`.")

st.subheader("Loads")
st.dataframe(history, hide_index=True)

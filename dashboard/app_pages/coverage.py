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
if history is not None and not history.is_empty():
    ui.markdown_table([
        {"Started (UTC)": f"{r['started_at']:%d %b %Y %H:%M}", "Source": r["source"], "Status": r["status"],
         "Files read / skipped": f"{r['files_read']} / {r['files_skipped']}",
         "Rows added / replaced": f"{r['rows_added']:,} / {r['rows_replaced']:,}",
         "Problems": str(r["problems"] or 0),
         # a path breaks after each slash, so a long one wraps instead of widening the table
         "Path": ui.md(r["path"]).replace("/", "/\u200b")}
        for r in privacy.redact(history).iter_rows(named=True)])

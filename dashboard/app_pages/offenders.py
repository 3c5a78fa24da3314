"""Worst offenders: the threads that cost the most waiting and the PRs with the thinnest
descriptions — the numbers, a link back and the replay first, then why each ranks and what
would have helped that one."""

from __future__ import annotations

import streamlit as st

from dashboard import privacy, queries, ui

ROWS = (20, 50, 100, 200)

st.title("Worst offenders")
ui.require_data()
f = ui.filters()
rows = st.segmented_control("Rows", ROWS, default=ROWS[0], key="offender_rows",
                            help="How many threads and pull requests to list.") or ROWS[0]

st.header("Threads")
st.caption("Ranked by hours spent waiting on timezone bounces, then by length.")
threads = queries.worst_threads(f, rows)
if threads is None or threads.is_empty():
    st.info("No thread in this selection bounced, ran three rounds or reached ten messages.")
else:
    shown = privacy.redact(threads)
    table = [
        {"Waiting": ui.hours(r["bounce_wait_hours"]) if r["bounces"] else "—",
         "Bounces": str(r["bounces"]), "Messages": str(r["messages"]),
         "Open": " · ".join(([ui.link(r["url"], "open ↗")] if r["url"] else []) + [ui.link(r["replay"], "replay")]),
         "Where, when (UTC)": f"{ui.md(r['channel'])}, {r['started_at']:%d %b %Y %H:%M}",
         "Why it ranks": ui.md(r["why"]), "What would have helped": ui.md(r["would_have_helped"])}
        for r in shown.iter_rows(named=True)]
    ui.markdown_table(table)
    st.download_button("Download these threads (CSV)", data=shown.drop("replay").write_csv(),
                       file_name="worst_threads.csv", mime="text/csv", icon=":material/download:",
                       help="The rows above, every column; with names hidden when the switch is on.")
    if threads.filter(source="slack")["url"].null_count() > 0:
        st.caption("Slack links need the workspace URL: set `ASYNCPULSE_SLACK_WORKSPACE_URL="
                   "https://<workspace>.slack.com` (or `slack_workspace_url` in asyncpulse.toml) and rebuild.")
    choices = dict(threads.select("thread_id", "why").iter_rows())
    pick = st.selectbox("Replay a thread message by message", list(choices),
                        format_func=lambda t: privacy.scrub(choices[t]) or t, key="offender_pick")
    if st.button("Open the replay", type="primary"):
        st.session_state["replay_request"] = pick
        st.switch_page("app_pages/replay.py", query_params={"thread": pick})

st.header("Pull requests")
st.caption("Ranked by the lowest description quality, then the most review rounds "
           "(PRs by people, out of draft).")
prs = queries.worst_pull_requests(f, rows)
if prs is None or not queries.has_prs():
    st.info(ui.NO_PRS)
elif prs.is_empty():
    st.info("No pull requests in this selection.")
else:
    shown = privacy.redact(prs)
    table = [
        {"Quality": f"{r['quality']}/100", "Review rounds": str(r["review_rounds"]),
         "PR": ui.link(r["url"], f"{r['repo']}#{r['number']} ↗"),
         "Title": ui.md(r["title"]), "Author": ui.md(r["author"]),
         "What would have helped": ui.md(r["would_have_helped"])}
        for r in shown.iter_rows(named=True)]
    ui.markdown_table(table)
    st.download_button("Download these pull requests (CSV)", data=shown.write_csv(),
                       file_name="worst_pull_requests.csv", mime="text/csv", icon=":material/download:",
                       help="The rows above, every column; with names and titles hidden when the switch is on.")

"""Worst offenders: the threads that cost the most waiting and the PRs with the thinnest
descriptions — why each ranks, a link back, and the practice that would have helped."""

from __future__ import annotations

import streamlit as st

from dashboard import privacy, queries, ui

st.title("Worst offenders")
ui.require_data()
f = ui.filters()

st.header("Threads")
st.caption("Ranked by hours spent waiting on timezone bounces, then by length.")
threads = queries.worst_threads(f)
if threads is None or threads.is_empty():
    st.info("No thread in this selection bounced, ran three rounds or reached ten messages.")
else:
    ui.frame(
        threads.select("channel", "started_at", "why", "would_have_helped", "messages", "bounces",
                       "bounce_wait_hours", "url", "replay"),
        column_config={
            "channel": "Where",
            "started_at": st.column_config.DatetimeColumn("Started (UTC)", format="D MMM YYYY HH:mm"),
            "why": st.column_config.TextColumn("Why it ranks", width="large"),
            "would_have_helped": st.column_config.TextColumn("What would have helped", width="large"),
            "bounce_wait_hours": st.column_config.NumberColumn("Waiting (h)", format="%.0f"),
            "url": st.column_config.LinkColumn("Link", display_text="open ↗"),
            "replay": st.column_config.LinkColumn("Replay", display_text="replay"),
        },
    )
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
prs = queries.worst_pull_requests(f)
if prs is None or not queries.has_prs():
    st.info(ui.NO_PRS)
elif prs.is_empty():
    st.info("No pull requests in this selection.")
else:
    ui.frame(
        prs.select("repo", "number", "title", "author", "why", "would_have_helped", "quality",
                   "review_rounds", "url"),
        column_config={
            "number": st.column_config.NumberColumn("PR", format="#%d"),
            "why": st.column_config.TextColumn("Why it ranks", width="large"),
            "would_have_helped": st.column_config.TextColumn("What would have helped", width="large"),
            "quality": st.column_config.ProgressColumn("Quality", min_value=0, max_value=100, format="%d"),
            "review_rounds": "Review rounds",
            "url": st.column_config.LinkColumn("Link", display_text="GitHub ↗"),
        },
    )

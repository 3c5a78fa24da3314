"""Agreements: the working agreements in force, their breaches week by week, what is still
open, and the latest weekly digest as it was sent."""

from __future__ import annotations

import altair as alt
import streamlit as st

from dashboard import privacy, queries, ui

st.title("Agreements")
st.caption("What the team agreed (first review within N working hours, an ask answered, a call "
           "after three strikes, few bounces, DM / low-context / after-hours shares under a limit) "
           "and every time it did not happen. Set them in asyncpulse.toml as [[agreement]] tables.")
ui.require_data()
f = ui.filters()

agreed = queries.agreements()
if agreed is None:
    st.info("This database was built before working agreements existed: run `asyncpulse build`.")
    st.stop()
st.subheader("In force")
ui.frame(agreed, column_config={"name": "Agreement", "kind": "Rule", "unit": "Threshold in",
                                "threshold": "Threshold", "team": "Team (blank: every team)"})

st.subheader("Breaches week by week")
weekly = queries.breaches_by_week(f)
if weekly is None or weekly.is_empty():
    st.info("No breaches in this selection.")
else:
    st.altair_chart(
        alt.Chart(weekly).mark_bar().encode(
            x=alt.X("week:T", title="Week (Monday, UTC)"),
            y=alt.Y("breaches:Q", title="Breaches"),
            color=alt.Color("agreement:N", title="Agreement"),
            tooltip=["week:T", "agreement:N", "breaches:Q"],
        ),
        width="stretch",
    )
    st.caption("A breach counts in the week it broke; a share in the week it measures. "
               "`asyncpulse agreements --preview` gives the same counts for a threshold not yet on.")

st.subheader("Still open, oldest first")
still = queries.open_breaches(f)
if still is None or still.is_empty():
    st.info("Nothing open: every breach in this selection has been answered, reviewed or settled.")
else:
    ui.frame(still.select("agreement", "team", "subject", "opened_at", "value", "threshold", "url"),
             column_config={
                 "agreement": "Agreement", "team": "Team", "subject": "Where", "threshold": "Threshold",
                 "opened_at": st.column_config.DatetimeColumn("Waiting since (UTC)", format="D MMM YYYY HH:mm"),
                 "value": st.column_config.NumberColumn("Value", format="%.2f"),
                 "url": st.column_config.LinkColumn("Link", display_text="open ↗"),
             })

st.subheader("The latest digest, as it was sent")
sent = queries.latest_digest()
if sent is None or sent.is_empty():
    st.caption("No digest sent yet: add a [[delivery]] table (a folder, e-mail or a Slack webhook) "
               "and the nightly run or `asyncpulse schedule` sends each team's at 09:00 its time.")
elif privacy.is_on():
    st.info("The digest as it was sent names people and pull requests: turn off "
            "“Hide names and message text” to read it.")
else:
    team, week, channel, sent_at, digest = sent.row(0)
    st.caption(f"{team}, week of {week:%d %b %Y}, sent by {channel} at {sent_at:%d %b %Y %H:%M} UTC.")
    with st.container(border=True):
        st.markdown(digest)

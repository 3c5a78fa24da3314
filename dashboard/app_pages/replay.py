"""Thread replay: one thread message by message, each in its author's local time, with every
participant's working hours drawn so the waits between them are visible."""

from __future__ import annotations

import altair as alt
import streamlit as st

from dashboard import privacy, queries, ui

st.title("Thread replay")
ui.require_data()

choices = queries.thread_choices(ui.filters())
labels = {} if choices is None else dict(choices.iter_rows())
# Asked for by the worst-offenders page (session state) or by a link (?thread=...).
asked = st.session_state.pop("replay_request", None) or st.query_params.get("thread")
if asked and asked not in labels:  # a link from elsewhere to a thread outside the filters
    found = queries.thread_summary(asked)
    if found is not None and not found.is_empty():
        labels = {asked: f"{found['conversation_id'][0]} · {found['started_at'][0]:%d %b %Y}", **labels}
if not labels:
    st.info("No threads in this selection: widen the filters in the sidebar.")
    st.stop()

if asked in labels:
    st.session_state["thread"] = asked
thread_id = st.selectbox("Thread (worst first)", list(labels), key="thread", bind="query-params",
                         format_func=lambda t: labels.get(t, t))
summary = queries.thread_summary(thread_id)
messages = queries.thread_messages(thread_id)
bands = queries.thread_working_hours(thread_id)
handoffs = queries.thread_handoffs(thread_id)
if summary is None or summary.is_empty() or messages is None or bands is None or handoffs is None:
    st.info("This thread is not in the database (any more).")
    st.stop()

row = summary.row(0, named=True)
cols = st.columns(5)
cols[0].metric("Messages", row["messages"])
cols[1].metric("People", row["participants"])
cols[2].metric("Span", ui.hours(row["span_hours"]))
cols[3].metric("Bounces", row["bounces"])
cols[4].metric("Waiting on bounces", ui.hours(row["bounce_wait_hours"]))
if row["url"]:
    st.link_button("Open in " + ("GitHub" if row["source"] == "github" else "Slack"), row["url"])
elif row["source"] == "slack":
    st.caption("No Slack link: set `ASYNCPULSE_SLACK_WORKSPACE_URL` and rebuild.")

st.subheader("Timeline (UTC)")
st.caption("One lane per person. Shaded: their working hours. Dots: messages (hollow: sent outside "
           "the author's hours). Lines: each handoff, red when it bounced to someone off the clock.")
messages, bands, handoffs = privacy.redact(messages), privacy.redact(bands), privacy.redact(handoffs)
order = messages["person"].unique(maintain_order=True).to_list()
lanes = alt.Y("person:N", title=None, sort=order)
band_layer = alt.Chart(bands).mark_bar(opacity=0.25, color="#2ca02c", height=26).encode(
    x=alt.X("start_at:T", title=None), x2="end_at:T", y=lanes,
    tooltip=[alt.Tooltip("person:N"), alt.Tooltip("tz:N", title="timezone"),
             alt.Tooltip("start_at:T", title="works from (UTC)", format="%a %d %b %H:%M"),
             alt.Tooltip("end_at:T", title="until (UTC)", format="%a %d %b %H:%M")])
rule_layer = alt.Chart(handoffs).mark_rule(strokeWidth=2).encode(
    x="t_a:T", x2="t_b:T", y=alt.Y("person_a:N", sort=order), y2="person_b:N",
    color=alt.condition(alt.datum.is_bounce, alt.value("#d62728"), alt.value("#7f7f7f")),
    tooltip=[alt.Tooltip("person_a:N", title="from"), alt.Tooltip("person_b:N", title="to"),
             alt.Tooltip("wait_hours:Q", title="waited (h)", format=".1f"),
             alt.Tooltip("is_bounce:N", title="bounce")])
point_layer = alt.Chart(messages.select("sent_at", "person", "local_time", "in_hours")).mark_point(
    size=90, filled=True).encode(
    x="sent_at:T", y=lanes,
    fill=alt.condition(alt.datum.in_hours, alt.value("#1f77b4"), alt.value("white")),
    stroke=alt.value("#1f77b4"),
    tooltip=[alt.Tooltip("person:N"), alt.Tooltip("local_time:N", title="their time")])
st.altair_chart((band_layer + rule_layer + point_layer).properties(height=60 + 45 * row["participants"]),
                width="stretch")
ui.caption_unknown_tz()

st.subheader("Messages")
ui.frame(messages.select("local_time", "person", "text", "in_hours"),
         column_config={"local_time": "Author's local time", "person": "Who",
                        "text": st.column_config.TextColumn("Message", width="large"),
                        "in_hours": st.column_config.CheckboxColumn("In their hours")})

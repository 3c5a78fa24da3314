"""Thread replay: one thread message by message, each in its author's local time, with every
participant's working hours drawn so the waits between them are visible."""

from __future__ import annotations

import altair as alt
import polars as pl
import streamlit as st

from dashboard import privacy, queries, ui

st.title("Thread replay")
ui.require_data()

choices = queries.thread_choices(ui.filters())
labels = {} if choices is None else dict(choices.iter_rows())
# Asked for by the worst-offenders page (session state) or by a link (?thread=<thread id>).
# The address is written back below on every run: it is a new request only when it differs
# from the thread this session last showed (a link followed, an address edited).
asked = st.session_state.pop("replay_request", None)
if asked is None and st.query_params.get("thread") != st.session_state.get("_replay_shown"):
    asked = st.query_params.get("thread")
missing = False
if asked and asked not in labels:  # a link from elsewhere to a thread outside the filters
    found = queries.thread_summary(asked)
    if found is not None and not found.is_empty():
        labels = {asked: f"{found['conversation_id'][0]} · {found['started_at'][0]:%d %b %Y}", **labels}
    else:
        missing = True
        st.session_state["_replay_shown"] = asked  # said once: a pick after this is not that link
        st.error(f"Thread not found: {privacy.scrub(asked)}. It is not in this database (any more); "
                 "pick one below.")
if not labels:
    st.info("No threads in this selection: widen the filters in the sidebar.")
    st.stop()

if asked in labels:
    st.session_state["thread"] = asked
picked = st.selectbox("Thread (worst first)", list(labels), key="thread", index=None if missing else 0,
                      format_func=lambda t: privacy.scrub(labels.get(t, t)) or t,
                      placeholder="Pick a thread")
if picked is None:
    st.stop()
thread_id: str = picked
st.query_params["thread"] = thread_id  # the address names the thread shown: reload or share it
st.session_state["_replay_shown"] = thread_id
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
when = "local_clock" if privacy.is_on() else "local_time"  # a city narrows down who wrote
if privacy.is_on():
    bands = bands.with_columns(tz=pl.lit(privacy.HIDDEN))
order = messages["person"].unique(maintain_order=True).to_list()
lanes = alt.Y("person:N", title=None, sort=order)
band_layer = alt.Chart(bands).mark_bar(opacity=0.25, color="#2ca02c", height=26).encode(
    x=alt.X("start_at:T", title="UTC", axis=alt.Axis(format="%a %d %b %H:%M", labelAngle=0,
                                                      labelOverlap=True, tickCount=6)),
    x2="end_at:T", y=lanes,
    tooltip=[alt.Tooltip("person:N"), alt.Tooltip("tz:N", title="timezone"),
             alt.Tooltip("start_at:T", title="works from (UTC)", format="%a %d %b %H:%M"),
             alt.Tooltip("end_at:T", title="until (UTC)", format="%a %d %b %H:%M")])
rule_layer = alt.Chart(handoffs).mark_rule(strokeWidth=2).encode(
    x="t_a:T", x2="t_b:T", y=alt.Y("person_a:N", sort=order), y2="person_b:N",
    color=alt.condition(alt.datum.is_bounce, alt.value("#d62728"), alt.value("#7f7f7f")),
    tooltip=[alt.Tooltip("person_a:N", title="from"), alt.Tooltip("person_b:N", title="to"),
             alt.Tooltip("wait_hours:Q", title="waited (h)", format=".1f"),
             alt.Tooltip("is_bounce:N", title="bounce")])
point_layer = alt.Chart(messages.select("sent_at", "person", pl.col(when).alias("local_time"), "in_hours")).mark_point(
    size=90, filled=True).encode(
    x="sent_at:T", y=lanes,
    fill=alt.condition(alt.datum.in_hours, alt.value("#1f77b4"), alt.value("white")),
    stroke=alt.value("#1f77b4"),
    tooltip=[alt.Tooltip("person:N"), alt.Tooltip("local_time:N", title="their time")])
st.altair_chart((band_layer + rule_layer + point_layer).properties(height=60 + 45 * row["participants"]),
                width="stretch")
ui.caption_unknown_tz()

st.subheader("Messages")
st.caption("Each message whole, in its author's local time" + (" (the place hidden)" if privacy.is_on() else "")
           + "; ○ marks one sent outside the author's working hours.")
names = queries.slack_names()
if privacy.is_on():
    pseudonyms = privacy.redact(pl.DataFrame({"person": list(names)}))["person"].to_list() if names else []
    names = dict(zip(names, pseudonyms, strict=True))
for i, m in enumerate(messages.iter_rows(named=True)):
    with st.container(border=True, key=f"message-{i}"):
        st.markdown(f"**{ui.md(m['person'])}** · {ui.md(m[when])}"
                    + ("" if m["in_hours"] is not False else " · ○ outside their hours"))
        if m["text"] == privacy.HIDDEN or row["source"] == "github":
            st.markdown(ui.github_markdown(m["text"]))
        else:
            st.markdown(ui.slack_markdown(m["text"], names))

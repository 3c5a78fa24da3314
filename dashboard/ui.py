"""What every page shares: the sidebar (filters, privacy switch, data as of), empty states,
number formatting for people, and the one-line meaning of each metric (the practice behind it, as docs/metrics.md explains)."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

import polars as pl
import streamlit as st

from dashboard import privacy, queries

NO_DATA = (
    "No data loaded yet. Load a Slack export with `asyncpulse ingest slack export.zip` and "
    "`asyncpulse build` (and GitHub pull requests with `asyncpulse ingest github prs.json`), "
    "or try `asyncpulse demo`."
)
NOT_BUILT = "Data is loaded but not built yet: run `asyncpulse build`."
NO_PRS = ("No pull requests loaded yet: `asyncpulse ingest github prs.json` (see the README for "
          "`gh` and `gh api` exports), then `asyncpulse build`.")

# Metric: (label, one line on what it means and the practice behind it, lower is better?)
METRICS: dict[str, tuple[str, str, bool]] = {
    "ping_pong_threads": (
        "Ping-pong threads",
        "Threads with two or more timezone bounces — a thirty-second exchange that takes days. "
        "Frontload context so one reply resolves it.", True),
    "bounce_wait_hours": (
        "Waiting on bounces",
        "Hours spent waiting for the other timezone to wake up. A default path forward "
        "(\"if I don't hear back by your morning, I'll go with X\") removes them.", True),
    "dm_share": (
        "DM share",
        "Share of messages in DMs and group DMs, where decisions are invisible to everyone else. "
        "Default to public channels.", True),
    "low_context_share": (
        "Low-context openers",
        "Share of conversation openers that are just \"hey, quick question\". "
        "A 3W message says what, why and what I need.", True),
    "good_pr_share": (
        "PRs with good descriptions",
        "Share of pull requests whose description scores 70 or more of 100: says why, links the "
        "issue, calls out risk, says how to test, screenshots for UI.",
        False),
    "median_first_reply_work_hours": (
        "Median first reply (working hours)",
        "Time to the first reply counted in the replier's own working hours. "
        "Batching: channel messages expect a reply in 4–8 hours.", True),
}


# --- formatting for people ---------------------------------------------------------------------


def hours(h: float | None) -> str:
    """Return hours as people say them: '25 min', '3.5 h', '41 h', '2.3 days'."""
    if h is None or (isinstance(h, float) and math.isnan(h)):
        return "—"
    if abs(h) < 1:
        return f"{h * 60:.0f} min"
    if abs(h) < 10:
        return f"{h:.1f} h"
    if abs(h) < 48:
        return f"{h:.0f} h"
    return f"{h / 24:.1f} days"


def pct(x: float | None) -> str:
    """Return a share as a percentage."""
    return "—" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x * 100:.0f}%"


def value_text(metric: str, v: float | None) -> str:
    """Return a headline metric's value formatted for its kind."""
    if v is None:
        return "—"
    if metric.endswith("_share"):
        return pct(v)
    if metric.endswith("_hours"):
        return hours(v)
    return f"{v:,.0f}"


def delta_text(metric: str, d: float | None) -> str | None:
    """Return a week-over-week change with its sign, or None when there is nothing to compare.

    A change that rounds to nothing has no sign ("0 pts"): it is neither better nor worse.
    """
    if d is None or (isinstance(d, float) and math.isnan(d)):
        return None
    if metric.endswith("_share"):
        size = f"{abs(d) * 100:.0f} pts"
    elif metric.endswith("_hours"):
        size = hours(abs(d))
    elif metric.endswith("_per_day"):
        size = f"{abs(d):.1f}"
    else:
        size = f"{abs(d):,.0f}"
    if not re.search(r"[1-9]", size):
        return size
    return ("+" if d > 0 else "-") + size


def is_no_change(delta: str | None) -> bool:
    """Return whether a delta_text says the figure did not move (shown grey, without an arrow)."""
    return delta is not None and not delta.startswith(("+", "-"))


def metric_card(metric: str, value: float | None, change: float | None, covers: str | None = None) -> None:
    """Draw one headline: its value, the change (grey when zero) and what its figure covers."""
    label, _, lower_is_better = METRICS[metric]
    delta = delta_text(metric, change)
    still = is_no_change(delta)
    st.metric(label, value_text(metric, value), delta,
              delta_color="off" if still else "inverse" if lower_is_better else "normal",
              delta_arrow="off" if still else "auto", delta_description=covers, border=True)


def covers_text(metric: str, n: int | None, hits: int | None) -> str:
    """Return, short enough for its card, what a week's headline covers: "of 11 threads",
    "over 11 threads" (a sum), "2 of 3 PRs at 70+", "all messages" (DM share, workspace-wide)."""
    basis = queries.BASIS.get(metric)
    if basis is None:
        return "all messages"
    count = int(n or 0)
    noun = {"threads": "thread", "openers": "opener", "prs": "PR"}[basis]
    nouns = noun + ("" if count == 1 else "s")
    if metric == "good_pr_share":
        return f"{int(hits or 0)} of {count} {nouns} at {queries.GOOD_QUALITY}+"
    if metric == "bounce_wait_hours":
        return f"over {count} {nouns}"
    if metric == "median_first_reply_work_hours":
        return f"median of {count} {nouns}"
    return f"of {count} {nouns}"


def week_text(d: date) -> str:
    return f"Week of {d:%d %b %Y}"


# --- state, filters and the sidebar ------------------------------------------------------------


def require_data() -> None:
    """Show what to load and stop the page unless the database is built."""
    s = queries.state()
    if s in ("missing", "empty"):
        st.info(NO_DATA)
        st.stop()
    if s == "unbuilt":
        st.warning(NOT_BUILT)
        st.stop()


def filters() -> queries.Filters:
    """Return the sidebar's filters for this run."""
    f = st.session_state.get("_filters")
    return f if isinstance(f, queries.Filters) else queries.Filters()


def sidebar() -> None:
    """Draw the sidebar every page shares: filters, the privacy switch and what the data is."""
    with st.sidebar:
        st.toggle("Hide names and message text", key=privacy.KEY,
                  help="Names become stable pseudonyms (Person 7) and message text is hidden, on every page.")
        if queries.state() == "built":
            _filter_widgets()
        _data_as_of()


def _filter_widgets() -> None:
    bounds = queries.date_bounds()
    first, last = (None, None) if bounds is None or bounds.is_empty() else bounds.row(0)
    start = end = None
    if first is not None and last is not None:
        picked = st.date_input("Dates (UTC)", value=(first, last), min_value=first, max_value=last,
                               key="f_dates")
        if isinstance(picked, tuple | list) and len(picked) == 2:
            start, end = picked
        elif isinstance(picked, tuple | list) and len(picked) == 1:
            start = picked[0]
    channels = queries.channel_options()
    labels = {} if channels is None else dict(channels.iter_rows())
    chosen = st.multiselect("Channels and repositories", list(labels), key="f_channels",
                            format_func=lambda c: privacy.scrub(labels.get(c, c)) or c, placeholder="All",
                            help="Only threads, openers and pull requests in these count. "
                                 "DM share is workspace-wide.")
    teams, small = queries.team_options()
    chosen_teams = st.multiselect("Teams", teams, key="f_teams", placeholder="All",
                                  help="Teams from the people file: threads they opened, openers they "
                                       "wrote, pull requests they authored.") if teams else []
    if small:
        st.caption(f"Not offered, under {queries.min_group_size()} people: "
                   + ", ".join(small))
    st.session_state["_filters"] = queries.Filters(start=start, end=end, channels=tuple(chosen),
                                                   teams=tuple(chosen_teams))


def _data_as_of() -> None:
    loads = queries.data_as_of()
    if loads is None or loads.is_empty():
        st.caption("Data as of: nothing loaded yet.")
        return
    loads = privacy.redact(loads)
    latest = loads["last_ok_at"].max()
    st.caption("Data as of " + (f"{latest:%d %b %Y %H:%M} UTC" if isinstance(latest, datetime)
                                else "— no successful load"))
    message, pr = queries.newest()
    if message is not None or pr is not None:
        st.caption(f"Newest message {message or '— none'}" + (f" · newest PR {pr}" if pr else ""))
    for source, last_ok, status, problems in loads.iter_rows():
        problems = str(problems or "")
        when = f"{last_ok:%d %b %H:%M}" if last_ok is not None else "never"
        st.caption(f"{source}: last good load {when} · latest {status}")
        if status in ("partial", "failed") or problems:
            st.warning(f"{source}: latest load {status}" + (f" — {problems}" if problems else ""))
    run = queries.last_run()
    if run is not None and not run.is_empty():
        finished, status, error, _ = run.row(0)
        st.caption(f"Last nightly run {finished:%d %b %H:%M} UTC · {status}")
        if status != "ok":
            st.error(f"The last nightly run failed and changed nothing: {privacy.scrub(error)}")


def caption_dms() -> None:
    """Say when DM figures cannot be measured (an export without DMs)."""
    if queries.coverage_flags().get("slack:direct messages present") == "no":
        st.caption("No DMs in this export (most Slack plans export public channels only): "
                   "DM share cannot be measured, it is not 0.")


def caption_unknown_tz() -> None:
    """Say who has no known timezone: they never bounce and have no working-hours figures."""
    flags = queries.coverage_flags()
    known = flags.get("people:people with a known timezone")
    if known is None:
        return
    n, _, total = known.partition(" of ")
    if n != total:
        note = privacy.scrub(queries.coverage_note("people", "people with a known timezone"))
        st.caption(f"Timezone known for {known} people; the others never count as bounces and "
                   f"have no working-hours figures. {note or ''}")


def frame(df: pl.DataFrame, column_config: Mapping[str, Any] | None = None) -> None:
    """Show a table, with names and text hidden when the privacy switch is on."""
    st.dataframe(privacy.redact(df), hide_index=True, column_config=column_config)


# --- tables that wrap to their page ------------------------------------------------------------

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+!|~$])")


def md(text: object) -> str:
    """Return `text` safe inside Markdown: its characters shown as written, on one line."""
    if text is None:
        return "—"
    return _MD_SPECIAL.sub(r"\\\1", " ".join(str(text).split()))


def link(url: str | None, text: str) -> str:
    """Return a Markdown link, or the text alone when there is no address."""
    return md(text) if not url else f"[{md(text)}]({str(url).replace(' ', '%20').replace(')', '%29')})"


def markdown_table(rows: list[dict[str, str]]) -> None:
    """Show rows of ready Markdown cells as a table whose text wraps to the page's width (a data
    grid scrolls sideways instead), with working links."""
    if not rows:
        return
    head = list(rows[0])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r[h] for h in head) + " |" for r in rows]
    st.markdown("\n".join(lines))


# --- Slack markup ------------------------------------------------------------------------------

_CODE = re.compile(r"```.*?```|`[^`\n]+`", re.DOTALL)
_ANGLE = re.compile(r"<([^<>\s][^<>]*)>")
_MD_TEXT = re.compile(r"([\\`*_\[\]()#+!|~$<>])")  # characters Markdown (or Streamlit's LaTeX) would read


def slack_markdown(text: str | None, names: Mapping[str, str]) -> str:
    """Return a Slack message as Markdown that shows what Slack shows.

    `<url|text>` and `<url>` become links, `<@U123>` the person's name from `names` (a
    pseudonym under the privacy switch), `<#C1|general>` "#general", `<!here>` "@here";
    *bold*, _italic_ and ~strike~ keep their meaning, code spans and blocks are shown as code,
    and any other character that Markdown would read is shown as written. Every line is kept.
    """
    if text is None:
        return "—"
    out: list[str] = []
    pos = 0
    for m in _CODE.finditer(text):
        out.append(_slack_plain(text[pos:m.start()], names))
        code = m.group(0)
        # a Slack block may sit on one line with text; a Markdown fence needs lines of its own
        out.append("\n```\n" + code[3:-3].strip("\n") + "\n```\n" if code.startswith("```") else code)
        pos = m.end()
    out.append(_slack_plain(text[pos:], names))
    return "".join(out)


def _slack_plain(text: str, names: Mapping[str, str]) -> str:
    import html

    pieces: list[str] = []
    pos = 0
    for m in _ANGLE.finditer(text):
        pieces.append(_slack_format(html.unescape(text[pos:m.start()])))
        pieces.append(_slack_token(html.unescape(m.group(1)), names))
        pos = m.end()
    pieces.append(_slack_format(html.unescape(text[pos:])))
    # a line break in Slack is a line break here (Markdown would join the lines)
    return "".join(pieces).replace("\n", "  \n")


def _slack_format(text: str) -> str:
    escaped = _MD_TEXT.sub(r"\\\1", text)
    escaped = re.sub(r"(?<![\w\\])\\\*(?=\S)(.+?)(?<=\S)\\\*(?!\w)", r"**\1**", escaped)  # *bold*
    escaped = re.sub(r"(?<![\w\\])\\_(?=\S)(.+?)(?<=\S)\\_(?!\w)", r"*\1*", escaped)      # _italic_
    escaped = re.sub(r"(?<![\w\\])\\~(?=\S)(.+?)(?<=\S)\\~(?!\w)", r"~~\1~~", escaped)    # ~strike~
    return escaped


def _slack_token(token: str, names: Mapping[str, str]) -> str:
    target, _, label = token.partition("|")
    if target.startswith("@"):
        who = names.get(target[1:]) or label or target[1:]
        return "**@" + md(who) + "**"
    if target.startswith("#"):
        return "#" + md(label or target[1:])
    if target.startswith("!"):
        word = label or target[1:].split("^")[0]
        return "**@" + md(word.removeprefix("subteam")) + "**"
    if re.match(r"(https?|mailto):", target):
        return f"[{md(label or target)}]({target.replace(' ', '%20').replace(')', '%29')})"
    return md("<" + token + ">")


def github_markdown(text: str | None) -> str:
    """Return a pull request's text (GitHub Markdown already) without its HTML comments (a
    template's hints) and with "$" shown as written (Streamlit would read it as LaTeX)."""
    if text is None:
        return "—"
    return re.sub(r"<!--.*?-->", "", text, flags=re.DOTALL).replace("$", "\\$").strip() or "—"

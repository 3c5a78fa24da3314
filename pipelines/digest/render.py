"""A team's weekly digest: gather it from the marts, render it as Markdown, HTML, text or
Slack Block Kit.

The figures all come from the marts (`marts.team_weekly`, `marts.agreement_breaches`,
`marts.threads`, `marts.pull_requests`, `marts.coverage`); this module only picks rows and
writes sentences. A team smaller than `min_group_size` gets no digest; with `private`,
names become the dashboard's pseudonyms and PR titles are hidden.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import duckdb
import polars as pl

from pipelines.settings import get_settings

OPEN_BREACHES_SHOWN = 10

# (column of marts.team_weekly, label, format, whether higher is better)
HEADLINES: tuple[tuple[str, str, str, bool | None], ...] = (
    ("messages", "Messages", "count", None),
    ("threads", "Threads started", "count", None),
    ("ping_pong_threads", "Ping-pong threads (2+ timezone bounces)", "count", False),
    ("escalations_overdue", "Threads past 3 strikes", "count", False),
    ("median_first_reply_work_hours", "Median first reply (working hours)", "hours", False),
    ("dm_share", "Share of messages in DMs", "share", False),
    ("low_context_share", "Low-context openers", "share", False),
    ("after_hours_share", "Messages after hours", "share", False),
    ("prs_opened", "Pull requests opened", "count", None),
    ("median_first_review_work_hours", "Median first review (working hours)", "hours", False),
    ("median_pr_quality", "Median PR description quality (0-100)", "count", True),
)

# What would have helped, in the practice's words (docs/metrics.md "Working agreements")
THREAD_HELP = {
    "escalation": "Three rounds without alignment: stop the thread, hold a 15-minute call, "
                  "write the outcome back into the thread",
    "ping_pong": "Frontload context so one reply resolves it; hand off with a default path "
                 "forward the other side may take without waiting",
    "undecided": "Write the outcome back into the thread (\"Decision: ...\")",
    "long": "Move the live back-and-forth into the overlap hours; summarise the outcome",
}
PR_HELP = {
    "has_why": "say WHY (the diff shows what)",
    "has_link": "link the issue",
    "has_testing": "say how to test",
    "has_risk": "call out risky changes so reviewers know where to look",
    "has_focus": "tell reviewers where to look hardest",
    "has_visuals": "show screenshots for the UI change",
    "has_body": "describe the change in a few sentences",
}


class DigestError(ValueError):
    """No digest for this team and week; the message says why."""


@dataclass
class Digest:
    """One team's week, gathered; render it with `markdown`, `html`, `text` or `blocks`."""

    team: str
    week: date
    headlines: list[dict[str, Any]]
    breaches: list[dict[str, Any]]
    more_breaches: int
    threads: list[dict[str, Any]]
    prs: list[dict[str, Any]]
    coverage: list[str]
    private: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        y, w, _ = self.week.isocalendar()
        return f"{y}-W{w:02d}"

    @property
    def title(self) -> str:
        end = self.week + timedelta(days=6)
        return f"asyncpulse digest: {self.team}, {self.label} ({_day(self.week)} - {_day(end)})"


def parse_week(text: str) -> date:
    """Return the Monday of an ISO week written '2024-W10'."""
    try:
        year, week = text.upper().split("-W")
        return date.fromisocalendar(int(year), int(week), 1)
    except ValueError:
        raise DigestError(f"week {text!r} is not an ISO week like 2024-W10") from None


def week_label(week: date) -> str:
    y, w, _ = week.isocalendar()
    return f"{y}-W{w:02d}"


def teams(con: duckdb.DuckDBPyConnection) -> list[tuple[str, int]]:
    """Return every team of the people file with its size."""
    return [(str(t), int(n)) for t, n in con.execute(
        "select team, count(*) from intermediate.int_people__matched where team is not null "
        "group by team order by team").fetchall()]


def latest_week(con: duckdb.DuckDBPyConnection, today: date) -> date:
    """The default week: the last full week before `today`, or the data's if that is earlier."""
    last_full = today - timedelta(days=today.weekday() + 7)
    (data_end,) = con.execute("""
        select greatest((select max(sent_at) from staging.stg_slack__messages),
                        (select max("at") from staging.stg_github__events))::date""").fetchall()[0]
    if data_end is None:
        return last_full
    # the last week whose Sunday the data reaches
    data_full = data_end + timedelta(days=1) - timedelta(days=(data_end + timedelta(days=1)).weekday() + 7)
    return min(last_full, data_full)


def gather(con: duckdb.DuckDBPyConnection, team: str, week: date, private: bool = False) -> Digest:
    """Collect `team`'s digest for the ISO week starting `week` (a Monday) from the marts."""
    sizes = dict(teams(con))
    if team not in sizes:
        known = ", ".join(sizes) or "none: the people file names no teams"
        raise DigestError(f"no team {team!r} (teams: {known})")
    minimum = get_settings().min_group_size
    if sizes[team] < minimum:
        raise DigestError(f"team {team!r} has {sizes[team]} people, under min_group_size "
                          f"{minimum}: no digest (a group that small is not shown)")
    weeks = con.sql(
        "select * from marts.team_weekly where team = ? and week in (?, ?) order by week desc",
        params=[team, week, week - timedelta(days=7)]).pl()
    this = weeks.filter(pl.col("week") == week)
    before = weeks.filter(pl.col("week") == week - timedelta(days=7))
    if this.is_empty():
        raise DigestError(f"no data for {week_label(week)} (the loaded history does not reach it)")
    headlines = [
        {"metric": col, "label": label, "format": fmt, "better_high": better,
         "value": this[col].item(), "before": before[col].item() if not before.is_empty() else None}
        for col, label, fmt, better in HEADLINES
    ]
    end = week + timedelta(days=7)
    breaches = con.sql("""
        select b.agreement, b.kind, b.subject_id, b.opened_at, b.detected_at, b.value, b.threshold,
               b.still_open, b.url, t.conversation_name
        from marts.agreement_breaches b
        left join marts.threads t on t.thread_id = b.subject_id
        where b.team = ? and (b.week = ? or (b.still_open and b.detected_at < ?::date))
        order by b.opened_at, b.agreement, b.subject_id""", params=[team, week, end]).pl()
    threads = con.sql("""
        select t.thread_id, t.source, t.conversation_name, t.started_at, t.messages, t.bounces,
               t.bounce_wait_hours, t.strikes, t.escalation_overdue, t.decision_recorded, t.url,
               p.display_name as person
        from marts.threads t
        join intermediate.int_people__matched p on p.person_id = t.opener_person_id
        where p.team = ? and t.source = 'slack' and t.started_at >= ?::date and t.started_at < ?::date
        order by t.bounce_wait_hours desc, t.messages desc, t.thread_id
        limit 3""", params=[team, week, end]).pl()
    prs = con.sql("""
        select r.repo, r.number, r.title, r.quality, r.review_rounds, r.url,
               r.has_body, r.has_why, r.has_link, r.has_testing, r.has_risk, r.has_focus,
               coalesce(r.has_visuals or not r.visuals_needed, true) as has_visuals,
               p.display_name as person
        from marts.pull_requests r
        join intermediate.int_people__matched p on p.person_id = r.author_person_id
        where p.team = ? and not coalesce(r.is_bot_author, false)
          and r.created_at >= ?::date and r.created_at < ?::date
        order by r.quality, r.review_rounds desc, r.repo, r.number
        limit 3""", params=[team, week, end]).pl()
    coverage = con.execute("""
        select source || ': ' || item || ' — ' || note from marts.coverage
        where note is not null and item not in ('conversations', 'date range')
          -- the facts that say nothing is missing: 'yes', '0', '0 of 40' (none lacks it),
          -- '40 of 40' (all have it)
          and value not in ('yes', '0') and value not like '0 of %'
          and not (value like '% of %' and split_part(value, ' of ', 1) = split_part(value, ' of ', 2))
        order by source, item""").fetchall()
    if private:
        import logging

        # the dashboard's modules, outside a Streamlit session: its cache warns, harmlessly
        logging.getLogger("streamlit").setLevel(logging.ERROR)
        from dashboard.privacy import pseudonymise
        from dashboard.queries import PEOPLE_NAMES_SQL

        names = con.sql(PEOPLE_NAMES_SQL).pl()
        threads, prs = pseudonymise(threads, names), pseudonymise(prs, names)
        cov = pseudonymise(pl.DataFrame({"note": [c for (c,) in coverage]}, schema={"note": pl.String}), names)
        coverage = [(c,) for c in cov["note"].to_list()]
    return Digest(
        team=team, week=week, headlines=headlines,
        breaches=breaches.head(OPEN_BREACHES_SHOWN).to_dicts(),
        more_breaches=max(breaches.height - OPEN_BREACHES_SHOWN, 0),
        threads=threads.to_dicts(), prs=prs.to_dicts(), coverage=[c for (c,) in coverage],
        private=private,
    )


# --- words ---------------------------------------------------------------------------------------


def _day(d: date | datetime) -> str:
    return f"{d:%a} {d.day} {d:%b %Y}"


def _when(t: datetime) -> str:
    return f"{t:%a} {t.day} {t:%b} {t:%H:%M} UTC"


def _fmt(value: Any, fmt: str) -> str:
    if value is None:
        return "—"
    if fmt == "share":
        return f"{value * 100:.0f}%"
    if fmt == "hours":
        return f"{value:.1f} h"
    return f"{value:.0f}" if isinstance(value, float) else str(value)


def _change(h: dict[str, Any]) -> str:
    v, b = h["value"], h["before"]
    if v is None or b is None:
        return ""
    d = v - b
    if h["format"] == "share":
        return f"{d * 100:+.0f} pts"
    if h["format"] == "hours":
        return f"{d:+.1f} h"
    return f"{d:+.0f}" if isinstance(d, float) else f"{d:+d}"


def breach_sentence(b: dict[str, Any]) -> str:
    """One breach in words, without its link."""
    kind, v, t = b["kind"], b["value"], b["threshold"]
    what = {
        "first_review": f"{v:.1f} working hours without a first review (agreed: {t:g})",
        "unanswered": f"an ask unanswered for {v:.1f} working hours (agreed: {t:g})",
        "escalation": f"{v:.0f} strikes and no call or decision recorded",
        "ping_pong": f"{v:.0f} timezone bounces (agreed: under {t:g})",
        "dm_share": f"{v * 100:.0f}% of the week's messages in DMs (agreed: {t * 100:g}%)",
        "low_context_share": f"{v * 100:.0f}% low-context openers (agreed: {t * 100:g}%)",
        "after_hours_share": f"{v * 100:.0f}% of messages after hours (agreed: {t * 100:g}%)",
    }[kind]
    state = "still open" if b["still_open"] else "closed"
    return f"{b['agreement']}: {what}; since {_when(b['opened_at'])}, {state}"


def subject_label(b: dict[str, Any]) -> str:
    s = str(b["subject_id"])
    if s.startswith("github:"):
        return s.removeprefix("github:")
    if s.startswith("slack:"):
        where = f"#{b['conversation_name']}" if b.get("conversation_name") else s.split(":")[1]
        return f"{where} thread of {_day(b['opened_at'])}"
    return s


def thread_help(t: dict[str, Any]) -> str:
    if t["escalation_overdue"]:
        return THREAD_HELP["escalation"]
    if t["bounces"] >= 1:
        return THREAD_HELP["ping_pong"]
    if t["messages"] >= get_settings().decision_min_messages and not t["decision_recorded"]:
        return THREAD_HELP["undecided"]
    return THREAD_HELP["long"]


def _n(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


def thread_sentence(t: dict[str, Any]) -> str:
    return (f"#{t['conversation_name']}, {_day(t['started_at'])}, opened by {t['person']}: "
            f"{_n(t['messages'], 'message')}, {_n(t['bounces'], 'bounce')} "
            f"({t['bounce_wait_hours']:.1f} h waiting across timezones), {_n(t['strikes'], 'strike')}")


def pr_help(p: dict[str, Any]) -> str:
    missing = [words for check, words in PR_HELP.items() if p.get(check) is False]
    return "; ".join(missing).capitalize() if missing else "A clear description already: keep it"


def pr_sentence(p: dict[str, Any]) -> str:
    return (f"{p['repo']}#{p['number']} \"{p['title']}\" by {p['person']}: quality "
            f"{_fmt(p['quality'], 'count')}, {_n(p['review_rounds'], 'review round')}")


# --- formats -------------------------------------------------------------------------------------


def markdown(d: Digest) -> str:
    """Render the digest as Markdown (the folder's file, the e-mail's text part, the dashboard)."""
    out = [f"# {d.title}", "", "## Headline numbers", "",
           "| | this week | week before | change |", "|---|---:|---:|---:|"]
    out += [f"| {h['label']} | {_fmt(h['value'], h['format'])} | {_fmt(h['before'], h['format'])} "
            f"| {_change(h)} |" for h in d.headlines]
    out += ["", "## Breaches of our agreements: this week's and any still open, oldest first", ""]
    out += [f"- [{subject_label(b)}]({b['url']}) — {breach_sentence(b)}" if b["url"]
            else f"- {subject_label(b)} — {breach_sentence(b)}" for b in d.breaches] or ["- none"]
    if d.more_breaches:
        out.append(f"- … and {d.more_breaches} more (the dashboard's Agreements page lists them)")
    out += ["", "## The worst threads", ""]
    out += [f"{i}. {_link_md(thread_sentence(t), t['url'])}  \n   What would have helped: {thread_help(t)}"
            for i, t in enumerate(d.threads, 1)] or ["- no threads this week"]
    out += ["", "## The worst pull requests", ""]
    out += [f"{i}. {_link_md(pr_sentence(p), p['url'])}  \n   What would have helped: {pr_help(p)}"
            for i, p in enumerate(d.prs, 1)] or ["- no pull requests this week"]
    out += ["", "## What the data cannot tell", ""]
    out += [f"- {c}" for c in d.coverage] or ["- nothing: the data covers every metric"]
    return "\n".join(out) + "\n"


def _link_md(text: str, url: str | None) -> str:
    return f"[{text}]({url})" if url else text


def text(d: Digest) -> str:
    """Render the digest as plain text."""
    out = [d.title, "=" * len(d.title), "", "Headline numbers (this week / week before / change)"]
    out += [f"  {h['label']}: {_fmt(h['value'], h['format'])} / {_fmt(h['before'], h['format'])}"
            + (f" / {_change(h)}" if _change(h) else "") for h in d.headlines]
    out += ["", "Breaches: this week's and any still open, oldest first"]
    out += [f"  - {subject_label(b)}: {breach_sentence(b)}" + (f" <{b['url']}>" if b["url"] else "")
            for b in d.breaches] or ["  - none"]
    if d.more_breaches:
        out.append(f"  - ... and {d.more_breaches} more")
    out += ["", "The worst threads"]
    out += [f"  {i}. {thread_sentence(t)}" + (f" <{t['url']}>" if t["url"] else "")
            + f"\n     What would have helped: {thread_help(t)}" for i, t in enumerate(d.threads, 1)] or ["  - none"]
    out += ["", "The worst pull requests"]
    out += [f"  {i}. {pr_sentence(p)} <{p['url']}>\n     What would have helped: {pr_help(p)}"
            for i, p in enumerate(d.prs, 1)] or ["  - none"]
    out += ["", "What the data cannot tell"]
    out += [f"  - {c}" for c in d.coverage] or ["  - nothing"]
    return "\n".join(out) + "\n"


def _a(text: str, url: str | None) -> str:
    t = html.escape(text)
    return f'<a href="{html.escape(url)}">{t}</a>' if url else t


def to_html(d: Digest) -> str:
    """Render the digest as a self-contained HTML page (the e-mail's HTML part)."""
    rows = "".join(
        f"<tr><td>{html.escape(h['label'])}</td><td>{_fmt(h['value'], h['format'])}</td>"
        f"<td>{_fmt(h['before'], h['format'])}</td><td>{html.escape(_change(h))}</td></tr>"
        for h in d.headlines)
    breaches = "".join(f"<li>{_a(subject_label(b), b['url'])} — {html.escape(breach_sentence(b))}</li>"
                       for b in d.breaches) or "<li>none</li>"
    if d.more_breaches:
        breaches += f"<li>… and {d.more_breaches} more</li>"
    threads = "".join(f"<li>{_a(thread_sentence(t), t['url'])}<br><em>What would have helped:</em> "
                      f"{html.escape(thread_help(t))}</li>" for t in d.threads) or "<li>no threads this week</li>"
    prs = "".join(f"<li>{_a(pr_sentence(p), p['url'])}<br><em>What would have helped:</em> "
                  f"{html.escape(pr_help(p))}</li>" for p in d.prs) or "<li>no pull requests this week</li>"
    cov = "".join(f"<li>{html.escape(c)}</li>" for c in d.coverage) or "<li>nothing</li>"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(d.title)}</title>
<style>
body {{ font-family: -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif; max-width: 760px;
       margin: 2em auto; color: #1f2328; line-height: 1.45; }}
h1 {{ font-size: 1.4em; }} h2 {{ font-size: 1.1em; border-bottom: 1px solid #d0d7de; }}
table {{ border-collapse: collapse; width: 100%; }}
td, th {{ padding: 4px 8px; border-bottom: 1px solid #eaeef2; text-align: right; }}
td:first-child, th:first-child {{ text-align: left; }}
li {{ margin-bottom: 0.5em; }} a {{ color: #0969da; }}
</style></head><body>
<h1>{html.escape(d.title)}</h1>
<h2>Headline numbers</h2>
<table><tr><th></th><th>this week</th><th>week before</th><th>change</th></tr>{rows}</table>
<h2>Breaches of our agreements: this week's and any still open, oldest first</h2><ul>{breaches}</ul>
<h2>The worst threads</h2><ol>{threads}</ol>
<h2>The worst pull requests</h2><ol>{prs}</ol>
<h2>What the data cannot tell</h2><ul>{cov}</ul>
</body></html>
"""


def _slack_link(text: str, url: str | None) -> str:
    t = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return f"<{url}|{t}>" if url else t


def blocks(d: Digest) -> dict[str, Any]:
    """Return the Slack incoming-webhook payload: a fallback `text` and Block Kit `blocks`."""
    def section(md: str) -> dict[str, Any]:
        return {"type": "section", "text": {"type": "mrkdwn", "text": md[:3000]}}

    heads = "\n".join(f"*{h['label']}*: {_fmt(h['value'], h['format'])}"
                      + (f" ({_change(h)} on the week before)" if _change(h) else "")
                      for h in d.headlines)
    br = "\n".join(f"• {_slack_link(subject_label(b), b['url'])} — {breach_sentence(b)}"
                   for b in d.breaches) or "none"
    if d.more_breaches:
        br += f"\n• … and {d.more_breaches} more"
    th = "\n".join(f"{i}. {_slack_link(thread_sentence(t), t['url'])}\n_What would have helped:_ "
                   f"{thread_help(t)}" for i, t in enumerate(d.threads, 1)) or "no threads this week"
    pr = "\n".join(f"{i}. {_slack_link(pr_sentence(p), p['url'])}\n_What would have helped:_ "
                   f"{pr_help(p)}" for i, p in enumerate(d.prs, 1)) or "no pull requests this week"
    cov = "\n".join(f"• {c}" for c in d.coverage) or "nothing"
    return {
        "text": d.title,
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": d.title[:150]}},
            section("*Headline numbers*\n" + heads),
            {"type": "divider"},
            section("*Breaches of our agreements*: this week's and any still open, oldest first\n" + br),
            section("*The worst threads*\n" + th),
            section("*The worst pull requests*\n" + pr),
            {"type": "context", "elements": [{"type": "mrkdwn", "text": ("What the data cannot tell:\n" + cov)[:3000]}]},
        ],
    }


def render(d: Digest, fmt: str) -> str:
    """Render `d` as 'markdown', 'html' or 'text'."""
    if fmt == "markdown":
        return markdown(d)
    if fmt == "html":
        return to_html(d)
    if fmt == "text":
        return text(d)
    raise DigestError(f"format {fmt!r}: expected markdown, html or text")


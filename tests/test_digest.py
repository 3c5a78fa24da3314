"""The weekly digest: due times across daylight saving, rendering, and delivery to real servers
on 127.0.0.1 (aiosmtpd with STARTTLS, pytest-httpserver), exactly once per team and week.

The data is tests/agreement_workspace.py (teams SF and London, one person each, so these
tests lower min_group_size to 1; one test keeps the default 5 and gets no digest).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import os
import re
import socket
import ssl
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from email import message_from_bytes, policy
from email.message import Message
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from pipelines.digest import deliver, due, render
from pipelines.settings import get_settings
from tests.agreement_workspace import AGREEMENTS, PEOPLE, PRS, build_agreement_workspace
from tests.conftest import SlackExport, load_workspace, query

W11 = date(2024, 3, 11)
# Mon 18 March 2024 17:00 UTC: past 09:00 in London (09:00 UTC) and Los Angeles (16:00 UTC),
# so both teams' digests of 2024-W11 are due
AFTER_BOTH = datetime(2024, 3, 18, 17, tzinfo=UTC)


# --- due at 09:00 local, across daylight saving ----------------------------------------------


@pytest.mark.parametrize(("tz", "week", "utc"), [
    # Los Angeles: PST (UTC-8) until Sun 10 March 2024, PDT (UTC-7) until Sun 3 November
    ("America/Los_Angeles", date(2024, 3, 4), datetime(2024, 3, 4, 17, tzinfo=UTC)),
    ("America/Los_Angeles", date(2024, 3, 11), datetime(2024, 3, 11, 16, tzinfo=UTC)),
    ("America/Los_Angeles", date(2024, 10, 28), datetime(2024, 10, 28, 16, tzinfo=UTC)),
    ("America/Los_Angeles", date(2024, 11, 4), datetime(2024, 11, 4, 17, tzinfo=UTC)),
    # Berlin: CET (UTC+1) until Sun 31 March 2024, CEST (UTC+2) until Sun 27 October
    ("Europe/Berlin", date(2024, 3, 25), datetime(2024, 3, 25, 8, tzinfo=UTC)),
    ("Europe/Berlin", date(2024, 4, 1), datetime(2024, 4, 1, 7, tzinfo=UTC)),
    ("Europe/Berlin", date(2024, 10, 21), datetime(2024, 10, 21, 7, tzinfo=UTC)),
    ("Europe/Berlin", date(2024, 10, 28), datetime(2024, 10, 28, 8, tzinfo=UTC)),
])
def test_due_at_nine_local_on_monday_across_dst(tz: str, week: date, utc: datetime) -> None:
    assert due.due_at(week, due.TeamClock("t", tz)) == utc


def test_a_sunday_to_thursday_team_gets_it_on_sunday() -> None:
    # Jerusalem, IST = UTC+2 in early March 2024 (IDT from Fri 29 March); Sun-Thu = mask 79
    clock = due.TeamClock("t", "Asia/Jerusalem", 79)
    assert due.due_at(date(2024, 3, 11), clock) == datetime(2024, 3, 10, 7, tzinfo=UTC)
    assert due.latest_due(clock, datetime(2024, 3, 10, 7, tzinfo=UTC)) == (
        date(2024, 3, 4), datetime(2024, 3, 10, 7, tzinfo=UTC))


def test_the_newest_digest_due_flips_at_nine_local() -> None:
    la = due.TeamClock("t", "America/Los_Angeles")
    nine = datetime(2024, 3, 11, 16, tzinfo=UTC)  # Mon 11 March 09:00 PDT
    # a second before: the digest due last is the one of Mon 4 March (09:00 PST = 17:00 UTC)
    assert due.latest_due(la, nine - timedelta(seconds=1)) == (
        date(2024, 2, 26), datetime(2024, 3, 4, 17, tzinfo=UTC))
    assert due.latest_due(la, nine) == (date(2024, 3, 4), nine)


def test_a_team_keeps_its_members_most_common_zone(tmp_path: Path) -> None:
    from pipelines.db import connect_reader

    people = PEOPLE + "Cy,,,,Europe/London,,,,SF\nDi,,,,Europe/London,,,Sun-Thu,SF\n"
    db = load_workspace(tmp_path / "a.duckdb", build_agreement_workspace(SlackExport(tmp_path / "e")),
                        PRS, people)
    con = connect_reader(db)
    try:
        clocks = due.team_clocks(con)
    finally:
        con.close()
    # SF: Ana in Los Angeles, Cy and Di in London -> London; working weeks Mon-Fri twice
    assert clocks == {"London": due.TeamClock("London", "Europe/London", 31),
                      "SF": due.TeamClock("SF", "Europe/London", 31)}


# --- the workspace, delivered -------------------------------------------------------------------


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.setenv("ASYNCPULSE_AGREEMENT", json.dumps(AGREEMENTS))
    monkeypatch.setenv("ASYNCPULSE_SLACK_WORKSPACE_URL", "https://acme.slack.com")
    monkeypatch.setenv("ASYNCPULSE_MIN_GROUP_SIZE", "1")
    get_settings.cache_clear()
    return monkeypatch


def configure(monkeypatch: pytest.MonkeyPatch, *deliveries: dict[str, Any], **env: str) -> None:
    monkeypatch.setenv("ASYNCPULSE_DELIVERY", json.dumps(list(deliveries)))
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    get_settings.cache_clear()


@pytest.fixture
def built(tmp_path: Path, settings: pytest.MonkeyPatch) -> Path:
    return load_workspace(tmp_path / "a.duckdb", build_agreement_workspace(SlackExport(tmp_path / "e")),
                          PRS, PEOPLE)


def gathered(db: Path, team: str, week: date = W11, private: bool = False) -> render.Digest:
    from pipelines.db import connect_reader

    con = connect_reader(db)
    try:
        return render.gather(con, team, week, private=private)
    finally:
        con.close()


def deliveries(db: Path) -> pl.DataFrame:
    return query(db, "select team, week, channel, kind, status, attempts, due_at, first_attempt_at, "
                     "last_attempt_at, sent_at, next_attempt_at, error from raw.deliveries "
                     "order by team, week, channel")


HELP_PR = ("Say why (the diff shows what); link the issue; say how to test; call out risky changes "
           "so reviewers know where to look; tell reviewers where to look hardest; describe the "
           "change in a few sentences")
HELP_BOUNCE = ("Frontload context so one reply resolves it; hand off with a default path forward "
               "the other side may take without waiting")

# London's week, as Slack receives it. By hand (tests/agreement_workspace.py): 12 messages, 1 in
# a DM and 1 after hours (8%), 1 of 3 openers low-context (33%); threads A2 (Ben -> Ana: one
# bounce of 14 h; 7 of Ana's hours to the reply) and L1 (a bounce of 6 h 5 min; 5 min of Ana's
# hours), median first reply (7 + 1/12) / 2 = 3.5 h; PRs #2 (7.5 h to Ana's review) and #3
# (none yet); three share breaches of the week. No week before it in the data.
LONDON_W11 = {
    "text": "asyncpulse digest: London, 2024-W11 (Mon 11 Mar 2024 - Sun 17 Mar 2024)",
    "blocks": [
        {"type": "header", "text": {"type": "plain_text",
                                    "text": "asyncpulse digest: London, 2024-W11 (Mon 11 Mar 2024 - Sun 17 Mar 2024)"}},
        {"type": "section", "text": {"type": "mrkdwn", "text": (
            "*Headline numbers*\n*Messages*: 12\n*Threads started*: 2\n"
            "*Ping-pong threads (2+ timezone bounces)*: 0\n*Threads past 3 strikes*: 0\n"
            "*Median first reply (working hours)*: 3.5 h\n*Share of messages in DMs*: 8%\n"
            "*Low-context openers*: 33%\n*Messages after hours*: 8%\n*Pull requests opened*: 2\n"
            "*Median first review (working hours)*: 7.5 h\n*Median PR description quality (0-100)*: 0")}},
        {"type": "divider"},
        {"type": "section", "text": {"type": "mrkdwn", "text": (
            "*Breaches of our agreements*: this week's and any still open, oldest first\n"
            "• London:2024-W11 — after_hours_share: 8% of messages after hours (agreed: 5%); "
            "since Mon 11 Mar 00:00 UTC, closed\n"
            "• London:2024-W11 — dm_share: 8% of the week's messages in DMs (agreed: 7%); "
            "since Mon 11 Mar 00:00 UTC, closed\n"
            "• London:2024-W11 — low_context_share: 33% low-context openers (agreed: 25%); "
            "since Mon 11 Mar 00:00 UTC, closed")}},
        {"type": "section", "text": {"type": "mrkdwn", "text": (
            "*The worst threads*\n"
            "1. <https://acme.slack.com/archives/C1/p1710234000000000|#general, Tue 12 Mar 2024, "
            "opened by Ben: 2 messages, 1 bounce (14.0 h waiting across timezones), 0 strikes>\n"
            f"_What would have helped:_ {HELP_BOUNCE}\n"
            "2. <https://acme.slack.com/archives/C1/p1710410400000000|#general, Thu 14 Mar 2024, "
            "opened by Ben: 2 messages, 1 bounce (6.1 h waiting across timezones), 0 strikes>\n"
            f"_What would have helped:_ {HELP_BOUNCE}")}},
        {"type": "section", "text": {"type": "mrkdwn", "text": (
            "*The worst pull requests*\n"
            "1. <https://github.com/acme/api/pull/2|acme/api#2 \"Change 2\" by Ben: quality 0, "
            f"0 review rounds>\n_What would have helped:_ {HELP_PR}\n"
            "2. <https://github.com/acme/api/pull/3|acme/api#3 \"Change 3\" by Ben: quality 0, "
            f"0 review rounds>\n_What would have helped:_ {HELP_PR}")}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": (
            "What the data cannot tell:\n• github: layout loaded: gh — gh pr list: no inline review "
            "comments and no timeline, so a PR opened as a draft counts as ready from its creation\n"
            "• slack: private channels present — no private channels "
            "in the export: their share reads 0 but may not be")}]},
    ],
}


def test_the_webhook_receives_the_block_kit_payload_whole(
    built: Path, httpserver: Any, settings: pytest.MonkeyPatch
) -> None:
    httpserver.expect_request("/hooks/london", method="POST").respond_with_data("ok")
    settings.setenv("LONDON_HOOK", httpserver.url_for("/hooks/london"))
    configure(settings, {"kind": "slack", "team": "London", "webhook_url_env": "LONDON_HOOK"})
    outcomes = deliver.deliver_due(built, AFTER_BOTH)
    assert [o.line() for o in outcomes] == ["London 2024-W11 slack: sent"]
    (request, _), = httpserver.log
    assert request.headers["Content-Type"] == "application/json"
    assert json.loads(request.get_data()) == LONDON_W11


def test_a_server_that_fails_twice_then_succeeds_gets_one_delivery(
    built: Path, httpserver: Any, settings: pytest.MonkeyPatch
) -> None:
    from werkzeug import Request, Response

    answers = iter([500, 503, 200, 200])

    def hook(request: Request) -> Response:
        return Response("", status=next(answers))

    httpserver.expect_request("/hook", method="POST").respond_with_handler(hook)
    configure(settings, {"kind": "slack", "team": "London", "webhook_url": httpserver.url_for("/hook")})
    t0 = AFTER_BOTH
    steps = [(t0, "failed"), (t0 + timedelta(minutes=1), "waiting"), (t0 + timedelta(minutes=6), "failed"),
             (t0 + timedelta(minutes=14), "waiting"), (t0 + timedelta(minutes=17), "sent"),
             (t0 + timedelta(hours=1), "already sent")]
    for now, status in steps:
        (o,) = deliver.deliver_due(built, now)
        assert o.status == status, (now, o)
    # backoff: 5 min after the first failure (t0+5), 10 after the second (t0+16)
    assert len(httpserver.log) == 3
    assert [r.status_code for _, r in httpserver.log] == [500, 503, 200]
    want = pl.DataFrame([("London", W11, "slack", "slack", "sent", 3, datetime(2024, 3, 18, 9, tzinfo=UTC),
                          t0, t0 + timedelta(minutes=17), t0 + timedelta(minutes=17), None, None)],
                        schema=deliveries(built).schema, orient="row")
    assert_frame_equal(deliveries(built), want)


def test_the_folder_gets_one_file_per_team_and_week(built: Path, tmp_path: Path,
                                                    settings: pytest.MonkeyPatch) -> None:
    out = tmp_path / "digests"
    configure(settings, {"kind": "folder", "folder": str(out)},
              {"kind": "folder", "name": "html-copy", "folder": str(out / "html"), "format": "html",
               "team": "SF"})
    # Mon 18 March 12:00 UTC: London's 09:00 has passed, Los Angeles' (16:00 UTC) has not: SF's
    # newest due digest is 2024-W10's, which the data does not reach
    first = deliver.deliver_due(built, datetime(2024, 3, 18, 12, tzinfo=UTC))
    assert [o.line() for o in first] == [
        "London 2024-W11 folder: sent",
        "SF 2024-W10 folder: skipped (no data for 2024-W10 (the loaded history does not reach it))",
        "SF 2024-W10 html-copy: skipped (no data for 2024-W10 (the loaded history does not reach it))"]
    second = deliver.deliver_due(built, AFTER_BOTH)
    assert [o.line() for o in second] == ["London 2024-W11 folder: already sent",
                                          "SF 2024-W11 folder: sent", "SF 2024-W11 html-copy: sent"]
    assert [o.status for o in deliver.deliver_due(built, AFTER_BOTH)] == ["already sent"] * 3
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == [
        "html/sf-2024-W11.html", "london-2024-W11.md", "sf-2024-W11.md"]
    assert (out / "sf-2024-W11.md").read_text() == render.markdown(gathered(built, "SF"))
    assert (out / "html" / "sf-2024-W11.html").read_text() == render.to_html(gathered(built, "SF"))
    # what the dashboard shows: the digest as it was sent
    sent = query(built, "select team, channel, digest from raw.deliveries order by all")
    assert sent["digest"].to_list() == [render.markdown(gathered(built, t)) for t in ("London", "SF", "SF")]


def test_a_private_delivery_sends_pseudonyms(built: Path, tmp_path: Path, settings: pytest.MonkeyPatch) -> None:
    configure(settings, {"kind": "folder", "folder": str(tmp_path / "out"), "team": "SF", "private": True})
    assert [o.status for o in deliver.deliver_due(built, AFTER_BOTH)] == ["sent"]
    sent = (tmp_path / "out" / "sf-2024-W11.md").read_text()
    assert sent == render.markdown(gathered(built, "SF", private=True))
    assert "Ana" not in sent and "Person " in sent


def test_a_team_under_min_group_size_gets_no_digest(built: Path, tmp_path: Path,
                                                    settings: pytest.MonkeyPatch) -> None:
    settings.delenv("ASYNCPULSE_MIN_GROUP_SIZE")  # the default, 5
    configure(settings, {"kind": "folder", "folder": str(tmp_path / "out")})
    with pytest.raises(render.DigestError, match=r"^team 'SF' has 1 people, under min_group_size 5: no digest"):
        gathered(built, "SF")
    assert [o.status for o in deliver.deliver_due(built, AFTER_BOTH)] == ["skipped", "skipped"]
    assert not (tmp_path / "out").exists()


def test_private_names_are_the_dashboards_pseudonyms(built: Path) -> None:
    from dashboard.privacy import pseudonymise
    from dashboard.queries import PEOPLE_NAMES_SQL

    names = query(built, PEOPLE_NAMES_SQL)
    ana = pseudonymise(pl.DataFrame({"person": ["Ana"]}), names)["person"].item()
    text = render.markdown(gathered(built, "SF", private=True))
    assert ana.startswith("Person ") and f"opened by {ana}:" in text and f"by {ana}: quality" in text
    assert "Ana" not in text and "Change 1" not in text and "— hidden —" in text


def test_the_headlines_compare_with_the_week_before(built: Path) -> None:
    d = gathered(built, "SF", date(2024, 3, 18))
    prs = next(h for h in d.headlines if h["metric"] == "prs_opened")
    messages = next(h for h in d.headlines if h["metric"] == "messages")
    assert (prs["value"], prs["before"], render._change(prs)) == (1, 1, "+0")
    assert (messages["value"], messages["before"], render._change(messages)) == (0, 16, "-16")
    # and PR #3, still waiting for its review, is an open breach in the week after
    assert [(b["agreement"], b["subject_id"]) for b in gathered(built, "London", date(2024, 3, 18)).breaches] == [
        ("first_review", "github:acme/api#3")]


# --- e-mail over SMTP with STARTTLS, across two nightly flow runs --------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _self_signed(folder: Path) -> tuple[Path, Path]:
    """Write a certificate for 127.0.0.1 and its key; return (cert, key)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


class Inbox:
    """An aiosmtpd handler that keeps every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], Message]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((list(envelope.rcpt_tos), message_from_bytes(envelope.content, policy=policy.default)))
        return "250 OK"


@pytest.fixture
def smtp(tmp_path: Path) -> Iterator[tuple[Inbox, int, Path]]:
    """An SMTP server on 127.0.0.1 that demands STARTTLS, then a login (digest / s3cret)."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    cert, key = _self_signed(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)

    def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        return AuthResult(success=(auth_data.login, auth_data.password) == (b"digest", b"s3cret"))

    inbox, port = Inbox(), _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, tls_context=context,
                            require_starttls=True, authenticator=authenticate, auth_require_tls=True)
    controller.start()
    try:
        yield inbox, port, cert
    finally:
        controller.stop()


def test_smtp_gets_one_message_per_team_and_week_across_two_flow_runs(
    tmp_path: Path, settings: pytest.MonkeyPatch, smtp: tuple[Inbox, int, Path], prefect_server: None
) -> None:
    from pipelines.flows import nightly

    inbox, port, cert = smtp
    configure(settings, {"kind": "email", "to": ["leads@example.com"]},
              ASYNCPULSE_SMTP_HOST="127.0.0.1", ASYNCPULSE_SMTP_PORT=str(port),
              ASYNCPULSE_SMTP_CA_FILE=str(cert), ASYNCPULSE_SMTP_FROM="asyncpulse@example.com",
              ASYNCPULSE_SMTP_USERNAME="digest", ASYNCPULSE_SMTP_PASSWORD="s3cret")
    e = build_agreement_workspace(SlackExport(tmp_path / "export"))
    (tmp_path / "prs.json").write_text(json.dumps(PRS))
    (tmp_path / "people.csv").write_text(PEOPLE)
    db = tmp_path / "nightly.duckdb"
    for _ in range(2):
        nightly(db=str(db), slack=str(e.root), github=str(tmp_path / "prs.json"),
                people=str(tmp_path / "people.csv"), now=AFTER_BOTH.isoformat())
    assert [(to, m["Subject"], m["From"], m["To"]) for to, m in inbox.messages] == [
        (["leads@example.com"], f"asyncpulse digest: {team}, 2024-W11",
         "asyncpulse@example.com", "leads@example.com") for team in ("London", "SF")]
    for (_, m), team in zip(inbox.messages, ("London", "SF"), strict=True):
        d = gathered(db, team)
        # SMTP carries lines ending CRLF
        parts = {p.get_content_type(): p.get_content().replace("\r\n", "\n")  # type: ignore[attr-defined]
                 for p in m.walk() if not p.is_multipart()}
        assert parts == {"text/plain": render.text(d), "text/html": render.to_html(d)}
    got = query(db, "select team, week, channel, status, attempts, sent_at from raw.deliveries order by team")
    assert got.rows() == [("London", W11, "email", "sent", 1, AFTER_BOTH), ("SF", W11, "email", "sent", 1, AFTER_BOTH)]
    steps = query(db, "select steps from raw.runs order by started_at")["steps"].to_list()
    assert [s for s in steps[1] if s.startswith("digest:")] == [
        "digest: London 2024-W11 email: already sent", "digest: SF 2024-W11 email: already sent"]


def test_smtp_without_starttls_is_not_used(built: Path, settings: pytest.MonkeyPatch) -> None:
    from aiosmtpd.controller import Controller

    inbox, port = Inbox(), _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)  # no TLS offered
    controller.start()
    try:
        configure(settings, {"kind": "email", "to": ["leads@example.com"], "team": "SF"},
                  ASYNCPULSE_SMTP_HOST="127.0.0.1", ASYNCPULSE_SMTP_PORT=str(port))
        (o,) = deliver.deliver_due(built, AFTER_BOTH)
    finally:
        controller.stop()
    assert (o.status, o.note) == ("failed", f"SMTPException: 127.0.0.1:{port} does not offer STARTTLS: not sent")
    assert inbox.messages == []


@pytest.mark.parametrize(("raw", "error"), [
    ({"kind": "pigeon"}, "kind 'pigeon' is not one of folder, email, slack"),
    ({"kind": "folder"}, "a folder delivery needs `folder`"),
    ({"kind": "email", "to": ["nobody"]}, "an email delivery needs `to`"),
    ({"kind": "slack", "webhook_url_env": "NO_SUCH_HOOK"}, "$NO_SUCH_HOOK (webhook_url_env) is not set"),
    ({"kind": "folder", "folder": "x", "timezone": "Mars/Base"}, "timezone 'Mars/Base' is not an IANA zone"),
])
def test_a_bad_delivery_is_one_line_naming_it(raw: dict[str, Any], error: str) -> None:
    with pytest.raises(deliver.DeliveryError) as e:
        deliver.parse_delivery(raw, "[[delivery]] #1")
    assert str(e.value).startswith("[[delivery]] #1: ") and error in str(e.value)


# --- the demo's digest: the README's example and its screenshot ---------------------------------

README_DIGEST = re.compile(r"<!-- digest:start -->\n```markdown\n(.*?)```\n<!-- digest:end -->", re.S)
DEMO_TEAM, DEMO_WEEK = "Platform", date(2026, 11, 9)  # the demo's last full week


@pytest.fixture
def demo_digest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> render.Digest:
    from pipelines import jobs
    from pipelines.demo import DEMO_AGREEMENTS, generate_demo

    monkeypatch.setenv("ASYNCPULSE_AGREEMENT", json.dumps(DEMO_AGREEMENTS))  # as `asyncpulse demo`
    get_settings.cache_clear()
    out = tmp_path / "demo"
    generate_demo(out)
    db = tmp_path / "demo.duckdb"
    jobs.ingest(db, "slack", out / "slack")
    jobs.ingest(db, "github", out / "github" / "prs.json")
    jobs.build(db, out / "people.csv")
    return gathered(db, DEMO_TEAM, DEMO_WEEK)


def test_the_readme_shows_the_demos_digest(demo_digest: render.Digest) -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    (shown,) = README_DIGEST.findall(readme)
    assert shown == render.markdown(demo_digest)
    assert demo_digest.breaches and demo_digest.threads and demo_digest.prs


@pytest.mark.browser
def test_the_html_digest_in_headless_chromium(demo_digest: render.Digest, tmp_path: Path) -> None:
    from PIL import Image
    from playwright.sync_api import expect, sync_playwright

    chromium = Path("/usr/bin/chromium")
    if not chromium.exists():
        pytest.skip(f"{chromium} is missing: apt-get install chromium")
    page_file = tmp_path / "digest.html"
    page_file.write_text(render.to_html(demo_digest), encoding="utf-8")
    # docs/screenshots only when asked (`make screenshots`), as the dashboard's browser test does
    root = Path(__file__).resolve().parents[1]
    shots = (root / "docs" / "screenshots" if os.environ.get("ASYNCPULSE_UPDATE_SCREENSHOTS")
             else root / "tests" / "artifacts" / "screenshots")
    shots.mkdir(parents=True, exist_ok=True)
    shot = shots / "digest.png"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(chromium),
                                     args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        try:
            page = browser.new_page(viewport={"width": 900, "height": 1000})
            page.goto(page_file.as_uri())  # a local file: nothing leaves the machine
            expect(page.get_by_role("heading", level=1)).to_have_text(demo_digest.title)
            assert page.get_by_role("heading", level=2).all_inner_texts() == [
                "Headline numbers", "Breaches of our agreements: this week's and any still open, oldest first",
                "The worst threads",
                "The worst pull requests", "What the data cannot tell"]
            assert page.locator("table tr").count() == len(render.HEADLINES) + 1
            links = page.locator("ol a").evaluate_all("els => els.map(e => e.href)")
            assert links == [t["url"] for t in demo_digest.threads if t["url"]] + [p["url"] for p in demo_digest.prs]
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    Image.open(shot).convert("RGB").quantize(colors=128).save(shot, optimize=True)
    assert shot.stat().st_size < 300_000


def test_two_schedules_at_once_send_once(built: Path, httpserver: Any, tmp_path: Path,
                                         settings: pytest.MonkeyPatch) -> None:
    """Two processes deliver the same due digest at the same moment: the writer lock lets one
    send; the other, once it holds the lock, finds the sent row in the file just published."""
    import subprocess
    import sys

    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    configure(settings, {"kind": "slack", "team": "SF", "webhook_url": httpserver.url_for("/hook")})
    code = ("import sys; from datetime import datetime; from pathlib import Path; "
            "from pipelines.digest.deliver import deliver_due; "
            "print([o.status for o in deliver_due(Path(sys.argv[1]), datetime.fromisoformat(sys.argv[2]))])")
    procs = [subprocess.Popen([sys.executable, "-c", code, str(built), AFTER_BOTH.isoformat()],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ))
             for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [e for _, e in outs]
    assert sorted(o.strip() for o, _ in outs) == ["['already sent']", "['sent']"]
    assert len(httpserver.log) == 1
    assert query(built, "select team, status, attempts from raw.deliveries").rows() == [("SF", "sent", 1)]


def test_digest_send_delivers_one_week_now(built: Path, tmp_path: Path, settings: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    from pipelines.cli import main

    configure(settings, {"kind": "folder", "folder": str(tmp_path / "out"), "format": "text"})
    args = ["digest", "--db", str(built), "--team", "London", "--week", "2024-W11", "--send"]
    assert main(args) == 0
    assert capsys.readouterr().err == "London 2024-W11 folder: sent\n"
    assert main(args) == 0
    assert capsys.readouterr().err == "London 2024-W11 folder: already sent\n"
    assert (tmp_path / "out" / "london-2024-W11.txt").read_text() == render.text(gathered(built, "London"))

"""A redacted database measures the same: every mart but the names equals the clear load's."""

from __future__ import annotations

from pathlib import Path

import pytest
from polars.testing import assert_frame_equal

from pipelines.settings import get_settings
from tests.conftest import SlackExport, load_workspace, msg, query, ts
from tests.test_pull_requests import PRS
from tests.test_threads import PEOPLE, build_threads

# Name-free views of each mart (names are pseudonymised in a redacted database).
MARTS = {
    "threads": "select thread_id, messages, participants, span_hours, first_reply_hours, "
               "handoffs, bounces, bounce_wait_hours, strikes, escalation_overdue, "
               "decision_recorded from marts.threads order by thread_id",
    "openers": "select message_id, conversation_type, low_context, has_what, has_why, has_ask, "
               "has_expectation, score_3w from marts.openers order by message_id",
    "people_weekly": "select week, messages, after_hours_share, checkins_per_day, fast_reply_share, "
                     "broadcast_mentions from marts.people_weekly order by all",
    "pull_requests": "select number, quality, review_rounds, bounces, slack_mentions "
                     "from marts.pull_requests order by number",
    "weekly_mix": "select * from marts.weekly_mix order by all",
}


def build(tmp_path: Path, name: str, redact: bool, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ASYNCPULSE_REDACT", "true" if redact else "false")
    get_settings.cache_clear()
    e = build_threads(SlackExport(tmp_path / name / "slack"))
    e.day("general", "2024-03-15", [
        msg("U1", "<!here> hey", ts("2024-03-15", 16)),
        msg("U2", "see <https://github.com/acme/api/pull/1|api#1> please", ts("2024-03-15", 17)),
    ])
    e.json("dms.json", [{"id": "D1", "members": ["U1", "U2"]}])
    e.day("D1", "2024-03-15", [msg("U1", "hi ben", ts("2024-03-15", 18)),
                               msg("U2", "Can you check the deploy log by EOD? It's blocking the release.", ts("2024-03-15", 20))])
    return load_workspace(tmp_path / f"{name}.duckdb", e, PRS, PEOPLE)


@pytest.mark.parametrize("mart", sorted(MARTS))
def test_redacted_marts_equal_clear_marts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mart: str) -> None:
    clear = build(tmp_path, "clear", False, monkeypatch)
    redacted = build(tmp_path, "redacted", True, monkeypatch)
    assert query(redacted, "select count(*) from raw.slack_messages where text is not null").item() == 0
    got, expected = query(redacted, MARTS[mart]), query(clear, MARTS[mart])
    assert expected.height > 0
    assert_frame_equal(got, expected)

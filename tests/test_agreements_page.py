"""The Agreements page under AppTest: the agreements in force, breaches week by week, what is
still open, and the latest digest exactly as it was sent (tests/agreement_workspace.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from streamlit.testing.v1 import AppTest

from pipelines.digest import deliver
from pipelines.settings import PROJECT_ROOT, get_settings
from tests.agreement_workspace import AGREEMENTS, load_agreement_workspace
from tests.conftest import query

APP = PROJECT_ROOT / "dashboard" / "streamlit_app.py"


@pytest.fixture
def sent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ASYNCPULSE_AGREEMENT", json.dumps(AGREEMENTS))
    monkeypatch.setenv("ASYNCPULSE_MIN_GROUP_SIZE", "1")
    monkeypatch.setenv("ASYNCPULSE_DELIVERY", json.dumps([{"kind": "folder", "folder": str(tmp_path / "out"),
                                                           "team": "SF"}]))
    get_settings.cache_clear()
    db = load_agreement_workspace(tmp_path / "a.duckdb", tmp_path / "export")
    assert [o.status for o in deliver.deliver_due(db, datetime(2024, 3, 18, 17, tzinfo=UTC))] == ["sent"]
    return db


def run(db: Path, monkeypatch: pytest.MonkeyPatch, privacy: bool = False) -> AppTest:
    monkeypatch.setenv("ASYNCPULSE_DB", str(db))
    at = AppTest.from_file(str(APP), default_timeout=30)
    at.session_state["privacy"] = privacy
    at.switch_page("app_pages/agreements.py")
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def test_the_page_shows_agreements_breaches_and_the_digest_as_sent(
    sent: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = run(sent, monkeypatch)
    assert [t.value for t in at.title] == ["Agreements"]
    in_force, still_open = (d.value for d in at.dataframe)
    assert_frame_equal(pl.from_pandas(in_force) if not isinstance(in_force, pl.DataFrame) else in_force,
                       query(sent, "select name, kind, unit, threshold::double as threshold, team "
                                   "from staging.agreements order by name"))
    opened = pl.from_pandas(still_open) if not isinstance(still_open, pl.DataFrame) else still_open
    # still open by hand: the unanswered A3 (Thu 14), the escalation E (Wed 13), PR #3 (Fri 15)
    assert opened.select("agreement", "team", "subject").rows() == [
        ("escalation", "SF", "#general"), ("unanswered", "SF", "#general"),
        ("first_review", "London", "acme/api#3")]
    digest = query(sent, "select digest from raw.deliveries").item()
    assert digest.startswith("# asyncpulse digest: SF, 2024-W11")
    shown = [m.value for m in at.markdown if "asyncpulse digest" in m.value]
    assert shown == [digest.rstrip("\n")]  # st.markdown drops the final newline
    assert "SF, week of 11 Mar 2024, sent by folder at 18 Mar 2024 17:00 UTC." in [c.value for c in at.caption]


def test_with_the_privacy_switch_the_digest_is_not_shown(sent: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = run(sent, monkeypatch, privacy=True)
    digest = query(sent, "select digest from raw.deliveries").item()
    assert not [m for m in at.markdown if m.value == digest]
    assert [i.value for i in at.info][-1].startswith("The digest as it was sent names people")


def test_a_team_under_min_group_size_is_not_named(sent: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ASYNCPULSE_MIN_GROUP_SIZE")  # 5: SF and London have one person each
    get_settings.cache_clear()
    at = run(sent, monkeypatch)
    still_open = at.dataframe[1].value
    opened = pl.from_pandas(still_open) if not isinstance(still_open, pl.DataFrame) else still_open
    assert opened["team"].to_list() == [None, None, None]

"""Working agreements: every rule kind by hand on tests/agreement_workspace.py, the settings
that configure them, and `--preview`'s counts against the mart."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from pipelines.agreements import (
    KINDS,
    Agreement,
    AgreementError,
    configured_agreements,
    parse_agreement,
    preview,
)
from pipelines.settings import get_settings
from tests.agreement_workspace import AGREEMENTS, load_agreement_workspace
from tests.conftest import query

SLACK = "https://acme.slack.com/archives/C1/p"
GH = "https://github.com/acme/api/pull/"


def at(day: str, hh: int, mm: int = 0, ss: int = 0, us: int = 0) -> datetime:
    y, m, d = (int(x) for x in day.split("-"))
    return datetime(y, m, d, hh, mm, ss, us, tzinfo=UTC)


@pytest.fixture
def built(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ASYNCPULSE_AGREEMENT", json.dumps(AGREEMENTS))
    monkeypatch.setenv("ASYNCPULSE_SLACK_WORKSPACE_URL", "https://acme.slack.com")
    get_settings.cache_clear()
    return load_agreement_workspace(tmp_path / "a.duckdb", tmp_path / "export")


# (agreement, subject_id, team, opened_at, detected_at, value, threshold, still_open, url,
#  wait_seconds, week), worked out in tests/agreement_workspace.py
EXPECTED = [
    ("after_hours_share", "London:2024-W11", "London", at("2024-03-11", 0), at("2024-03-18", 0),
     1 / 12, 0.05, False, None, None, date(2024, 3, 11)),
    ("dm_share", "London:2024-W11", "London", at("2024-03-11", 0), at("2024-03-18", 0),
     1 / 12, 0.07, False, None, None, date(2024, 3, 11)),
    ("escalation", "slack:C1:1710345600.000000", "SF", at("2024-03-13", 16),
     at("2024-03-13", 16, 6, 0, 6000), 3.0, 3.0, True, SLACK + "1710345600000000", None,
     date(2024, 3, 11)),
    ("first_review", "github:acme/api#1", "SF", at("2024-03-11", 16), at("2024-03-12", 16),
     8.5, 8.0, False, GH + "1", 30600, date(2024, 3, 11)),
    ("first_review", "github:acme/api#3", "London", at("2024-03-15", 16), at("2024-03-18", 16),
     8.5, 8.0, True, GH + "3", 30600, date(2024, 3, 18)),
    ("low_context_share", "London:2024-W11", "London", at("2024-03-11", 0), at("2024-03-18", 0),
     1 / 3, 0.25, False, None, None, date(2024, 3, 11)),
    ("ping_pong", "slack:C1:1710285000.000000", "SF", at("2024-03-12", 23, 10),
     at("2024-03-13", 16, 30), 2.0, 2.0, False, SLACK + "1710285000000000", None,
     date(2024, 3, 11)),
    # scoped to SF: Ben's PR #3 is London's
    ("sf-first-review", "github:acme/api#1", "SF", at("2024-03-11", 16), at("2024-03-12", 16),
     8.5, 8.0, False, GH + "1", 30600, date(2024, 3, 11)),
    ("unanswered", "slack:C1:1710172800.250000", "SF", at("2024-03-11", 16, 0, 0, 250000),
     at("2024-03-12", 16, 0, 0, 250000), 10.0, 8.0, False, SLACK + "1710172800250000", 36000,
     date(2024, 3, 11)),
    ("unanswered", "slack:C1:1710432000.000000", "SF", at("2024-03-14", 16), at("2024-03-15", 16),
     16.5, 8.0, True, SLACK + "1710432000000000", 59400, date(2024, 3, 11)),
]
COLUMNS = {"agreement": pl.String, "subject_id": pl.String, "team": pl.String,
           "opened_at": pl.Datetime("us", "UTC"), "detected_at": pl.Datetime("us", "UTC"),
           "value": pl.Float64, "threshold": pl.Float64, "still_open": pl.Boolean,
           "url": pl.String, "wait_seconds": pl.Int64, "week": pl.Date}


def test_every_rule_kind_by_hand(built: Path) -> None:
    got = query(built, f"select {', '.join(COLUMNS)} from marts.agreement_breaches "
                       "order by agreement, subject_id")
    want = pl.DataFrame(EXPECTED, schema=COLUMNS, orient="row")
    assert_frame_equal(got, want)
    # one hand-worked breach or more of every kind in the catalogue
    kinds = query(built, "select distinct kind from marts.agreement_breaches")["kind"].to_list()
    assert sorted(kinds) == sorted(KINDS)


def test_the_build_writes_the_agreements_for_sql(built: Path) -> None:
    got = query(built, "select name, kind, unit, threshold::varchar as threshold, threshold_seconds, "
                       "threshold_count, team from staging.agreements order by name")
    want = pl.DataFrame([
        ("after_hours_share", "after_hours_share", "share", "0.050000", None, None, None),
        ("dm_share", "dm_share", "share", "0.070000", None, None, None),
        ("escalation", "escalation", "count", "3.000000", None, 3, None),
        ("first_review", "first_review", "working hours", "8.000000", 28800, None, None),
        ("low_context_share", "low_context_share", "share", "0.250000", None, None, None),
        ("ping_pong", "ping_pong", "count", "2.000000", None, 2, None),
        ("sf-first-review", "first_review", "working hours", "8.000000", 28800, None, "SF"),
        ("unanswered", "unanswered", "working hours", "8.000000", 28800, None, None),
    ], schema={"name": pl.String, "kind": pl.String, "unit": pl.String, "threshold": pl.String,
               "threshold_seconds": pl.Int64, "threshold_count": pl.Int32, "team": pl.String},
        orient="row")
    assert_frame_equal(got, want)


def test_a_threshold_one_second_above_the_wait_does_not_fire(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A1 waited 10 h and 0.5 s of Ben's hours: 36000 s breaks 10 h - 1 s, not 10 h (the half
    # second rounds down: whole seconds, compared as integers)
    monkeypatch.setenv("ASYNCPULSE_AGREEMENT", json.dumps([
        {"kind": "unanswered", "threshold": 10, "name": "ten"},
        {"kind": "unanswered", "threshold": f"{Decimal(35999) / 3600}", "name": "just-under"},
    ]))
    get_settings.cache_clear()
    db = load_agreement_workspace(tmp_path / "a.duckdb", tmp_path / "export")
    got = query(db, "select agreement, subject_id, wait_seconds from marts.agreement_breaches "
                    "order by all")
    assert got.rows() == [("just-under", "slack:C1:1710172800.250000", 36000),
                          ("just-under", "slack:C1:1710432000.000000", 59400),
                          ("ten", "slack:C1:1710432000.000000", 59400)]


def test_no_dms_in_the_export_means_no_dm_breach(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.agreement_workspace import PEOPLE, PRS, build_agreement_workspace
    from tests.conftest import SlackExport, load_workspace

    monkeypatch.setenv("ASYNCPULSE_AGREEMENT", json.dumps([{"kind": "dm_share", "threshold": 0}]))
    get_settings.cache_clear()
    e = build_agreement_workspace(SlackExport(tmp_path / "export"))
    (e.root / "dms.json").unlink()
    for f in (e.root / "D1").iterdir():
        f.unlink()
    (e.root / "D1").rmdir()
    db = load_workspace(tmp_path / "a.duckdb", e, PRS, PEOPLE)
    assert query(db, "select count(*) as n from marts.agreement_breaches").item() == 0
    assert query(db, "select count(*) as n from marts.team_weekly where dm_share is not null").item() == 0


def test_defaults_when_none_are_configured() -> None:
    got = configured_agreements()
    assert [(a.name, a.kind, a.threshold, a.team) for a in got] == [
        ("first_review", "first_review", Decimal(8), None),
        ("unanswered", "unanswered", Decimal(8), None),
        ("escalation", "escalation", Decimal(3), None),
        ("ping_pong", "ping_pong", Decimal(2), None),
        ("dm_share", "dm_share", Decimal("0.25"), None),
        ("low_context_share", "low_context_share", Decimal("0.25"), None),
        ("after_hours_share", "after_hours_share", Decimal("0.15"), None),
    ]


def test_agreements_from_the_settings_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    toml = tmp_path / "asyncpulse.toml"
    toml.write_text('[[agreement]]\nkind = "first_review"\nthreshold = 4.5\nteam = "Web"\n\n'
                    '[[agreement]]\nkind = "ping_pong"\nenabled = false\n')
    monkeypatch.setenv("ASYNCPULSE_SETTINGS", str(toml))
    get_settings.cache_clear()
    assert configured_agreements() == [Agreement("first_review", "first_review", Decimal("4.5"), "Web")]
    assert configured_agreements(include_disabled=True)[1] == Agreement(
        "ping_pong", "ping_pong", Decimal(2), None, enabled=False)
    assert configured_agreements()[0].threshold_seconds == 16200


@pytest.mark.parametrize(("raw", "error"), [
    ({"kind": "slow"}, "kind 'slow' is not one of first_review, unanswered"),
    ({"kind": "first_review", "threshold": "0.0001"}, "is not a whole number of seconds"),
    ({"kind": "ping_pong", "threshold": 2.5}, "must be a whole number"),
    ({"kind": "dm_share", "threshold": 25}, "is a share: between 0 and 1"),
    ({"kind": "dm_share", "threshold": "lots"}, "is not a number"),
    ({"kind": "dm_share", "teams": "x"}, "unknown keys ['teams']"),
])
def test_a_bad_agreement_is_one_line_naming_it(raw: dict[str, object], error: str) -> None:
    with pytest.raises(AgreementError) as e:
        parse_agreement(raw, "[[agreement]] #2")
    assert str(e.value).startswith("[[agreement]] #2: ") and error in str(e.value)
    assert "\n" not in str(e.value)


def test_the_preview_counts_equal_the_mart_week_by_week(built: Path) -> None:
    before = built.read_bytes()
    got = preview(built)
    mart = query(built, "select agreement, week, count(*) as breaches from marts.agreement_breaches "
                        "group by all")
    weeks = [date(2024, 3, 11), date(2024, 3, 18)]
    names = sorted({a["name"] if "name" in a else a["kind"] for a in AGREEMENTS})  # type: ignore[operator]
    want = (pl.DataFrame({"agreement": [n for n in names for _ in weeks],
                          "week": weeks * len(names)})
            .join(mart, on=["agreement", "week"], how="left")
            .with_columns(pl.col("breaches").fill_null(0)))
    assert_frame_equal(got, want, check_dtypes=False)
    # by hand: W11 holds everything but PR #3 (its 8 h were up on Monday the 18th)
    assert got.filter(pl.col("week") == weeks[1]).filter(pl.col("breaches") > 0).rows() == [
        ("first_review", weeks[1], 1)]
    assert built.read_bytes() == before  # the preview works on a scratch copy


def test_the_preview_tunes_a_threshold_before_it_is_on(built: Path) -> None:
    tuned = [Agreement("review-4h", "first_review", Decimal(4)),
             Agreement("review-9h", "first_review", Decimal(9), enabled=False)]
    got = preview(built, tuned)
    # 4 h: #1 (Ben's hours Mon 16-17 + Tue 09-12: up Tue 12 12:00), #2 (7.5 of Ana's hours,
    # up Mon 11 20:00) and #3 (Ben's Fri 16-17 + Mon 09-12: up Mon 18 12:00); 9 h: none
    assert got.rows() == [("review-4h", date(2024, 3, 11), 2), ("review-4h", date(2024, 3, 18), 1),
                          ("review-9h", date(2024, 3, 11), 0), ("review-9h", date(2024, 3, 18), 0)]


def test_the_agreements_command_lists_and_previews(built: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from pipelines.cli import main

    assert main(["agreements", "--preview", "--db", str(built)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == ("first_review: a ready PR waits more than 8 of the reviewer's working hours "
                      "for a first review; more than 8 working hours (every team)")
    assert out[1].endswith("(SF)") and len([line for line in out if ": " in line]) == len(AGREEMENTS)
    # the table: one row per week, one column per agreement, the preview's counts
    header = next(line for line in out if line.lstrip("│ ").startswith("week"))
    cells = [c.strip() for c in header.strip("│ ").split("┆")]
    assert cells[0] == "week" and sorted(cells[1:]) == sorted(
        {str(a.get("name", a["kind"])) for a in AGREEMENTS})
    rows = {line.split("┆")[0].strip("│ "): [c.strip(" │") for c in line.split("┆")[1:]]
            for line in out if line.startswith("│ 2024-W")}
    counts = preview(built)
    for week, values in rows.items():
        for name, value in zip(cells[1:], values, strict=True):
            want = counts.filter(pl.col("agreement") == name, pl.col("week") == _monday(week))["breaches"].item()
            assert int(value) == want, (week, name)
    assert set(rows) == {"2024-W11", "2024-W12"}


def _monday(label: str) -> date:
    y, w = label.split("-W")
    return date.fromisocalendar(int(y), int(w), 1)


def test_the_digest_command_prints_one_team_and_refuses_a_small_one(
    built: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipelines.cli import main
    from pipelines.db import connect_reader
    from pipelines.digest import render

    assert main(["digest", "--db", str(built), "--team", "SF", "--week", "2024-W11"]) == 1  # 1 < 5
    assert capsys.readouterr().err == ("asyncpulse: team 'SF' has 1 people, under min_group_size 5: "
                                       "no digest (a group that small is not shown)\n")
    monkeypatch.setenv("ASYNCPULSE_MIN_GROUP_SIZE", "1")
    get_settings.cache_clear()
    assert main(["digest", "--db", str(built), "--team", "SF", "--week", "2024-W11", "--format", "text"]) == 0
    con = connect_reader(built)
    try:
        want = render.text(render.gather(con, "SF", date(2024, 3, 11)))
    finally:
        con.close()
    assert capsys.readouterr().out == want
    assert main(["digest", "--db", str(built), "--week", "2024-W99"]) == 1
    assert capsys.readouterr().err == "asyncpulse: week '2024-W99' is not an ISO week like 2024-W10\n"

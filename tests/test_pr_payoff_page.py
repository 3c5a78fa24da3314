"""The PR payoff page's size, phase and review-load parts: the sentence and the privacy rule
worked out by hand (dashboard/pr_sizes.py), the queries against the marts, and the page under
AppTest on tests/github_phases.py's history."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from streamlit.testing.v1 import AppTest

from dashboard import pr_sizes
from pipelines.settings import PROJECT_ROOT
from tests.conftest import query
from tests.test_pr_phases import load

APP = PROJECT_ROOT / "dashboard" / "streamlit_app.py"


def cells(rows: list[tuple[str, str, int, float | None, float | None, float | None]]) -> pl.DataFrame:
    return pl.DataFrame(rows, orient="row", schema={
        "size_band": pl.String, "quality_band": pl.String, "prs": pl.Int64, "median_review_rounds": pl.Float64,
        "median_pickup_hours": pl.Float64, "median_pickup_work_hours": pl.Float64})


def test_sentence_too_few_prs() -> None:
    # S has 5 good PRs but 4 thin ones: no band to compare
    got = pr_sizes.size_sentence(cells([("S", "70-100", 5, 1.0, 2.0, 1.0), ("S", "0-39", 4, 2.0, 3.0, 2.0),
                                        ("S", "40-69", 30, 1.0, 1.0, 1.0)]), 5)
    assert got == ("Too few PRs to compare descriptions at the same size: no size band has 5 well-described "
                   "(quality 70–100) and 5 thin (0–39) PRs.")


def test_sentence_bands_agree_but_small() -> None:
    # S: rounds 1 < 2, pickup (working hours) 1 < 2; M: 0.5 < 1.5, 3 < 4: both bands say yes
    got = pr_sizes.size_sentence(cells([
        ("S", "70-100", 5, 1.0, 9.0, 1.0), ("S", "0-39", 8, 2.0, 8.0, 2.0),
        ("M", "70-100", 25, 0.5, 1.0, 3.0), ("M", "0-39", 30, 1.5, 2.0, 4.0),
        ("XL", "70-100", 2, 0.0, 0.0, 0.0), ("XL", "0-39", 9, 5.0, 5.0, 5.0)]), 5)
    assert got == ("At the same size, well-described PRs (quality 70–100) went with fewer review rounds than "
                   "thin ones (0–39) in 2 of 2 size bands, and with faster pickup in 2 of 2 (S: 5 and 8 PRs, "
                   "M: 25 and 30 PRs); a hint, not proof: the bands agree but the smallest side has 5 PRs.")


def test_sentence_one_band_sure_and_disagreeing() -> None:
    one = pr_sizes.size_sentence(cells([("L", "70-100", 20, 1.0, 5.0, None), ("L", "0-39", 21, 1.0, 6.0, 2.0)]), 5)
    # a tie in rounds is not fewer; pickup falls back to the wall clock where one side has no working hours
    assert one == ("At the same size, well-described PRs (quality 70–100) went with fewer review rounds than "
                   "thin ones (0–39) in 0 of 1 size band, and with faster pickup in 1 of 1 (L: 20 and 21 PRs); "
                   "a hint, not proof: only one size band has enough PRs.")
    two = [("L", "70-100", 20, 1.0, 5.0, 1.0), ("L", "0-39", 21, 2.0, 6.0, 2.0),
           ("XL", "70-100", 40, 2.0, 9.0, 3.0), ("XL", "0-39", 22, 3.0, 9.5, 3.5)]
    assert pr_sizes.size_sentence(cells(two), 5).endswith(
        "in 2 of 2 size bands, and with faster pickup in 2 of 2 (L: 20 and 21 PRs, XL: 40 and 22 PRs); "
        "fairly sure: every band agrees and each side has 20 PRs or more.")
    two[3] = ("XL", "0-39", 22, 1.0, 9.5, 3.5)  # XL's thin PRs had fewer rounds
    assert pr_sizes.size_sentence(cells(two), 5).endswith(
        "in 1 of 2 size bands, and with faster pickup in 2 of 2 (L: 20 and 21 PRs, XL: 40 and 22 PRs); "
        "not sure: the size bands disagree.")


def test_review_load_rows_fold_small_teams() -> None:
    load_ = pl.DataFrame({
        "team": ["big"] * 5 + ["small"] * 2, "team_reviewers": [5] * 5 + [2] * 2,
        "reviewer": ["A", "B", "C", "D", "E", "F", "G"], "reviews": [9, 7, 5, 3, 1, 4, 2],
        "first_reviews": [3, 2, 1, 1, 0, 2, 1],
        "median_pickup_hours": [1.0, 2.0, 3.0, 4.0, None, 1.5, 2.5],
        "median_pickup_work_hours": [0.5, 1.0, 1.5, 2.0, None, 1.0, 2.0]})
    want = pl.concat([load_.head(5).with_columns(note=pl.lit(None, pl.String)), pl.DataFrame({
        "team": ["small"], "team_reviewers": [2], "reviewer": [None], "reviews": [None], "first_reviews": [None],
        "median_pickup_hours": [None], "median_pickup_work_hours": [None],
        "note": ["fewer than 5 reviewers: not shown"]})], how="vertical_relaxed")
    assert_frame_equal(pr_sizes.review_load_rows(load_, 5), want, check_dtypes=False)
    # at min_group_size 1 everyone is shown
    assert pr_sizes.review_load_rows(load_, 1)["reviewer"].to_list() == list("ABCDEFG")


@pytest.fixture(scope="module")
def rest_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return load(tmp_path_factory.mktemp("rest"), "rest")


def test_queries_by_hand(rest_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from dashboard import queries

    monkeypatch.setenv("ASYNCPULSE_DB", str(rest_db))
    f = queries.Filters()
    by_size = queries.pr_payoff_by_size(f)
    mart = query(rest_db, """select size_band, quality_band, prs, picked_up_prs, median_review_rounds,
                                    median_pickup_hours, median_pickup_work_hours
                             from marts.pr_payoff where size_band <> 'all'""")
    assert by_size is not None
    assert_frame_equal(by_size, mart, check_dtypes=False)
    # merged weeks: all in the week of 11 March; pickups 5 h 0.5 s (#1), 0.5 h (#2), 5.5 h (#6):
    # median 5 h 0.5 s; review 22 h 59 min 59.25 s, 0, 15 h: 15 h; merge 2.5 h, 0.5 h, 3.5 h: 2.5 h
    phases = queries.pr_phases_weekly(f, work=False)
    assert phases is not None
    assert_frame_equal(phases.with_columns(pl.col("median_hours").mul(3600e6).round().cast(pl.Int64)),
                       pl.DataFrame({"week": [date(2024, 3, 11)] * 3, "phase": ["pickup", "review", "merge"],
                                     "phase_order": [1, 2, 3],
                                     "median_hours": [18_000_500_000, 54_000_000_000, 9_000_000_000],
                                     "prs": [3, 3, 3]}), check_dtypes=False)
    load_ = queries.review_load(f)
    assert load_ is not None
    assert_frame_equal(load_.with_columns(pl.col("median_pickup_hours").mul(3600e6).round().cast(pl.Int64),
                                          pl.col("median_pickup_work_hours").mul(3600e6).round().cast(pl.Int64)),
                       pl.DataFrame({"team": ["core", "core"], "team_reviewers": [2, 2], "reviewer": ["Ben", "Dee"],
                                     "reviews": [4, 1], "first_reviews": [3, 0],
                                     "median_pickup_hours": [18_000_500_000, None],
                                     "median_pickup_work_hours": [1_800_000_000, None]}), check_dtypes=False)


def test_page_renders_the_size_parts(rest_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASYNCPULSE_DB", str(rest_db))
    at = AppTest.from_file(str(APP), default_timeout=30)
    at.switch_page("app_pages/pr_payoff.py")
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert [s.value for s in at.subheader] == ["At the same size", "Where PRs wait", "Review load"]
    # every PR here is thin (an empty body): nothing to compare
    assert any(m.value.startswith("Too few PRs to compare descriptions at the same size") for m in at.markdown)
    # team core has two reviewers, under min_group_size (5): named, not shown person by person
    frames = [d.value for d in at.dataframe]
    load_ = frames[-1]
    assert load_["team"].to_list() == ["core"] and load_["note"].to_list() == ["fewer than 5 reviewers: not shown"]
    assert load_["reviewer"].isna().to_list() == [True]  # pandas: no name

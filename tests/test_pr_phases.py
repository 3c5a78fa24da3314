"""PR sizes, phases (pickup, review, merge) in both clocks, marts.review_load and
marts.work_in_progress, against the history of tests/github_phases.py worked out by hand,
loaded as each of the three GitHub layouts.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from pipelines import jobs
from tests.conftest import query
from tests.github_phases import PEOPLE, write_gh, write_migration, write_rest
from tests.helpers import mart_problems

LAYOUTS = ("gh", "rest", "migration")


def load(tmp_path: Path, layout: str, *, sizes: bool = True) -> Path:
    """Load the history in one layout with the people file into a new database; build."""
    db = tmp_path / f"{layout}.duckdb"
    src = {"gh": lambda: write_gh(tmp_path / "prs.json"),
           "rest": lambda: write_rest(tmp_path / "rest"),
           "migration": lambda: write_migration(tmp_path / "migration.tar.gz", sizes=sizes)}[layout]()
    jobs.ingest(db, "github", src)
    people = tmp_path / "people.csv"
    people.write_text(PEOPLE)
    jobs.build(db, people)
    return db


@pytest.fixture(scope="module")
def dbs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return {layout: load(tmp_path_factory.mktemp(layout), layout) for layout in LAYOUTS}


SIZES = pl.DataFrame({
    "number": [1, 2, 3, 4, 5, 6],
    "additions": [34, 3, 500, 10, 300, 700],
    "deletions": [5, 2, 400, 0, 99, 300],
    "changed_files": [2, 1, 3, 1, 1, 1],
    "size_band": ["S", "XS", "L", "S", "M", "XL"],
})

# microseconds, as worked out in tests/github_phases.py: (pickup, pickup in the reviewer's hours,
# review, review in the approver's / last reviewer's hours, merge, merge in the author's hours)
PHASES = pl.DataFrame({
    "number": [1, 2, 3, 4, 5, 6],
    "pickup_us": [18_000_500_000, 1_800_000_000, None, None, None, 19_800_000_000],
    "pickup_work_us": [7_200_750_000, 1_800_000_000, None, None, None, 1_800_000_000],
    "review_us": [82_799_250_000, 0, None, None, None, 54_000_000_000],
    "review_work_us": [25_199_250_000, 0, None, None, None, 3_600_000_000],
    "merge_us": [9_000_000_000, 1_800_000_000, None, None, None, 12_600_000_000],
    "merge_work_us": [9_000_000_000, 1_800_000_000, None, None, None, 0],
}, schema_overrides={c: pl.Int64 for c in ("pickup_us", "pickup_work_us", "review_us",
                                           "review_work_us", "merge_us", "merge_work_us")})

PHASES_SQL = """
    select number, {cols} from marts.pull_requests order by number
""".format(cols=", ".join(
    f"round({c}_hours * 3600e6)::bigint as {c}_us, round({c}_work_hours * 3600e6)::bigint as {c}_work_us"
    for c in ("pickup", "review", "merge")))


@pytest.mark.parametrize("layout", LAYOUTS)
def test_sizes_by_hand(dbs: dict[str, Path], layout: str) -> None:
    got = query(dbs[layout], "select number, additions, deletions, changed_files, size_band "
                             "from marts.pull_requests order by number")
    assert_frame_equal(got, SIZES, check_dtypes=False)


def test_rest_sizes_from_files_json_and_the_pull_detail(tmp_path: Path) -> None:
    """REST #1 has sizes on its pull record (as /pulls/1 gives them); the others only in files.json.
    Without files.json, only #1 keeps a size and coverage counts the other five."""
    root = write_rest(tmp_path / "rest")
    (root / "files.json").unlink()
    db = tmp_path / "rest.duckdb"
    jobs.ingest(db, "github", root)
    jobs.build(db)
    got = query(db, "select number, additions, deletions, changed_files, size_band "
                    "from marts.pull_requests order by number")
    assert_frame_equal(got, SIZES.with_columns(
        *[pl.when(pl.col("number") == 1).then(pl.col(c)).otherwise(None).alias(c)
          for c in ("additions", "deletions", "changed_files", "size_band")]), check_dtypes=False)
    cov = query(db, "select value from marts.coverage where item = 'PRs without a size'")
    assert cov.rows() == [("5 of 6",)]


def test_migration_without_sizes_is_null_and_coverage_says_so(tmp_path: Path) -> None:
    db = load(tmp_path, "migration", sizes=False)
    got = query(db, "select count(*), count(additions), count(changed_files), count(size_band) "
                    "from marts.pull_requests")
    assert got.rows() == [(6, 0, 0, 0)]
    cov = query(db, "select value, note from marts.coverage where item = 'PRs without a size'")
    assert cov.rows() == [("6 of 6", "the export has no additions/deletions for them (gh without "
                           "additions,deletions and files; REST without files.json; a migration archive): "
                           "size_band is NULL and they count in pr_payoff's 'all' rows only")]
    # sizes never change phases
    assert_frame_equal(query(db, PHASES_SQL), PHASES, check_dtypes=False)


@pytest.mark.parametrize("layout", ["rest", "migration"])
def test_phases_by_hand(dbs: dict[str, Path], layout: str) -> None:
    assert_frame_equal(query(dbs[layout], PHASES_SQL), PHASES, check_dtypes=False)


def test_gh_has_no_timeline_so_the_draft_pr_waits_from_its_creation(dbs: dict[str, Path]) -> None:
    """gh exports no ready/draft events: #2 counts as ready from its creation (Mon 09:00); every
    other PR's phases are the same as in the other layouts."""
    want = PHASES.with_columns(
        pl.when(pl.col("number") == 2).then(189_000_000_000).otherwise(pl.col("pickup_us")).alias("pickup_us"),
        pl.when(pl.col("number") == 2).then(59_400_000_000).otherwise(pl.col("pickup_work_us"))
        .alias("pickup_work_us"))
    assert_frame_equal(query(dbs["gh"], PHASES_SQL), want, check_dtypes=False)


def test_phase_boundaries(dbs: dict[str, Path]) -> None:
    """Who each phase waited on and when it started and ended (REST)."""
    got = query(dbs["rest"], """
        select number, strftime(timezone('UTC', pickup_started_at), '%d %H:%M:%S.%f') as pickup_from,
               strftime(timezone('UTC', first_review_at), '%d %H:%M:%S.%f') as first_review,
               strftime(timezone('UTC', review_ended_at), '%d %H:%M:%S.%f') as review_end,
               pickup_reviewer_person_id
        from marts.pull_requests order by number""")
    assert got.rows() == [
        (1, "11 10:00:00.250000", "11 15:00:00.750000", "12 14:00:00.000000", "Ben"),
        (2, "13 13:00:00.000000", "13 13:30:00.000000", "13 13:30:00.000000", "Ben"),
        (3, None, None, None, None),
        (4, None, None, None, None),
        (5, None, None, None, None),
        (6, "14 08:00:00.000000", "14 13:30:00.000000", "15 04:30:00.000000", "Ben"),
    ]


@pytest.mark.parametrize("layout", ["rest", "migration"])
def test_review_load_by_hand(dbs: dict[str, Path], layout: str) -> None:
    """Ben: reviews on #1 (two), #2 and #6; first reviews of #1, #2 and #6 with pickups of
    5 h 0.5 s, 0.5 h and 5.5 h (median 5 h 0.5 s) and 2 h 0.75 s, 0.5 h, 0.5 h in his hours
    (median 0.5 h). Dee: one review (#6), no first review. Ana's own review and the bot's don't
    count."""
    got = query(dbs[layout], """
        select person_id, reviewer_name, team, week, reviews, reviewed_prs, first_reviews,
               round(median_pickup_hours * 3600e6)::bigint as median_pickup_us,
               round(median_pickup_work_hours * 3600e6)::bigint as median_pickup_work_us
        from marts.review_load order by person_id, week""")
    want = pl.DataFrame({
        "person_id": ["Ben", "Dee"], "reviewer_name": ["Ben", "Dee"], "team": ["core", "core"],
        "week": [date(2024, 3, 11)] * 2, "reviews": [4, 1], "reviewed_prs": [3, 1],
        "first_reviews": [3, 0], "median_pickup_us": [18_000_500_000, None],
        "median_pickup_work_us": [1_800_000_000, None],
    })
    assert_frame_equal(got, want, check_dtypes=False)


@pytest.mark.parametrize(("layout", "awaiting"), [("rest", [0, 1, 1, 1, 1]), ("migration", [0, 1, 1, 1, 1]),
                                                   # gh: #2 never went back to draft there
                                                   ("gh", [1, 2, 1, 1, 1])])
def test_work_in_progress_by_hand(dbs: dict[str, Path], layout: str, awaiting: list[int]) -> None:
    """Open at the end of each UTC day: Mon #1 #2; Tue #2 #3; Wed #3; Thu #3 #6; Fri #3 (the
    export's last event is Fri 08:00). Awaiting a first review: #3 from Tue on; #2 not while back
    in draft (Mon 11:00 - Wed 13:00) where the export says so; #6 reviewed on Thursday."""
    got = query(dbs[layout], "select author_person_id, author_name, day, open_prs, awaiting_first_review "
                             "from marts.work_in_progress order by day")
    want = pl.DataFrame({
        "author_person_id": ["Ana"] * 5, "author_name": ["Ana"] * 5,
        "day": [date(2024, 3, d) for d in range(11, 16)],
        "open_prs": [2, 2, 1, 2, 1], "awaiting_first_review": awaiting,
    })
    assert_frame_equal(got, want, check_dtypes=False)


def test_payoff_by_size_band(dbs: dict[str, Path]) -> None:
    """Every PR has an empty body (quality 0-39). 'all' holds the six; each size band its own."""
    got = query(dbs["rest"], """
        select size_band, quality_band, prs, merged_prs, picked_up_prs,
               round(median_pickup_hours * 3600e6)::bigint as median_pickup_us
        from marts.pr_payoff where quality_band = '0-39'""")
    assert got.rows() == [
        ("all", "0-39", 6, 5, 3, 18_000_500_000),
        ("XS", "0-39", 1, 1, 1, 1_800_000_000),
        ("S", "0-39", 2, 2, 1, 18_000_500_000),
        ("M", "0-39", 1, 1, 0, None),
        ("L", "0-39", 1, 0, 0, None),
        ("XL", "0-39", 1, 1, 1, 19_800_000_000),
    ]
    others = query(dbs["rest"], "select count(*), sum(prs) from marts.pr_payoff where quality_band <> '0-39'")
    assert others.rows() == [(12, 0)]


@pytest.mark.parametrize("layout", LAYOUTS)
def test_marts_keep_their_rules(dbs: dict[str, Path], layout: str) -> None:
    assert mart_problems(dbs[layout]) == []
    for mart, grain in (("review_load", "person_id, week"), ("work_in_progress", "author_person_id, day"),
                        ("pr_payoff", "size_band, quality_band"), ("pull_requests", "repo, number")):
        dupes = query(dbs[layout], f"select count(*) from (select {grain} from marts.{mart} "
                                   f"group by all having count(*) > 1)")
        assert dupes.rows() == [(0,)], mart


def test_a_database_from_before_changed_files_keeps_working(tmp_path: Path) -> None:
    """A database whose raw.github_pull_requests has no changed_files (made before it existed)
    gets the column on the next ingest and builds; PRs loaded before stay without it."""
    import duckdb

    db = tmp_path / "old.duckdb"
    jobs.ingest(db, "github", write_gh(tmp_path / "prs.json"))
    con = duckdb.connect(str(db))
    con.execute("alter table raw.github_pull_requests drop column changed_files")
    con.close()
    jobs.build(db)  # the build alone adds it back (ensure_raw), NULL for the old rows
    assert query(db, "select count(*), count(changed_files) from raw.github_pull_requests").rows() == [(6, 0)]
    # the gh files lists still give sizes and counts
    got = query(db, "select number, additions, deletions, changed_files, size_band "
                    "from marts.pull_requests order by number")
    assert_frame_equal(got, SIZES, check_dtypes=False)
    jobs.ingest(db, "github", write_rest(tmp_path / "rest"))
    assert query(db, "select count(changed_files) from raw.github_pull_requests").rows() == [(1,)]

"""gh's "no date" (Go's zero time, 0001-01-01T00:00:00Z) and any time before 1970 read as NULL.

`gh pr list --json mergedAt,closedAt` writes 0001-01-01T00:00:00Z for a PR that is not
merged or not closed; stored as a date, it made time_to_merge_hours -17,734,647 h. The
history of tests/github_history.py (2024-03-04 to 03-12, across the US switch to
daylight saving on the 10th) is written in every layout with such dates in every date
field that has none, plus an extra comment and ready_for_review event dated before 1970;
each layout must load exactly as it does with no such dates.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from pipelines import jobs
from tests.conftest import query
from tests.github_history import FIXTURE, REPO, gh_prs, rest_files, write_gh, write_rest
from tests.helpers import mart_problems

ZERO = "0001-01-01T00:00:00Z"
BEFORE_1970 = "1969-12-31T23:59:59Z"


def _user(login: str) -> dict[str, Any]:
    return {"login": login, "id": 1, "type": "User"}


def zeroed(tmp_path: Path, layout: str) -> Path:
    """Write the history in `layout` with gh's zero time wherever a date is missing."""
    if layout == "gh":
        prs = gh_prs()
        by_number = {p["number"]: p for p in prs}
        by_number[8]["mergedAt"] = ZERO
        by_number[9]["closedAt"] = ZERO
        by_number[9]["mergedAt"] = ZERO
        by_number[7]["comments"].append({
            "id": "IC_kwDOA9", "author": {"login": "ben"}, "body": "from before 1970",
            "createdAt": BEFORE_1970, "url": f"https://github.com/{REPO}/pull/7#issuecomment-5009"})
        return write_gh(tmp_path / "prs.json", prs)
    if layout == "rest":
        files = rest_files()
        pulls = {p["number"]: p for p in files["pulls.json"]}
        pulls[8]["merged_at"] = ZERO
        pulls[9]["closed_at"] = ZERO
        pulls[9]["merged_at"] = ZERO
        files["issue_comments.json"].append({
            "id": 5009, "user": _user("ben"), "body": "from before 1970", "created_at": BEFORE_1970,
            "issue_url": f"https://api.github.com/repos/{REPO}/issues/7",
            "html_url": f"https://github.com/{REPO}/pull/7#issuecomment-5009"})
        files["events.json"].append({
            "id": 6009, "actor": _user("ana"), "event": "ready_for_review", "created_at": ZERO,
            "issue": {"number": 7, "html_url": f"https://github.com/{REPO}/pull/7",
                      "pull_request": {"url": f"https://api.github.com/repos/{REPO}/pulls/7"}}})
        return write_rest(tmp_path / "rest", style="array", files=files)
    root = tmp_path / "migration"
    shutil.copytree(FIXTURE, root)
    prs_file = root / "pull_requests_000001.json"
    prs = orjson.loads(prs_file.read_bytes())
    for pr in prs:
        for k in ("merged_at", "closed_at"):
            if pr.get(k) is None:
                pr[k] = ZERO
    prs_file.write_bytes(orjson.dumps(prs))
    comments_file = root / "issue_comments_000001.json"
    comments = orjson.loads(comments_file.read_bytes())
    extra = dict(comments[0])
    extra.update(url=f"https://github.com/{REPO}/pull/7#issuecomment-5009", body="from before 1970",
                 created_at=BEFORE_1970, user="https://github.com/ben")
    comments_file.write_bytes(orjson.dumps([*comments, extra]))
    return root


def clean(tmp_path: Path, layout: str) -> Path:
    if layout == "gh":
        return write_gh(tmp_path / "prs.json")
    if layout == "rest":
        return write_rest(tmp_path / "rest", style="array")
    return FIXTURE


def t(day: int, hh: int) -> datetime:
    return datetime(2024, 3, day, hh, tzinfo=UTC)


PR_SQL = """select number, state, created_at, ready_at, closed_at, merged_at
            from staging.stg_github__pull_requests order by number"""
EVENT_SQL = """select pr_id, kind, author_login, "at" from staging.stg_github__events
               order by pr_id, "at", kind, author_login"""


@pytest.mark.parametrize("layout", ["gh", "rest", "migration"])
def test_zero_and_pre_1970_dates_are_no_date(layout: str, tmp_path: Path) -> None:
    db, reference = tmp_path / "zeroed.duckdb", tmp_path / "clean.duckdb"
    assert jobs.ingest(db, "github", zeroed(tmp_path / "z", layout)).status == "ok"
    jobs.build(db)
    assert jobs.ingest(reference, "github", clean(tmp_path / "c", layout)).status == "ok"
    jobs.build(reference)

    ready_7 = t(4, 9) if layout == "gh" else t(4, 15)  # gh has no timeline events
    schema = {"number": pl.Int32, "state": pl.String, "created_at": pl.Datetime("us", "UTC"),
              "ready_at": pl.Datetime("us", "UTC"), "closed_at": pl.Datetime("us", "UTC"),
              "merged_at": pl.Datetime("us", "UTC")}
    expected = pl.DataFrame([
        (7, "merged", t(4, 9), ready_7, t(5, 12), t(5, 12)),
        (8, "closed", t(6, 4), t(6, 4), t(12, 4), None),
        (9, "draft", t(7, 20), None, None, None),
    ], schema=schema, orient="row")
    got = query(db, PR_SQL)
    assert_frame_equal(got.with_columns(pl.col(c).dt.convert_time_zone("UTC") for c in
                                        ("created_at", "ready_at", "closed_at", "merged_at")),
                       expected, check_dtypes=False)
    assert_frame_equal(got, query(reference, PR_SQL))
    # the comment dated 1969 is no event: the events are those of the clean history
    assert_frame_equal(query(db, EVENT_SQL), query(reference, EVENT_SQL))

    marts = query(db, "select number, time_to_merge_hours from marts.pull_requests order by number")
    assert marts.rows() == [(7, 27.0 if layout == "gh" else 21.0), (8, None), (9, None)]
    assert mart_problems(db) == []

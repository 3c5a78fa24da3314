"""Real GitHub history (mlswg/mls-protocol) as gh JSON and as a REST dump: the same PRs and events.

The counts are the data set's own (../shared/data/README.md): 582 PRs, 1,370
reviews, 773 conversation comments; the REST dump adds 1,720 inline review
comments. Skipped when ../shared/data is absent.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from polars.testing import assert_frame_equal

from pipelines import jobs
from tests.conftest import query, requires_shared

PRS = ("select pr_id, repo, number, author_login, author_is_bot, title, body, created_at, ready_at, "
       "closed_at, merged_at, is_draft, labels from staging.stg_github__pull_requests order by number")
EVENTS = ("select pr_id, kind, review_state, author_login, \"at\", event_key "
          "from staging.stg_github__events where kind <> 'review_comment' order by all")


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    gh = requires_shared("github/mls-protocol.gh.json")
    rest = requires_shared("github/mls-protocol-rest")
    out: dict[str, Path] = {}
    for name, path in (("gh", gh), ("rest", rest)):
        db = tmp_path_factory.mktemp(name) / "db.duckdb"
        report = jobs.ingest(db, "github", path)
        assert (report.status, report.problems) == ("ok", []), report
        jobs.build(db)
        out[name] = db
    return out


def test_counts_per_layout(loaded: dict[str, Path]) -> None:
    sql = "select kind, count(*) from staging.stg_github__events group by 1 order by 1"
    assert query(loaded["gh"], sql).rows() == [("comment", 773), ("opened", 582), ("review", 1370)]
    assert query(loaded["rest"], sql).rows() == [
        ("comment", 773), ("opened", 582), ("review", 1370), ("review_comment", 1720)]


def test_same_pull_requests(loaded: dict[str, Path]) -> None:
    assert_frame_equal(query(loaded["gh"], PRS), query(loaded["rest"], PRS))


def test_same_reviews_and_comments_by_kind_author_and_time(loaded: dict[str, Path]) -> None:
    gh, rest = query(loaded["gh"], EVENTS), query(loaded["rest"], EVENTS)
    assert gh.height == 582 + 1370 + 773
    assert_frame_equal(gh, rest)


def test_rest_after_gh_replaces_instead_of_doubling(loaded: dict[str, Path], tmp_path: Path) -> None:
    db = tmp_path / "both.duckdb"
    db.write_bytes(loaded["gh"].read_bytes())
    report = jobs.ingest(db, "github", requires_shared("github/mls-protocol-rest"))
    # only the inline review comments are new; every PR, review and comment is the same key
    assert (report.rows_added, report.rows_replaced) == (1720, 582 + 1370 + 773)
    jobs.build(db)
    assert query(db, "select count(*) from staging.stg_github__events").item() == 582 + 1370 + 773 + 1720

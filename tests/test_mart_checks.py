"""Every built mart keeps three rules (tests/helpers.py `mart_problems`): no negative duration
(`*_hours`, waits, spans), no timestamp before 1970, no NULL id. Checked on each kind of
database the suite builds: the sample workspace with a GitHub history in every layout and
a people file, the demo, and the real exports of ../shared/data (skipped when absent).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines import jobs
from pipelines.demo import generate_demo
from tests.conftest import SlackExport, requires_shared
from tests.github_history import FIXTURE, write_gh, write_rest
from tests.helpers import make_workspace, mart_problems
from tests.test_threads import PEOPLE, build_threads


def test_the_rule_finds_what_it_looks_for(tmp_path: Path) -> None:
    """The check itself: a mart with a negative wait, a date of year 1 and a NULL id is caught."""
    import duckdb

    db = tmp_path / "bad.duckdb"
    con = duckdb.connect(str(db))
    con.execute("create schema marts")
    con.execute("""create table marts.t as select * from (values
        ('a', -1.5, 2.0, TIMESTAMPTZ '2024-03-10 10:00:00+00', 'p1', null),
        (null, 0.0, -0.25, TIMESTAMPTZ '0001-01-01 00:00:00+00', null, 'x'))
        v(thread_id, time_to_merge_hours, bounce_wait_hours, started_at, person_id,
          first_replier_person_id)""")
    con.close()
    assert mart_problems(db) == [
        "marts.t.thread_id: 1 rows NULL",
        "marts.t.time_to_merge_hours: 1 rows negative",
        "marts.t.bounce_wait_hours: 1 rows negative",
        "marts.t.started_at: 1 rows before 1970",
        "marts.t.person_id: 1 rows NULL",
    ]


def test_sample_workspace_with_every_github_layout(tmp_path: Path) -> None:
    db = tmp_path / "all.duckdb"
    assert jobs.ingest(db, "slack", make_workspace(tmp_path / "export")).status == "ok"
    assert jobs.ingest(db, "slack", build_threads(SlackExport(tmp_path / "threads")).root).status == "ok"
    assert jobs.ingest(db, "github", write_gh(tmp_path / "gh" / "prs.json")).status == "ok"
    assert jobs.ingest(db, "github", write_rest(tmp_path / "rest")).status == "ok"
    assert jobs.ingest(db, "github", FIXTURE).status == "ok"
    (tmp_path / "people.csv").write_text(PEOPLE)
    jobs.build(db, tmp_path / "people.csv")
    assert mart_problems(db) == []


def test_demo(tmp_path: Path) -> None:
    generate_demo(tmp_path / "demo")
    db = tmp_path / "demo.duckdb"
    assert jobs.ingest(db, "slack", tmp_path / "demo" / "slack").status == "ok"
    assert jobs.ingest(db, "github", tmp_path / "demo" / "github" / "prs.json").status == "ok"
    jobs.build(db, tmp_path / "demo" / "people.csv")
    assert mart_problems(db) == []


@pytest.mark.realdata
@pytest.mark.parametrize("slack, github", [
    ("slack/tenacademy-anon.zip", "github/mls-protocol.gh.json"),
    ("slack/houstondatavis-2016.zip", "github/mls-protocol-rest"),
])
def test_real_exports(slack: str, github: str, tmp_path: Path) -> None:
    db = tmp_path / "real.duckdb"
    assert jobs.ingest(db, "slack", requires_shared(slack)).status == "ok"
    assert jobs.ingest(db, "github", requires_shared(github)).status == "ok"
    jobs.build(db)
    assert mart_problems(db) == []

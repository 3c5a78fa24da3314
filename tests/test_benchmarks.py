"""The benchmark's tools on the sample workspace: they measure, and never change, the database."""

from __future__ import annotations

import re
from pathlib import Path

from benchmarks.profile_build import profile_build
from tests.conftest import query
from tests.helpers import digest, load_and_build, make_workspace


def test_profile_build_times_every_model_on_a_copy(tmp_path: Path) -> None:
    database = tmp_path / "a.duckdb"
    load_and_build(database, make_workspace(tmp_path / "export"))
    relations = set(query(
        database, "select table_schema || '.' || table_name as r from information_schema.tables "
        "where table_schema in ('staging', 'intermediate', 'marts')")["r"].to_list())
    before = digest(database)
    report = profile_build(database, top=100)
    assert digest(database) == before  # built a copy, not the file itself
    timed = set(re.findall(r"^\| ((?:staging|intermediate|marts)\.\w+) \| [\d.]+ \| [\d.]+ \|$",
                           report, re.MULTILINE))
    assert timed == relations and len(relations) >= 20
    assert re.search(r"^\| (HASH_GROUP_BY|WINDOW|PROJECTION|TABLE_SCAN) \| [\d.]+ \|$", report, re.MULTILINE)

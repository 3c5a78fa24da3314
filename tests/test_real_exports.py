"""Real Slack exports from ../shared/data (skipped when absent), checked against an independent count."""

from __future__ import annotations

import json
import re
import zipfile
from collections import Counter
from pathlib import Path

import pytest

from pipelines import jobs
from tests.conftest import query, requires_shared

pytestmark = pytest.mark.realdata
DAY = re.compile(r"^[^/]+/\d{4}-\d{2}-\d{2}\.json$")


def independent_counts(zpath: Path) -> tuple[Counter[str], Counter[str | None], int]:
    """Count messages per channel id and per subtype with nothing but json and zipfile."""
    with zipfile.ZipFile(zpath) as zf:
        names = zf.namelist()
        channels = json.loads(zf.read("channels.json"))
        folder_to_id = {c["name"]: c["id"] for c in channels}
        per_conv: Counter[str] = Counter()
        per_subtype: Counter[str | None] = Counter()
        files = 0
        for n in names:
            if not DAY.match(n):
                continue
            files += 1
            msgs = json.loads(zf.read(n))
            per_conv[folder_to_id[n.split("/")[0]]] += len(msgs)
            per_subtype.update(m.get("subtype") for m in msgs)
    return per_conv, per_subtype, files


@pytest.mark.parametrize("name", ["slack/tenacademy-anon.zip", "slack/houstondatavis-2016.zip"])
def test_real_export_counts(name: str, db_path: Path) -> None:
    zpath = requires_shared(name)
    per_conv, per_subtype, files = independent_counts(zpath)
    report = jobs.ingest(db_path, "slack", zpath)
    jobs.build(db_path)
    assert (report.status, report.files_read, report.files_skipped) == ("ok", files, 0)
    got_conv = query(db_path, "select conversation_id, count(*) from staging.stg_slack__messages group by 1")
    assert dict(got_conv.rows()) == dict(per_conv)
    got_sub = query(db_path, "select subtype, count(*) from staging.stg_slack__messages group by 1")
    assert dict(got_sub.rows()) == dict(per_subtype)
    # All conversations are listed in channels.json: none typed by guess.
    assert query(db_path, "select count(*) from raw.slack_conversations where not is_listed").item() == 0


def test_tenacademy_threads_and_people(db_path: Path) -> None:
    zpath = requires_shared("slack/tenacademy-anon.zip")
    with zipfile.ZipFile(zpath) as zf:
        users = json.loads(zf.read("users.json"))
        parents = sum(
            1 for n in zf.namelist() if DAY.match(n)
            for m in json.loads(zf.read(n)) if m.get("reply_count")
        )
    jobs.ingest(db_path, "slack", zpath)
    jobs.build(db_path)
    with_tz = sum(1 for u in users if u.get("tz"))
    got = query(db_path, "select count(*), count(*) filter (has_known_tz) from staging.stg_slack__users")
    assert got.row(0) == (len(users), with_tz) == (71, 57)
    assert query(db_path, "select count(*) from staging.stg_slack__messages where is_thread_parent").item() == parents == 2026


def test_houston_old_format(db_path: Path) -> None:
    zpath = requires_shared("slack/houstondatavis-2016.zip")
    report = jobs.ingest(db_path, "slack", zpath)
    jobs.build(db_path)
    assert report.status == "ok"
    # file_comment authors come from comment.user; all six are humans.
    got = query(db_path, """
        select count(*), count(*) filter (is_human), count(author_id)
        from staging.stg_slack__messages where subtype = 'file_comment'""")
    assert got.row(0) == (6, 6, 6)
    # The README and LICENSE beside the export are ignored without complaint.
    assert report.problems == [] and report.notes == []

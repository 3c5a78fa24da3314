"""GitHub exports -> raw and staging: the three layouts, bots, drafts, re-loading, bad input."""

from __future__ import annotations

import tarfile
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from polars.testing import assert_frame_equal

from pipelines import jobs
from pipelines.cli import main
from pipelines.exports import ExportError
from pipelines.settings import DEFAULT_BOT_LOGINS
from pipelines.sources.github_parse import iter_json_values
from tests.conftest import query
from tests.github_history import (
    COMMON_EVENTS,
    FIXTURE,
    INLINE_EVENT,
    REPO,
    encode,
    gh_prs,
    rest_files,
    t,
    write_gh,
    write_rest,
)

EVENT_COLUMNS = "number, kind, review_state, author_login, \"at\", author_is_bot"
PR_COLUMNS = ("pr_id, repo, number, author_login, author_is_bot, title, created_at, ready_at, "
              "closed_at, merged_at, is_draft, labels, files, additions, deletions")
LAYOUTS = ["gh", "rest-array", "rest-pages", "rest-ndjson", "migration", "migration-tar.gz"]


@pytest.fixture(autouse=True)
def _bot_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    """Release-Manager is a bot only because the settings say so (here: upper case, with [bot])."""
    from pipelines.settings import get_settings

    monkeypatch.setenv("ASYNCPULSE_BOT_LOGINS", orjson.dumps([*DEFAULT_BOT_LOGINS, "RELEASE-MANAGER[bot]"]).decode())
    get_settings.cache_clear()


def make_export(tmp_path: Path, layout: str) -> Path:
    """Write the sample history in `layout`; return the path to ingest."""
    if layout == "gh":
        return write_gh(tmp_path / "prs.json")
    if layout.startswith("rest-"):
        return write_rest(tmp_path / "rest", style=layout.removeprefix("rest-"))
    if layout == "migration":
        return FIXTURE
    return make_tar(tmp_path / "migration.tar.gz")


def make_tar(dest: Path, extra: dict[str, bytes] | None = None) -> Path:
    """Pack the migration fixture as GitHub ships it: a .tar.gz with ./-prefixed members."""
    with tarfile.open(dest, "w:gz") as tf:
        for p in sorted(FIXTURE.iterdir()):
            tf.add(p, arcname=f"./{p.name}")
        for name, data in (extra or {}).items():
            import io

            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return dest


def ingest_and_build(db: Path, path: Path) -> jobs.LoadReport:
    report = jobs.ingest(db, "github", path)
    jobs.build(db)
    return report


def events(db: Path) -> list[tuple[Any, ...]]:
    return query(db, f"select {EVENT_COLUMNS} from staging.stg_github__events order by \"at\", kind").rows()


def expected_events(layout: str) -> list[tuple[Any, ...]]:
    rows = COMMON_EVENTS + ([] if layout == "gh" else [INLINE_EVENT])
    return sorted(rows, key=lambda r: (r[4], r[1]))


@pytest.mark.parametrize("layout", LAYOUTS)
def test_every_layout_loads_the_same_events(tmp_path: Path, db_path: Path, layout: str) -> None:
    report = ingest_and_build(db_path, make_export(tmp_path, layout))
    assert (report.status, report.problems) == ("ok", [])
    assert events(db_path) == expected_events(layout)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_pull_requests_exact_rows_drafts_and_ready_at(tmp_path: Path, db_path: Path, layout: str) -> None:
    ingest_and_build(db_path, make_export(tmp_path, layout))
    got = query(db_path, f"select {PR_COLUMNS} from staging.stg_github__pull_requests order by number").rows()
    has_files = not layout.startswith("migration")
    # gh has no timeline: PR 7 was a draft until 15:00, but only REST and the archive say so.
    ready_7 = t(4, 9) if layout == "gh" else t(4, 15)
    assert got == [
        (f"github:{REPO}#7", REPO, 7, "ana", False, "Add retry to uploader", t(4, 9), ready_7,
         t(5, 12), t(5, 12), False, ["enhancement"],
         ["src/upload.py", "tests/test_upload.py"] if has_files else None,
         65 if has_files else None, 3 if has_files else None),
        (f"github:{REPO}#8", REPO, 8, "dependabot[bot]", True, "Bump axios from 1.6.8 to 1.7.4", t(6, 4),
         t(6, 4), t(12, 4), None, False, ["dependencies"], ["package.json"] if has_files else None,
         1 if has_files else None, 1 if has_files else None),
        # still a draft: no ready_at
        (f"github:{REPO}#9", REPO, 9, "cai", False, "WIP: new settings page", t(7, 20), None, None, None,
         True, [], ["web/settings.tsx"] if has_files else None, 120 if has_files else None,
         0 if has_files else None),
    ]


def test_event_rows_carry_ids_bodies_and_urls(tmp_path: Path, db_path: Path) -> None:
    ingest_and_build(db_path, FIXTURE)
    got = query(db_path, """
        select event_key, event_id, kind, body, url from staging.stg_github__events
        where number = 7 order by "at", kind""").rows()
    pr = f"github:{REPO}#7"
    assert got == [
        (f"{pr}:opened:ana:2024-03-04T09:00:00Z", None, "opened",
         "Uploads fail on flaky networks because we never retry.\n\nFixes #5", f"https://github.com/{REPO}/pull/7"),
        (f"{pr}:comment:codecov[bot]:2024-03-04T09:05:00Z", "5001", "comment", "Coverage 91.2% (+0.4%)",
         f"https://github.com/{REPO}/pull/7#issuecomment-5001"),
        (f"{pr}:review_comment:ben:2024-03-04T16:29:00Z", "7001", "review_comment",
         "What happens when the timeout fires mid-upload?", f"https://github.com/{REPO}/pull/7/files#r7001"),
        (f"{pr}:review:ben:2024-03-04T16:30:00Z", "9001", "review", "Needs a test for the timeout path.",
         f"https://github.com/{REPO}/pull/7/files#pullrequestreview-9001"),
        (f"{pr}:comment:ana:2024-03-05T08:00:00Z", "5002", "comment", "Added the test in abc1234.",
         f"https://github.com/{REPO}/pull/7#issuecomment-5002"),
        # submitted at 11:00+01:00 in the archive: 10:00 UTC; an empty review body is still a review
        (f"{pr}:review:ben:2024-03-05T10:00:00Z", "9002", "review", "",
         f"https://github.com/{REPO}/pull/7/files#pullrequestreview-9002"),
    ]


def test_event_keys_and_staging_shape_are_the_same_across_layouts(tmp_path: Path) -> None:
    keys: dict[str, set[str]] = {}
    schemas: dict[str, dict[str, Any]] = {}
    for layout in ("gh", "rest-pages", "migration"):
        db = tmp_path / f"{layout}.duckdb"
        ingest_and_build(db, make_export(tmp_path, layout))
        keys[layout] = set(query(db, "select event_key from staging.stg_github__events "
                                     "where kind <> 'review_comment'").to_series())
        schemas[layout] = {
            t: query(db, f"select * from staging.{t} limit 0").schema
            for t in ("stg_github__pull_requests", "stg_github__events", "stg_github__users")
        }
    assert keys["gh"] == keys["rest-pages"] == keys["migration"]
    assert len(keys["gh"]) == len(COMMON_EVENTS)
    assert schemas["gh"] == schemas["rest-pages"] == schemas["migration"]


def test_migration_users_give_names_and_emails(db_path: Path) -> None:
    ingest_and_build(db_path, FIXTURE)
    got = query(db_path, "select login, name, email, is_bot, bot_reason from staging.stg_github__users order by lower(login)")
    assert got.rows() == [
        ("ana", "Ana Lima", "ana@acme.test", False, None),
        ("ben", "Ben Okafor", "ben@acme.test", False, None),  # the primary address, lower-cased
        ("cai", None, None, False, None),
        ("codecov[bot]", None, None, True, "[bot] login"),  # https://github.com/apps/codecov
        ("dependabot[bot]", None, None, True, "[bot] login"),
        ("Release-Manager", None, None, True, "bot_logins setting"),
    ]


@pytest.mark.parametrize("setting", [None, "release-manager", "Release-Manager", "release-manager[bot]"])
def test_bots_by_login_by_type_and_by_setting(
    tmp_path: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch, setting: str | None
) -> None:
    from pipelines.settings import get_settings

    logins = [*DEFAULT_BOT_LOGINS, setting] if setting else list(DEFAULT_BOT_LOGINS)
    monkeypatch.setenv("ASYNCPULSE_BOT_LOGINS", orjson.dumps(logins).decode())
    get_settings.cache_clear()
    files = rest_files()
    # ci-helper is a machine account of type Bot: only its REST user object says so
    files["issue_comments.json"].append({
        "id": 5005, "user": {"login": "ci-helper", "type": "Bot"}, "body": "lint ok", "created_at": "2024-03-07T20:02:00Z",
        "issue_url": f"https://api.github.com/repos/{REPO}/issues/9",
        "html_url": f"https://github.com/{REPO}/pull/9#issuecomment-5005"})
    ingest_and_build(db_path, write_rest(tmp_path / "rest", files=files))
    got = query(db_path, "select login, is_bot, bot_reason from staging.stg_github__users order by lower(login)")
    assert got.rows() == [
        ("ana", False, None), ("ben", False, None), ("cai", False, None),
        ("ci-helper", True, "type: Bot"),
        ("codecov[bot]", True, "[bot] login"),
        ("dependabot[bot]", True, "[bot] login"),
        ("Release-Manager", setting is not None, "bot_logins setting" if setting else None),
    ]
    humans = query(db_path, "select distinct author_login from staging.stg_github__events "
                            "where not author_is_bot order by lower(author_login)").to_series().to_list()
    assert humans == ["ana", "ben", "cai"] + (["Release-Manager"] if setting is None else [])


def test_gh_app_authors_are_bots(tmp_path: Path, db_path: Path) -> None:
    """gh names an App author app/<slug> with is_bot; stored as <slug>[bot], REST's spelling."""
    ingest_and_build(db_path, write_gh(tmp_path / "prs.json"))
    got = query(db_path, "select login, is_bot, bot_reason from staging.stg_github__users where is_bot order by 1")
    assert got.rows() == [("Release-Manager", True, "bot_logins setting"),
                          ("codecov[bot]", True, "[bot] login"), ("dependabot[bot]", True, "[bot] login")]


def test_several_repositories_in_one_folder(tmp_path: Path, db_path: Path) -> None:
    other = [pr | {"url": pr["url"].replace(REPO, "acme/gadgets")} for pr in gh_prs()]
    write_gh(tmp_path / "exports" / "widgets.json")
    write_gh(tmp_path / "exports" / "gadgets.json", other)
    write_rest(tmp_path / "exports" / "widgets-rest")
    report = ingest_and_build(db_path, tmp_path / "exports")
    assert (report.status, report.files_read) == ("ok", 8)
    got = query(db_path, "select repo, count(*) filter (kind = 'opened'), count(*) "
                         "from staging.stg_github__events group by 1 order by 1").rows()
    # widgets: gh and REST are the same history, so its events are not doubled
    assert got == [("acme/gadgets", 3, len(COMMON_EVENTS)), ("acme/widgets", 3, len(COMMON_EVENTS) + 1)]


@pytest.mark.parametrize("layout", ["gh", "rest-pages", "migration-tar.gz"])
def test_same_export_twice_changes_nothing(tmp_path: Path, db_path: Path, layout: str) -> None:
    path = make_export(tmp_path, layout)
    ingest_and_build(db_path, path)
    tables = ("github_pull_requests", "github_pr_files", "github_events", "github_users")
    before = {n: query(db_path, f"select * from raw.{n} order by all") for n in tables}
    again = jobs.ingest(db_path, "github", path)
    assert (again.status, again.rows_added, again.rows_replaced, again.files_read, again.exit_code) == (
        "unchanged", 0, 0, 0, 0)
    for n in tables:
        assert_frame_equal(query(db_path, f"select * from raw.{n} order by all"), before[n])
    assert query(db_path, "select status from raw.loads order by started_at").to_series().to_list() == [
        "ok", "unchanged"]


def test_newer_gh_export_adds_new_and_replaces_edited(tmp_path: Path, db_path: Path) -> None:
    first = gh_prs()
    ingest_and_build(db_path, write_gh(tmp_path / "first" / "prs.json", first))
    newer = gh_prs()
    by_number = {pr["number"]: pr for pr in newer}
    by_number[8]["reviews"][0]["body"] = "Can we wait for 1.7.5? (edited)"
    by_number[9]["comments"].append({"id": "IC_kwDOA9", "author": {"login": "ana"}, "body": "Looks promising",
                                     "createdAt": "2024-03-09T09:00:00Z"})
    newer.insert(0, {"number": 11, "title": "Fix typo", "body": "", "author": {"login": "ben"},
                     "createdAt": "2024-03-10T10:00:00Z", "closedAt": None, "mergedAt": None,
                     "isDraft": False, "labels": [], "url": f"https://github.com/{REPO}/pull/11",
                     "files": [{"path": "README.md", "additions": 1, "deletions": 1}],
                     "reviews": [], "comments": []})
    report = jobs.ingest(db_path, "github", write_gh(tmp_path / "second" / "prs.json", newer))
    # added: PR 11, its file list, ana's comment; replaced: the edited review
    assert (report.status, report.files_read, report.rows_added, report.rows_replaced) == ("ok", 1, 3, 1)
    jobs.build(db_path)
    got = query(db_path, "select number, kind, author_login, body from staging.stg_github__events "
                         "where number in (8, 9, 11) and kind <> 'opened' order by \"at\"").rows()
    assert got == [
        (8, "review", "ben", "Can we wait for 1.7.5? (edited)"),
        (9, "comment", "Release-Manager", "Release notes label missing."),
        (9, "comment", "ana", "Looks promising"),
    ]
    dup = query(db_path, "select count(*) from (select event_key from raw.github_events group by 1 having count(*) > 1)")
    assert dup.item() == 0


def test_newer_rest_dump_parses_only_changed_files(tmp_path: Path, db_path: Path) -> None:
    root = write_rest(tmp_path / "rest")
    ingest_and_build(db_path, root)
    files = rest_files()
    files["issue_comments.json"].append({
        "id": 5006, "user": {"login": "ben", "type": "User"}, "body": "Ping?", "created_at": "2024-03-08T09:00:00Z",
        "issue_url": f"https://api.github.com/repos/{REPO}/issues/9",
        "html_url": f"https://github.com/{REPO}/pull/9#issuecomment-5006"})
    (root / "issue_comments.json").write_bytes(encode(files["issue_comments.json"], "pages"))
    report = jobs.ingest(db_path, "github", root)
    assert (report.status, report.files_read, report.rows_added, report.rows_replaced) == ("ok", 1, 1, 0)
    assert report.notes == ["5 files unchanged since an earlier load, not parsed again"]


def test_gh_then_rest_of_the_same_history_does_not_double_events(tmp_path: Path, db_path: Path) -> None:
    ingest_and_build(db_path, write_gh(tmp_path / "prs.json"))
    report = ingest_and_build(db_path, write_rest(tmp_path / "rest"))
    # new: the inline comment, the ready_for_review event, the pending review, issue 10's comment
    assert report.rows_added == 4
    assert events(db_path) == expected_events("rest")


def test_truncated_file_in_rest_dump_is_named_and_skipped(tmp_path: Path, db_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = write_rest(tmp_path / "rest")
    data = (root / "review_comments.json").read_bytes()
    (root / "review_comments.json").write_bytes(data[: len(data) // 2])
    code = main(["--db", str(db_path), "ingest", "github", str(root)])
    assert code == 3
    assert "skipped: review_comments.json: truncated or invalid JSON; skipped" in capsys.readouterr().err
    stored = query(db_path, "select status, files_read, files_skipped, problems from raw.loads").rows()
    assert stored == [("partial", 6, 1, ["review_comments.json: truncated or invalid JSON; skipped"])]
    jobs.build(db_path)
    assert events(db_path) == expected_events("gh")  # everything but the inline comment
    # the repaired file loads next time; the others are known and not parsed again
    (root / "review_comments.json").write_bytes(data)
    again = jobs.ingest(db_path, "github", root)
    assert (again.status, again.files_read, again.rows_added) == ("ok", 1, 1)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b'[{"id": 1, "user": {"login": "ben"}, "body": "cut', "truncated or invalid JSON"),
        (b'{"id": 1}[1, 2]', "element 0 is not a JSON object"),
        (b"\xff\xfe not utf-8", "truncated or invalid JSON"),
    ],
)
def test_bad_reviews_file_is_skipped(tmp_path: Path, db_path: Path, content: bytes, problem: str) -> None:
    root = write_rest(tmp_path / "rest")
    (root / "reviews.json").write_bytes(content)
    report = jobs.ingest(db_path, "github", root)
    assert (report.status, report.exit_code, report.problems) == ("partial", 3, [f"reviews.json: {problem}; skipped"])


@pytest.mark.parametrize("kind", ["not a layout", "truncated gh file", "photos", "missing", "empty folder"])
def test_unreadable_export_exits_1_and_leaves_database_untouched(
    tmp_path: Path, db_path: Path, kind: str, capsys: pytest.CaptureFixture[str]
) -> None:
    ingest_and_build(db_path, FIXTURE)
    before = db_path.read_bytes()
    bad = tmp_path / "bad.json"
    if kind == "not a layout":
        bad.write_bytes(b'{"hello": "world"}')
    elif kind == "truncated gh file":
        bad.write_bytes(write_gh(tmp_path / "ok.json").read_bytes()[:300])
    elif kind == "photos":
        bad = tmp_path / "photos"
        bad.mkdir()
        (bad / "cat.jpg").write_bytes(b"\xff\xd8")
    elif kind == "empty folder":
        bad = tmp_path / "empty"
        bad.mkdir()
    code = main(["--db", str(db_path), "ingest", "github", str(bad)])
    err = capsys.readouterr().err
    assert code == 1 and len(err.strip().splitlines()) == 1 and err.startswith("asyncpulse: ")
    assert db_path.read_bytes() == before
    with pytest.raises(ExportError):
        jobs.ingest(db_path, "github", bad)


def test_unsafe_tar_entries_are_refused_never_written(tmp_path: Path, db_path: Path) -> None:
    tgz = make_tar(tmp_path / "evil.tar.gz", {"../escape.json": b"[]", "/abs/pulls.json": b"[]"})
    report = ingest_and_build(db_path, tgz)
    assert report.status == "partial"
    assert sorted(report.problems) == ["../escape.json: '..' in path", "/abs/pulls.json: absolute path"]
    assert not (tmp_path.parent / "escape.json").exists()
    assert events(db_path) == expected_events("migration")


def test_cli_ingest_github_and_run_help(db_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ingest", "github", str(FIXTURE), "--db", str(db_path)]) == 0
    assert "github: ok; 6 files read, 0 skipped" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    assert "--github" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("data", "values"),
    [
        (b"[1, 2]", [[1, 2]]),
        (b"[1, 2][3]", [[1, 2], [3]]),
        (b"[1]\n[2]\n\n", [[1], [2]]),
        (b'{"a": 1}\n{"a": 2}\n', [{"a": 1}, {"a": 2}]),
        # markdown reference links put "][" inside strings; non-ASCII moves byte offsets
        ('["see [docs][1] ☃ — ok"]["日本"]'.encode(), [["see [docs][1] ☃ — ok"], ["日本"]]),
        (b"\xef\xbb\xbf[1]", [[1]]),
        (b"", []),
    ],
)
def test_iter_json_values_reads_pages_and_ndjson(data: bytes, values: list[Any]) -> None:
    assert list(iter_json_values(data)) == values


def test_iter_json_values_raises_on_a_truncated_page() -> None:
    with pytest.raises(orjson.JSONDecodeError):
        list(iter_json_values(b"[1][2"))


def test_times_are_utc(tmp_path: Path, db_path: Path) -> None:
    ingest_and_build(db_path, FIXTURE)
    got = query(db_path, "select \"at\" from staging.stg_github__events where event_id = '9002'").item()
    assert got == datetime.fromisoformat("2024-03-05T10:00:00+00:00")

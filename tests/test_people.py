"""People: matching Slack users and GitHub logins to people, overrides, unknown timezones, bots."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.cli import main
from tests.conftest import SlackExport, load_workspace, msg, query, ts, user

USERS = [
    user("U1", "ana", "America/Los_Angeles"),
    user("U2", "ben", "Europe/London"),
    user("U3", "cai", None),
    user("U5", "dana scully", "Europe/London"),
    {**user("B1", "deploybot", None), "is_bot": True},
]

# Ana by Slack id; Ben by e-mail in other case (tz and hours overridden); Dana by name;
# Eve has no account anywhere and two unreadable values.
PEOPLE = """person,slack_id,email,github_login,tz,work_start,work_end,workdays,team
Ana Lopez,U1,,ana-gh,,,,,SF
Ben,,BEN@example.com,,Europe/Berlin,08:00,16:00,Mon-Thu,London
Dana Scully,,,,,,,,Support
Eve,,eve@corp.io,,Mars/Base,,,Someday,Remote
"""

PRS = [{
    "number": 1, "title": "t", "body": "", "author": {"login": "ana-gh"},
    "createdAt": "2024-03-11T16:00:00Z", "closedAt": None, "mergedAt": None, "isDraft": False,
    "labels": [], "url": "https://github.com/acme/api/pull/1",
    "reviews": [{"id": "R1", "author": {"login": "cai"}, "state": "APPROVED", "body": "",
                 "submittedAt": "2024-03-12T09:00:00Z"}],
    "comments": [
        {"id": "C1", "author": {"login": "zed-gh"}, "body": "+1", "createdAt": "2024-03-12T10:00:00Z"},
        {"id": "C2", "author": {"login": "renovate[bot]"}, "body": "rebased", "createdAt": "2024-03-12T11:00:00Z"},
    ],
}]


@pytest.fixture
def people_db(tmp_path: Path, db_path: Path) -> Path:
    e = SlackExport(tmp_path / "slack")
    e.json("users.json", USERS)
    e.json("channels.json", [{"id": "C1", "name": "general"}])
    e.day("general", "2024-03-11", [msg(u["id"], "hello there", ts("2024-03-11", 9, i)) for i, u in enumerate(USERS)])
    return load_workspace(db_path, e, PRS, PEOPLE)


def test_people_matched_by_hand(people_db: Path) -> None:
    got = query(people_db, """
        select person_id, display_name, team, slack_ids, github_logins, tz, tz_source,
               work_start_s, work_end_s, workdays_mask, schedule_source, matched_by, problems
        from intermediate.int_people__matched order by person_id""")
    assert got.rows() == [
        ("Ana Lopez", "Ana Lopez", "SF", ["U1"], ["ana-gh"], "America/Los_Angeles", "slack",
         32400, 61200, 31, "default", "people file (github_login), people file (slack_id)", None),
        ("Ben", "Ben", "London", ["U2"], [], "Europe/Berlin", "people file",
         28800, 57600, 15, "people file", "e-mail", None),
        ("Dana Scully", "Dana Scully", "Support", ["U5"], [], "Europe/London", "slack",
         32400, 61200, 31, "default", "name", None),
        ("Eve", "Eve", "Remote", [], [], None, None, 32400, 61200, 31, "default",
         "people file (no source ids seen)", "unknown timezone Mars/Base; unreadable workdays Someday"),
        # cai: no people-file row; his GitHub login is his Slack handle; no timezone anywhere
        ("github:zed-gh", "zed-gh", None, [], ["zed-gh"], None, None, 32400, 61200, 31, "default",
         "github only", None),
        ("slack:U3", "Cai", None, ["U3"], ["cai"], None, None, 32400, 61200, 31, "default",
         "login = Slack handle, slack only", None),
    ]


def test_bots_are_never_people(people_db: Path) -> None:
    got = query(people_db, "select source, source_id from intermediate.int_identities__matched order by all")
    assert got.rows() == [
        ("github", "ana-gh"), ("github", "cai"), ("github", "zed-gh"),
        ("slack", "U1"), ("slack", "U2"), ("slack", "U3"), ("slack", "U5"),
    ]


def test_people_command(people_db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["people", "--db", str(people_db), "--format", "csv"]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines() == [
        "person,team,slack_ids,github_logins,tz,tz_from,working_hours,hours_from,matched_by,problems",
        "Eve,Remote,,,UNKNOWN,,09:00-17:00 Mon-Fri,default,people file (no source ids seen),"
        "unknown timezone Mars/Base; unreadable workdays Someday",
        "Cai,,U3,cai,UNKNOWN,,09:00-17:00 Mon-Fri,default,\"login = Slack handle, slack only\",",
        "zed-gh,,,zed-gh,UNKNOWN,,09:00-17:00 Mon-Fri,default,github only,",
        "Ben,London,U2,,Europe/Berlin,people file,08:00-16:00 Mon-Thu,people file,e-mail,",
        "Ana Lopez,SF,U1,ana-gh,America/Los_Angeles,slack,09:00-17:00 Mon-Fri,default,"
        "\"people file (github_login), people file (slack_id)\",",
        "Dana Scully,Support,U5,,Europe/London,slack,09:00-17:00 Mon-Fri,default,name,",
    ]
    assert err.splitlines() == [
        "3 of 6 people have no known timezone (no bounces or working-hours figures for them): "
        "Eve, Cai, zed-gh",
    ]


def test_people_file_setting_is_used_when_no_flag_is_given(
    tmp_path: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipelines.settings import get_settings

    e = SlackExport(tmp_path / "slack")
    e.json("users.json", USERS)
    e.json("channels.json", [{"id": "C1", "name": "general"}])
    e.day("general", "2024-03-11", [msg("U2", "hello", ts("2024-03-11", 9))])
    people = tmp_path / "team.csv"
    people.write_text(PEOPLE)
    monkeypatch.setenv("ASYNCPULSE_PEOPLE_FILE", str(people))
    get_settings.cache_clear()
    assert main(["ingest", "slack", str(e.root), "--db", str(db_path)]) == 0
    assert main(["build", "--db", str(db_path)]) == 0
    got = query(db_path, "select person_id, tz from intermediate.int_people__matched where person_id = 'Ben'")
    assert got.rows() == [("Ben", "Europe/Berlin")]  # the file's zone, not Slack's London

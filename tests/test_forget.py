"""`asyncpulse forget PERSON`: hand-worked counts on the sample workspace (tests/workspace.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.cli import main
from tests.conftest import SlackExport, msg, query, ts
from tests.helpers import digest, leftovers
from tests.workspace import FACTS, build_workspace

PEOPLE = (
    "person,slack_id,email,github_login,tz,work_start,work_end,workdays,team\n"
    "Ana Alvarez,U1,ana@example.com,,,,,,core\n"
    "Ben Baker,U2,ben@example.com,,,,,,core\n"
)
MENTION = msg("U1", "thanks <@U2|ben> and <@U3>", ts("2024-03-06", 9),
              reactions=[{"name": "+1", "users": ["U2", "U3"], "count": 2}])


@pytest.fixture(autouse=True)
def _redact_off_after(monkeypatch: pytest.MonkeyPatch) -> None:
    """`--redact` sets ASYNCPULSE_REDACT for the process (the CLI's lifetime); undo it after each test."""
    monkeypatch.setenv("ASYNCPULSE_REDACT", "false")


def _export(root: Path) -> SlackExport:
    e = build_workspace(SlackExport(root))
    e.day("general", "2024-03-06", [MENTION])
    return e


@pytest.fixture
def loaded(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    db = tmp_path / "db.duckdb"
    (tmp_path / "people.csv").write_text(PEOPLE)
    assert main(["ingest", "slack", str(_export(tmp_path / "export").root), "--db", str(db)]) == 0
    assert main(["build", "--db", str(db), "--people", str(tmp_path / "people.csv")]) == 0
    capsys.readouterr()
    return db


def test_forget_ben_by_hand(loaded: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # ben (U2) wrote 7 of the 20 messages: "Which one?", "Done, see thread", "waves",
    # "mockup attached", "hi" (D1), "group chat", and the legacy file_comment (comment.user U2).
    # He is a member of C1, C2 (its creator too), G1, D1 and G2; U1 mentions and reacts with him once.
    assert main(["forget", "Ben Baker", "--yes", "--db", str(loaded)]) == 0
    err = capsys.readouterr().err.splitlines()
    assert err[-1] == (
        "forgot 'Ben Baker' (U2): slack messages 7, slack users 1, github events 0, "
        "github pr files 0, github pull requests 0, github users 0, people-file rows 1, "
        "mentions redacted 1, reactions redacted 1, parent authors redacted 0, "
        "profile names redacted 0, conversations redacted 5, github mentions redacted 0, "
        "github pr mentions redacted 0, digests withdrawn 0"
    )
    assert query(loaded, "select count(*) as n from raw.slack_messages").item() == FACTS["messages"] + 1 - 7
    assert query(loaded, "select count(*) as n from raw.slack_messages where "
                         "\"user\" = 'U2' or comment_user = 'U2'").item() == 0
    assert query(loaded, "select text, reactions from raw.slack_messages where ts = ?", [MENTION["ts"]]).row(0) == (
        "thanks <@forgotten> and <@U3>", '[{"name":"+1","users":["forgotten","U3"],"count":2}]')
    assert query(loaded, "select id from raw.slack_users order by id")["id"].to_list() == ["B1", "U1", "U3", "U4"]
    assert query(loaded, "select person from raw.people")["person"].to_list() == ["Ana Alvarez"]
    members = query(loaded, "select id, members, creator from raw.slack_conversations where id in ('C2', 'D1') order by id")
    assert members.rows() == [("C2", ["U1"], None), ("D1", ["U1"], None)]
    # Rebuilt: nobody called Ben anywhere downstream.
    assert query(loaded, "select count(*) as n from staging.stg_slack__messages where author_id = 'U2'").item() == 0
    assert query(loaded, "select count(*) as n from marts.people_weekly where person like '%Ben%'").item() == 0
    assert query(loaded, "select count(*) as n from marts.people_weekly where person = 'Ana Alvarez'").item() > 0
    assert leftovers(loaded) == []


def test_a_forgotten_person_stays_forgotten(
    loaded: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["forget", "U2", "--yes", "--db", str(loaded)]) == 0
    e = _export(tmp_path / "newer")
    e.day("general", "2024-03-08", [msg("U2", "back again", ts("2024-03-08", 9)),
                                    msg("U1", "hello", ts("2024-03-08", 10))])
    assert main(["ingest", "slack", str(e.root), "--db", str(loaded)]) == 0
    assert main(["build", "--db", str(loaded), "--people", str(tmp_path / "people.csv")]) == 0
    assert query(loaded, "select count(*) as n from raw.slack_messages where \"user\" = 'U2'").item() == 0
    assert query(loaded, "select count(*) as n from raw.slack_messages where text = 'hello'").item() == 1
    assert query(loaded, "select count(*) as n from raw.people where slack_id = 'U2'").item() == 0
    assert query(loaded, "select count(*) as n from raw.slack_users where id = 'U2'").item() == 0


def test_forget_without_yes_changes_nothing(loaded: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = digest(loaded)
    assert main(["forget", "ben@example.com", "--db", str(loaded)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("would forget 'ben@example.com' (U2): slack messages 7, slack users 1")
    assert err[1] == "asyncpulse: nothing deleted: add --yes to forget them"
    assert digest(loaded) == before


def test_forget_nobody_is_one_line_and_exit_1(loaded: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = digest(loaded)
    assert main(["forget", "Zed", "--yes", "--db", str(loaded)]) == 1
    assert capsys.readouterr().err == (
        "asyncpulse: nobody called 'Zed' in the database (try a Slack id or e-mail)\n")
    assert digest(loaded) == before


def test_forget_withdraws_the_digests_that_name_them(
    loaded: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from pipelines import db as dbmod

    with dbmod.writable_copy(loaded) as work:
        con = dbmod.connect_writer(work)
        con.executemany(
            "insert into raw.deliveries values (?, '2024-03-04', 'folder', 'folder', 'sent', 1, "
            "'2024-03-11 09:00Z', '2024-03-11 09:00Z', '2024-03-11 09:00Z', '2024-03-11 09:00Z', "
            "null, null, ?)",
            [["core", "# core\n- waiting on Ben Baker for 3 days"],
             ["data", "# data\n- Ana Alvarez answered everything"]],
        )
        con.close()
    assert main(["forget", "Ben Baker", "--yes", "--db", str(loaded)]) == 0
    assert capsys.readouterr().err.splitlines()[-1].endswith("digests withdrawn 1")
    assert query(loaded, "select team, status, digest from raw.deliveries order by team").rows() == [
        ("core", "sent", None), ("data", "sent", "# data\n- Ana Alvarez answered everything")]

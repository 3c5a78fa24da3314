"""Shared test fixtures: a builder for small Slack exports, databases in tmp_path, settings."""

from __future__ import annotations

import os
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import polars as pl
import pytest

pytest_plugins = ("tests.conftest_hostile",)

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
if "ASYNCPULSE_SHARED_DATA" in os.environ:
    SHARED_DATA = Path(os.environ["ASYNCPULSE_SHARED_DATA"])

# Telemetry off and Prefect kept inside the test run, whatever the caller's environment.
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ["DO_NOT_TRACK"] = "1"
# The temporary Prefect server of a flow run without one: slow to start on a loaded machine.
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")


def ts(day: str, hh: int, mm: int = 0, ss: int = 0, micros: int = 0) -> str:
    """Return Slack's ts text for a UTC time on `day` (YYYY-MM-DD)."""
    from datetime import UTC, datetime

    y, m, d = (int(x) for x in day.split("-"))
    secs = int(datetime(y, m, d, hh, mm, ss, tzinfo=UTC).timestamp())
    return f"{secs}.{micros:06d}"


def msg(user: str | None, text: str, t: str, **extra: Any) -> dict[str, Any]:
    """Return a Slack message dict as exports write it."""
    m: dict[str, Any] = {"type": "message", "text": text, "ts": t}
    if user is not None:
        m["user"] = user
    m.update(extra)
    return m


def user(uid: str, name: str, tz: str | None = "Europe/London", **extra: Any) -> dict[str, Any]:
    """Return a users.json entry."""
    u: dict[str, Any] = {
        "id": uid, "team_id": "T1", "name": name, "real_name": name.title(), "deleted": False,
        "is_bot": False, "is_app_user": False,
        "profile": {"email": f"{name}@example.com", "display_name": name, "real_name": name.title(),
                    "title": ""},
    }
    if tz is not None:
        u["tz"] = tz
        u["tz_offset"] = 0
    u.update(extra)
    return u


class SlackExport:
    """Write a small Slack export: metadata files and day files, as a folder or ZIP."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)

    def json(self, rel: str, value: Any) -> SlackExport:
        p = self.root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(orjson.dumps(value))
        return self

    def raw(self, rel: str, data: bytes) -> SlackExport:
        p = self.root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
        return self

    def day(self, folder: str, day: str, messages: list[dict[str, Any]]) -> SlackExport:
        return self.json(f"{folder}/{day}.json", messages)

    def zip(self, dest: Path, prefix: str = "") -> Path:
        """Pack the folder into a ZIP at `dest` (members under `prefix`)."""
        with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as zf:
            for p in sorted(self.root.rglob("*")):
                if p.is_file():
                    zf.write(p, prefix + p.relative_to(self.root).as_posix())
        return dest


@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Give each test its own default database and no settings file from the caller."""
    from pipelines.settings import get_settings

    monkeypatch.setenv("ASYNCPULSE_DB", str(tmp_path / "default.duckdb"))
    monkeypatch.setenv("ASYNCPULSE_SETTINGS", str(tmp_path / "no-settings.toml"))
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / "prefect"))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def prefect_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Start Prefect's temporary server once (about 15 s); telemetry off, home in tmp."""
    os.environ["PREFECT_HOME"] = str(tmp_path_factory.mktemp("prefect-home"))
    os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    os.environ["DO_NOT_TRACK"] = "1"
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=60):
        yield


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "test.duckdb"


@pytest.fixture
def export(tmp_path: Path) -> SlackExport:
    return SlackExport(tmp_path / "export")


def query(db: Path, sql: str, params: list[Any] | None = None) -> pl.DataFrame:
    """Run `sql` on a read-only connection (the product's own) and return a Polars frame."""
    from pipelines.db import connect_reader

    con = connect_reader(db)
    try:
        return con.sql(sql, params=params or []).pl()
    finally:
        con.close()


def load_workspace(
    db: Path, slack: SlackExport, prs: list[dict[str, Any]] | None = None, people: str | None = None
) -> Path:
    """Ingest a Slack export, optional `gh pr list` JSON and people.csv text into `db`; build."""
    from pipelines import jobs

    jobs.ingest(db, "slack", slack.root)
    if prs is not None:
        gh = slack.root.parent / "prs.json"
        gh.write_bytes(orjson.dumps(prs))
        jobs.ingest(db, "github", gh)
    people_file = None
    if people is not None:
        people_file = slack.root.parent / "people.csv"
        people_file.write_text(people)
    jobs.build(db, people_file)
    return db


def requires_shared(name: str) -> Path:
    """Return ../shared/data/<name>, or skip the test when it is absent."""
    p = SHARED_DATA / name
    if not p.exists():
        pytest.skip(f"{p} not present")
    return p

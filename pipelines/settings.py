"""Every path and knob of asyncpulse, from the environment or a settings file.

Environment variables carry the prefix ``ASYNCPULSE_`` (``ASYNCPULSE_DB``,
``ASYNCPULSE_SINCE``, ...). A TOML settings file is read from
``$ASYNCPULSE_SETTINGS`` or ``asyncpulse.toml`` in the working directory;
the environment wins over the file.
"""

from __future__ import annotations

import os
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

# The one place that knows where the checkout lives: SQL models and the
# sample workspace ship beside the packages.
PROJECT_ROOT = Path(__file__).resolve().parent.parent

DEFAULT_BOT_LOGINS = (
    "dependabot",
    "renovate",
    "github-actions",
    "codecov",
    "netlify",
    "vercel",
    "sonarcloud",
    "snyk-bot",
    "mergify",
    "pre-commit-ci",
    "allcontributors",
    "stale",
)


class FetchSettings(BaseModel):
    """What `fetch` and the nightly run fetch (the `[fetch]` table of the settings file)."""

    repos: list[str] = Field(default_factory=list, description="owner/repo to fetch each night.")
    orgs: list[str] = Field(default_factory=list, description="Every repository of these orgs.")
    slack: bool = Field(default=False, description="Fetch Slack (SLACK_TOKEN) each night.")
    since: date | None = Field(default=None, description="The first fetch goes back to this day.")
    dir: Path | None = Field(default=None, description="Drop folder (default: <db dir>/fetched).")
    github_api_url: str = "https://api.github.com"  # GitHub Enterprise: https://HOST/api/v3
    slack_api_url: str = "https://slack.com/api"
    per_page: int = Field(default=100, description="Records per API page (GitHub and Slack max).")
    slack_thread_days: int = Field(
        default=14, description="Threads this much older than the last fetch are checked for replies."
    )
    max_wait_seconds: float = Field(default=3600, description="Longest rate-limit wait before failing.")
    retry_seconds: float = Field(default=1.0, description="First wait after a 5xx; doubles each retry.")


class Settings(BaseSettings):
    """asyncpulse configuration; see README "Settings" for each field."""

    model_config = SettingsConfigDict(
        env_prefix="ASYNCPULSE_",
        extra="ignore",
        env_nested_delimiter="__",  # ASYNCPULSE_FETCH__REPOS='["acme/widgets"]'
        toml_file=os.environ.get("ASYNCPULSE_SETTINGS", "asyncpulse.toml"),
    )

    db: Path = Field(default=Path("data/asyncpulse.duckdb"), description="The database file.")
    sql_dir: Path = PROJECT_ROOT / "sql"
    demo_dir: Path = Field(default=Path("data/demo"), description="Where `demo` writes its sample.")
    demo_db: Path = Path("data/demo.duckdb")

    # What to load.
    include_channels: list[str] = Field(default_factory=list, description="Only these (names or ids).")
    exclude_channels: list[str] = Field(default_factory=list, description="Never these.")
    since: date | None = Field(default=None, description="Drop messages before this day.")
    slack_workspace_url: str | None = Field(
        default=None, description="e.g. https://acme.slack.com, for permalinks."
    )
    bot_logins: list[str] = Field(default_factory=lambda: list(DEFAULT_BOT_LOGINS))
    people_file: Path | None = None

    # Ingest machinery.
    workers: int = Field(default=0, description="Parser processes; 0 = one per core.")
    batch_bytes: int = Field(default=16 << 20, description="Day-file bytes per parse batch.")
    scratch_dir: Path | None = Field(
        default=None, description="Where parsed batches wait to be loaded (default: system temp)."
    )
    task_runner: Literal["local", "dask"] = Field(
        default="local", description="Where batches are parsed: 'local' processes or 'dask'."
    )
    dask_address: str | None = Field(
        default=None, description="Dask scheduler (tcp://host:8786); none = a local cluster."
    )
    # 1 GB: at five million messages the build's windows and thread lists need more than
    # 384 MB (they spilled to disk, then ran out); with 1 GB the 5M build peaks at 1.2-1.4 GB
    # of RSS and the 1M build at about 700 MB.
    memory_limit: str = Field(default="1GB", description="DuckDB memory limit while writing.")
    max_file_bytes: int = Field(default=256 << 20, description="A larger export member is refused.")
    max_export_bytes: int = Field(default=32 << 30, description="Uncompressed ZIP size limit.")
    max_zip_ratio: int = Field(
        default=200, description="Uncompressed/compressed limit per ZIP entry and per tar archive.")
    max_text_chars: int = Field(
        default=1_000_000,
        description="A longer text (message, PR title or body, review) is cut to this at ingest.")
    sql_timeout_seconds: float = Field(default=60, description="`asyncpulse sql` gives up after this.")

    # Privacy (SECURITY.md).
    redact: bool = Field(
        default=False, description="Ingest without message text; names become pseudonyms."
    )
    redact_key: str | None = Field(
        default=None, description="HMAC key of the pseudonyms (default: a random key in <db>.key)."
    )
    db_file_mode: str | None = Field(
        default="600", description="Octal mode the published database gets; empty: leave it."
    )

    fetch: FetchSettings = Field(default_factory=FetchSettings)

    # Metric thresholds; documented in docs/metrics.md.
    bounce_offset_hours: float = 3.0
    opener_silence_minutes: int = 60
    checkin_gap_minutes: int = 30
    fast_reply_minutes: int = 5
    decision_min_messages: int = 10
    work_start: str = "09:00"
    work_end: str = "17:00"
    workdays: str = "Mon-Fri"
    min_group_size: int = Field(default=5, description="No view or digest shows a smaller group.")

    # Working agreements and the weekly digest (README "Working agreements and the weekly digest").
    agreement: list[dict[str, Any]] = Field(
        default_factory=list, description="[[agreement]] tables; none: the default catalogue."
    )
    delivery: list[dict[str, Any]] = Field(
        default_factory=list, description="[[delivery]] tables: where each team's digest goes."
    )
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_from: str = "asyncpulse@localhost"
    smtp_ca_file: Path | None = Field(default=None, description="CA to trust for STARTTLS.")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # the file named now, not when this module was imported
        toml_file = os.environ.get("ASYNCPULSE_SETTINGS", "asyncpulse.toml")
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls, toml_file))


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the settings of this process (read once)."""
    return Settings()

"""Arrow schemas of the Slack metadata rows (users, conversations) merged into raw.slack_*."""

from __future__ import annotations

from pipelines.arrow import pa

USER_SCHEMA = pa.schema([
    ("id", pa.string()), ("team_id", pa.string()), ("name", pa.string()),
    ("real_name", pa.string()), ("display_name", pa.string()), ("email", pa.string()),
    ("title", pa.string()), ("deleted", pa.bool_()), ("is_bot", pa.bool_()),
    ("is_app_user", pa.bool_()), ("tz", pa.string()), ("tz_label", pa.string()),
    ("tz_offset", pa.int64()), ("updated", pa.int64()), ("_source_file", pa.string()),
])
CONVERSATION_SCHEMA = pa.schema([
    ("id", pa.string()), ("name", pa.string()), ("conversation_type", pa.string()),
    ("folder", pa.string()), ("is_listed", pa.bool_()), ("created", pa.int64()),
    ("creator", pa.string()), ("is_archived", pa.bool_()), ("is_general", pa.bool_()),
    ("members", pa.list_(pa.string())), ("topic", pa.string()), ("purpose", pa.string()),
    ("_source_file", pa.string()),
])

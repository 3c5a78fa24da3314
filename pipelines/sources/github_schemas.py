"""Arrow schemas of the rows the GitHub loader merges into raw.github_* (imported when it merges)."""

from __future__ import annotations

from pipelines.arrow import pa

PR_SCHEMA = pa.schema([
    ("repo", pa.string()), ("number", pa.int64()), ("layout", pa.string()),
    ("pr_node_id", pa.string()), ("author_login", pa.string()), ("author_type", pa.string()),
    ("author_is_bot", pa.bool_()), ("title", pa.string()), ("body", pa.string()),
    ("state", pa.string()), ("created_at", pa.string()), ("closed_at", pa.string()),
    ("merged_at", pa.string()), ("is_draft", pa.bool_()), ("labels", pa.list_(pa.string())),
    ("url", pa.string()), ("additions", pa.int64()), ("deletions", pa.int64()),
    ("changed_files", pa.int64()), ("_source_file", pa.string()),
])
FILE_STRUCT = pa.struct([("path", pa.string()), ("additions", pa.int64()), ("deletions", pa.int64())])
FILES_SCHEMA = pa.schema([
    ("repo", pa.string()), ("number", pa.int64()), ("files", pa.list_(FILE_STRUCT)),
    ("_source_file", pa.string()),
])
EVENT_SCHEMA = pa.schema([
    ("event_id", pa.string()), ("repo", pa.string()), ("number", pa.int64()), ("kind", pa.string()),
    ("review_state", pa.string()), ("author_login", pa.string()), ("author_type", pa.string()),
    ("author_is_bot", pa.bool_()), ("at", pa.string()), ("body", pa.string()), ("url", pa.string()),
    ("review_id", pa.string()), ("in_reply_to", pa.string()), ("path", pa.string()),
    ("is_pull_request", pa.bool_()), ("layout", pa.string()), ("_source_file", pa.string()),
    ("_ordinal", pa.int64()),
])
USER_SCHEMA = pa.schema([
    ("login", pa.string()), ("name", pa.string()), ("email", pa.string()),
    ("user_type", pa.string()), ("is_bot", pa.bool_()), ("_source_file", pa.string()),
])

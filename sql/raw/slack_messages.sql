-- grain: one row per (conversation_id, ts): Slack's ts is the message id
create table if not exists raw.slack_messages (
    conversation_id    varchar not null,
    ts                 varchar not null,   -- "1700000000.123456", kept as text: it is an id
    type               varchar,
    subtype            varchar,
    "user"             varchar,
    bot_id             varchar,
    username           varchar,            -- old bot messages name themselves here
    text               varchar,
    thread_ts          varchar,
    parent_user_id     varchar,
    reply_count        bigint,
    edited_ts          varchar,
    comment_user       varchar,            -- legacy file_comment: the author is comment.user
    profile_name       varchar,            -- user_profile.name
    profile_real_name  varchar,
    profile_display_name varchar,
    files              varchar,            -- JSON of files (or the legacy single `file`)
    reactions          varchar,            -- JSON of reactions
    _source_file       varchar not null,
    _load_id           varchar not null,
    _loaded_at         timestamptz not null,
    _row_hash          ubigint not null
);

-- Loaded with --redact (pipelines/redact.py): text is NULL and what the metrics read from it
-- is kept here, computed before the text was dropped. NULL on rows loaded with their text.
alter table raw.slack_messages add column if not exists text_redacted boolean;
alter table raw.slack_messages add column if not exists text_words integer;
alter table raw.slack_messages add column if not exists text_links integer;
alter table raw.slack_messages add column if not exists has_broadcast boolean;
alter table raw.slack_messages add column if not exists has_decision boolean;
alter table raw.slack_messages add column if not exists pr_links varchar[];      -- ['owner/repo#12']
alter table raw.slack_messages add column if not exists opener_low_context boolean;
alter table raw.slack_messages add column if not exists opener_has_what boolean;
alter table raw.slack_messages add column if not exists opener_has_why boolean;
alter table raw.slack_messages add column if not exists opener_has_ask boolean;
alter table raw.slack_messages add column if not exists opener_has_expectation boolean;

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

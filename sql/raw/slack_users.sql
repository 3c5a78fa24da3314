-- grain: one row per Slack user id, as in the newest users.json loaded
create table if not exists raw.slack_users (
    id                 varchar not null,
    team_id            varchar,
    name               varchar,
    real_name          varchar,
    display_name       varchar,     -- profile.display_name
    email              varchar,     -- profile.email
    title              varchar,     -- profile.title
    deleted            boolean,
    is_bot             boolean,
    is_app_user        boolean,
    tz                 varchar,
    tz_label           varchar,
    tz_offset          bigint,
    updated            bigint,
    _source_file       varchar not null,
    _load_id           varchar not null,
    _loaded_at         timestamptz not null,
    _row_hash          ubigint not null
);

-- grain: one row per GitHub login: what users files, user objects and gh authors say about it
create table if not exists raw.github_users (
    login              varchar not null,
    name               varchar,
    email              varchar,            -- migration archive: the primary address
    user_type          varchar,            -- REST user.type ('User' | 'Bot' | ...)
    is_bot             boolean,            -- gh author.is_bot
    _source_file       varchar not null,
    _load_id           varchar not null,
    _loaded_at         timestamptz not null,
    _row_hash          ubigint not null
);

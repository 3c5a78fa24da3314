-- grain: one row per conversation id (channel, private group, DM, group DM)
create table if not exists raw.slack_conversations (
    id                 varchar not null,
    name               varchar,
    conversation_type  varchar not null,  -- from the metadata file: public|private|dm|mpim
    folder             varchar,           -- the export folder holding its day files
    is_listed          boolean not null,  -- false: folder found with no metadata entry (type guessed)
    created            bigint,
    creator            varchar,
    is_archived        boolean,
    is_general         boolean,
    members            varchar[],
    topic              varchar,
    purpose            varchar,
    _source_file       varchar not null,
    _load_id           varchar not null,
    _loaded_at         timestamptz not null,
    _row_hash          ubigint not null
);

-- grain: one row per export member parsed cleanly (its signature lets a later
-- export skip files that did not change)
create table if not exists raw.export_files (
    source      varchar not null,
    member      varchar not null,      -- path inside the export, relative to its root
    bytes       bigint not null,
    signature   varchar not null,      -- CRC-32 from the archive, or size+mtime in a folder
    rows        bigint not null,
    _load_id    varchar not null,
    _loaded_at  timestamptz not null
);

-- grain: one row per ingest or build run (README, "Tables")
create table if not exists raw.loads (
    load_id        varchar primary key,
    source         varchar not null,     -- 'slack' | 'github' | 'people'
    path           varchar not null,
    fingerprint    varchar,              -- digest of the export's members; equal digest = unchanged
    started_at     timestamptz not null,
    finished_at    timestamptz,
    status         varchar not null,     -- 'ok' | 'partial' | 'unchanged' | 'failed'
    files_read     integer not null default 0,
    files_skipped  integer not null default 0,
    rows_added     bigint not null default 0,
    rows_replaced  bigint not null default 0,
    problems       varchar[],            -- "<file>: <what is wrong>", one per skipped file
    notes          varchar[]             -- expected oddities: canvases, unlisted folders, ...
);

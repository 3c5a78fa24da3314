-- grain: one row per pull request whose changed files the export listed (gh `files`, REST files.json)
create table if not exists raw.github_pr_files (
    repo               varchar not null,
    number             bigint not null,
    files              struct(path varchar, additions bigint, deletions bigint)[] not null,
    _source_file       varchar not null,
    _load_id           varchar not null,
    _loaded_at         timestamptz not null,
    _row_hash          ubigint not null
);

-- grain: one row per pull request (repo, number), as in the newest export that had it
create table if not exists raw.github_pull_requests (
    repo               varchar not null,   -- 'owner/repo', from the PR's url
    number             bigint not null,
    layout             varchar not null,   -- 'gh' | 'rest' | 'migration': which export layout it came from
    pr_node_id         varchar,            -- the layout's own id (GraphQL node id in gh, number in REST)
    author_login       varchar not null,   -- 'ghost' for a deleted account; gh's 'app/x' stored as 'x[bot]'
    author_type        varchar,            -- REST user.type: 'User' | 'Bot' | 'Organization'
    author_is_bot      boolean,            -- gh author.is_bot
    title              varchar,
    body               varchar,
    state              varchar,
    created_at         varchar,            -- ISO 8601 text as exported; staging casts to UTC
    closed_at          varchar,
    merged_at          varchar,
    is_draft           boolean,            -- gh isDraft, REST draft, archive work_in_progress
    labels             varchar[],
    url                varchar,
    additions          bigint,             -- when the export has them (gh additions, REST pull detail)
    deletions          bigint,
    changed_files      bigint,             -- gh changedFiles, REST changed_files (pull detail)
    _source_file       varchar not null,
    _load_id           varchar not null,
    _loaded_at         timestamptz not null,
    _row_hash          ubigint not null
);
-- a database made before changed_files existed gets the column (NULL until its PRs load again)
alter table raw.github_pull_requests add column if not exists changed_files bigint;

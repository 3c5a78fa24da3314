-- grain: one row per event_key: a review, review comment, conversation comment, or a
-- ready_for_review / convert_to_draft timeline event of a pull request
create table if not exists raw.github_events (
    event_key          varchar not null,   -- github:<repo>#<number>:<kind>:<lower login>:<UTC second>[:n]
    event_id           varchar,            -- the layout's own id: GraphQL node id (gh) or number (REST, archive)
    repo               varchar not null,
    number             bigint not null,
    kind               varchar not null,   -- review | review_comment | comment | ready_for_review | convert_to_draft
    review_state       varchar,            -- APPROVED | CHANGES_REQUESTED | COMMENTED | DISMISSED | PENDING
    author_login       varchar not null,
    author_type        varchar,
    author_is_bot      boolean,
    "at"               varchar,            -- submitted_at (reviews) or created_at, as exported
    body               varchar,
    url                varchar,
    review_id          varchar,            -- review comments: the review they belong to
    in_reply_to        varchar,
    path               varchar,            -- review comments: the file
    is_pull_request    boolean,            -- comments: on a PR (true), an issue (false), unknown (NULL)
    layout             varchar not null,
    _source_file       varchar not null,
    _load_id           varchar not null,
    _loaded_at         timestamptz not null,
    _row_hash          ubigint not null
);

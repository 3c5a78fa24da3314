-- grain: one row per (source, scope, item) a `fetch` keeps a cursor for.
-- github: scope 'owner/repo'; item '' holds the repository's cursor (the newest updated_at
--   listed, and the `since` the listing went back to), item '<number>' each PR's updated_at
--   when it was last fetched whole (a PR whose updated_at differs is fetched again).
-- slack: scope the conversation id; item '' its newest ts fetched, item 'thread:<ts>' a
--   thread's latest_reply; status says when the token could not read it.
-- Written in the same transaction as the ingest of what was fetched: a cursor never runs
-- ahead of the data.
create table if not exists raw.fetch_state (
    source      varchar not null,     -- 'github' | 'slack'
    scope       varchar not null,
    item        varchar not null,
    cursor      varchar,
    floor       varchar,              -- github: the earliest updated_at the listing covers (since)
    status      varchar not null,     -- 'ok' | Slack's error: 'not_in_channel', 'missing_scope', ...
    note        varchar,              -- what it is (a conversation's name and type) or why not
    run_dir     varchar,              -- the fetch folder that last wrote it
    fetched_at  timestamptz not null,
    primary key (source, scope, item)
);

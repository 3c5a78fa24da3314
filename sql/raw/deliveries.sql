-- grain: one row per digest delivery (team, ISO week, channel): sent, or failed and waiting
-- for its retry. A sent row is never sent again: this table is what makes delivery exactly once.
create table if not exists raw.deliveries (
    team             varchar not null,
    week             date not null,         -- the Monday of the ISO week the digest describes
    channel          varchar not null,      -- the delivery's name (default: folder, email, slack)
    kind             varchar not null,      -- 'folder' | 'email' | 'slack'
    status           varchar not null,      -- 'sent' | 'failed'
    attempts         integer not null,
    due_at           timestamptz not null,  -- 09:00 on the team's first workday, in its timezone
    first_attempt_at timestamptz not null,
    last_attempt_at  timestamptz not null,
    sent_at          timestamptz,
    next_attempt_at  timestamptz,           -- failed: not retried before this (backoff)
    error            varchar,               -- failed: '<ExceptionType>: <first line>'
    digest           varchar,               -- the digest as rendered (Markdown), for the dashboard
    primary key (team, week, channel)
);

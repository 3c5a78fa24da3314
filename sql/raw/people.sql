-- grain: one row per person in the newest people file given to run/build
create table if not exists raw.people (
    person         varchar not null,
    slack_id       varchar,
    email          varchar,
    github_login   varchar,
    tz             varchar,
    work_start     varchar,
    work_end       varchar,
    workdays       varchar,
    team           varchar,
    _source_file   varchar not null,
    _load_id       varchar not null,
    _loaded_at     timestamptz not null
);

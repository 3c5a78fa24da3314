-- grain: one row per nightly run (`asyncpulse run`, a scheduled Prefect run), ok or failed.
-- An ok run's row is published with its data; a failed run's row is appended afterwards,
-- alone, to the database as it was before the run (the only change a failed run makes).
create table if not exists raw.runs (
    run_id       varchar primary key,
    flow_run_id  varchar,               -- Prefect's flow run id (find the run in the Prefect UI)
    started_at   timestamptz not null,
    finished_at  timestamptz not null,
    status       varchar not null,      -- 'ok' | 'failed'
    error        varchar,               -- failed: '<ExceptionType>: <first line of the error>'
    load_ids     varchar[],             -- the raw.loads rows this run added (empty when failed)
    steps        varchar[]              -- one line per step done: 'slack: ok <path>', 'build: 40 relations'
                                        -- (failed: the steps before the failure, all discarded)
);

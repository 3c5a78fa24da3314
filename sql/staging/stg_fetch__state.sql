-- grain: one row per (source, scope, item) cursor `fetch` keeps (raw.fetch_state)
-- materialized: view
with state as (
    select * from raw.fetch_state
),

final as (
    select
        source,
        scope,
        item,
        cursor,
        floor,
        status,
        status <> 'ok' as is_unreadable,  -- slack: the token could not read it (not_in_channel, ...)
        note,
        run_dir,
        fetched_at
    from state
)

select * from final

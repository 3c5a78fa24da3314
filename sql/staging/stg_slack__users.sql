-- grain: one row per Slack user id
with users as (
    select * from raw.slack_users
),

zones as (
    -- the IANA names this DuckDB (ICU) knows; anything else is "unknown", never UTC
    select name from pg_timezone_names()
),

final as (
    select
        u.id                                   as user_id,
        u.name                                 as user_name,
        nullif(u.real_name, '')                as real_name,
        nullif(u.display_name, '')             as display_name,
        lower(nullif(u.email, ''))             as email,
        nullif(u.title, '')                    as title,
        coalesce(u.deleted, false)             as is_deleted,
        coalesce(u.is_bot, false) or u.id = 'USLACKBOT' as is_bot,
        z.name                                 as tz,
        nullif(u.tz, '')                       as tz_as_exported,
        u.tz_offset                            as tz_offset_seconds,
        z.name is not null                     as has_known_tz,
        u._load_id
    from users u
    left join zones z on z.name = u.tz
)

select * from final

-- grain: one row per person in the stored people file (README, "People"); empty without one
with people as (
    select * from raw.people
),

zones as (
    select name from pg_timezone_names()
),

settings as (
    select * from staging.build_settings
),

final as (
    select
        trim(p.person)                                        as person,
        nullif(trim(p.slack_id), '')                          as slack_id,
        lower(nullif(trim(p.email), ''))                      as email,
        lower(nullif(trim(p.github_login), ''))               as github_login,
        z.name                                                as tz,
        nullif(trim(p.tz), '')                                as tz_as_given,
        try_cast(nullif(trim(p.work_start), '') as time)      as work_start,
        try_cast(nullif(trim(p.work_end), '') as time)        as work_end,
        workdays_mask(nullif(trim(p.workdays), ''))           as workdays_mask,
        nullif(trim(p.workdays), '')                          as workdays_as_given,
        nullif(trim(p.team), '')                              as team,
        -- what in the row could not be used (shown by `asyncpulse people`)
        concat_ws('; ',
            case when nullif(trim(p.tz), '') is not null and z.name is null
                 then 'unknown timezone ' || trim(p.tz) end,
            case when nullif(trim(p.work_start), '') is not null and try_cast(trim(p.work_start) as time) is null
                 then 'unreadable work_start ' || trim(p.work_start) end,
            case when nullif(trim(p.work_end), '') is not null and try_cast(trim(p.work_end) as time) is null
                 then 'unreadable work_end ' || trim(p.work_end) end,
            case when nullif(trim(p.workdays), '') is not null and workdays_mask(trim(p.workdays)) is null
                 then 'unreadable workdays ' || trim(p.workdays) end
        )                                                     as problems
    from people p
    left join zones z on z.name = trim(p.tz)
)

select * from final

-- grain: one row per person: every people-file row, plus each source identity no row claims
-- Timezone: the people file wins over Slack; unknown stays NULL (never UTC).
-- Working hours: the people file, else the defaults in staging.build_settings.
with settings as (
    select * from staging.build_settings
),

identities as (
    select * from intermediate.int_identities__matched
),

people as (
    select * from staging.stg_people
    qualify row_number() over (partition by person order by slack_id nulls last) = 1
),

persons as (
    select person as person_id, person as display_name, team, email,
           tz as file_tz, work_start, work_end, workdays_mask, problems, true as in_people_file
    from people
    union all
    -- deterministic: the Slack name and e-mail first (a GitHub login is a poorer name)
    select person_id,
           (list(display_name order by source <> 'slack', display_name))[1],
           null,
           (list(email order by source <> 'slack', email) filter (email is not null))[1],
           null, null, null, null, '', false
    from identities
    where person_id not in (select person from people)
    group by person_id
),

per_person_ids as (
    select person_id,
           list(source_id order by source_id) filter (source = 'slack')  as slack_ids,
           list(source_id order by source_id) filter (source = 'github') as github_logins,
           string_agg(distinct matched_by, ', ' order by matched_by)      as matched_by,
           max(source_tz)                                                  as source_tz,
           bool_and(is_deleted)                                            as is_deleted
    from identities
    group by person_id
),

final as (
    select
        p.person_id,
        p.display_name,
        p.team,
        p.email,
        coalesce(i.slack_ids, [])                            as slack_ids,
        coalesce(i.github_logins, [])                        as github_logins,
        coalesce(i.matched_by, 'people file (no source ids seen)') as matched_by,
        coalesce(p.file_tz, i.source_tz)                     as tz,
        case when p.file_tz is not null then 'people file'
             when i.source_tz is not null then 'slack' end   as tz_source,
        coalesce(p.file_tz, i.source_tz) is not null         as has_known_tz,
        -- whole seconds after midnight, integers (a time's epoch() is a double)
        (epoch_us(coalesce(p.work_start, s.work_start)) // 1000000)::integer as work_start_s,
        (epoch_us(coalesce(p.work_end, s.work_end)) // 1000000)::integer     as work_end_s,
        coalesce(p.workdays_mask, workdays_mask(s.workdays)) as workdays_mask,
        case when p.work_start is not null or p.work_end is not null or p.workdays_mask is not null
             then 'people file' else 'default' end           as schedule_source,
        p.in_people_file,
        coalesce(i.is_deleted, false)                        as is_deleted,
        nullif(p.problems, '')                               as problems
    from persons p
    left join per_person_ids i using (person_id)
    cross join settings s
)

select * from final

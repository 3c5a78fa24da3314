-- grain: one row per source identity (a Slack user id; GitHub logins join here too)
-- Matching (SPEC §1): the people file's own ids first, then e-mail, then name.
with people as (
    select *,
           regexp_replace(strip_accents(lower(person)), '[^a-z0-9]', '', 'g') as name_key
    from staging.stg_people
    qualify row_number() over (partition by person order by slack_id nulls last) = 1
),

slack as (
    select user_id, email, user_name, real_name, display_name, tz, is_deleted,
           regexp_replace(strip_accents(lower(real_name)), '[^a-z0-9]', '', 'g') as real_key,
           regexp_replace(strip_accents(lower(display_name)), '[^a-z0-9]', '', 'g') as display_key
    from staging.stg_slack__users
    where not is_bot
),

slack_candidates as (
    select s.user_id, p.person, 1 as rank, 'people file (slack_id)' as matched_by
    from slack s join people p on p.slack_id = s.user_id
    union all
    select s.user_id, p.person, 2, 'e-mail'
    from slack s join people p on p.email = s.email
    union all
    select s.user_id, p.person, 3, 'name'
    from slack s join people p
      on p.name_key <> '' and p.name_key in (s.real_key, s.display_key)
),

slack_matched as (
    select s.user_id as source_id,
           coalesce(c.person, 'slack:' || s.user_id) as person_id,
           coalesce(c.matched_by, 'slack only') as matched_by,
           coalesce(s.real_name, s.display_name, s.user_name, s.user_id) as display_name,
           s.email, s.tz, s.is_deleted
    from slack s
    left join (
        select * from slack_candidates
        qualify row_number() over (partition by user_id order by rank, person) = 1
    ) c on c.user_id = s.user_id
),

final as (
    select 'slack' as source, source_id, person_id, matched_by, display_name, email,
           tz as source_tz, is_deleted
    from slack_matched
)

select * from final

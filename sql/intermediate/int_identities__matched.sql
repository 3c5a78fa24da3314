-- grain: one row per source identity: a Slack user id, or a GitHub login (lower-case)
-- Matching (README, "People"): the people file's own ids first, then e-mail, then name. A GitHub
-- login may also reach a person through the Slack account sharing its e-mail or name.
with people as (
    select *,
           name_key(person) as name_key
    from staging.stg_people
    qualify row_number() over (partition by person order by slack_id nulls last) = 1
),

slack as (
    select user_id, email, user_name, real_name, display_name, tz, is_deleted,
           name_key(real_name) as real_key,
           name_key(display_name) as display_key
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

github as (
    -- every human login that opened, reviewed or commented, with what the export knows of it
    select l.login,
           min(u.login) as shown_login,  -- the login as GitHub shows it (l.login is lower case)
           min(u.name)  as name,
           min(lower(nullif(u.email, ''))) as email,
           name_key(min(u.name)) as name_key
    from (
        select lower(author_login) as login from staging.stg_github__events where not author_is_bot
        union
        select lower(author_login) from staging.stg_github__pull_requests where not author_is_bot
    ) l
    left join staging.stg_github__users u on lower(u.login) = l.login and not u.is_bot
    where l.login is not null
    group by l.login
),

github_candidates as (
    select g.login, p.person, 1 as rank, 'people file (github_login)' as matched_by
    from github g join people p on p.github_login = g.login
    union all
    select g.login, p.person, 2, 'e-mail'
    from github g join people p on p.email = g.email
    union all
    select g.login, s.person_id, 3, 'e-mail (via Slack)'
    from github g join slack_matched s on s.email = g.email
    union all
    select g.login, p.person, 4, 'name'
    from github g join people p on p.name_key <> '' and p.name_key = g.name_key
    union all
    select g.login, s.person_id, 5, 'name (via Slack)'
    from github g join slack_matched s
      on g.name_key <> '' and g.name_key = name_key(s.display_name)
    union all
    select g.login, m.person_id, 6, 'login = Slack handle'
    from github g
    join slack s on lower(s.user_name) = g.login
    join slack_matched m on m.source_id = s.user_id
),

github_matched as (
    select g.login as source_id,
           coalesce(c.person, 'github:' || g.login) as person_id,
           coalesce(c.matched_by, 'github only') as matched_by,
           coalesce(g.name, g.shown_login, g.login) as display_name,
           g.email
    from github g
    left join (
        select * from github_candidates
        qualify row_number() over (partition by login order by rank, person) = 1
    ) c on c.login = g.login
),

final as (
    select 'slack' as source, source_id, person_id, matched_by, display_name, email,
           tz as source_tz, is_deleted
    from slack_matched
    union all
    select 'github', source_id, person_id, matched_by, display_name, email, null, false
    from github_matched
)

select * from final

-- grain: one row per team and ISO week (Monday, UTC), every week from the first activity to the last
-- A person's team comes from the people file; people without one are in no team.
-- messages / dm_share        human Slack messages by the team's members; the share in DMs and
--                            group DMs (NULL when the export holds no DMs, never 0)
-- after_hours_share          of the messages whose author's timezone is known, those outside
--                            the author's working hours
-- low_context_share          of the openers the team's members wrote, the low-context ones
-- threads, ping_pong_threads, escalations_overdue   threads the team's members opened
-- prs_opened, median_first_review_work_hours, median_pr_quality   PRs by members (not bots)
with people as (
    select person_id, team, tz, work_start_s, work_end_s, workdays_mask
    from intermediate.int_people__matched
    where team is not null
),

teams as (
    select team, count(*) as members from people group by team
),

identities as (
    select source_id, person_id from intermediate.int_identities__matched where source = 'slack'
),

has_dms as (
    select count(*) filter (conversation_type in ('dm', 'mpim')) > 0 as has_dms
    from staging.stg_slack__conversations
),

-- the Slack ids of people in a team, looked up once (not once per message); only their
-- messages are read below, so a workspace without teams reads none
authors as (
    select i.source_id as author_id, p.person_id, p.team, p.tz, p.work_start_s, p.work_end_s,
           p.workdays_mask
    from identities i
    join people p on p.person_id = i.person_id
),

messages as (
    select author_id, conversation_type, sent_at,
           date_trunc('week', sent_at::timestamp)::date as week  -- UTC; a plain timestamp skips ICU
    from staging.stg_slack__messages
    where is_human and author_id in (select author_id from authors)
),

message_counts as (
    select a.team, m.week,
           count(*)                                                             as messages,
           count(*) filter (m.conversation_type in ('dm', 'mpim'))              as dm_messages,
           count(a.tz)                                                          as located_messages,
           count(*) filter (not is_working(timezone(a.tz, m.sent_at), a.work_start_s, a.work_end_s,
                                           a.workdays_mask))                    as after_hours_messages
    from messages m
    join authors a using (author_id)
    group by all
),

opener_counts as (
    select p.team, date_trunc('week', o.sent_at::timestamp)::date as week,
           count(*) as openers, count(*) filter (o.low_context) as low_context_openers
    from marts.openers o
    join people p using (person_id)
    group by all
),

thread_counts as (
    select p.team, date_trunc('week', t.started_at::timestamp)::date as week,
           count(*)                                   as threads,
           count(*) filter (t.bounces >= 2)           as ping_pong_threads,
           count(*) filter (t.escalation_overdue)     as escalations_overdue,
           median(t.first_reply_work_hours)           as median_first_reply_work_hours
    from marts.threads t
    join people p on p.person_id = t.opener_person_id
    where t.source = 'slack'
    group by all
),

pr_counts as (
    select p.team, date_trunc('week', r.created_at::timestamp)::date as week,
           count(*)                                   as prs_opened,
           median(r.time_to_first_review_work_hours)  as median_first_review_work_hours,
           median(r.quality)                          as median_pr_quality
    from marts.pull_requests r
    join people p on p.person_id = r.author_person_id
    where not coalesce(r.is_bot_author, false)
    group by all
),

bounds as (
    select min(week) as first_week, max(week) as last_week from (
        select week from message_counts union all select week from pr_counts)
),

weeks as (
    select unnest(generate_series(first_week, last_week, interval 7 day))::date as week
    from bounds
    where first_week is not null
),

final as (
    select
        t.team,
        w.week,
        t.members,
        coalesce(m.messages, 0)                                                 as messages,
        case when h.has_dms then coalesce(m.dm_messages, 0) end                 as dm_messages,
        case when h.has_dms then coalesce(m.dm_messages, 0) / nullif(m.messages, 0) end as dm_share,
        coalesce(m.located_messages, 0)                                         as located_messages,
        coalesce(m.after_hours_messages, 0)                                     as after_hours_messages,
        m.after_hours_messages / nullif(m.located_messages, 0)                  as after_hours_share,
        coalesce(o.openers, 0)                                                  as openers,
        coalesce(o.low_context_openers, 0)                                      as low_context_openers,
        o.low_context_openers / nullif(o.openers, 0)                            as low_context_share,
        coalesce(c.threads, 0)                                                  as threads,
        coalesce(c.ping_pong_threads, 0)                                        as ping_pong_threads,
        coalesce(c.escalations_overdue, 0)                                      as escalations_overdue,
        c.median_first_reply_work_hours,
        coalesce(r.prs_opened, 0)                                               as prs_opened,
        r.median_first_review_work_hours,
        r.median_pr_quality
    from teams t
    cross join weeks w
    cross join has_dms h
    left join message_counts m on m.team = t.team and m.week = w.week
    left join opener_counts o on o.team = t.team and o.week = w.week
    left join thread_counts c on c.team = t.team and c.week = w.week
    left join pr_counts r on r.team = t.team and r.week = w.week
)

select * from final

-- grain: one row per grouping ('team' or 'tz'), group and ISO week (Monday, UTC), every week
-- of the data for every group (a quiet week is 0 threads, not a missing row)
-- The headline metrics of each team of the people file and each timezone, side by side:
--   members                  people in the group (a page hides a group under min_group_size)
--   threads, ping_pong_threads, bounce_wait_hours, median_first_reply_work_hours
--                            threads the group's people opened (marts.threads)
--   openers, low_context_share        openers they wrote (marts.openers)
--   messages, dm_messages, dm_share   their human Slack messages; dm_share NULL without DMs
--   prs, good_prs, good_pr_share      their PRs (people, out of draft) and those at quality 70+
--   active_people, after_hours_share, checkins_per_day, fast_reply_share, broadcast_mentions
--                            marts.people_weekly over the group's people who wrote that week:
--                            the shares and check-ins are the mean of those people's figures,
--                            broadcasts the sum
with people as (
    select person_id, team, tz from intermediate.int_people__matched
),

memberships as (
    select 'team' as grouping, team as group_name, person_id from people where team is not null
    union all
    select 'tz', coalesce(tz, '(timezone unknown)'), person_id from people
),

sizes as (
    select grouping, group_name, count(*) as members from memberships group by all
),

threads as (
    select m.grouping, m.group_name, date_trunc('week', t.started_at::timestamp)::date as week,
           count(*)                                   as threads,
           count(*) filter (t.bounces >= 2)           as ping_pong_threads,
           sum(t.bounce_wait_hours)                   as bounce_wait_hours,
           median(t.first_reply_work_hours)           as median_first_reply_work_hours
    from marts.threads t
    join memberships m on m.person_id = t.opener_person_id
    group by all
),

openers as (
    select m.grouping, m.group_name, date_trunc('week', o.sent_at::timestamp)::date as week,
           count(*) as openers, avg(o.low_context::int) as low_context_share
    from marts.openers o
    join memberships m using (person_id)
    group by all
),

prs as (
    select m.grouping, m.group_name, date_trunc('week', p.created_at::timestamp)::date as week,
           count(*) as prs, count(*) filter (p.quality >= 70) as good_prs
    from marts.pull_requests p
    join memberships m on m.person_id = p.author_person_id
    where not coalesce(p.is_bot_author, false) and not coalesce(p.is_draft, false)
    group by all
),

has_dms as (
    select count(*) filter (conversation_type in ('dm', 'mpim')) > 0 as has_dms
    from staging.stg_slack__conversations
),

-- per author and week first: a million messages become a few thousand rows before the joins
author_weeks as (
    select author_id, date_trunc('week', sent_at::timestamp)::date as week,
           count(*) as messages, count(*) filter (conversation_type in ('dm', 'mpim')) as dm_messages
    from staging.stg_slack__messages
    where is_human
    group by all
),

messages as (
    select m.grouping, m.group_name, a.week,
           sum(a.messages) as messages, sum(a.dm_messages) as dm_messages
    from author_weeks a
    join intermediate.int_identities__matched i on i.source = 'slack' and i.source_id = a.author_id
    join memberships m on m.person_id = i.person_id
    group by all
),

habits as (
    select m.grouping, m.group_name, w.week,
           count(*)                     as active_people,
           avg(w.after_hours_share)     as after_hours_share,
           avg(w.checkins_per_day)      as checkins_per_day,
           avg(w.fast_reply_share)      as fast_reply_share,
           sum(w.broadcast_mentions)    as broadcast_mentions
    from marts.people_weekly w
    join memberships m using (person_id)
    group by all
),

weeks as (
    select week from threads union select week from openers union select week from prs
    union select week from messages
),

final as (
    select
        s.grouping,
        s.group_name,
        w.week,
        s.members,
        coalesce(t.threads, 0)                                        as threads,
        coalesce(t.ping_pong_threads, 0)                              as ping_pong_threads,
        coalesce(t.bounce_wait_hours, 0)::double                      as bounce_wait_hours,
        t.median_first_reply_work_hours::double                       as median_first_reply_work_hours,
        coalesce(o.openers, 0)                                        as openers,
        o.low_context_share,
        coalesce(g.messages, 0)::bigint                               as messages,
        coalesce(g.dm_messages, 0)::bigint                            as dm_messages,
        case when d.has_dms then g.dm_messages / nullif(g.messages, 0) end as dm_share,
        coalesce(p.prs, 0)                                            as prs,
        coalesce(p.good_prs, 0)                                       as good_prs,
        p.good_prs / nullif(p.prs, 0)                                 as good_pr_share,
        coalesce(h.active_people, 0)                                  as active_people,
        h.after_hours_share,
        h.checkins_per_day,
        h.fast_reply_share,
        coalesce(h.broadcast_mentions, 0)::bigint                     as broadcast_mentions
    from sizes s
    cross join weeks w
    cross join has_dms d
    left join threads t using (grouping, group_name, week)
    left join openers o using (grouping, group_name, week)
    left join messages g using (grouping, group_name, week)
    left join prs p using (grouping, group_name, week)
    left join habits h using (grouping, group_name, week)
)

select * from final

-- grain: one row per breach of a working agreement (agreement, subject_id)
-- The agreements come from staging.agreements (written by the build from the settings); the
-- rule kinds are defined in docs/metrics.md "Working agreements". Waits are counted in
-- working time as whole microseconds and compared with the threshold's whole seconds as
-- integers. "Now" is the data's end (`as_of`: the newest Slack message or GitHub event), so
-- the same data gives the same breaches on every build.
--   opened_at    when the subject started waiting (PR ready, opener sent, thread or week began)
--   detected_at  when the agreement was first broken (the wait passed N, the N-th strike or
--                bounce happened, the week ended)
--   value        the wait in working hours, the strikes or bounces, or the share
--   still_open   nobody has answered / reviewed yet, or no call or decision is recorded
--   week         the ISO week (Monday, UTC) it counts in: the week measured for a share kind,
--                else the week of detected_at
with agreements as (
    select * from staging.agreements
),

people as (
    select person_id, team, tz, work_start_s, work_end_s, workdays_mask
    from intermediate.int_people__matched
),

-- materialized: read by several branches; one scan of the messages
as_of as materialized (
    select coalesce(greatest(s.at, g.at), s.at, g.at) as as_of
    from (select max(sent_at) as at from staging.stg_slack__messages) s,
         (select max("at") as at from staging.stg_github__events) g
),

-- first_review: ready (else created) -> the first review or comment by a human other than the
-- author, in the reviewer's working hours; unreviewed: until it closed, or until now if open,
-- in the author's hours (the reviewer is not known yet). Drafts wait for no one.
prs as (
    select pr_id, url, author_person_id, coalesce(ready_at, created_at) as ready_at, closed_at
    from marts.pull_requests
    where not coalesce(is_bot_author, false) and not coalesce(is_draft, false)
),

first_reviews as (
    select e.thread_id as pr_id, e.person_id as reviewer, e.event_at as reviewed_at
    from intermediate.int_conversation_events e
    join prs p on p.pr_id = e.thread_id
    where e.source = 'github' and e.is_human and not e.is_opening
      and e.person_id <> p.author_person_id and e.event_at >= p.ready_at
    qualify row_number() over (partition by e.thread_id order by e.event_at, e.event_id) = 1
),

review_waits as (
    select p.pr_id, p.url, p.ready_at, a.team,
           r.reviewed_at is null and p.closed_at is null as still_open,
           coalesce(r.reviewed_at, p.closed_at, n.as_of) as waited_until,
           s.tz, s.work_start_s, s.work_end_s, s.workdays_mask
    from prs p
    cross join as_of n
    left join first_reviews r using (pr_id)
    left join people a on a.person_id = p.author_person_id
    left join people s on s.person_id = coalesce(r.reviewer, p.author_person_id)
    where coalesce(r.reviewed_at, p.closed_at, n.as_of) >= p.ready_at
),

first_review as (
    select g.name as agreement, w.pr_id as subject_id, w.team, w.ready_at as opened_at,
           timezone(w.tz, work_us_local(
               work_us(timezone(w.tz, w.ready_at), w.work_start_s, w.work_end_s, w.workdays_mask)
               + g.threshold_seconds * 1000000, w.work_start_s, w.work_end_s, w.workdays_mask)) as detected_at,
           (work_us(timezone(w.tz, w.waited_until), w.work_start_s, w.work_end_s, w.workdays_mask)
            - work_us(timezone(w.tz, w.ready_at), w.work_start_s, w.work_end_s, w.workdays_mask)) as wait_us,
           w.still_open, w.url
    from review_waits w
    join agreements g on g.kind = 'first_review' and (g.team is null or g.team = w.team)
    where w.tz is not null
),

-- unanswered: a channel opener with an ask, and no reply by anyone else before every member of
-- the channel (with a known timezone) had more than N of their own working hours to answer
channel_members as (
    select c.id as conversation_id, i.person_id
    from raw.slack_conversations c, unnest(c.members) as u(member)
    join intermediate.int_identities__matched i on i.source = 'slack' and i.source_id = u.member
    union
    -- a channel whose metadata lists no members: the people who wrote in it
    select m.conversation_id, i.person_id
    from staging.stg_slack__messages m
    join intermediate.int_identities__matched i on i.source = 'slack' and i.source_id = m.author_id
    where m.is_human and m.conversation_id not in (
        select id from raw.slack_conversations where len(coalesce(members, [])) > 0)
),

asks as (
    select o.thread_id, o.person_id, o.conversation_id, o.sent_at, p.team
    from marts.openers o
    left join people p using (person_id)
    where o.conversation_type in ('public', 'private') and o.has_ask
),

answers as (
    select e.thread_id, min(e.event_at) as replied_at
    from intermediate.int_conversation_events e
    join asks a using (thread_id)
    where e.is_human and e.person_id <> a.person_id and e.event_at >= a.sent_at
    group by e.thread_id
),

-- the members' distinct schedules per channel: a wait depends on the schedule alone, so a
-- channel of a thousand people in a dozen zones is a dozen rows per ask (`only_person`: the
-- one member of a schedule nobody else keeps, so the opener can be left out exactly)
channel_schedules as (
    select c.conversation_id, p.tz, p.work_start_s, p.work_end_s, p.workdays_mask,
           case when count(*) = 1 then min(c.person_id) end as only_person
    from channel_members c
    join people p on p.person_id = c.person_id
    where p.tz is not null
    group by all
),

member_waits as (
    select a.thread_id, a.team, a.sent_at, r.replied_at,
           work_us(timezone(c.tz, coalesce(r.replied_at, n.as_of)), c.work_start_s, c.work_end_s, c.workdays_mask)
           - work_us(timezone(c.tz, a.sent_at), c.work_start_s, c.work_end_s, c.workdays_mask) as wait_us,
           work_us(timezone(c.tz, a.sent_at), c.work_start_s, c.work_end_s, c.workdays_mask) as start_us,
           c.tz, c.work_start_s, c.work_end_s, c.workdays_mask
    from asks a
    cross join as_of n
    join channel_schedules c on c.conversation_id = a.conversation_id
                            and c.only_person is distinct from a.person_id
    left join answers r using (thread_id)
    where coalesce(r.replied_at, n.as_of) >= a.sent_at
),

unanswered as (
    select g.name as agreement, w.thread_id as subject_id, any_value(w.team) as team,
           any_value(w.sent_at) as opened_at,
           -- broken when the last member's N working hours had passed
           max(timezone(w.tz, work_us_local(w.start_us + g.threshold_seconds * 1000000,
                                            w.work_start_s, w.work_end_s, w.workdays_mask))) as detected_at,
           min(w.wait_us) as wait_us,
           any_value(w.replied_at) is null as still_open,
           any_value(t.url) as url
    from member_waits w
    join agreements g on g.kind = 'unanswered' and (g.team is null or g.team = w.team)
    left join marts.threads t using (thread_id)
    group by g.name, w.thread_id
),

-- escalation: a thread at N strikes with no decision recorded and no call held (a huddle, a
-- meeting link, "on a call"); broken at the handoff that made the N-th strike; open while the
-- thread is live (a message in the 7 days before as_of), not once it has gone quiet
-- only the threads some escalation agreement could fire on are read for calls and handoffs
struck as (
    select thread_id from marts.threads
    where strikes >= (select min(threshold_count) from agreements where kind = 'escalation')
),

calls as (
    select distinct thread_id
    from intermediate.int_conversation_events
    where is_human and thread_id in (select thread_id from struck)
      and regexp_matches(lower(coalesce(text, '')),
        'huddle|zoom\.us/|meet\.google\.com/|teams\.microsoft\.com/|\b(on|after) (a|the) call\b|\bcall notes\b')
),

pair_handoffs as (
    select thread_id, t_b, row_number() over (partition by thread_id, pair order by t_b, turn_no) as n
    from intermediate.int_handoffs
    where thread_id in (select thread_id from struck)
),

escalation as (
    select g.name as agreement, t.thread_id as subject_id, p.team, t.started_at as opened_at,
           (select min(h.t_b) from pair_handoffs h
            where h.thread_id = t.thread_id and h.n = 2 * g.threshold_count) as detected_at,
           t.strikes::double as value,
           t.started_at + to_microseconds(round(t.span_hours * 3600e6)::bigint) >= n.as_of - interval 7 day
                                                                              as still_open,
           t.url
    from marts.threads t
    cross join as_of n
    left join people p on p.person_id = t.opener_person_id
    join agreements g on g.kind = 'escalation' and (g.team is null or g.team = p.team)
    where t.strikes >= g.threshold_count and not t.decision_recorded
      and t.thread_id not in (select thread_id from calls)
),

-- ping_pong: a thread with N or more timezone bounces; broken at the N-th bounce
bounces as (
    select thread_id, t_b, row_number() over (partition by thread_id order by t_b, turn_no) as n
    from intermediate.int_handoffs
    where is_bounce
),

ping_pong as (
    select g.name as agreement, t.thread_id as subject_id, p.team, t.started_at as opened_at,
           b.t_b as detected_at, t.bounces::double as value, false as still_open, t.url
    from marts.threads t
    left join people p on p.person_id = t.opener_person_id
    join agreements g on g.kind = 'ping_pong' and (g.team is null or g.team = p.team)
    join bounces b on b.thread_id = t.thread_id and b.n = greatest(g.threshold_count, 1)
    where t.bounces >= g.threshold_count
),

-- the share kinds: a team's week above the limit (NULL shares, e.g. no DMs exported, never
-- break); compared as exact decimals: part > limit * whole
shares as (
    select team, week, 'dm_share' as kind, dm_messages as part, messages as whole, dm_share as share
    from marts.team_weekly
    union all
    select team, week, 'low_context_share', low_context_openers, openers, low_context_share
    from marts.team_weekly
    union all
    select team, week, 'after_hours_share', after_hours_messages, located_messages, after_hours_share
    from marts.team_weekly
),

share_breaches as (
    select g.name as agreement, s.team || ':' || strftime(s.week, '%G-W%V') as subject_id, s.team,
           timezone('UTC', s.week::timestamp) as opened_at,
           least(timezone('UTC', s.week::timestamp) + interval 7 day, n.as_of) as detected_at,
           s.share as value, false as still_open, null::varchar as url
    from shares s
    cross join as_of n
    join agreements g on g.kind = s.kind and (g.team is null or g.team = s.team)
    where s.share is not null and s.whole > 0 and s.part::decimal(38, 6) > g.threshold * s.whole
),

timed as (
    select w.agreement, w.subject_id, w.team, w.opened_at, w.detected_at,
           (w.wait_us // 1000000) / 3600.0 as value, w.still_open, w.url,
           w.wait_us // 1000000 as wait_seconds
    from (select * from first_review union all by name select * from unanswered) w
    join agreements g on g.name = w.agreement
    -- whole seconds against whole seconds: a wait of N hours and half a second is N hours
    where w.wait_us // 1000000 > g.threshold_seconds
),

counted as (
    select *, null::bigint as wait_seconds from escalation
    union all
    select *, null::bigint from ping_pong
    union all
    select *, null::bigint from share_breaches
),

final as (
    select b.agreement, g.kind, b.subject_id, b.team, b.opened_at, b.detected_at, b.value,
           g.threshold::double as threshold, b.still_open, b.url, b.wait_seconds,
           g.threshold_seconds,
           -- the week a breach counts in: the week measured for a share, else the week it broke
           date_trunc('week', case when g.unit = 'share' then b.opened_at
                                   else b.detected_at end::timestamp)::date as week
    from (select * from timed union all by name select * from counted) b
    join agreements g on g.name = b.agreement
)

select * from final

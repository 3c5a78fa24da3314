-- grain: one row per thread: a Slack parent with replies, or a pull-request conversation
with settings as (
    select * from staging.build_settings
),

-- not materialized: both are cheap to re-read from the events table, dear to copy with their text
events as not materialized (
    select * from intermediate.int_conversation_events
),

people as (
    select person_id, tz, work_start_s, work_end_s, workdays_mask
    from intermediate.int_people__matched
),

openings as (
    select thread_id, source, conversation_id, conversation_type, person_id as opener,
           event_at as opened_at, source_ts, url as source_url
    from events
    where is_opening
    qualify row_number() over (partition by thread_id order by event_at, event_id) = 1
),

human as not materialized (
    select e.*, o.opener, o.opened_at
    from events e join openings o using (thread_id)
    where e.is_human
),

first_replies as (
    select thread_id, person_id as replier, event_at as replied_at
    from human
    where person_id is distinct from opener and event_at >= opened_at
    qualify row_number() over (partition by thread_id order by event_at, event_id) = 1
),

per_thread as (
    select
        thread_id,
        count(*)                         as messages,
        max(event_at)                    as last_at,
        bool_or(coalesce(redacted_has_decision,
                         regexp_matches(lower(coalesce(text, '')), decision_pattern())
                         or regexp_matches(coalesce(reactions, ''), check_mark_pattern())))
                                         as has_outcome
    from human
    group by thread_id
),

-- who took part: the distinct (thread, person) pairs first, then one plain aggregate over
-- them (a distinct count and a distinct list per thread hold a set per group in memory)
participation as (
    select thread_id, count(person_id) as participants,
           list(person_id order by person_id) as participant_ids
    from (select distinct thread_id, person_id from events where is_human)
    group by thread_id
),

handoffs as (
    select thread_id,
           count(*)                                          as handoffs,
           count(*) filter (is_bounce)                       as bounces,
           -- summed as whole microseconds: a sum of doubles depends on the order rows arrive in,
           -- and the same data must give the same figure on every build
           coalesce(sum(wait_us) filter (is_bounce) / 3600e6, 0)
                                                             as bounce_wait_hours
    from intermediate.int_handoffs
    group by thread_id
),

strikes as (
    select thread_id, max(n) // 2 as strikes
    from (select thread_id, pair, count(*) as n from intermediate.int_handoffs group by all)
    group by thread_id
),

final as (
    select
        o.thread_id,
        o.source,
        o.conversation_id,
        o.conversation_type,
        o.opened_at                                                   as started_at,
        coalesce(t.messages, 0)                                       as messages,
        coalesce(w.participants, 0)                                   as participants,
        greatest(seconds_between(o.opened_at, coalesce(t.last_at, o.opened_at)), 0) / 3600.0 as span_hours,
        seconds_between(o.opened_at, r.replied_at) / 3600.0              as first_reply_hours,
        (work_us(timezone(p.tz, r.replied_at), p.work_start_s, p.work_end_s, p.workdays_mask)
         - work_us(timezone(p.tz, o.opened_at), p.work_start_s, p.work_end_s, p.workdays_mask))
            / 3600e6                                                  as first_reply_work_hours,
        coalesce(h.handoffs, 0)                                       as handoffs,
        coalesce(h.bounces, 0)                                        as bounces,
        coalesce(h.bounce_wait_hours, 0)                              as bounce_wait_hours,
        coalesce(k.strikes, 0)                                        as strikes,
        coalesce(k.strikes, 0) >= 3                                   as escalation_overdue,
        coalesce(t.messages, 0) >= s.decision_min_messages and coalesce(t.has_outcome, false)
                                                                      as decision_recorded,
        case when o.source = 'github' then o.source_url
             when s.slack_workspace_url is not null
             then rtrim(s.slack_workspace_url, '/') || '/archives/' || o.conversation_id
                  || '/p' || replace(o.source_ts, '.', '') end        as url,
        o.opener                                                      as opener_person_id,
        coalesce(w.participant_ids, [])                               as participant_ids,
        coalesce(c.conversation_name, o.conversation_id)              as conversation_name,
        r.replier                                                     as first_replier_person_id
    from openings o
    left join per_thread t using (thread_id)
    left join participation w using (thread_id)
    left join first_replies r using (thread_id)
    left join people p on p.person_id = r.replier
    left join handoffs h using (thread_id)
    left join strikes k using (thread_id)
    left join staging.stg_slack__conversations c on o.source = 'slack' and c.conversation_id = o.conversation_id
    cross join settings s
)

select * from final

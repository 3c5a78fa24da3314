-- grain: one row per person and ISO week (Monday, UTC) in which they sent a human message
-- after_hours_share  share of their messages outside their own working hours
-- checkins_per_day   per working day with activity, bursts separated by checkin_gap_minutes+
-- fast_reply_share   share of their replies to someone else sent within fast_reply_minutes
-- broadcast_mentions messages with <!channel>, <!here> or <!everyone>
-- A person whose timezone is unknown gets NULL for the first two, never a UTC guess.
with settings as (
    select * from staging.build_settings
),

identities as (
    select source_id, person_id from intermediate.int_identities__matched where source = 'slack'
),

people as (
    select person_id, display_name, tz, work_start_s, work_end_s, workdays_mask
    from intermediate.int_people__matched
),

messages as (
    select
        m.conversation_id,
        m.ts,
        m.author_id,
        -- replies follow their thread; top-level messages follow their conversation
        case when m.is_reply then m.thread_ts end as stream_thread,
        m.sent_at,
        date_trunc('week', m.sent_at::timestamp)::date as week,  -- UTC; a plain timestamp skips ICU
        coalesce(m.redacted_has_broadcast,
                 regexp_matches(coalesce(m.text, ''), broadcast_pattern())) as is_broadcast
    from staging.stg_slack__messages m
    where m.is_human
),

-- Each author is one person, looked up once per author rather than once per message. The
-- windows below sort by person: numbered, those sorts compare integers, not text ids.
authors as (
    select a.author_id, coalesce(i.person_id, 'slack:' || a.author_id) as person_id
    from (select distinct author_id from messages) a
    left join identities i on i.source_id = a.author_id
),

person_numbers as (
    select person_id, row_number() over () as person_no from (select distinct person_id from authors)
),

located as (
    select m.conversation_id, m.stream_thread, m.ts, m.sent_at, m.week, m.is_broadcast,
           n.person_no,
           timezone(p.tz, m.sent_at) as local_at,
           p.work_start_s, p.work_end_s, p.workdays_mask
    from messages m
    join authors a using (author_id)
    join person_numbers n using (person_id)
    left join people p using (person_id)
),

sequenced as (
    select *,
           -- a stream is one conversation's top level, or one thread (ts breaks a tie in sent_at)
           lag(person_no) over (partition by conversation_id, stream_thread order by sent_at, ts) as previous_person_no,
           lag(sent_at) over (partition by conversation_id, stream_thread order by sent_at, ts)   as previous_at,
           -- no tie-break needed: one person's messages sent at the same instant share every
           -- figure below, so whichever comes first the counts are the same
           lag(sent_at) over (partition by person_no order by sent_at)               as own_previous_at,
           lag(local_at) over (partition by person_no order by sent_at)              as own_previous_local_at
    from located
),

flagged as (
    select s.person_no, s.week, s.is_broadcast, s.local_at, s.workdays_mask,
           is_working(s.local_at, s.work_start_s, s.work_end_s, s.workdays_mask)   as in_hours,
           ((s.workdays_mask >> (isodow(s.local_at) - 1)) & 1) = 1                   as on_workday,
           s.previous_person_no is not null and s.previous_person_no <> s.person_no as is_reply_to_other,
           us_between(s.previous_at, s.sent_at) <= st.fast_reply_minutes::bigint * 60000000 as is_fast,
           -- a new burst when the person's previous message is checkin_gap_minutes or more before
           -- (or on another local day)
           s.own_previous_at is null
             or us_between(s.own_previous_at, s.sent_at) >= st.checkin_gap_minutes::bigint * 60000000
             or s.own_previous_local_at::date <> s.local_at::date                    as starts_burst
    from sequenced s
    cross join settings st
),

days as (
    select person_no, week, local_at::date as local_day, count(*) filter (starts_burst) as bursts
    from flagged
    where on_workday
    group by all
),

checkins as (
    select person_no, week, avg(bursts) as checkins_per_day
    from days
    group by all
),

final as (
    select
        coalesce(any_value(p.display_name), any_value(n.person_id))                 as person,
        f.week,
        count(*)                                                                    as messages,
        count(*) filter (not f.in_hours) / nullif(count(f.in_hours), 0)             as after_hours_share,
        any_value(c.checkins_per_day)                                               as checkins_per_day,
        count(*) filter (f.is_reply_to_other and f.is_fast)
            / nullif(count(*) filter (f.is_reply_to_other), 0)                      as fast_reply_share,
        count(*) filter (f.is_broadcast)                                            as broadcast_mentions,
        any_value(n.person_id)                                                      as person_id
    from flagged f
    join person_numbers n using (person_no)
    left join checkins c using (person_no, week)
    left join people p using (person_id)
    group by f.person_no, f.week
)

select * from final

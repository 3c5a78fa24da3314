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
        m.message_id,
        -- replies follow their thread; top-level messages follow their conversation
        case when m.is_reply then m.thread_id else m.conversation_id end as stream,
        coalesce(i.person_id, 'slack:' || m.author_id) as person_id,
        m.sent_at,
        date_trunc('week', m.sent_at)::date as week,
        coalesce(m.redacted_has_broadcast,
                 regexp_matches(coalesce(m.text, ''), broadcast_pattern())) as is_broadcast
    from staging.stg_slack__messages m
    left join identities i on i.source_id = m.author_id
    where m.is_human
),

-- The windows below sort by person and by stream: numbered, those sorts compare integers
-- rather than text ids (each window about twice as fast at a million messages).
person_numbers as (
    select person_id, row_number() over () as person_no from (select distinct person_id from messages)
),

stream_numbers as (
    select stream, row_number() over () as stream_no from (select distinct stream from messages)
),

located as (
    select m.message_id, m.sent_at, m.week, m.is_broadcast, n.person_no, s.stream_no,
           timezone(p.tz, m.sent_at) as local_at,
           p.work_start_s, p.work_end_s, p.workdays_mask
    from messages m
    join person_numbers n using (person_id)
    join stream_numbers s using (stream)
    left join people p using (person_id)
),

sequenced as (
    select *,
           lag(person_no) over (partition by stream_no order by sent_at, message_id) as previous_person_no,
           lag(sent_at) over (partition by stream_no order by sent_at, message_id)   as previous_at,
           -- no tie-break needed: one person's messages sent at the same instant share every
           -- figure below, so whichever comes first the counts are the same
           lag(sent_at) over (partition by person_no order by sent_at)               as own_previous_at,
           lag(local_at) over (partition by person_no order by sent_at)              as own_previous_local_at
    from located
),

flagged as (
    select s.*,
           is_working(s.local_at, s.work_start_s, s.work_end_s, s.workdays_mask)   as in_hours,
           ((s.workdays_mask >> (isodow(s.local_at) - 1)) & 1) = 1                   as on_workday,
           s.previous_person_no is not null and s.previous_person_no <> s.person_no as is_reply_to_other,
           epoch(s.sent_at - s.previous_at) <= st.fast_reply_minutes * 60           as is_fast,
           -- a new burst when the person's previous message is checkin_gap_minutes or more before
           -- (or on another local day)
           s.own_previous_at is null
             or epoch(s.sent_at - s.own_previous_at) >= st.checkin_gap_minutes * 60
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

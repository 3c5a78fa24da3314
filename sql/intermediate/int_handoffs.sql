-- grain: one row per handoff (a pair of consecutive turns, A then B) in a thread
-- The engine of docs/metrics.md ("Threads") for Slack threads and PR conversations alike:
--   turn     = maximal run of consecutive human events by one person
--   handoff  = turn A followed by turn B; t_a = A's last event, t_b = B's first
--   bounce   = both timezones known, UTC offsets at t_a differ by >= bounce_offset_hours,
--              t_a inside A's working hours and outside B's; its wait is t_b - t_a
-- Offsets are whole seconds and compared as integers (3 hours: >= 10800), so New York and
-- Los Angeles, exactly 3 hours apart, bounce; wait_us is the wait as whole microseconds.
with settings as (
    select round(bounce_offset_hours * 3600)::bigint as bounce_offset_s from staging.build_settings
),

events as (
    select thread_id, event_id, person_id, event_at
    from intermediate.int_conversation_events
    where is_human
),

-- A turn ends exactly where the next event is someone else's, so a handoff is an event
-- whose previous event (in the thread's order) is by another person: A's last event is
-- that previous one (t_a), B's first is this one (t_b). One window finds them all,
-- without numbering and grouping turns first.
marked as (
    select thread_id, event_id, person_id, event_at,
           lag(person_id) over w as previous_person,
           lag(event_at) over w  as previous_at,
           row_number() over w   as position
    from events
    window w as (partition by thread_id order by event_at, event_id)
),

pairs as (
    select thread_id, previous_person as person_a, previous_at as t_a,
           person_id as person_b, event_at as t_b,
           -- the k-th change of person in a thread follows turn k
           row_number() over (partition by thread_id order by event_at, event_id) as turn_no
    from marked
    where position > 1 and previous_person is distinct from person_id
),

people as (
    select person_id, tz, work_start_s, work_end_s, workdays_mask
    from intermediate.int_people__matched
),

final as (
    select
        h.thread_id,
        h.turn_no,
        h.person_a,
        h.person_b,
        h.t_a,
        h.t_b,
        seconds_between(h.t_a, h.t_b) / 3600.0                        as wait_hours,
        us_between(h.t_a, h.t_b)                                      as wait_us,
        least(h.person_a, h.person_b) || ' ↔ ' || greatest(h.person_a, h.person_b) as pair,
        a.tz                                                          as tz_a,
        b.tz                                                          as tz_b,
        utc_offset_s(a.tz, h.t_a)                                     as offset_a_s,
        utc_offset_s(b.tz, h.t_a)                                     as offset_b_s,
        utc_offset_s(a.tz, h.t_a) / 3600                              as offset_a_hours,
        utc_offset_s(b.tz, h.t_a) / 3600                              as offset_b_hours,
        is_working(timezone(a.tz, h.t_a), a.work_start_s, a.work_end_s, a.workdays_mask) as a_working,
        is_working(timezone(b.tz, h.t_a), b.work_start_s, b.work_end_s, b.workdays_mask) as b_working,
        coalesce(
            a.tz is not null and b.tz is not null
            and abs(utc_offset_s(a.tz, h.t_a) - utc_offset_s(b.tz, h.t_a)) >= s.bounce_offset_s
            and is_working(timezone(a.tz, h.t_a), a.work_start_s, a.work_end_s, a.workdays_mask)
            and not is_working(timezone(b.tz, h.t_a), b.work_start_s, b.work_end_s, b.workdays_mask),
            false)                                                    as is_bounce
    from pairs h
    left join people a on a.person_id = h.person_a
    left join people b on b.person_id = h.person_b
    cross join settings s
    where h.person_b is not null
)

select * from final

-- Working-hours arithmetic, shared by every model (docs/metrics.md, "Working hours" and "Exact time").
-- A schedule is (work_start_s, work_end_s, workdays_mask): seconds after local
-- midnight, and a 7-bit mask of ISO weekdays (bit 0 = Monday ... bit 6 = Sunday).
-- Local times come from timezone(tz, t), so daylight saving is the zone's own.
-- Every edge and offset is exact: whole seconds (or microseconds) as integers, compared as
-- integers. A double subtracted from a double is not: two epochs with microseconds gave
-- offsets of 0.9999999999337726 h and 4.000000000066227 h, and London (BST) to Muscat was
-- then 2.9999999999999996 h apart, not a bounce.

-- ISO weekday names or ranges ("Mon-Fri", "Sun-Thu", "Mon,Tue,Thu") -> mask; NULL if unreadable
create or replace macro workdays_mask(spec) as (
    with parts as (
        select trim(lower(p)) as p from unnest(string_split(spec, ',')) as t(p)
    ),
    days as (
        select p,
               list_position(['mon','tue','wed','thu','fri','sat','sun'], left(trim(split_part(p, '-', 1)), 3)) as a,
               list_position(['mon','tue','wed','thu','fri','sat','sun'], left(trim(coalesce(nullif(split_part(p, '-', 2), ''), split_part(p, '-', 1))), 3)) as b
        from parts
    ),
    bits as (
        select a, b, case when a is null or b is null then null
                    when a <= b then ((1 << b) - 1) - ((1 << (a - 1)) - 1)
                    else (127 - ((1 << (a - 1)) - 1)) | ((1 << b) - 1) end as m
        from days
    )
    select case when count(*) filter (m is null) > 0 or count(*) = 0 then null
                else bit_or(m)::integer end
    from bits
);

-- Whole seconds after midnight of local wall-clock time `l` (an integer; 16:59:59.999999 is 61199)
create or replace macro local_second(l) as (
    epoch_us(l::time) // 1000000
);

-- 1 when local wall-clock time `l` falls inside the schedule: from work_start_s (included)
-- to work_end_s (excluded), compared as whole seconds
create or replace macro is_working(l, ws, we, mask) as (
    ((mask >> (isodow(l) - 1)) & 1) = 1
    and local_second(l) >= ws and local_second(l) < we
);

-- Working microseconds of the schedule from 1970-01-05 (a Monday) to local time `l`, an
-- integer; the working time between two instants is the difference of two of these.
create or replace macro work_us(l, ws, we, mask) as (
    (   (date_diff('day', DATE '1970-01-05', l::date) // 7) * bit_count(mask)
      + bit_count(mask & ((1 << (isodow(l) - 1)) - 1))
    ) * (we - ws)::bigint * 1000000
    + case when ((mask >> (isodow(l) - 1)) & 1) = 1
           then least(greatest(epoch_us(l::time) - ws::bigint * 1000000, 0), (we - ws)::bigint * 1000000)
           else 0 end
);

-- Microseconds from instant `a` to instant `b`, an integer: compare this with thresholds
-- (`us_between(a, b) >= minutes * 60000000`), never a division of it.
create or replace macro us_between(a, b) as (
    epoch_us(b) - epoch_us(a)
);

-- Seconds from instant `a` to instant `b` (a double, for figures shown in hours). epoch(b - a)
-- says the same through an interval, about twenty times slower (0.1 s against 0.005 s a
-- million rows): this is the one to use.
create or replace macro seconds_between(a, b) as (
    us_between(a, b) / 1000000
);

-- UTC offset of zone `tz` at instant `t`, in whole seconds (an integer: +04:00 is 14400).
-- Both sides carry the same microseconds, so the difference is a whole number of seconds.
create or replace macro utc_offset_s(tz, t) as (
    (epoch_us(timezone(tz, t)) - epoch_us(t)) // 1000000
);

-- A mask back to words: 31 -> 'Mon-Fri', 15 -> 'Mon-Thu', 79 -> 'Mon,Tue,Wed,Thu,Sun'
create or replace macro workdays_label(mask) as (
    with d as (
        select list_filter(range(1, 8), lambda i: ((mask >> (i - 1)) & 1) = 1) as days,
               ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'] as names
    )
    select case when mask is null or len(days) = 0 then null
                when mask = 127 then 'every day'
                when len(days) = 1 then names[days[1]]
                when days[-1] - days[1] + 1 = len(days) then names[days[1]] || '-' || names[days[-1]]
                else array_to_string(list_transform(days, lambda i: names[i]), ',') end
    from d
);

-- Working time in whole microseconds, for the working agreements (exact integers: a wait is
-- compared with its threshold as integers, never as hours in a double). Same schedule as
-- working_hours.sql: (work_start_s, work_end_s, workdays_mask), local time `l`.

-- Working microseconds of the schedule from 1970-01-05 (a Monday) to local time `l`
create or replace macro work_us(l, ws, we, mask) as (
    (   (date_diff('day', DATE '1970-01-05', l::date) // 7) * bit_count(mask)
      + bit_count(mask & ((1 << (isodow(l) - 1)) - 1))
    ) * (we - ws) * 1000000::bigint
    + case when ((mask >> (isodow(l) - 1)) & 1) = 1
           then least(greatest(epoch_us(l) - epoch_us(date_trunc('day', l)) - ws * 1000000::bigint, 0),
                      (we - ws) * 1000000::bigint)
           else 0 end
);

-- The local time at which work_us reaches `target` (the inverse of work_us): a target on the
-- edge of a working day is the start of the next one, where the wait goes on growing.
create or replace macro work_us_local(target, ws, we, mask) as (
    with k as (
        select (we - ws) * 1000000::bigint as day_us, bit_count(mask) as n,
               list_filter(range(1, 8), lambda i: ((mask >> (i - 1)) & 1) = 1) as days
    ),
    p as (
        select *, target // (day_us * n) as week_no, target % (day_us * n) as rem from k
    )
    select TIMESTAMP '1970-01-05 00:00:00'
           + to_days((week_no * 7 + days[(rem // day_us)::integer + 1] - 1)::integer)
           + to_microseconds(ws * 1000000::bigint + rem % day_us)
    from p
);

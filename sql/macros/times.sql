-- Reading exported times (docs/metrics.md, "Dates in GitHub exports").
-- gh writes a missing date as Go's zero time, 0001-01-01T00:00:00Z: that, and any time
-- before 1970 in any layout, is no date. Text that is no time at all is no date either.
create or replace macro export_time(text_value) as (
    case when try_cast(text_value as timestamptz) >= TIMESTAMPTZ '1970-01-01 00:00:00+00'
         then try_cast(text_value as timestamptz) end
);

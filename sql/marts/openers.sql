-- grain: one row per conversation opener, with its low-context flag and 3W score
with openers as (
    select * from intermediate.int_openers__selected
),

flags as (
    select * from intermediate.int_openers__classified
),

people as (
    select person_id, display_name from intermediate.int_people__matched
),

final as (
    select
        o.message_id,
        o.conversation_type,
        coalesce(p.display_name, o.person_id) as author,
        -- a redacted message carries the flags computed before its text was dropped
        coalesce(o.redacted_low_context, f.low_context)          as low_context,
        coalesce(o.redacted_has_what, f.has_what)                as has_what,
        coalesce(o.redacted_has_why, f.has_why)                  as has_why,
        coalesce(o.redacted_has_ask, f.has_ask)                  as has_ask,
        coalesce(o.redacted_has_expectation, f.has_expectation)  as has_expectation,
        (coalesce(o.redacted_has_what, f.has_what)::int + coalesce(o.redacted_has_why, f.has_why)::int
         + coalesce(o.redacted_has_ask, f.has_ask)::int)::tinyint as score_3w,
        o.conversation_id,
        o.conversation_name,
        o.person_id,
        o.sent_at,
        o.thread_id,
        o.text
    from openers o
    join flags f using (message_id)
    left join people p using (person_id)
)

select * from final

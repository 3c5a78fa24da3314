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
        f.low_context,
        f.has_what,
        f.has_why,
        f.has_ask,
        f.has_expectation,
        f.score_3w,
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

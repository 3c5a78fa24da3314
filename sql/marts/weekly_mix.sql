-- grain: one row per ISO week (Monday, UTC) and conversation type
-- share = that type's share of the week's human messages. When the export holds no
-- direct messages at all, DM and group-DM figures are NULL, never 0 (marts.coverage says why).
with messages as (
    select date_trunc('week', sent_at::timestamp)::date as week, conversation_type  -- UTC; a plain timestamp skips ICU
    from staging.stg_slack__messages
    where is_human
),

has_dms as (
    select count(*) filter (conversation_type in ('dm', 'mpim')) > 0 as has_dms
    from staging.stg_slack__conversations
),

types as (
    select unnest(['public', 'private', 'dm', 'mpim']) as conversation_type
),

counts as (
    select week, conversation_type, count(*) as messages
    from messages
    group by all
),

weeks as (
    select distinct week from counts
),

final as (
    select
        w.week,
        t.conversation_type,
        case when t.conversation_type in ('dm', 'mpim') and not h.has_dms then null
             else coalesce(c.messages, 0) end                               as messages,
        case when t.conversation_type in ('dm', 'mpim') and not h.has_dms then null
             else coalesce(c.messages, 0) / sum(coalesce(c.messages, 0)) over (partition by w.week)
        end                                                                 as share
    from weeks w
    cross join types t
    cross join has_dms h
    left join counts c on c.week = w.week and c.conversation_type = t.conversation_type
)

select * from final

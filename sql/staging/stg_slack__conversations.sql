-- grain: one row per Slack conversation id
with conversations as (
    select * from raw.slack_conversations
),

final as (
    select
        id                                     as conversation_id,
        coalesce(name, id)                     as conversation_name,
        conversation_type,
        folder,
        is_listed,
        case when is_listed then 'metadata' else 'folder name' end as typed_by,
        to_timestamp(created)                  as created_at,
        coalesce(is_archived, false)           as is_archived,
        coalesce(is_general, false)            as is_general,
        len(members)                           as member_count,
        topic,
        purpose
    from conversations
)

select * from final

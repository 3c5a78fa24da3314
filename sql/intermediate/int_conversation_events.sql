-- grain: one row per event of a threaded conversation: each message of a Slack thread
-- (a parent with replies). Pull-request conversations join this table with the same
-- columns, so one engine (int_handoffs) computes turns, handoffs and bounces for both.
with messages as (
    select * from staging.stg_slack__messages
),

identities as (
    select source_id, person_id from intermediate.int_identities__matched where source = 'slack'
),

threads as (
    -- a parent that is in the export, and at least one reply
    select thread_id
    from messages
    group by thread_id
    having count(*) filter (not is_reply and ts = thread_ts) = 1 and count(*) filter (is_reply) > 0
),

final as (
    select
        m.thread_id,
        'slack'                                   as source,
        m.conversation_id,
        m.conversation_type,
        m.message_id                              as event_id,
        case when m.is_reply then 'reply' else 'opening' end as kind,
        not m.is_reply                            as is_opening,
        m.author_id,
        coalesce(i.person_id, 'slack:' || m.author_id) as person_id,
        m.is_human,
        m.sent_at                                 as event_at,
        m.text,
        m.reactions,
        m.has_files,
        m.ts                                      as source_ts
    from messages m
    join threads t using (thread_id)
    left join identities i on i.source_id = m.author_id
)

select * from final

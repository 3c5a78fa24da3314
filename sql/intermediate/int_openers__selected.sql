-- grain: one row per conversation opener (docs/metrics.md, "Openers"): a human thread parent in a
-- channel, or a human DM / group-DM message after opener_silence_minutes+ of silence there
-- (the first message of a DM included)
with settings as (
    select * from staging.build_settings
),

identities as (
    select source_id, person_id from intermediate.int_identities__matched where source = 'slack'
),

-- not materialized: each branch below reads only its own conversation types from the view
messages as not materialized (
    select * from staging.stg_slack__messages where is_human
),

channel_parents as (
    select *
    from messages
    where conversation_type in ('public', 'private') and is_thread_parent and not is_reply
),

direct as (
    select *,
           lag(sent_at) over (partition by conversation_id order by sent_at, ts) as previous_at
    from messages
    where conversation_type in ('dm', 'mpim')
),

direct_openers as (
    select d.* exclude (previous_at)
    from direct d cross join settings s
    where not d.is_reply
      and (d.previous_at is null or us_between(d.previous_at, d.sent_at) >= s.opener_silence_minutes::bigint * 60000000)
),

-- the two branches are disjoint (channels, direct messages) and a message is one row
-- (conversation_id, ts), so their union is every opener once
openers as (
    select * from channel_parents
    union all
    select * from direct_openers
),

final as (
    select m.message_id, m.conversation_id, m.conversation_name, m.conversation_type,
           m.author_id, coalesce(i.person_id, 'slack:' || m.author_id) as person_id,
           m.sent_at, m.text, m.has_files, m.thread_id,
           m.redacted_low_context, m.redacted_has_what, m.redacted_has_why, m.redacted_has_ask,
           m.redacted_has_expectation
    from openers m
    left join identities i on i.source_id = m.author_id
)

select * from final

-- grain: one row per conversation opener (SPEC §4 "Opener"): a human thread parent in a
-- channel, or a human DM / group-DM message after opener_silence_minutes+ of silence there
-- (the first message of a DM included)
with settings as (
    select * from staging.build_settings
),

identities as (
    select source_id, person_id from intermediate.int_identities__matched where source = 'slack'
),

messages as (
    select * from staging.stg_slack__messages where is_human
),

channel_parents as (
    select message_id
    from messages
    where conversation_type in ('public', 'private') and is_thread_parent and not is_reply
),

direct as (
    select message_id, is_reply,
           lag(sent_at) over (partition by conversation_id order by sent_at, ts) as previous_at,
           sent_at
    from messages
    where conversation_type in ('dm', 'mpim')
),

direct_openers as (
    select message_id
    from direct cross join settings s
    where not is_reply
      and (previous_at is null or epoch(sent_at - previous_at) >= s.opener_silence_minutes * 60)
),

final as (
    select m.message_id, m.conversation_id, m.conversation_name, m.conversation_type,
           m.author_id, coalesce(i.person_id, 'slack:' || m.author_id) as person_id,
           m.sent_at, m.text, m.has_files, m.thread_id,
           m.redacted_low_context, m.redacted_has_what, m.redacted_has_why, m.redacted_has_ask,
           m.redacted_has_expectation
    from messages m
    left join identities i on i.source_id = m.author_id
    where m.message_id in (select message_id from channel_parents)
       or m.message_id in (select message_id from direct_openers)
)

select * from final

-- grain: one row per Slack message (conversation_id, ts)
-- materialized: view  (a million-row copy of raw costs more to write than its readers save)
with messages as (
    select * from raw.slack_messages
),

conversations as (
    select id, coalesce(name, id) as conversation_name, conversation_type
    from raw.slack_conversations
),

users as (
    select user_id, is_bot, tz from staging.stg_slack__users
),

authored as (
    select
        m.*,
        -- the legacy file_comment keeps its author in comment.user
        case when m.subtype = 'file_comment' then coalesce(m.comment_user, m."user")
             else m."user" end as author_id,
        -- ts is "seconds.micros" in UTC; keep full precision (a double would not).
        -- Every reader of this view pays for the parse, so Slack's own shape (ten digits,
        -- a dot, six digits) takes a short path that gives the same instant.
        case when length(m.ts) = 17 and strpos(m.ts, '.') = 11 and strpos(right(m.ts, 6), '.') = 0
             then make_timestamptz(cast(left(m.ts, 10) as bigint) * 1000000 + cast(right(m.ts, 6) as bigint))
             else to_timestamp(cast(split_part(m.ts, '.', 1) as bigint))
                  + to_microseconds(cast(rpad(left(split_part(m.ts, '.', 2), 6), 6, '0') as bigint))
        end as sent_at
    from messages m
),

final as (
    select
        a.conversation_id || ':' || a.ts       as message_id,
        a.conversation_id,
        c.conversation_name,
        coalesce(c.conversation_type, 'public') as conversation_type,
        a.ts,
        a.sent_at,
        timezone(u.tz, a.sent_at)              as sent_at_local,   -- author's wall clock; NULL if tz unknown
        u.tz                                   as author_tz,
        a.author_id,
        a.subtype,
        a.text,
        -- a thread is keyed by its parent's ts; a message outside threads is its own key
        'slack:' || a.conversation_id || ':' || coalesce(a.thread_ts, a.ts) as thread_id,
        coalesce(a.thread_ts, a.ts)            as thread_ts,
        a.thread_ts is not null and a.thread_ts <> a.ts as is_reply,
        coalesce(a.thread_ts = a.ts, false) or coalesce(a.reply_count, 0) > 0 as is_thread_parent,
        coalesce(a.reply_count, 0)             as reply_count,
        a.parent_user_id,
        a.edited_ts is not null                as is_edited,
        a.files is not null and a.files <> '[]' as has_files,
        a.reactions,
        a.bot_id,
        a.author_id is not null
          and a.author_id <> 'USLACKBOT'
          and a.bot_id is null
          and coalesce(a.subtype, '') in ('', 'thread_broadcast', 'file_share', 'me_message', 'file_comment')
          and not coalesce(u.is_bot, false)     as is_human,
        u.user_id is null and a.author_id is not null as is_unknown_author,
        -- set only on rows loaded with --redact (their text is NULL): the flags the
        -- metrics need, computed from the text before it was dropped
        coalesce(a.text_redacted, false)      as is_text_redacted,
        a.has_broadcast                       as redacted_has_broadcast,
        a.has_decision                        as redacted_has_decision,
        a.pr_links                            as redacted_pr_links,
        a.opener_low_context                  as redacted_low_context,
        a.opener_has_what                     as redacted_has_what,
        a.opener_has_why                      as redacted_has_why,
        a.opener_has_ask                      as redacted_has_ask,
        a.opener_has_expectation              as redacted_has_expectation,
        a._source_file,
        a._load_id
    from authored a
    left join conversations c on c.id = a.conversation_id
    left join users u on u.user_id = a.author_id
)

select * from final

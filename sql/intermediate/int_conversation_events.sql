-- grain: one row per event of a threaded conversation: each message of a Slack thread
-- (a parent with replies), and each event of a pull request (opened, reviews, review
-- comments, conversation comments). One engine (int_handoffs) computes turns, handoffs
-- and bounces for both.
-- not materialized: `threads` reads three narrow columns of the view, so a wide copy of a
-- million messages (their text included) would be written only to be read once
with messages as not materialized (
    select * from staging.stg_slack__messages
),

identities as (
    select source, source_id, person_id from intermediate.int_identities__matched
),

threads as (
    -- a parent that is in the export, and at least one reply
    select thread_id
    from messages
    group by thread_id
    having count(*) filter (not is_reply and ts = thread_ts) = 1 and count(*) filter (is_reply) > 0
),

slack_events as (
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
        m.ts                                      as source_ts,
        null::varchar                             as url,
        m.redacted_has_decision,
        null::varchar                             as review_state
    from messages m
    join threads t using (thread_id)
    left join identities i on i.source = 'slack' and i.source_id = m.author_id
),

pr_events as (
    select
        e.pr_id                                   as thread_id,
        'github'                                  as source,
        e.repo                                    as conversation_id,
        'pull_request'                            as conversation_type,
        e.event_key                               as event_id,
        e.kind,
        e.kind = 'opened'                         as is_opening,
        lower(e.author_login)                     as author_id,
        coalesce(i.person_id, 'github:' || lower(e.author_login)) as person_id,
        not e.author_is_bot                       as is_human,
        e."at"                                    as event_at,
        e.body                                    as text,
        null::varchar                             as reactions,
        false                                     as has_files,
        null::varchar                             as source_ts,
        p.url,
        null::boolean                             as redacted_has_decision,
        e.review_state                            -- a review's: APPROVED, CHANGES_REQUESTED, COMMENTED, ...
    from staging.stg_github__events e
    join staging.stg_github__pull_requests p using (pr_id)
    left join identities i on i.source = 'github' and i.source_id = lower(e.author_login)
),

final as (
    select * from slack_events
    union all by name
    select * from pr_events
)

select * from final

-- grain: one row per conversation event of a pull request: its opening, each submitted
-- review (an empty body still counts), review comment, and conversation comment
with prs as (
    select pr_id, repo, number, author_login, author_is_bot, created_at, body, url
    from staging.stg_github__pull_requests
),

users as (
    select lower(login) as login_key, is_bot from staging.stg_github__users
),

events as (
    select * from raw.github_events
    where kind in ('review', 'review_comment', 'comment')
),

opened as (
    select
        pr_id || ':opened:' || lower(author_login) || ':'
          || strftime(timezone('UTC', created_at), '%Y-%m-%dT%H:%M:%SZ') as event_key,
        null::varchar                                                     as event_id,
        pr_id,
        repo,
        number,
        'opened'                                                          as kind,
        null::varchar                                                     as review_state,
        author_login,
        author_is_bot,
        created_at                                                        as "at",
        body,
        url,
        null::varchar                                                     as path,
        null::varchar                                                     as review_id,
        null::varchar                                                     as layout
    from prs
    where created_at is not null
),

conversation as (
    select
        e.event_key,
        e.event_id,
        'github:' || e.repo || '#' || e.number                           as pr_id,
        e.repo,
        cast(e.number as integer)                                         as number,
        e.kind,
        case when e.kind = 'review' then upper(e.review_state) end        as review_state,
        e.author_login,
        coalesce(u.is_bot, false)                                         as author_is_bot,
        export_time(e."at")                                               as "at",
        coalesce(e.body, '')                                              as body,
        coalesce(e.url, p.url)                                            as url,
        e.path,
        e.review_id,
        e.layout
    from events e
    left join prs p on p.repo = e.repo and p.number = e.number
    left join users u on u.login_key = lower(e.author_login)
    -- a pending review is a draft only its author sees; it has no submitted time (and an
    -- event dated 0001-01-01 or before 1970 has none either: export_time)
    where export_time(e."at") is not null
      and (e.kind <> 'review' or coalesce(upper(e.review_state), '') <> 'PENDING')
      -- /issues/comments holds issues' comments too: keep those on PRs
      and (e.kind <> 'comment' or coalesce(e.is_pull_request, false) or p.pr_id is not null)
),

final as (
    select * from opened
    union all by name
    select * from conversation
)

select * from final

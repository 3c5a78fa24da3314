-- grain: one row per pull request (repo, number); pr_id = 'github:<owner/repo>#<number>'
-- Times through export_time: gh's 0001-01-01T00:00:00Z ("no date") and anything before 1970
-- are NULL, so an unmerged PR has no merged_at rather than one 2,000 years ago.
with prs as (
    select * from raw.github_pull_requests
),

files as (
    select repo, number, files from raw.github_pr_files
),

users as (
    select lower(login) as login_key, is_bot from staging.stg_github__users
),

-- when a PR left draft: its first ready_for_review, where the export has timeline events, and
-- every time it left or re-entered draft (a PR put back to draft becomes ready again: pickup
-- counts from the last time, and it awaits no review while in draft)
ready as (
    select repo, number,
           min(export_time("at")) filter (kind = 'ready_for_review') as ready_event_at,
           coalesce(list(export_time("at") order by export_time("at"))
                    filter (kind = 'ready_for_review'), []) as ready_event_times,
           coalesce(list(export_time("at") order by export_time("at"))
                    filter (kind = 'convert_to_draft'), []) as draft_event_times
    from raw.github_events
    where kind in ('ready_for_review', 'convert_to_draft') and export_time("at") is not null
    group by all
),

final as (
    select
        'github:' || p.repo || '#' || p.number                          as pr_id,
        p.repo,
        cast(p.number as integer)                                        as number,
        p.author_login,
        coalesce(u.is_bot, false)                                        as author_is_bot,
        p.title,
        coalesce(p.body, '')                                             as body,  -- gh says '', REST null
        export_time(p.created_at)                                        as created_at,
        case when coalesce(p.is_draft, false) then null
             else coalesce(r.ready_event_at, export_time(p.created_at)) end as ready_at,
        export_time(p.closed_at)                                         as closed_at,
        export_time(p.merged_at)                                         as merged_at,
        coalesce(p.is_draft, false)                                      as is_draft,
        coalesce(p.labels, [])                                           as labels,
        p.url,
        list_transform(f.files, lambda x: x.path)                             as files,
        coalesce(p.additions, list_sum(list_transform(f.files, lambda x: x.additions))) as additions,
        coalesce(p.deletions, list_sum(list_transform(f.files, lambda x: x.deletions))) as deletions,
        coalesce(p.changed_files, len(f.files))                          as changed_files,
        case when export_time(p.merged_at) is not null then 'merged'
             when export_time(p.closed_at) is not null then 'closed'
             when coalesce(p.is_draft, false) then 'draft'
             else 'open' end                                             as state,
        r.ready_event_at is not null                                     as has_ready_event,
        coalesce(r.ready_event_times, [])                                as ready_event_times,
        coalesce(r.draft_event_times, [])                                as draft_event_times,
        p.layout,
        p._load_id
    from prs p
    left join files f on f.repo = p.repo and f.number = p.number
    left join users u on u.login_key = lower(p.author_login)
    left join ready r on r.repo = p.repo and r.number = p.number
)

select * from final

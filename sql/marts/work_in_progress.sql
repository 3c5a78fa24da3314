-- grain: one row per PR author (author_person_id) and UTC day at whose end they had an open PR
-- Work in progress, as a snapshot at the end of each day (midnight UTC): the author's PRs open
-- then (created before it, not yet closed or merged; drafts included), and of those the ones
-- ready and still awaiting their first review (docs/metrics.md "Phases": the pickup). A PR
-- still open counts through the day of the export's last event. Bots' PRs are out.
with prs as (
    select
        p.author_person_id,
        p.author_name,
        timezone('UTC', p.created_at)                      as created_utc,
        timezone('UTC', coalesce(p.closed_at, p.merged_at)) as closed_utc,
        timezone('UTC', p.ready_at)                        as ready_utc,
        timezone('UTC', p.first_review_at)                 as reviewed_utc,
        s.ready_event_times,
        s.draft_event_times
    from marts.pull_requests p
    join staging.stg_github__pull_requests s using (pr_id)
    where not p.is_bot_author and p.created_at is not null
),

horizon as (
    select max(t)::date as last_day
    from (
        select timezone('UTC', event_at) as t from intermediate.int_conversation_events
        where source = 'github'
        union all
        select closed_utc from prs
    )
),

open_days as (
    select p.*, d.day::date as day
    from prs p, horizon h,
    lateral unnest(generate_series(
        p.created_utc::date,
        -- open at the end of day D: closed at or after D + 1 day
        coalesce((p.closed_utc - interval 1 day)::date, h.last_day),
        interval 1 day)) as d(day)
),

final as (
    select
        author_person_id,
        any_value(author_name)                                          as author_name,
        day,
        count(*)                                                        as open_prs,
        count(*) filter (ready_utc < day + interval 1 day
                         and (reviewed_utc is null or reviewed_utc >= day + interval 1 day)
                         and not in_draft)                              as awaiting_first_review
    from (
        -- put back to draft (its last draft event that day or before is later than its last
        -- ready event) it awaits no review
        select *,
               coalesce(list_max(list_filter(draft_event_times,
                                             lambda x: timezone('UTC', x) < day + interval 1 day))
                        > coalesce(list_max(list_filter(ready_event_times,
                                                        lambda x: timezone('UTC', x) < day + interval 1 day)),
                                   TIMESTAMPTZ '1970-01-01 00:00:00+00'), false) as in_draft
        from open_days
    )
    group by author_person_id, day
)

select * from final

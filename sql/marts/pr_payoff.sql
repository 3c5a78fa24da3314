-- grain: one row per size band ('all', XS, S, M, L, XL) and description-quality band
-- (0-39, 40-69, 70-100)
-- Does a good description pay off on this team, at the same size? Human-authored PRs that left
-- draft; medians of review rounds, time to first review, pickup and time to merge, with the
-- counts a reader needs to see when a cell is too small to mean anything. The 'all' rows are
-- every such PR, sized or not (a PR whose export has no size is in 'all' only: size_band NULL
-- in marts.pull_requests, counted in marts.coverage).
with prs as (
    select * from marts.pull_requests
    where not is_bot_author and not coalesce(is_draft, false)
),

sized as (
    select 'all' as size_band, * exclude (size_band) from prs
    union all by name
    select * from prs where size_band is not null
),

cells as (
    select s.size_band, q.quality_band, s.i as size_order
    from (select unnest(['all', 'XS', 'S', 'M', 'L', 'XL']) as size_band,
                 unnest(range(6)) as i) s,
         (select unnest(['0-39', '40-69', '70-100']) as quality_band) q
),

final as (
    select
        c.size_band,
        c.quality_band,
        count(p.pr_id)                                              as prs,
        count(p.merged_at)                                          as merged_prs,
        count(p.time_to_first_review_hours)                         as reviewed_prs,
        median(p.review_rounds)                                     as median_review_rounds,
        median(p.time_to_first_review_hours)                        as median_time_to_first_review_hours,
        median(p.time_to_first_review_work_hours)                   as median_time_to_first_review_work_hours,
        median(p.time_to_merge_hours)                               as median_time_to_merge_hours,
        avg(p.quality)                                              as mean_quality,
        count(p.pickup_hours)                                       as picked_up_prs,
        median(p.pickup_hours)                                      as median_pickup_hours,
        median(p.pickup_work_hours)                                 as median_pickup_work_hours
    from cells c
    left join sized p using (size_band, quality_band)
    group by c.size_band, c.quality_band, c.size_order
    order by c.size_order, c.quality_band
)

select * from final

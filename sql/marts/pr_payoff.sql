-- grain: one row per description-quality band (0-39, 40-69, 70-100)
-- Does a good description pay off on this team? Human-authored PRs that left draft;
-- medians of review rounds, time to first review and time to merge, with the counts a
-- reader needs to see when a band is too small to mean anything.
with prs as (
    select * from marts.pull_requests
    where not is_bot_author and not coalesce(is_draft, false)
),

bands as (
    select unnest(['0-39', '40-69', '70-100']) as quality_band
),

final as (
    select
        b.quality_band,
        count(p.pr_id)                                              as prs,
        count(p.merged_at)                                          as merged_prs,
        count(p.time_to_first_review_hours)                         as reviewed_prs,
        median(p.review_rounds)                                     as median_review_rounds,
        median(p.time_to_first_review_hours)                        as median_time_to_first_review_hours,
        median(p.time_to_first_review_work_hours)                   as median_time_to_first_review_work_hours,
        median(p.time_to_merge_hours)                               as median_time_to_merge_hours,
        avg(p.quality)                                              as mean_quality
    from bands b
    left join prs p using (quality_band)
    group by b.quality_band
)

select * from final

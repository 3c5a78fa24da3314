-- grain: one row per reviewer (person_id) and ISO week (Monday, UTC) in which they reviewed
-- Who carries the reviewing, and how fast they pick PRs up: submitted reviews by a human other
-- than the PR's author (bots never count), the PRs whose first review (docs/metrics.md
-- "Phases": pickup) was theirs, and the median pickup they gave, wall clock and in their own
-- working hours. `team` is the reviewer's team from the people file (NULL when none).
with events as (
    select * from intermediate.int_conversation_events where source = 'github'
),

prs as (
    select * from marts.pull_requests
),

people as (
    select person_id, display_name, team from intermediate.int_people__matched
),

reviews as (
    select e.person_id, date_trunc('week', timezone('UTC', e.event_at))::date as week,
           count(*) as reviews, count(distinct e.thread_id) as reviewed_prs
    from events e
    join prs p on p.pr_id = e.thread_id
    where e.kind = 'review' and e.is_human and e.person_id <> p.author_person_id
    group by all
),

pickups as (
    select pickup_reviewer_person_id as person_id,
           date_trunc('week', timezone('UTC', first_review_at))::date as week,
           count(*)                 as first_reviews,
           median(pickup_hours)      as median_pickup_hours,
           median(pickup_work_hours) as median_pickup_work_hours
    from prs
    where pickup_reviewer_person_id is not null
    group by all
),

final as (
    select
        r.person_id,
        pe.display_name                                as reviewer_name,
        pe.team,
        r.week,
        r.reviews,
        r.reviewed_prs,
        coalesce(k.first_reviews, 0)                   as first_reviews,
        k.median_pickup_hours,
        k.median_pickup_work_hours
    from reviews r
    left join pickups k using (person_id, week)
    left join people pe using (person_id)
)

select * from final

-- grain: one row per pull request (docs/metrics.md, "Pull requests")
-- author          the GitHub login, as GitHub shows it (`where author = 'leohart'` finds their PRs);
--                  author_name the matched person's display name (GitHub's name, else the login, when
--                  no one else matches them; NULL for a bot, which is no person)
-- quality          0-100, the share of applicable description checks met (transforms/pr_quality.py)
-- time_to_first_review_hours  ready_at (else created_at) -> the first review or comment by a
--                  human other than the author; `_work_hours` counts only the reviewer's hours
-- review_rounds    reviewer turns followed by an author turn in the PR conversation
-- bounces, bounce_wait_hours  the thread engine's, on the PR conversation
-- slack_mentions   human Slack messages that link the PR
-- additions, deletions, changed_files, size_band  the PR's size where the export has it (else NULL);
--                  size_band by lines changed (additions + deletions): XS < 10, S < 100, M < 400,
--                  L < 1000, XL >= 1000
-- pickup_*, review_*, merge_*  where the PR waited (docs/metrics.md "Phases"): pickup = ready (the
--                  last time it became ready before its first review) -> the first review by a human
--                  other than the author; review = first review -> the last approval, else (merged)
--                  the last review before the merge; merge = the end of review -> merged. `_hours`
--                  wall clock; `_work_hours` in the working hours of whom it waited on: the first
--                  reviewer, the approver (else the last reviewer), the author. NULL when a phase
--                  did not happen. Worked out in integer microseconds (work_us), shown in hours.
with prs as (
    select * from staging.stg_github__pull_requests
),

scored as (
    select * from intermediate.int_pull_requests__scored
),

events as (
    select * from intermediate.int_conversation_events where source = 'github'
),

identities as (
    select source_id, person_id from intermediate.int_identities__matched where source = 'github'
),

people as (
    select person_id, display_name, tz, work_start_s, work_end_s, workdays_mask
    from intermediate.int_people__matched
),

authors as (
    select p.pr_id, coalesce(i.person_id, 'github:' || lower(p.author_login)) as author_person_id
    from prs p
    left join identities i on i.source_id = lower(p.author_login)
),

first_reviews as (
    select e.thread_id as pr_id, e.person_id as reviewer, e.event_at as reviewed_at
    from events e
    join authors a on a.pr_id = e.thread_id
    join prs p on p.pr_id = e.thread_id
    where e.is_human and not e.is_opening
      and e.person_id <> a.author_person_id
      and e.event_at >= coalesce(p.ready_at, p.created_at)
    qualify row_number() over (partition by e.thread_id order by e.event_at, e.event_id) = 1
),

-- the reviews the phases read: submitted reviews by a human other than the author, once the
-- PR was ready, and not after its merge
phase_reviews as (
    select e.thread_id as pr_id, e.person_id, e.event_at, e.event_id, e.review_state
    from events e
    join authors a on a.pr_id = e.thread_id
    join prs p on p.pr_id = e.thread_id
    where e.kind = 'review' and e.is_human
      and e.person_id <> a.author_person_id
      and p.ready_at is not null and e.event_at >= p.ready_at
      and (p.merged_at is null or e.event_at <= p.merged_at)
),

phase_marks as (
    select
        pr_id,
        min(event_at)                                                     as first_review_at,
        arg_min(person_id, (event_at, event_id))                          as pickup_person_id,
        max(event_at) filter (review_state = 'APPROVED')                  as last_approval_at,
        arg_max(person_id, (event_at, event_id)) filter (review_state = 'APPROVED') as approver,
        max(event_at)                                                     as last_review_at,
        arg_max(person_id, (event_at, event_id))                          as last_reviewer
    from phase_reviews
    group by pr_id
),

phases as (
    select
        p.pr_id,
        -- a PR put back to draft and made ready again waits from the last time it became ready
        coalesce(list_max(list_filter(p.ready_event_times, lambda x: x <= m.first_review_at)),
                 p.ready_at)                                              as pickup_started_at,
        m.first_review_at,
        m.pickup_person_id,
        case when m.last_approval_at is not null then m.last_approval_at
             when p.merged_at is not null then m.last_review_at end       as review_ended_at,
        case when m.last_approval_at is not null then m.approver
             when p.merged_at is not null then m.last_reviewer end        as review_person_id,
        p.merged_at
    from prs p
    join phase_marks m using (pr_id)
),

rounds as (
    select h.thread_id as pr_id, count(*) as review_rounds
    from intermediate.int_handoffs h
    join authors a on a.pr_id = h.thread_id
    where h.person_b = a.author_person_id and h.person_a <> a.author_person_id
    group by 1
),

mentions as (
    -- every PR link in human Slack messages, e.g. <https://github.com/acme/api/pull/12|#12>
    select lower(m[1]) as repo, m[2]::integer as number, count(*) as slack_mentions
    from (
        select unnest(regexp_extract_all(text, 'github\.com/([\w.-]+/[\w.-]+)/pull/(\d+)', 0)) as link
        from staging.stg_slack__messages
        where is_human and text like '%github.com/%/pull/%'
        union all
        -- redacted rows keep their PR links as 'owner/repo#12'
        select 'github.com/' || replace(unnest(redacted_pr_links), '#', '/pull/')
        from staging.stg_slack__messages
        where is_human and is_text_redacted
    ) l,
    lateral (select regexp_extract(l.link, 'github\.com/([\w.-]+/[\w.-]+)/pull/(\d+)', ['r', 'n'])) x(parts),
    lateral (select [parts.r, parts.n] as m)
    group by all
),

threads as (
    select thread_id as pr_id, bounces, bounce_wait_hours from marts.threads where source = 'github'
),

final as (
    select
        p.repo,
        p.number,
        p.author_login                                              as author,  -- the login, as GitHub shows it
        ap.display_name                                             as author_name,
        p.created_at,
        p.ready_at,
        p.merged_at,
        s.quality,
        s.has_body, s.has_why, s.has_link, s.has_testing, s.has_risk, s.has_focus, s.has_visuals,
        s.visuals_needed,
        seconds_between(coalesce(p.ready_at, p.created_at), f.reviewed_at) / 3600.0 as time_to_first_review_hours,
        (work_us(timezone(rp.tz, f.reviewed_at), rp.work_start_s, rp.work_end_s, rp.workdays_mask)
         - work_us(timezone(rp.tz, coalesce(p.ready_at, p.created_at)), rp.work_start_s,
                   rp.work_end_s, rp.workdays_mask)) / 3600e6 as time_to_first_review_work_hours,
        coalesce(r.review_rounds, 0)                                as review_rounds,
        coalesce(t.bounces, 0)                                      as bounces,
        coalesce(t.bounce_wait_hours, 0)                            as bounce_wait_hours,
        coalesce(m.slack_mentions, 0)                               as slack_mentions,
        p.url,
        p.pr_id,
        p.title,
        p.author_is_bot                                             as is_bot_author,
        a.author_person_id,
        p.is_draft,
        p.closed_at,
        s.missing,
        case when s.quality < 40 then '0-39' when s.quality < 70 then '40-69' else '70-100' end
                                                                    as quality_band,
        seconds_between(coalesce(p.ready_at, p.created_at), p.merged_at) / 3600.0 as time_to_merge_hours,
        f.reviewer                                                  as first_reviewer_person_id,
        p.additions,
        p.deletions,
        p.changed_files,
        case when p.additions + p.deletions < 10 then 'XS'
             when p.additions + p.deletions < 100 then 'S'
             when p.additions + p.deletions < 400 then 'M'
             when p.additions + p.deletions < 1000 then 'L'
             when p.additions + p.deletions >= 1000 then 'XL' end   as size_band,
        ph.pickup_started_at,
        ph.first_review_at,
        ph.review_ended_at,
        ph.pickup_person_id                                          as pickup_reviewer_person_id,
        us_between(ph.pickup_started_at, ph.first_review_at) / 3600e6 as pickup_hours,
        (work_us(timezone(pk.tz, ph.first_review_at), pk.work_start_s, pk.work_end_s, pk.workdays_mask)
         - work_us(timezone(pk.tz, ph.pickup_started_at), pk.work_start_s, pk.work_end_s,
                   pk.workdays_mask)) / 3600e6 as pickup_work_hours,
        us_between(ph.first_review_at, ph.review_ended_at) / 3600e6   as review_hours,
        (work_us(timezone(rv.tz, ph.review_ended_at), rv.work_start_s, rv.work_end_s, rv.workdays_mask)
         - work_us(timezone(rv.tz, ph.first_review_at), rv.work_start_s, rv.work_end_s,
                   rv.workdays_mask)) / 3600e6 as review_work_hours,
        us_between(ph.review_ended_at, ph.merged_at) / 3600e6         as merge_hours,
        (work_us(timezone(ap.tz, ph.merged_at), ap.work_start_s, ap.work_end_s, ap.workdays_mask)
         - work_us(timezone(ap.tz, ph.review_ended_at), ap.work_start_s, ap.work_end_s,
                   ap.workdays_mask)) / 3600e6 as merge_work_hours
    from prs p
    join scored s using (pr_id)
    join authors a using (pr_id)
    left join people ap on ap.person_id = a.author_person_id
    left join first_reviews f using (pr_id)
    left join people rp on rp.person_id = f.reviewer
    left join phases ph using (pr_id)
    left join people pk on pk.person_id = ph.pickup_person_id
    left join people rv on rv.person_id = ph.review_person_id
    left join rounds r using (pr_id)
    left join threads t using (pr_id)
    left join mentions m on m.repo = lower(p.repo) and m.number = p.number
)

select * from final

-- grain: one row per fact about what the loaded data can and cannot tell (source, item)
with conversations as (
    select * from staging.stg_slack__conversations
),

-- only what the facts below read: three of them read it, so it is kept once, and narrow
messages as (
    select author_id, is_human, is_unknown_author, sent_at from staging.stg_slack__messages
),

people as (
    select * from intermediate.int_people__matched
),

fetch_state as (
    select * from staging.stg_fetch__state
),

slack_people as (
    -- people who wrote at least one human Slack message
    select distinct p.person_id, p.has_known_tz, p.display_name
    from (select distinct author_id from messages where is_human) m
    join intermediate.int_identities__matched i on i.source = 'slack' and i.source_id = m.author_id
    join people p on p.person_id = i.person_id
),

facts as (
    select 'slack' as source, 'conversations' as item,
           coalesce(sum(n), 0)::varchar as value,
           string_agg(conversation_type || ': ' || n, ', ' order by conversation_type) as note
    from (select conversation_type, count(*) as n from conversations group by 1)

    union all
    select 'slack', 'direct messages present',
           case when count(*) filter (conversation_type in ('dm', 'mpim')) > 0 then 'yes' else 'no' end,
           case when count(*) filter (conversation_type in ('dm', 'mpim')) > 0
                then 'DMs and group DMs are in the export: the conversation mix is complete'
                else 'the export holds no DMs (most plans export public channels only): DM and group-DM shares are NULL, not 0' end
    from conversations

    union all
    select 'slack', 'private channels present',
           case when count(*) filter (conversation_type = 'private') > 0 then 'yes' else 'no' end,
           case when count(*) filter (conversation_type = 'private') > 0 then null
                else 'no private channels in the export: their share reads 0 but may not be' end
    from conversations

    union all
    select 'slack', 'folders typed by guess', count(*)::varchar,
           nullif(string_agg(folder || ' (' || conversation_type || ')', ', ' order by folder), '')
    from conversations where not is_listed

    union all
    select 'slack', 'date range',
           coalesce(min(sent_at)::date || ' → ' || max(sent_at)::date, 'no messages'),
           count(*) filter (is_human) || ' human messages'
    from messages

    union all
    select 'slack', 'messages by authors not in users.json', count(*)::varchar,
           'they count, under their user id, with an unknown timezone'
    from messages where is_unknown_author and is_human

    union all
    -- only when Slack was fetched (`asyncpulse fetch slack`): an export says nothing of this
    select 'slack', 'conversations the token could not read', count(*) filter (is_unreadable)::varchar,
           coalesce(string_agg(note || ': ' || status, '; ' order by note) filter (is_unreadable),
                    'the token read every conversation it listed')
    from fetch_state where source = 'slack'
    having count(*) > 0

    union all
    select 'people', 'people with a known timezone',
           count(*) filter (has_known_tz) || ' of ' || count(*),
           case when count(*) filter (not has_known_tz) > 0
                then 'No timezone for: '
                     || string_agg(display_name, ', ' order by display_name) filter (not has_known_tz)
                else 'everyone who wrote a message has a timezone' end
    from slack_people

    union all
    select 'people', 'people file',
           case when count(*) filter (in_people_file) > 0 then 'yes' else 'no' end,
           case when count(*) filter (in_people_file) > 0
                then count(*) filter (in_people_file) || ' people; their timezones and working hours win over Slack'
                else 'no people file: everyone works 09:00-17:00 Mon-Fri in their Slack timezone' end
    from people

    union all
    select 'github', 'PRs without a size', count(*) filter (size_band is null) || ' of ' || count(*),
           case when count(*) = 0 then 'no pull requests loaded'
                when count(*) filter (size_band is null) > 0
                then 'the export has no additions/deletions for them (gh without additions,deletions and files; '
                     || 'REST without files.json; a migration archive): size_band is NULL and they '
                     || 'count in pr_payoff''s ''all'' rows only'
                else 'every PR has its size' end
    from marts.pull_requests

    -- what "data as of" means for the metrics: the newest message and PR in the data
    union all
    select 'slack', 'newest message', coalesce(strftime(max(sent_at), '%Y-%m-%d %H:%M UTC'), 'none'), null
    from messages where is_human

    union all
    select 'github', 'newest pull request', strftime(max(created_at), '%Y-%m-%d %H:%M UTC'), null  -- by when it was opened
    from staging.stg_github__pull_requests having count(*) > 0

    -- GitHub: one row per layout loaded, and what the loaded PRs cannot show
    union all
    select 'github', 'layout loaded: ' || layout, count(*) || ' pull requests',
           case layout
                when 'gh' then 'gh pr list: no inline review comments and no timeline, so a PR '
                               || 'opened as a draft counts as ready from its creation'
                when 'rest' then 'REST API dump: inline comments, draft history and files '
                                 || 'when review_comments.json, events.json and files.json are there'
                else 'migration archive' end
    from staging.stg_github__pull_requests group by layout

    union all
    select 'github', 'inline review comments',
           (select count(*) from staging.stg_github__events where kind = 'review_comment')::varchar,
           case when (select count(*) from staging.stg_github__events where kind = 'review_comment') = 0
                then 'none loaded: review rounds count reviews and conversation comments only' end
    from (select 1) where exists (select 1 from staging.stg_github__pull_requests)

    union all
    select 'github', 'draft history', count(*) filter (has_ready_event) || ' of ' || count(*) || ' PRs',
           case when count(*) filter (has_ready_event) = 0
                then 'no ready-for-review events: waits are counted from when a PR was opened' end
    from staging.stg_github__pull_requests having count(*) > 0

    union all
    select 'github', 'changed files', count(*) filter (len(files) > 0) || ' of ' || count(*) || ' PRs',
           case when count(*) filter (len(files) > 0) = 0
                then 'no file lists: whether a PR changes a UI (and needs screenshots) is unknown' end
    from staging.stg_github__pull_requests having count(*) > 0
)

select * from facts

-- grain: one row per GitHub login (case-insensitive): users files, user objects and every author seen
-- A login is a bot when it ends in [bot], its user type is Bot, gh flags it, or it is in the
-- bot_logins setting (compared case-insensitively, with or without the [bot] suffix).
with settings as (
    select list_transform(bot_logins, lambda b: regexp_replace(lower(b), '\[bot\]$', '')) as bot_names
    from staging.build_settings
),

profiles as (
    select lower(login) as login_key, min(login) as login, max(nullif(trim(name), '')) as name,
           lower(max(nullif(trim(email), ''))) as email,
           coalesce(bool_or(user_type ilike 'bot'), false) as is_typed_bot,
           coalesce(bool_or(is_bot), false) as is_flagged_bot
    from raw.github_users
    group by 1
),

authors as (
    select author_login, author_type, author_is_bot from raw.github_pull_requests
    union all
    select author_login, author_type, author_is_bot from raw.github_events
),

seen as (
    select lower(author_login) as login_key, min(author_login) as login,
           coalesce(bool_or(author_type ilike 'bot'), false) as is_typed_bot,
           coalesce(bool_or(author_is_bot), false) as is_flagged_bot
    from authors
    group by 1
),

logins as (
    select
        coalesce(p.login_key, s.login_key)                                 as login_key,
        coalesce(p.login, s.login)                                         as login,
        p.name,
        p.email,
        coalesce(p.is_typed_bot, false) or coalesce(s.is_typed_bot, false)     as is_typed_bot,
        coalesce(p.is_flagged_bot, false) or coalesce(s.is_flagged_bot, false) as is_flagged_bot
    from profiles p
    full join seen s on s.login_key = p.login_key
),

final as (
    select
        l.login,
        l.name,
        l.email,
        case
            when l.login_key like '%[bot]' then '[bot] login'
            when l.is_typed_bot then 'type: Bot'
            when l.is_flagged_bot then 'gh is_bot'
            when list_contains(s.bot_names, regexp_replace(l.login_key, '\[bot\]$', ''))
                then 'bot_logins setting'
        end                                                                as bot_reason,
        bot_reason is not null                                             as is_bot
    from logins l
    cross join settings s
)

select login, name, email, is_bot, bot_reason from final

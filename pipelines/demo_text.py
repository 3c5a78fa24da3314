"""Phrase banks and scripts for the demo's Slack messages.

Templates take ``str.format`` slots filled per message by the Slack
generator: {svc} {svc2} {tlink} {file} {flag} {region} {n} {pct} {ms} {ms2}
{m} (a mention) {runbook} {doc} {dash} {err} {day} {pr}. Generic lines
avoid outcome words ("agreed", "decided", "resolved") so that only the
scripted endings count as recorded decisions.
"""

from __future__ import annotations

SERVICES = {
    "Platform": ("orders-api", "auth-service", "billing-worker", "the webhook relay"),
    "Web": ("the checkout page", "the design system", "the pricing page", "storybook"),
    "Mobile": ("the iOS app", "the Android build", "the push service", "offline sync"),
    "Data": ("the dbt models", "the Airflow DAGs", "the warehouse", "the usage rollup"),
    "Infra": ("the EKS cluster", "Terraform", "PagerDuty routing", "the CI runners"),
}
TICKET_PREFIX = {"Platform": "PLAT", "Web": "WEB", "Mobile": "MOB", "Data": "DATA", "Infra": "INFRA"}
FILES = ("src/common/retry.py", "infra/pg/params.tf", "web/src/lib/flags.ts", "dbt/models/usage/weekly_active.sql",
         "helm/orders-api/values.yaml", "ios/Sources/Session/TokenStore.swift", ".github/workflows/ci.yml")
FEATURE_FLAGS = ("orders_idempotency", "new_cart_summary", "checkout_zustand", "eu_rollup_v2", "search_rate_limit")
REGIONS = ("eu-west-1", "us-east-1", "ap-southeast-2", "the EU region", "us-west-2")
ERRORS = ("ECONNRESET", "psycopg.errors.LockNotAvailable", "429 Too Many Requests",
          "TypeError: Cannot read properties of undefined (reading 'total')", "OOMKilled")
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")

QUESTIONS = (
    "Does anyone know why {svc} retries {n} times on 503s? It's amplifying load whenever {svc2} blips.",
    "Where's the runbook for {svc}? The link in the alert goes to a 404.",
    "Is `{flag}` safe to turn on in {region} yet, or are we still waiting on {tlink}?",
    "Anyone seen `{err}` from {svc} before? Started after this morning's deploy.",
    "Who owns `{file}` these days?",
    "Is there a reason {svc} still pins the old client? Trying to bump it for {tlink}.",
    "How do I get access to the {region} read replica? Need it for {tlink}.",
    "Are we still doing the {day} release train or did that move?",
    "{m} do you know if {svc} has a staging environment I can break?",
    "Can someone remind me how we rotate the {svc} credentials?",
)
UPDATES = (
    "Rolled `{flag}` out to {pct}% in {region}; error rate flat so far.",
    "{svc} p95 went from {ms}ms to {ms2}ms after the last deploy, looking into it.",
    "Merged the fix for {tlink}, keeping an eye on the dashboards.",
    "Pairing with {m} on {tlink} this afternoon if anyone wants to join.",
    "Moved the {svc} alerts to the new on-call rotation.",
    "Wrote up how {svc} handles retries: <{doc}|doc>. Comments welcome.",
    "Heads down on {tlink} today, will be slow on Slack.",
    "{svc} is back to normal after the cache flush.",
    "Cleaned up {n} stale feature flags from {svc}.",
)
RICH = (
    "{tlink}: {svc} drops webhooks with payloads over 1 MB. This is blocking the enterprise launch because "
    "their invoices are bigger. Could someone check whether raising the limit in `{file}` is safe? "
    "Need an answer by EOD Thursday so we can still ship Monday.",
    "Proposal for {tlink}: move the {svc} nightly job to 02:00 UTC because it overlaps with the EU morning "
    "peak and we drop ~2% of events. Can you review <{doc}|the doc> and leave comments? No rush, next week is fine.",
    "{m} `{file}` changed the retry contract in {tlink}. That breaks {svc2} clients because they expect 409 on "
    "duplicates. Can you confirm whether that was intended? It's blocking the release, so within 24 h please.",
    "Seeing `{err}` in {svc} since {day} ({tlink}, <{dash}|dashboard>). Impact: ~{pct}% of checkouts in {region} "
    "retry once. Does anyone know if the connection pool change could cause this? By 15:00 UTC tomorrow would be great.",
    "Could someone from the team review <{pr}|this PR> for {tlink}? It fixes the double charge on retries, so "
    "it's blocking the billing release. The risky part is the lock in `{file}`. By EOD Thursday if possible.",
)
FYI = (
    "FYI, no response needed: rotated the {svc} API keys, the old ones stop working {day}.",
    "FYI: {svc} dashboards moved to <{dash}|Grafana>, the old links redirect.",
    "FYI, no response needed: I'm out {day}, {m} is covering {svc}.",
    "FYI {svc} deploys are paused until {day} for the provider upgrade ({tlink}).",
)
LOW_CONTEXT = ("hey", "hi {m}", "quick question", "got a sec?", "you around?", "{m} got a minute?",
               "can we hop on a call?", "hey {m} :wave:", "ping", "hello!", "quick q")
REPLIES = (
    "looking", "on it", "+1", "I think that's {tlink}", "Yes, see <{runbook}|the runbook>", "Not sure, {m} would know",
    "It's set in `{file}`", "We hit this last quarter, it was the connection pool size.", "Can you share the trace id?",
    "I can take it after standup", "Should be fixed now, can you retry?",
    "That's expected until `{flag}` is fully rolled out.", "Filed {tlink} so we don't lose it.",
    "Nice, thanks for digging into this", "Let me check and get back to you",
    "Yes, {svc} has staging: <https://staging.acme.io|staging>", "No, that moved to {day}.", "Works for me now 👍",
)
THANKS = ("thanks!", "thank you 🙏", "perfect, thanks", "got it, will update the ticket", "ah ok, makes sense", "ty")
LOW_FOLLOWUPS = ("sure, what's up?", "yep, what's up?", "here, shoot", "what's up?")
DM_QUESTIONS = (
    "did you get a chance to look at {tlink}?", "the {svc} deploy is stuck on the migration step, any idea?",
    "can you review <{pr}|this PR> when you have a minute?", "are you joining the {svc} sync tomorrow?",
    "what did you think of the proposal for {tlink}?", "do you have the staging creds for {svc}?",
)
DM_REPLIES = (
    "yeah one sec", "try re-running with `--skip-lock`", "not yet, after lunch", "yes, sent it in 1Password",
    "looks fine, approved", "not sure, let's ask in the channel", "honestly I'd rather we do it next sprint",
    "ok let's just go with the queue approach, I'll tell the team later", "sure, 10 min?", "done",
    "hmm, which env?", "the one in {region}",
)
BROADCASTS = (
    "<!channel> All-hands moved to {day} 16:00 UTC so APAC can join. Recording will be posted.",
    "<!here> SEV2: checkout returning 5xx in {region}, incident channel is #incidents, status page updated.",
    "<!here> deploy freeze starts Friday 18:00 UTC for the quarter close; ping #infra for exceptions.",
    "<!channel> please fill in the on-call availability sheet by {day}: <{doc}|sheet>",
    "<!here> anyone know who took the conference room dongle?",
    "<!channel> reminder: expense reports for Q3 are due {day}.",
)
STANDUP = (
    "*Yesterday:* finished {tlink} *Today:* reviews, then {svc} retries *Blocked:* nothing",
    "*Yesterday:* on-call, quiet *Today:* {tlink} *Blocked:* waiting on {m} for the schema review",
    "*Yesterday:* debugging `{err}` in {svc} *Today:* same, with more coffee *Blocked:* no",
    "*Yesterday:* 1:1s and planning *Today:* writing up {tlink} *Blocked:* nope",
)

# Timezone ping-pong, (team, lines): A asks late in their day, B answers next morning, and so on.
PING_PONG = (
    ("Platform", "Is it safe to run the orders backfill while migration 0142 is still pending on prod-eu?",
     "Which backfill: the one in `ops/backfill_orders.py` or the new Dagster job?",
     "The Dagster job (`orders_backfill_v2`). It reads from the replica if that matters.",
     "Mostly fine, but 0142 takes an ACCESS EXCLUSIVE lock on `orders` for ~40s. What's the job's lock_timeout?",
     "No idea, where is that set? Can't find it in the helm values.",
     "`infra/pg/params.tf`, it's 5s, so it fails fast instead of queueing. Go ahead after 0142 lands.",
     "0142 landed, starting it now. Thanks!"),
    ("Web", "The new cart summary looks off on Safari 16, the totals column wraps. Is that expected with the new tokens?",
     "Not expected. Which page, checkout or the mini cart?",
     "Checkout, at 1280px. Screenshot is in {tlink}.",
     "Can't reproduce on 17. Do you have a Safari 16 VM or a BrowserStack login?",
     "BrowserStack, yes. Shared the session recording in the ticket.",
     "Got it, it's the `gap` fallback. Fix is up: <{pr}|PR>",
     "Confirmed fixed on 16, thanks"),
    ("Data", "The weekly_active numbers dropped 12% on Monday. Was there a change to the events filter?",
     "Not on our side as far as I know. Prod or the EU replica?",
     "Prod. Dashboard: <{dash}|Weekly actives>",
     "Found it: the bot-filter list now matches a real customer's domain too. Want me to revert?",
     "Yes please, and can we add a test so it doesn't happen again?",
     "Reverted and backfilled; test tracked in {tlink}. Numbers are back after tonight's run."),
    ("Infra", "Can I get write access to the staging Terraform workspace? Need to bump the Redis size for load testing.",
     "Which workspace: `staging-us` or `staging-shared`?",
     "staging-us",
     "Done. Heads up that apply needs a second approver now. Who's reviewing?",
     "Nobody on my side is around, could you approve the plan? <{pr}|PR here>",
     "Approved. Please scale it back down after the test, it's $40/day."),
    ("Platform", "Why does the token refresh endpoint return 401 instead of 403 for suspended accounts? Mobile logs people out.",
     "Historical. Do you need 403 or just a distinct error code?",
     "A distinct code is enough, `account_suspended` in the body would do.",
     "Can do, but it's a contract change: is the old iOS version still in the field?",
     "~3% of sessions are on it. They'd just keep the current behaviour.",
     "Ok, shipping it behind `auth_suspended_code`, on by default next week.",
     "🙏 thanks, will tell QA"),
)

# Debates: (x, y, opener, points for x, points for y).
DEBATES = (
    ("Postgres advisory locks", "a Redis lock", "job dedupe in billing-worker",
     ("no new moving part, Postgres is already in the path", "locks die with the session, no TTL guessing",
      "we can test it with the existing DB fixtures"),
     ("Redis is where the queue lives anyway", "advisory locks pin a connection per job",
      "pgbouncer in transaction mode breaks session locks")),
    ("Zustand", "Redux Toolkit", "the checkout state rewrite",
     ("a tenth of the boilerplate", "selectors without memo gymnastics", "the new hires already know it"),
     ("devtools and time travel are better", "the rest of the app is on RTK", "RTK Query would replace our fetch hooks")),
    ("a monorepo", "separate repos", "sharing code between web and mobile",
     ("one PR for an API change and both clients", "one CI config instead of four", "atomic version bumps"),
     ("CI times will explode without remote caching", "mobile release cadence is different",
      "ownership is clearer with separate repos")),
    ("incremental dbt models", "full nightly refreshes", "the events marts",
     ("the full refresh takes 3h40m now", "warehouse cost drops by half", "late data can be handled with a lookback"),
     ("incrementals drift and nobody notices", "full refresh is trivially correct", "the lookback window is a guess")),
    ("Karpenter", "cluster-autoscaler", "node scaling on the EKS cluster",
     ("scales in seconds instead of minutes", "bin-packing saves ~20% on nodes", "spot handling is built in"),
     ("we know cluster-autoscaler's failure modes", "Karpenter's upgrades broke two teams we know",
      "the savings assume workloads we don't have")),
    ("REST with OpenAPI", "gRPC", "the internal billing API",
     ("every client can curl it", "the gateway and WAF already understand HTTP/JSON", "OpenAPI gives us typed clients too"),
     ("streaming for the usage feed", "protobuf contracts are stricter", "it's 4x smaller on the wire")),
    ("LaunchDarkly", "our own flags table", "feature flags",
     ("targeting rules and audit log out of the box", "no on-call for another service", "experiments for free"),
     ("it's $30k a year", "we only need booleans per account", "one less vendor in the data-processing agreement")),
    ("React Native", "native Swift and Kotlin", "the new onboarding flow",
     ("one implementation for both platforms", "web devs can help", "OTA updates for copy changes"),
     ("the animations need native performance", "we'd ship a bridge for one screen", "the mobile team is native")),
    ("UUIDv7", "bigint ids", "the new events table",
     ("ids can be generated client-side", "sortable by time anyway", "no sequence contention across regions"),
     ("half the index size", "easier to read in support tickets", "every other table uses bigint")),
)
DEBATE_GENERIC = (
    "Sure, but who's on call for that at 3am?",
    "I don't buy that the migration cost is that high.",
    "We tried something similar in 2024 and rolled it back.",
    "That's fair. Still, {side} keeps the blast radius smaller.",
    "Can we get numbers instead of vibes? I'll run a quick benchmark.",
    "ok numbers: {ms}ms vs {ms2}ms p95 on the staging load test",
    "That benchmark doesn't look like production traffic though.",
    "I think we're optimising for the wrong thing here.",
    "How would the rollback look with {side}?",
    "Let me think about it over lunch.",
    "honestly both work, I just don't want two ways of doing it",
    "The vendor's own docs say otherwise.",
    "Not convinced. The maintenance cost is what worries me.",
)
DEBATE_THIRD = ("Can we timebox this? It's been going for a while.", "fwiw +1 to {side}",
                "Maybe a quick call would be faster than this thread?")

-- Vocabulary of the SQL models, kept as data in one place. Macros are expanded at bind
-- time, so each pattern is a constant and compiled once per query, not once per row.

-- A message that records an outcome (docs/metrics.md, "Threads": decision recorded), matched on lower(text):
-- the phrases, or a link to a design doc or RFC (a URL, or a Slack link's label) — not the
-- bare word "RFC" in a sentence.
create or replace macro decision_pattern() as
    'decision:|\bdecided\b|\bwe''ll go with\b|\bwe will go with\b|\blet''?s go with\b'
    || '|\bagreed\b|\bresolved\b'
    || '|https?://[^\s>|]*(rfc|design|/adr|docs\.google\.com/document)'
    || '|<https?://[^>|]*\|[^>]*\b(rfc|design doc|adr)\b[^>]*>';

-- A check-mark reaction, matched on the reactions JSON of a Slack message.
create or replace macro check_mark_pattern() as
    '"name":\s*"(white_check_mark|heavy_check_mark|ballot_box_with_check)(::[a-z0-9-]+)?"';

-- A broadcast mention in Slack markup.
create or replace macro broadcast_pattern() as '<!(channel|here|everyone)(\|[^>]*)?>';

-- A person's name as a matching key: "José  O'Brien" -> 'joseobrien'
create or replace macro name_key(name) as
    regexp_replace(strip_accents(lower(name)), '[^a-z0-9]', '', 'g');

"""Slack's Web API -> the standard workspace export layout, which `load_slack` reads.

`fetch_*` functions talk to the network and write files; loading is the
existing loader's. A run writes one folder under the drop folder:

    slack/<team id>/<run stamp>/
        users.json channels.json groups.json mpims.json dms.json
        <folder>/YYYY-MM-DD.json      one folder per conversation (DMs by id, others by
                                      name), a reply in the file of the day it was posted
        work/                         what is done so far: users, the listing, one
                                      conv-<id>.ndjson per conversation once complete
        FETCHED, LOADED               markers, as for GitHub

Methods: `auth.test` (who the token is: the DMs' other member), `users.list`,
`conversations.list` once per type (public, private, mpim, im: a type the
token lacks the scope for is recorded, the rest go on),
`conversations.history` and `conversations.replies`, paginated by
`response_metadata.next_cursor`. A 429 says `Retry-After`; the shared client
waits for it.

Incremental: `conversations.history` from `oldest` = the newest ts fetched
before minus `fetch.slack_thread_days`, because a reply to an older thread
does not bring its parent back into a plain increment: parents in that
window whose `latest_reply` moved get `conversations.replies` from the reply
stored last. Messages fetched again are the same rows to the loader (keyed
by conversation and ts, with a content hash). Cursors are `raw.fetch_state`
rows, written in the ingest's transaction, and so are the conversations the
token could not read (`not_in_channel`, `missing_scope`, ...), which
`marts.coverage` lists.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from pipelines.sources.fetch_state import (
    StateRow,
    folder_lock,
    new_run_dir,
    pending_run,
    write_state,
)
from pipelines.sources.http import ApiRefused, Client, FetchError, Progress, write_atomic

if TYPE_CHECKING:
    import duckdb

    from pipelines.loads import LoadReport

SOURCE = "slack"
# conversations.list type -> (metadata file, conversation_type in raw), in the order listed
TYPES = {"public_channel": ("channels.json", "public"), "private_channel": ("groups.json", "private"),
         "mpim": ("mpims.json", "mpim"), "im": ("dms.json", "dm")}
# errors that mean "this token may not read this conversation", not "the fetch failed"
UNREADABLE = {"not_in_channel", "missing_scope", "channel_not_found", "access_denied",
              "no_permission", "team_access_not_granted", "is_archived"}


def slack_token() -> str:
    """Return SLACK_TOKEN (read from the environment, never stored), or raise FetchError."""
    token = os.environ.get("SLACK_TOKEN")
    if not token:
        raise FetchError("fetch slack needs a token in SLACK_TOKEN (a bot or user token with the "
                         "scopes the README lists)")
    return token


class SlackApi:
    """Calls of Slack's Web API: `ok: false` raises ApiRefused with Slack's error code."""

    def __init__(self, client: Client, per_page: int) -> None:
        self.client = client
        self.per_page = per_page

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        page = self.client.get(method, {k: v for k, v in params.items() if v is not None})
        data = page.json()
        if not isinstance(data, dict):
            raise FetchError(f"{method}: not a JSON object")
        if not data.get("ok"):
            code = str(data.get("error") or "unknown_error")
            needed = f" (needs {data['needed']})" if data.get("needed") else ""
            raise ApiRefused(f"{method}: {code}{needed}", page.status, code, data.get("needed"))
        return data

    def iter_items(self, method: str, key: str, **params: Any) -> Iterator[dict[str, Any]]:
        """Yield `key` items of every page, following `response_metadata.next_cursor`."""
        cursor = None
        while True:
            data = self.call(method, limit=self.per_page, cursor=cursor, **params)
            yield from (x for x in data.get(key) or [] if isinstance(x, dict))
            cursor = (data.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return


@dataclass
class SlackRun:
    """What one fetch of the workspace wrote, and the cursors to store when it is loaded."""

    team: str
    run_dir: Path
    conversations: int
    messages: int
    unreadable: list[str] = field(default_factory=list)
    state: list[StateRow] = field(default_factory=list)
    resumed: bool = False
    requests: int = 0  # made by this run

    def mark_loaded(self) -> None:
        write_atomic(self.run_dir / "LOADED", b"")

    def summary(self) -> str:
        cant = f"; {len(self.unreadable)} the token cannot read: {', '.join(self.unreadable)}" \
            if self.unreadable else ""
        return (f"fetch slack {self.team}: {self.messages} messages from {self.conversations} "
                f"conversations{' (resumed)' if self.resumed else ''}{cant}; {self.requests} requests "
                f"-> {self.run_dir}")


def ts_day(ts: str) -> str:
    """Return the UTC day (YYYY-MM-DD) of a Slack ts: the day file a message belongs in."""
    return datetime.fromtimestamp(int(ts.split(".")[0]), UTC).date().isoformat()


def ts_minus_days(ts: str, days: int) -> str:
    """Return `ts` moved back `days` days, as a ts (exact: decimal arithmetic, no floats)."""
    return str(max(Decimal(0), Decimal(ts) - days * 86400))


def fetch_workspace(
    api: SlackApi, drop: Path, state: dict[tuple[str, str], StateRow], since: date | None = None,
    thread_days: int = 14, keep: bool = False,
) -> SlackRun:
    """Fetch users, conversations and what is new in each into a run folder (or resume one)."""
    requests = api.client.counters.requests
    who = api.call("auth.test")
    team = str(who.get("team_id") or "workspace")
    folder = drop / "slack" / team
    with folder_lock(folder, f"slack {team}"):
        run = _fetch_workspace(api, folder, team, who, state, since, thread_days, keep)
    run.requests = api.client.counters.requests - requests
    return run


def _fetch_workspace(
    api: SlackApi, folder: Path, team: str, who: dict[str, Any], state: dict[tuple[str, str], StateRow],
    since: date | None, thread_days: int, keep: bool,
) -> SlackRun:
    run = pending_run(folder)
    resumed = run is not None
    if run is None:
        run = new_run_dir(folder)
    else:
        api.client.say(f"fetch slack {team}: resuming the unfinished fetch in {run}")
    work = run / "work"
    progress = Progress(f"fetch slack {team}", api.client.counters)
    if not (run / "FETCHED").exists():
        users = _once(work / "users.json", lambda: list(api.iter_items("users.list", "members")))
        listing = _once(work / "conversations.json", lambda: _list_conversations(api))
        convs = [c for c in listing["conversations"] if selected(c)]
        for i, c in enumerate(convs):
            unit = work / f"conv-{c['id']}.ndjson"
            if not unit.exists():
                write_atomic(unit, _fetch_conversation(api, c, state, since, thread_days))
            progress("conversations fetched", i + 1, len(convs))
        _write_export(run, users, listing, str(who.get("user_id") or ""))
        write_atomic(run / "FETCHED", b"")
    if keep:
        write_atomic(run / "KEEP", b"written with --no-ingest: load it with `asyncpulse ingest slack "
                     + str(run).encode() + b"`\n")
    progress("done", final=True)
    return _summarise(team, run, resumed, state)


def _once(path: Path, make: Callable[[], Any]) -> Any:
    """Return what `path` holds, else make it and keep it (a resumed run does not ask again)."""
    if path.exists():
        return orjson.loads(path.read_bytes())
    value = make()
    write_atomic(path, orjson.dumps(value))
    return value


def _list_conversations(api: SlackApi) -> dict[str, Any]:
    """List conversations type by type; a type the token may not list is noted, not fatal."""
    out: list[dict[str, Any]] = []
    refused: list[dict[str, str]] = []
    for kind, (_, ctype) in TYPES.items():
        try:
            for c in api.iter_items("conversations.list", "channels", types=kind, exclude_archived="false"):
                out.append({**c, "_type": ctype})
        except ApiRefused as e:
            if e.code not in UNREADABLE:
                raise
            refused.append({"type": ctype, "error": e.code or "", "needed": e.needed or ""})
    return {"conversations": out, "refused_types": refused}


def _fetch_conversation(
    api: SlackApi, conv: dict[str, Any], state: dict[tuple[str, str], StateRow], since: date | None,
    thread_days: int,
) -> bytes:
    """Return one conversation's new messages (history and replies) as NDJSON, or its error."""
    cid = conv["id"]
    known = state.get((cid, ""))
    if known and known.status == "ok" and known.cursor:
        oldest: str | None = ts_minus_days(known.cursor, thread_days)
    else:
        oldest = str(int(datetime(since.year, since.month, since.day, tzinfo=UTC).timestamp())) if since else None
    lines: list[bytes] = []
    try:
        for m in api.iter_items("conversations.history", "messages", channel=cid, oldest=oldest):
            lines.append(orjson.dumps({"m": m}))
            ts = m.get("ts")
            if not isinstance(ts, str) or not m.get("reply_count") or m.get("thread_ts") != ts:
                continue
            seen = state.get((cid, f"thread:{ts}"))
            if seen and seen.cursor == m.get("latest_reply"):
                continue
            for r in api.iter_items("conversations.replies", "messages", channel=cid, ts=ts,
                                    oldest=seen.cursor if seen else None):
                if r.get("ts") != ts:  # the parent comes first in every page of replies
                    lines.append(orjson.dumps({"m": r, "thread": ts}))
            lines.append(orjson.dumps({"thread_done": ts, "latest_reply": m.get("latest_reply")}))
    except ApiRefused as e:
        if e.code not in UNREADABLE:
            raise
        return orjson.dumps({"error": e.code, "message": str(e)}) + b"\n"
    return b"\n".join(lines) + b"\n" if lines else b""


def selected(conv: dict[str, Any]) -> bool:
    """Say whether the channel settings let a conversation in (an excluded one is not fetched)."""
    from pipelines.settings import get_settings

    s = get_settings()
    names = {conv["id"], conv.get("name"), folder_of(conv)}
    if s.include_channels and not names & set(s.include_channels):
        return False
    return not names & set(s.exclude_channels)


def _read_unit(path: Path) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines() if line]


def folder_of(conv: dict[str, Any]) -> str:
    """Return the export folder of a conversation: DMs by id, the others by name (as Slack does)."""
    return conv["id"] if conv["_type"] == "dm" or not conv.get("name") else str(conv["name"])


def _write_export(run: Path, users: list[dict[str, Any]], listing: dict[str, Any], me: str) -> None:
    """Write the standard export of what the run fetched: metadata, then one day file per day."""
    write_atomic(run / "users.json", orjson.dumps(users))
    meta: dict[str, list[dict[str, Any]]] = {f: [] for f, _ in TYPES.values()}
    for c in filter(selected, listing["conversations"]):
        unit = _read_unit(run / "work" / f"conv-{c['id']}.ndjson")
        if unit and "error" in unit[0]:
            continue  # not readable: not in the export, listed in raw.fetch_state instead
        record = {k: v for k, v in c.items() if k != "_type"}
        if c["_type"] == "dm" and "members" not in record:
            record["members"] = [m for m in (me, c.get("user")) if m]
        meta[TYPES_BY_CTYPE[c["_type"]]].append(record)
        days: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
        for item in unit:
            m = item.get("m")
            if isinstance(m, dict) and isinstance(m.get("ts"), str):
                days[ts_day(m["ts"])][m["ts"]] = m
        for day, by_ts in days.items():
            messages = [by_ts[t] for t in sorted(by_ts, key=Decimal)]
            write_atomic(run / folder_of(c) / f"{day}.json", orjson.dumps(messages))
    for name, records in meta.items():
        write_atomic(run / name, orjson.dumps(records))


TYPES_BY_CTYPE = {ctype: f for f, ctype in TYPES.values()}


def _summarise(team: str, run: Path, resumed: bool, state: dict[tuple[str, str], StateRow]) -> SlackRun:
    """Count what the run holds and make the cursors to store with it."""
    listing = orjson.loads((run / "work" / "conversations.json").read_bytes())
    rows: list[StateRow] = []
    unreadable: list[str] = []
    messages = readable = 0
    for t in listing["refused_types"]:
        needs = f" (needs {t['needed']})" if t["needed"] else ""
        rows.append(StateRow(SOURCE, f"type:{t['type']}", "", None, status=t["error"],
                             note=f"{t['type']} conversations{needs}", run_dir=str(run)))
        unreadable.append(f"{t['type']} conversations ({t['error']})")
    for c in filter(selected, listing["conversations"]):
        unit = _read_unit(run / "work" / f"conv-{c['id']}.ndjson")
        what = f"{folder_of(c)} ({c['_type']})"
        if unit and "error" in unit[0]:
            rows.append(StateRow(SOURCE, c["id"], "", None, status=unit[0]["error"], note=what,
                                 run_dir=str(run)))
            unreadable.append(f"{folder_of(c)} ({unit[0]['error']})")
            continue
        readable += 1
        stamps = [item["m"]["ts"] for item in unit if isinstance(item.get("m"), dict)
                  and isinstance(item["m"].get("ts"), str)]
        messages += len(stamps)
        known = state.get((c["id"], ""))
        before = [known.cursor] if known and known.status == "ok" and known.cursor else []
        newest = max(stamps + before, key=Decimal) if stamps + before else None
        rows.append(StateRow(SOURCE, c["id"], "", newest, note=what, run_dir=str(run)))
        rows += [StateRow(SOURCE, c["id"], f"thread:{item['thread_done']}", item["latest_reply"],
                          run_dir=str(run)) for item in unit if "thread_done" in item]
    return SlackRun(team, run, readable, messages, unreadable, rows, resumed)


def fetch_slack(
    database: Path, api_url: str | None = None, ingest: bool = True, work: Path | None = None,
) -> list[tuple[SlackRun, LoadReport | None, str]]:
    """Fetch the workspace and load it into `database` (or the nightly run's copy `work`)."""
    from pipelines import jobs
    from pipelines.settings import get_settings
    from pipelines.sources.fetch_state import read_state
    from pipelines.sources.github_fetch import drop_folder

    f = get_settings().fetch
    target = work or Path(database)
    out: list[tuple[SlackRun, LoadReport | None, str]] = []
    client = Client(api_url or f.slack_api_url, headers={"Authorization": f"Bearer {slack_token()}"},
                    max_wait_seconds=f.max_wait_seconds, backoff_seconds=f.retry_seconds)
    with client:
        api = SlackApi(client, f.per_page)
        for _ in range(2):
            run = fetch_workspace(api, drop_folder(Path(database)), read_state(target, SOURCE), f.since,
                                  f.slack_thread_days, keep=not ingest)
            report = None
            if ingest:

                def also(con: duckdb.DuckDBPyConnection, rows: list[StateRow] = run.state) -> None:
                    write_state(con, rows)

                if work is not None:
                    report = jobs.ingest_into(work, SOURCE, run.run_dir, also=also)
                else:
                    report = jobs.ingest_fetched(Path(database), SOURCE, run.run_dir, also)
                run.mark_loaded()
            out.append((run, report, run.summary()))
            if not run.resumed or not ingest:
                break
    return out

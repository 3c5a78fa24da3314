"""The naive way: what a competent analyst writes in a notebook, for the benchmark to beat.

Walk the export folder, ``json.load`` each day file, build a list of dicts,
make a pandas DataFrame, put it into DuckDB (``con.register`` + ``create
table``), then compute in pandas the core metrics asyncpulse's marts compute
(docs/metrics.md):

- per thread: human messages, participants, first-reply wait, handoffs,
  timezone bounces and their wait (each author's IANA timezone from
  ``users.json``; local times with ``tz_convert`` per group of timezone;
  working hours 09:00-17:00 Monday to Friday);
- per ISO week (UTC) and conversation type: human messages and their share;
- per person and week: the share of their messages outside working hours.

The results are written to DuckDB too, as an analyst would keep them. It is
written as a person would, vectorised where pandas makes that natural (no
Python loop over messages after loading), and it keeps only the columns the
metrics need (plus the text, which the product also stores), which favours
it. It does not read GitHub, open the dashboard's openers or check-ins: the
product does more work than this.

pandas comes with streamlit, a product dependency, so the bench needs no
extra package for it.

    python -m benchmarks.naive <slack export> [--db out.duckdb]

Prints one JSON line: seconds per phase, messages, threads, weeks.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import duckdb
import pandas as pd

HUMAN_SUBTYPES = {None, "thread_broadcast", "file_share", "me_message"}
WORK_START, WORK_END = 9.0, 17.0
BOUNCE_OFFSET_HOURS = 3.0


def load(export: Path) -> pd.DataFrame:
    """json.load every day file into one DataFrame of messages."""
    kinds = {}
    for fname, kind in (("channels.json", "public"), ("groups.json", "private"),
                        ("dms.json", "dm"), ("mpims.json", "mpim")):
        path = export / fname
        if path.exists():
            with open(path) as f:
                for c in json.load(f):
                    kinds[c.get("name") or c["id"]] = kind
    rows = []
    for folder in sorted(os.listdir(export)):
        conv_dir = export / folder
        if not conv_dir.is_dir():
            continue
        kind = kinds.get(folder, "public")
        for fname in sorted(os.listdir(conv_dir)):
            if not fname.endswith(".json"):
                continue
            with open(conv_dir / fname) as f:
                messages = json.load(f)
            for m in messages:
                rows.append({
                    "conversation": folder,
                    "conversation_type": kind,
                    "ts": m.get("ts"),
                    "user": m.get("user"),
                    "subtype": m.get("subtype"),
                    "bot_id": m.get("bot_id"),
                    "thread_ts": m.get("thread_ts"),
                    "text": m.get("text"),
                })
    return pd.DataFrame(rows)


def local_clock(times: pd.Series, tzs: pd.Series) -> pd.DataFrame:
    """Return in_hours and utc_offset_h of each UTC time in the matching IANA zone (NaN if none)."""
    out = pd.DataFrame({"in_hours": pd.Series(float("nan"), index=times.index, dtype="object"),
                        "offset_h": float("nan")}, index=times.index)
    for tz, idx in tzs.groupby(tzs, dropna=True).groups.items():
        local = times.loc[idx].dt.tz_convert(tz)
        hour = local.dt.hour + local.dt.minute / 60
        out.loc[idx, "in_hours"] = (local.dt.weekday < 5) & (hour >= WORK_START) & (hour < WORK_END)
        wall = local.dt.tz_localize(None)
        out.loc[idx, "offset_h"] = (wall - times.loc[idx].dt.tz_localize(None)).dt.total_seconds() / 3600
    return out


def metrics(df: pd.DataFrame, users: list[dict]) -> dict[str, pd.DataFrame]:
    """Compute the thread, weekly-mix and people-weekly tables from the messages."""
    tz_of = {u["id"]: u.get("tz") for u in users}
    bots = {u["id"] for u in users if u.get("is_bot")} | {"USLACKBOT"}
    human = df[
        df["subtype"].isin(HUMAN_SUBTYPES) | df["subtype"].isna()
    ]
    human = human[human["bot_id"].isna() & human["user"].notna() & ~human["user"].isin(bots)].copy()
    human["at"] = pd.to_datetime(human["ts"].astype(float), unit="s", utc=True)
    human["tz"] = human["user"].map(tz_of)
    clock = local_clock(human["at"], human["tz"])
    human["in_hours"] = clock["in_hours"]
    human["offset_h"] = clock["offset_h"]
    human["week"] = human["at"].dt.tz_localize(None).dt.to_period("W-SUN").dt.start_time

    # ---- threads: parents present in the export with at least one reply
    t = human[human["thread_ts"].notna()].sort_values(["conversation", "thread_ts", "at"])
    key = ["conversation", "thread_ts"]
    parents = t[t["ts"] == t["thread_ts"]][key + ["user", "at"]].rename(
        columns={"user": "opener", "at": "opened_at"})
    t = t.merge(parents, on=key, how="inner")
    g = t.groupby(key, sort=False)
    threads = g.agg(messages=("ts", "size"), participants=("user", "nunique"),
                    opened_at=("opened_at", "first"), last_at=("at", "max"))
    threads = threads[threads["messages"] > 1]
    first_reply = t[t["user"] != t["opener"]].groupby(key)["at"].min()
    threads["span_hours"] = (threads["last_at"] - threads["opened_at"]).dt.total_seconds() / 3600
    threads["first_reply_hours"] = (
        (first_reply.reindex(threads.index) - threads["opened_at"]).dt.total_seconds() / 3600)

    # handoffs: consecutive messages in a thread by different people (turn changes)
    same_thread = (t["conversation"].eq(t["conversation"].shift())
                   & t["thread_ts"].eq(t["thread_ts"].shift()))
    prev_user = t["user"].shift()
    hand = t[same_thread & t["user"].ne(prev_user)].copy()
    hand["a_user"] = prev_user[hand.index]
    hand["t_a"] = t["at"].shift()[hand.index]
    hand["a_in_hours"] = t["in_hours"].shift()[hand.index]
    hand["a_offset"] = t["offset_h"].shift()[hand.index]
    b_clock = local_clock(hand["t_a"], hand["tz"])  # B's clock at the moment A handed off
    hand["b_in_hours_at_a"] = b_clock["in_hours"]
    hand["b_offset_at_a"] = b_clock["offset_h"]
    hand["bounce"] = (
        ((hand["a_offset"] - hand["b_offset_at_a"]).abs() >= BOUNCE_OFFSET_HOURS)
        & hand["a_in_hours"].eq(True) & hand["b_in_hours_at_a"].eq(False)
    )
    hand["wait_h"] = (hand["at"] - hand["t_a"]).dt.total_seconds() / 3600
    hg = hand.groupby(key)
    threads["handoffs"] = hg.size().reindex(threads.index).fillna(0).astype(int)
    threads["bounces"] = hg["bounce"].sum().reindex(threads.index).fillna(0).astype(int)
    threads["bounce_wait_hours"] = (
        hand[hand["bounce"]].groupby(key)["wait_h"].sum().reindex(threads.index).fillna(0.0))
    threads = threads.reset_index()

    # ---- weekly conversation-type mix
    mix = human.groupby(["week", "conversation_type"]).size().rename("messages").reset_index()
    mix["share"] = mix["messages"] / mix.groupby("week")["messages"].transform("sum")

    # ---- per-person weekly after-hours share (NaN when the timezone is unknown)
    human["after_hours"] = human["in_hours"].map({True: 0.0, False: 1.0})
    people = (human.groupby(["user", "week"])
              .agg(messages=("ts", "size"), after_hours_share=("after_hours", "mean"))
              .reset_index())
    return {"threads": threads, "weekly_mix": mix, "people_weekly": people}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("export", type=Path)
    ap.add_argument("--db", default=":memory:", help="DuckDB file to write (default in memory)")
    args = ap.parse_args(argv)
    phases: dict[str, float] = {}
    t0 = time.perf_counter()
    df = load(args.export)
    phases["load_json_to_pandas"] = time.perf_counter() - t0

    t = time.perf_counter()
    con = duckdb.connect(args.db)
    con.register("messages_df", df)
    con.execute("create or replace table slack_messages as select * from messages_df")
    con.unregister("messages_df")
    phases["pandas_to_duckdb"] = time.perf_counter() - t

    t = time.perf_counter()
    with open(args.export / "users.json") as f:
        users = json.load(f)
    out = metrics(df, users)
    phases["metrics_in_pandas"] = time.perf_counter() - t

    t = time.perf_counter()
    for name, frame in out.items():
        con.register("frame", frame)
        con.execute(f"create or replace table {name} as select * from frame")
        con.unregister("frame")
    con.close()
    phases["metrics_to_duckdb"] = time.perf_counter() - t
    print(json.dumps({
        "seconds": time.perf_counter() - t0, "phases": phases, "messages": len(df),
        "threads": len(out["threads"]), "bounces": int(out["threads"]["bounces"].sum()),
        "weeks": int(out["weekly_mix"]["week"].nunique()), "people_weeks": len(out["people_weekly"]),
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())

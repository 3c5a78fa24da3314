"""Profile `asyncpulse build` model by model with DuckDB's own profiler (EXPLAIN ANALYZE's data).

Builds a copy of the given database (the original is never written), with
DuckDB's JSON profiling on for every model, and prints each model's wall
time and CPU time, then the costliest operators over the whole build and
per model. What `benchmarks/README.md` ("What profiling showed") reports
comes from here and from py-spy on the ingest.

    python -m benchmarks.profile_build --db benchmarks/b1m.duckdb [--top 15]
"""

from __future__ import annotations

import argparse
import collections
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import duckdb

from pipelines import db as dbmod


class _Profiled:
    """A connection whose `create table|view` statements run with DuckDB's JSON profiler on."""

    def __init__(self, con: duckdb.DuckDBPyConnection, out: Path) -> None:
        self.con, self.out = con, out
        self.models: list[tuple[str, float, float]] = []  # (relation, wall s, cpu s)
        self.operators: dict[tuple[str, str], float] = collections.defaultdict(float)

    def execute(self, sql: str, *args: Any) -> duckdb.DuckDBPyConnection:
        if not sql.startswith(("create table", "create view")):
            return self.con.execute(sql, *args)
        relation = sql.split()[2]
        self.con.execute(f"set enable_profiling = 'json'; set profiling_output = '{self.out}'; "
                         "set profiling_mode = 'detailed'")
        started = time.perf_counter()
        result = self.con.execute(sql, *args)
        wall = time.perf_counter() - started
        self.con.execute("set enable_profiling = 'no_output'")
        profile = json.loads(self.out.read_text())
        self.models.append((relation, wall, float(profile["query"]["cpu_time"])))
        stack = list(profile["operator"])
        while stack:
            node = stack.pop()
            self.operators[(str(node.get("type")), relation)] += float(node.get("timing", 0))
            stack.extend(node.get("children", []))
        return result

    def __getattr__(self, name: str) -> Any:
        return getattr(self.con, name)


def profile_build(database: Path, top: int = 15) -> str:
    """Build a copy of `database` under the profiler; return the report as text."""
    with tempfile.TemporaryDirectory(prefix="asyncpulse-profile-") as tmp:
        work = Path(tmp) / "build.duckdb"
        shutil.copyfile(database, work)
        con = dbmod.connect_writer(work)
        try:
            profiled = _Profiled(con, Path(tmp) / "profile.json")
            started = time.perf_counter()
            dbmod.build(profiled)  # type: ignore[arg-type]
            total = time.perf_counter() - started
        finally:
            con.close()
    lines = [f"build of a copy of {database}: {total:.2f} s wall", "",
             "| relation | wall s | DuckDB CPU s |", "|---|---:|---:|"]
    lines += [f"| {r} | {w:.2f} | {c:.2f} |"
              for r, w, c in sorted(profiled.models, key=lambda m: -m[1])[:top]]
    by_type: dict[str, float] = collections.defaultdict(float)
    for (op, _), t in profiled.operators.items():
        by_type[op] += t
    lines += ["", "| operator (all models) | s |", "|---|---:|"]
    lines += [f"| {op} | {t:.2f} |" for op, t in sorted(by_type.items(), key=lambda x: -x[1])[:top]]
    lines += ["", "| operator | relation | s |", "|---|---|---:|"]
    lines += [f"| {op} | {r} | {t:.2f} |"
              for (op, r), t in sorted(profiled.operators.items(), key=lambda x: -x[1])[:top]]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", type=Path, required=True, help="an ingested (or built) database")
    ap.add_argument("--top", type=int, default=15, help="rows per table")
    args = ap.parse_args(argv)
    print(profile_build(args.db, args.top))
    return 0


if __name__ == "__main__":
    sys.exit(main())

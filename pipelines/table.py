"""Query results as a table a person reads in a terminal (`asyncpulse sql`, `asyncpulse people`).

The table fits the terminal's width, as the DuckDB CLI and harlequin do: wide columns
are narrowed first (a cut cell ends with "…"), down to 12 columns or the column's name,
and the columns that still do not fit are left out and named under the table. Numbers with a fraction are rounded for
reading (139.325737 -> 139.33, 0.034567 -> 0.035). `--format csv` and `--format json`
give every value exactly; this is only for the eye.
"""

from __future__ import annotations

import math
import os
import shutil
import sys
import unicodedata
from decimal import Decimal
from typing import Any

MAX_CELL = 60  # no cell is wider, whatever the terminal (as before: 60 characters)
MIN_COLUMN = 12  # a column is not narrowed below this or its name (up to 24), unless narrower
MAX_NAME = 24
ELLIPSIS = "…"


def terminal_width() -> int | None:
    """Return the width to fit: $COLUMNS, else the terminal's; None when writing to a pipe."""
    if os.environ.get("COLUMNS", "").isdigit():
        return int(os.environ["COLUMNS"])
    if sys.stdout.isatty():
        return shutil.get_terminal_size((100, 24)).columns
    return None


def readable(v: Any) -> str:
    """Return a value as the table shows it."""
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float | Decimal):
        return readable_number(float(v))
    return " ".join(str(v).splitlines()) if "\n" in str(v) or "\r" in str(v) else str(v)


def readable_number(x: float) -> str:
    """Round a number with a fraction for reading: two decimals, two significant digits below 1."""
    if not math.isfinite(x):
        return str(x)
    a = abs(x)
    if a == 0:
        return "0.0"
    if a >= 1:
        text = f"{x:.2f}"
    elif a >= 1e-4:
        text = f"{x:.{1 - math.floor(math.log10(a))}f}"
    else:
        return f"{x:.1e}"
    text = text.rstrip("0")
    return text + "0" if text.endswith(".") else text


def width(text: str) -> int:
    """Return how many terminal columns `text` takes (wide East Asian characters and emoji: 2)."""
    return sum(0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1
               for c in text)


def cut(text: str, room: int) -> str:
    """Return `text` in at most `room` columns, ending with "…" when it was cut."""
    if width(text) <= room:
        return text
    out, used = [], 0
    for c in text:
        w = width(c)
        if used + w > room - 1:
            break
        out.append(c)
        used += w
    return "".join(out) + ELLIPSIS


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float | Decimal) and not isinstance(v, bool)


def render(names: list[str], rows: list[tuple[Any, ...]], room: int | None, max_rows: int) -> str:
    """Return the table of `rows` (at most `max_rows` of them) in `room` columns (None: any)."""
    shown_rows = rows[:max_rows]
    cells = [[readable(v) for v in r] for r in shown_rows]
    numeric = [bool(rows) and all(_is_number(r[i]) for r in shown_rows if r[i] is not None)
               for i in range(len(names))]
    natural = [min(MAX_CELL, max([width(n)] + [width(c[i]) for c in cells])) for i, n in enumerate(names)]
    widths = list(natural)

    def total(ws: list[int], more: bool = False) -> int:
        return sum(ws) + 3 * len(ws) + 1 + (4 if more else 0)

    keep = len(names)
    if room is not None:
        floors = [min(nat, max(MIN_COLUMN, min(width(name), MAX_NAME)))
                  for nat, name in zip(natural, names, strict=True)]

        def narrowed(n: int) -> list[int]:
            """The first n columns, the widest narrowed first (down to its floor) until they fit."""
            ws = natural[:n]
            while total(ws, more=n < len(names)) > room:
                i = max((i for i in range(n) if ws[i] > floors[i]), key=lambda i: ws[i], default=None)
                if i is None:
                    break
                ws[i] -= 1
            return ws

        widths = narrowed(keep)
        while keep > 1 and total(widths, more=keep < len(names)) > room:  # then leave columns out
            keep -= 1
            widths = narrowed(keep)
    more = keep < len(names)
    ws = widths[:keep] + ([1] if more else [])

    def line(values: list[str], align: list[bool]) -> str:
        parts = []
        for v, w, right in zip(values, ws, align, strict=True):
            v = cut(v, w)
            pad = " " * (w - width(v))
            parts.append(f" {pad}{v} " if right else f" {v}{pad} ")
        return "│" + "┆".join(parts) + "│"

    align = numeric[:keep] + ([False] if more else [])
    tail = [ELLIPSIS] if more else []
    out = ["┌" + "┬".join("─" * (w + 2) for w in ws) + "┐",
           line(names[:keep] + tail, [False] * len(ws)),
           "╞" + "╪".join("═" * (w + 2) for w in ws) + "╡"]
    out += [line(c[:keep] + tail, align) for c in cells]
    if len(rows) > len(shown_rows):
        out.append(line([ELLIPSIS] * len(ws), [False] * len(ws)))
    out.append("└" + "┴".join("─" * (w + 2) for w in ws) + "┘")
    note = f"({len(rows)} rows"
    if len(rows) > len(shown_rows):
        note += f", the first {len(shown_rows)} shown"
    if more:
        left_out = names[keep:]
        note += (f"; {len(left_out)} more columns do not fit: {', '.join(left_out)}; "
                 "select fewer, widen the terminal, or use --format csv")
    out.append(note + ")")
    return "\n".join(out)

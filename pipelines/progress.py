"""Progress for long work, on stderr: a live line on a terminal, a line every 10 s otherwise."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

Progress = Callable[[int, int], None]


def stderr_progress(label: str, min_seconds: float = 2.0) -> Progress:
    """Return a callback(done, total) that reports `label` progress once work takes a while."""
    start = time.monotonic()
    last = [start]
    tty = sys.stderr.isatty()
    every = 0.5 if tty else 10.0

    def report(done: int, total: int) -> None:
        now = time.monotonic()
        if now - start < min_seconds or (now - last[0] < every and done < total):
            return
        last[0] = now
        pct = 100 * done // max(total, 1)
        line = f"{label}: {done:,}/{total:,} files ({pct}%), {now - start:.0f} s"
        if tty:
            sys.stderr.write("\r" + line + ("\n" if done >= total else ""))
        else:
            sys.stderr.write(line + "\n")
        sys.stderr.flush()

    return report

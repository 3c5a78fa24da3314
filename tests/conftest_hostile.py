"""Count the hostile-input cases tried and say how many at the end of the run.

Registered by `tests/conftest.py`; `tests/test_hostile.py` adds to `CASES`.
"""

from __future__ import annotations

from collections import Counter

import pytest

CASES: Counter[str] = Counter()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not CASES:
        return
    terminalreporter.section("hostile inputs")
    for kind, n in sorted(CASES.items()):
        terminalreporter.write_line(f"{n:6d}  {kind}")
    terminalreporter.write_line(f"{sum(CASES.values()):6d}  hostile cases tried in all")

"""pyarrow for the ingest, without the pandas import it would make to inspect a list.

The first time pyarrow converts a Python list (`pa.array`, `Table.from_pylist`)
it asks whether the list is a pandas object, and imports pandas to find out:
0.25 s, in the ingest process and again in every parse worker it spawns. The
ingest never hands pyarrow a pandas object, so before its first conversion
pyarrow is let to find pandas absent. This only answers that one probe: pandas
stays importable, and pyarrow still converts a DataFrame handed to it later
(`Table.from_pandas` imports pandas itself then), as Streamlit does.

    from pipelines.arrow import pa
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from importlib.abc import MetaPathFinder
from importlib.machinery import ModuleSpec
from types import ModuleType

import pyarrow as pa

__all__ = ["pa"]


class _PandasAbsent(MetaPathFinder):
    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if fullname == "pandas":
            raise ModuleNotFoundError("pandas is not needed by the ingest", name=fullname)
        return None


def _skip_pandas_probe() -> None:
    if "pandas" in sys.modules:
        return  # imported already: there is nothing to save
    finder = _PandasAbsent()
    sys.meta_path.insert(0, finder)
    try:
        pa.array([0])  # the probe: pyarrow tries pandas once and remembers it absent
    finally:
        sys.meta_path.remove(finder)


_skip_pandas_probe()

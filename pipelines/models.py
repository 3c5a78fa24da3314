"""Python models: relations computed by a pure Polars transform instead of SQL.

Each reads one SQL query (its input), runs a function of `transforms/` on it
lazily, and is written as a table in its layer, ordered with the SQL models
by the relations its query names.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # polars loads with the transforms, when a build runs them
    import polars as pl


@dataclass(frozen=True)
class PythonModel:
    """A relation `layer.name` = transform(the rows of `reads`)."""

    layer: str
    name: str
    reads: str
    transform: Callable[[pl.LazyFrame], pl.LazyFrame]


def python_models() -> list[PythonModel]:
    """Return every Python model (imported here, so a build without them stays light)."""
    from transforms.openers import classify_openers
    from transforms.pr_quality import score_descriptions

    return [
        PythonModel(
            "intermediate",
            "int_pull_requests__scored",
            "select pr_id, body, files from staging.stg_github__pull_requests",
            score_descriptions,
        ),
        PythonModel(
            "intermediate",
            "int_openers__classified",
            "select message_id, text, has_files from intermediate.int_openers__selected",
            classify_openers,
        ),
    ]

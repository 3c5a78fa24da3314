"""The privacy switch: hide names and message text on every page, in one place.

Pages pass every frame they show through `redact` and every sentence they build
from data through `scrub`. With the switch off both return what they were given.
With it on, a person (by id, display name, Slack id or GitHub login) becomes a
stable pseudonym ("Person 7": the same person is the same number on every page,
numbered by a hash of their id, not alphabetically), message text and PR titles
become "— hidden —", and any name written inside other text (a coverage note, a
load problem) is replaced by its pseudonym too.
"""

from __future__ import annotations

import re

import polars as pl
import streamlit as st

from dashboard import queries

KEY = "privacy"
HIDDEN = "— hidden —"
# Columns that hold a person, and columns that hold what people wrote.
PERSON_COLUMNS = frozenset({
    "person", "person_id", "display_name", "author", "author_name", "person_a", "person_b", "opener_person_id",
    "first_replier_person_id", "author_person_id", "first_reviewer_person_id", "reviewer",
})
TEXT_COLUMNS = frozenset({"text", "title", "body", "message"})


def is_on() -> bool:
    """Return whether names and text are hidden in this session."""
    return bool(st.session_state.get(KEY, False))


def _names() -> pl.DataFrame:
    df = queries.people_names()
    if df is None:
        return pl.DataFrame(schema={"key": pl.String, "pseudonym": pl.String, "is_name": pl.Boolean})
    return df


def _unknown(col: str) -> pl.Expr:
    """Pseudonym for someone the people table does not know (an author missing from users.json)."""
    return pl.concat_str(pl.lit("Person #"), (pl.col(col).hash(7) % 9000 + 1000).cast(pl.String))


def redact(df: pl.DataFrame) -> pl.DataFrame:
    """Return `df` with people pseudonymised and text hidden when the switch is on."""
    if not is_on() or df.is_empty():
        return df
    return pseudonymise(df, _names())


def pseudonymise(df: pl.DataFrame, names: pl.DataFrame) -> pl.DataFrame:
    """Return `df` with people replaced by their pseudonyms in `names` and text hidden.

    `names` is `queries.PEOPLE_NAMES_SQL`'s result; the digest calls this directly.
    """
    if df.is_empty():
        return df
    mapping = dict(zip(names["key"].to_list(), names["pseudonym"].to_list(), strict=True))
    mapping.update({p: p for p in names["pseudonym"].to_list()})  # redacting twice changes nothing
    written = names.filter("is_name").with_columns(n=pl.col("key").str.len_chars()).sort("n", descending=True)
    exprs = []
    for col, dtype in df.schema.items():
        if col in PERSON_COLUMNS:
            exprs.append(pl.col(col).cast(pl.String).replace_strict(mapping, default=_unknown(col)).alias(col))
        elif col in TEXT_COLUMNS:
            exprs.append(pl.when(pl.col(col).is_null()).then(None).otherwise(pl.lit(HIDDEN)).alias(col))
        elif dtype == pl.String and not written.is_empty():
            expr = pl.col(col)
            for name, pseudonym in written.select("key", "pseudonym").iter_rows():
                # whole words only: "Ana" is a name, the "Ana" in "Analytics" is not
                expr = expr.str.replace_all(rf"\b{re.escape(name)}\b", pseudonym)
            exprs.append(expr.alias(col))
    return df.with_columns(exprs) if exprs else df


def scrub(text: str | None) -> str | None:
    """Return `text` with every person's name replaced by their pseudonym when the switch is on."""
    if text is None or not is_on():
        return text
    return str(redact(pl.DataFrame({"note": [text]}))["note"].item())

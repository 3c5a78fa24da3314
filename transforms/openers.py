"""Classify conversation openers by the 3W practice (docs/metrics.md, "Openers").

One lazy chain of Polars string expressions, driven by the vocabulary in
`transforms/vocab/openers.toml`:

1. normalise Slack's markup: code, links, mentions, channels and emoji become
   tokens (`zzcode`, `zzlink`, `zzmention`, `zzchannel`, `zzemoji`), HTML
   entities are decoded, text is lower-cased;
2. strip greetings and vague asks ("hey", "got a sec?") with the punctuation
   after them — what remains is where a real question can be;
3. `low_context` when nothing but filler words remain, and there is no file;
4. match the what / why / ask / expectation vocabularies.

Decisions (documented for docs/metrics.md):
- a vague ask is not an ask: a low-context opener has `has_ask` false, and the
  '?' of "got a sec? the deploy failed with exit 137" does not count either;
- a low-context opener never has what, why or ask, but may carry an
  expectation ("urgent, call me");
- bare time words (today, tomorrow, this week) count as an expectation only in
  a message that asks for something; by/before + a moment always counts;
- NULL text is read as empty: every flag false (an empty opener with no file
  tells nothing, so it is not flagged as low-context either), unless the
  caller's `has_files` column says a file came with it (then `has_what`).
"""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources
from typing import Any

import polars as pl

FLAGS = ("low_context", "has_what", "has_why", "has_ask", "has_expectation")
_PREFIX = "__openers_"
_MARKED = f"{_PREFIX}marked"  # markup tokenised, entities decoded, case kept
_NORM = f"{_PREFIX}norm"  # the same, lower-cased
_STRIPPED = f"{_PREFIX}stripped"  # greetings and vague asks removed
_TIME = f"{_PREFIX}time"  # a bare time word is present


@cache
def load_vocabulary() -> dict[str, Any]:
    """Load the opener vocabulary shipped as package data (`vocab/openers.toml`)."""
    text = resources.files("transforms").joinpath("vocab/openers.toml").read_text("utf-8")
    return tomllib.loads(text)


# ASCII word boundaries: a Unicode \b makes the regex engine fall back from its
# DFA to a much slower one on any non-ASCII text, and the vocabulary is ASCII.
_B = r"(?-u:\b)"


def _ascii(regex: str) -> str:
    """Make every \\b in a vocabulary regex an ASCII word boundary."""
    return regex.replace(r"\b", _B)


def _words(fragments: list[str]) -> str:
    """Join word fragments into one regex, each bounded by word boundaries.

    The closing boundary also accepts a non-word character or the end, so a
    fragment ending in a symbol ("40%", "b/c") still matches before a space
    (Rust regex has no look-ahead; consuming one separator is harmless here).
    """
    return _ascii(r"\b(?:" + "|".join(fragments) + r")(?:\b|\W|$)")


def _patterns(fragments: list[str]) -> str:
    """Join self-bounded regex fragments into one alternation."""
    return _ascii("|".join(f"(?:{f})" for f in fragments))


def _either(*regexes: str) -> str:
    """Join whole regexes into one alternation, skipping empty ones."""
    return "|".join(f"(?:{r})" for r in regexes if r)


def _mark(text: pl.Expr, vocab: dict[str, Any]) -> pl.Expr:
    """Replace Slack markup with tokens and decode HTML entities, keeping case."""
    m, tok = vocab["markup"], vocab["tokens"]
    return (
        text.fill_null("")
        .str.replace_all(m["code_block"], f" {tok['code']} ")
        .str.replace_all(m["code_inline"], f" {tok['code']} ")
        .str.replace_all(m["link"], f" {tok['link']} ")
        .str.replace_all(m["mention"], f" {tok['mention']} ")
        .str.replace_all(m["channel"], f" {tok['channel']} ")
        .str.replace_all(m["date"], " ${1} ")
        .str.replace_all(m["bare_link"], f" {tok['link']} ")
        .str.replace_all(m["plain_mention"], f" {tok['mention']} ")
        .str.replace_all(m["emoji_code"], f" {tok['emoji']} ")
        .str.replace_all(m["emoji_unicode"], f" {tok['emoji']} ")
        # Entities last: "&lt;" is text the author typed, never markup.
        .str.replace_all("&lt;", "<", literal=True)
        .str.replace_all("&gt;", ">", literal=True)
        .str.replace_all("&amp;", "&", literal=True)
        .str.replace_all("\u2019", "'", literal=True)
    )


def _strip_greetings(norm: pl.Expr, vocab: dict[str, Any]) -> pl.Expr:
    """Remove greetings and vague asks, with the punctuation that follows them."""
    lc = vocab["low_context"]
    trailing = r"[\s?!.,:;~\-]*"
    # A single word right after an opening greeting is whom it greets ("hey ben", "hi Dan"):
    # a name is no more context than a mention.
    addressed = r"^\s*" + _words(lc["greetings"]) + r"[\s,]+[\p{L}][\p{L}'\-]*" + trailing + r"(?:$|[\s,]|\b)"
    return (
        norm.str.replace_all(addressed, " ")
        .str.replace_all(_words(lc["vague_asks"]) + trailing, " ")
        .str.replace_all(_words(lc["greetings"]) + trailing, " ")
    )


def _residual_is_empty(stripped: pl.Expr, vocab: dict[str, Any]) -> pl.Expr:
    """Tell whether nothing but tokens, filler words and punctuation remain."""
    tok, lc = vocab["tokens"], vocab["low_context"]
    noise = [tok["mention"], tok["channel"], tok["emoji"], *lc["filler"]]
    return stripped.str.replace_all(_words(noise), " ").str.contains(r"[\p{L}\p{N}]").not_()


def _what(marked: pl.Expr, norm: pl.Expr, vocab: dict[str, Any]) -> pl.Expr:
    """Match links, issue keys, code, files, errors, or 25+ words of detail."""
    what, tok = vocab["what"], vocab["tokens"]
    tickets = marked.str.count_matches(_ascii(what["ticket"])) > marked.str.count_matches(
        _ascii(what["ticket_lookalike"])
    )
    # A word is a run of non-spaces holding a letter or digit ("—" is not one).
    word = r"\S*[\p{L}\p{N}]\S*\s+(?:[^\p{L}\p{N}\s]+\s+)*"
    words = norm.str.replace_all(
        _words([tok["mention"], tok["channel"], tok["emoji"]]), " "
    ).str.contains(f"(?:{word}){{{what['min_words'] - 1}}}" + r"\S*[\p{L}\p{N}]")
    return (
        tickets
        | norm.str.contains(_either(_patterns(what["patterns"]), _words(what["words"])))
        | words
    )


def _why(norm: pl.Expr, vocab: dict[str, Any]) -> pl.Expr:
    """Match a reason or an impact, once negated reasons ("not blocking") are removed."""
    why = vocab["why"]
    text = norm.str.replace_all(_words(why["negations"]), " ")
    causal_since = text.str.count_matches(_ascii(why["since"])) > text.str.count_matches(
        _ascii(why["since_temporal"])
    )
    return (
        text.str.contains(_either(_words(why["words"]), _patterns(why["patterns"]))) | causal_since
    )


def _statement_after_question(marked: pl.Expr, vocab: dict[str, Any]) -> pl.Expr:
    """Tell whether a justifying statement follows the last question (see [why_after_ask])."""
    rule = vocab["why_after_ask"]
    tail = marked.str.extract(r"\?\s*([^?]*)$", 1)
    low = tail.str.to_lowercase()
    words = low.str.replace_all(r"\bzz(?:link|mention|channel|emoji)\b", " ")
    return (
        (words.str.count_matches(r"[\p{L}]{2,}") >= rule["min_words"])
        & ~low.str.contains(_ascii(rule["pointer"]))
        & ~low.str.contains(_ascii(rule["expectation"]))
        & ~low.str.contains(_ascii(rule["what"]))
    ).fill_null(False)


def classify_openers(messages: pl.LazyFrame, text_col: str = "text") -> pl.LazyFrame:
    """Add the opener flags of docs/metrics.md and `score_3w` to a frame of messages.

    Adds boolean `low_context, has_what, has_why, has_ask, has_expectation`
    and Int8 `score_3w` (= has_what + has_why + has_ask). When `messages` has
    a boolean `has_files` column, a message with a file has context (`has_what`).
    """
    vocab = load_vocabulary()
    ask, exp = vocab["ask"], vocab["expectation"]
    has_files = (
        pl.col("has_files").cast(pl.Boolean).fill_null(False)
        if "has_files" in messages.collect_schema().names()
        else pl.lit(False)
    )
    norm, stripped = pl.col(_NORM), pl.col(_STRIPPED)
    return (
        messages.with_columns(_mark(pl.col(text_col), vocab).alias(_MARKED))
        .with_columns(pl.col(_MARKED).str.to_lowercase().alias(_NORM))
        .with_columns(
            _strip_greetings(norm, vocab).alias(_STRIPPED),
            (_what(pl.col(_MARKED), norm, vocab) | has_files).alias("has_what"),
            _why(norm, vocab).alias("has_why"),
            norm.str.contains(
                _either(_words(exp["time_words"]), _patterns(exp["time_patterns"]))
            ).alias(_TIME),
            norm.str.contains(_either(_words(exp["words"]), _patterns(exp["patterns"]))).alias(
                "has_expectation"
            ),
        )
        .with_columns(
            (
                norm.str.contains(r"\S") & _residual_is_empty(stripped, vocab) & ~pl.col("has_what")
            ).alias("low_context")
        )
        .with_columns(
            # A low-context opener carries no what (by construction), why or real ask.
            pl.col("has_why") & ~pl.col("low_context"),
            (
                ~pl.col("low_context")
                & stripped.str.contains(_either(_words(ask["words"]), _patterns(ask["patterns"])))
            ).alias("has_ask"),
        )
        .with_columns(
            pl.col("has_why")
            | (pl.col("has_ask") & norm.str.contains(_patterns(vocab["why"]["ask_patterns"])))
            | (pl.col("has_ask") & _statement_after_question(pl.col(_MARKED), vocab))
        )
        .with_columns(
            pl.col("has_expectation") | (pl.col(_TIME) & pl.col("has_ask")),
            pl.sum_horizontal(
                pl.col("has_what").cast(pl.Int8),
                pl.col("has_why").cast(pl.Int8),
                pl.col("has_ask").cast(pl.Int8),
            )
            .cast(pl.Int8)
            .alias("score_3w"),
        )
        .drop(_MARKED, _NORM, _STRIPPED, _TIME)
        .select(pl.exclude(*FLAGS, "score_3w"), *FLAGS, "score_3w")
    )

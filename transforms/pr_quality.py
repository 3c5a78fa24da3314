"""PR description quality (docs/metrics.md, "Pull requests"): clean away template text, then score seven checks.

The rules live in `vocab/pr_checks.toml`; this module only compiles them
into a handful of regexes and applies them as Polars expressions. Every
check reads the description as its author wrote it: HTML comments,
unticked template checkboxes, placeholder prompts and headings left with
nothing under them are removed first (`clean_body`).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import polars as pl

CHECKS: tuple[str, ...] = ("body", "why", "link", "testing", "risk", "focus", "visuals")
"""The checks, in the order `missing` lists them."""

# A heading: markdown (`## Why`), a whole-line bold label (`**Why?**`), or a
# capitalised label ending in a colon on its own line (`Testing:`).
_HEADING = (
    r"(?:#{1,6}[ \t][^\n]*|\*\*[^*\n]+\*\*[ \t]*:?|__[^_\n]+__[ \t]*:?|[A-Z][^\n:]{0,40}:)[ \t]*"
)
# Section names are found in headings and at the start of a line before a colon.
_SECTION = (
    r"(?:^|\n)[ \t]*(?:(?:#{{1,6}}[ \t][^\n]*?|\*\*[^*\n]*?|__[^_\n]*?)\b(?:{names})\b"
    r"|(?:[-*+][ \t]+)?(?:{names})\b[^\n:]{{0,30}}:)"
)
_LINE_PREFIX = r"(?mi)^[ \t]*(?:[-*+>][ \t]*)*"


@dataclass(frozen=True)
class _Rules:
    """The vocabulary compiled into one regex per step."""

    boilerplate: str
    placeholder_line: str
    prompt_line: str
    badge: str
    not_tracker_key: str
    min_words: int
    check: dict[str, str]
    ui_path: str
    missing: dict[str, str]
    explain: dict[str, str]


def _alternation(fragments: list[str]) -> str:
    return "(?:" + "|".join(f"(?:{f})" for f in fragments) + ")"


@cache
def load_rules() -> _Rules:
    """Load `vocab/pr_checks.toml` and compile it into regexes (once per process)."""
    text = (resources.files("transforms") / "vocab" / "pr_checks.toml").read_text("utf-8")
    vocab: dict[str, Any] = tomllib.loads(text)
    cleaning, checks = vocab["cleaning"], vocab["checks"]
    compiled: dict[str, str] = {}
    for name in CHECKS[1:]:
        spec = checks[name]
        parts = list(spec.get("phrases", []))
        if spec.get("sections"):
            parts.append(_SECTION.format(names=_alternation(spec["sections"])))
        # ASCII word boundaries: same matches on this English vocabulary, and the regex
        # engine's fast DFA cannot handle Unicode boundaries (2-3x slower).
        compiled[name] = "(?i)" + _alternation(parts).replace(r"\b", r"(?-u:\b)")
    return _Rules(
        boilerplate=_alternation(cleaning["boilerplate_blocks"]),
        placeholder_line=_LINE_PREFIX + _alternation(cleaning["placeholder_lines"]) + r"[ \t]*$",
        prompt_line=_LINE_PREFIX + _alternation(cleaning["prompt_prefixes"]) + r"[^\n]*$",
        badge="(?i)" + _alternation(cleaning["badge_images"]),
        not_tracker_key=r"\b" + _alternation(checks["link"]["not_tracker_keys"]) + r"-\d+",
        min_words=int(checks["body"]["min_words"]),
        check=compiled,
        ui_path="(?i)" + _alternation(vocab["visuals_needed"]["paths"]),
        missing={name: checks[name]["missing"] for name in CHECKS},
        explain={name: checks[name]["explain"] for name in CHECKS},
    )


def explain(check: str) -> str:
    """Return the one-line advice for a check (`"why"`, `"testing"`, ...), for the dashboard."""
    return load_rules().explain[check.removeprefix("has_")]


def clean_body(body: pl.Expr) -> pl.Expr:
    """Remove template text the author left untouched; NULL becomes the empty string."""
    rules = load_rules()
    return (
        body.fill_null("")
        .str.replace_all(r"\r\n?", "\n")
        .str.replace_all(r"(?s)<!--.*?(?:-->|\z)", "")
        .str.replace_all(rules.boilerplate, "")
        # Markdown "comments" such as Dependabot's `[//]: # (dependabot-automerge-start)`.
        .str.replace_all(r"(?m)^[ \t]*\[(?://|comment)\]:[^\n]*$", "")
        .str.replace_all(r"(?m)^[ \t]*(?:[-*+]|\d+[.)])[ \t]+\[ \][^\n]*(?:\n|\z)", "")
        .str.replace_all(rules.placeholder_line, "")
        .str.replace_all(rules.prompt_line, "")
        # A template's form field left empty: "* Firmware version:".
        .str.replace_all(r"(?m)^[ \t]*[-*+][ \t]+[^\n:]{1,40}:[ \t]*$", "")
        .str.replace_all(r"(?m)^[ \t]*(?:-{3,}|\*{3,}|_{3,})[ \t]*$", "")
        # A code fence left empty (a release-note block whose "NONE" was removed).
        .str.replace_all(r"(?m)^[ \t]*```[\w-]*\n(?:[ \t]*\n)*[ \t]*```[ \t]*$", "")
        .str.replace_all(r"(?m)[ \t]+$", "")
        # A run of headings with only blank lines between keeps its last one ...
        .str.replace_all(rf"(?m)^(?:{_HEADING}\n(?:[ \t]*\n)*)+({_HEADING})$", "${1}")
        # ... which is removed too when nothing but blank lines follows it.
        .str.replace_all(rf"(?m)^{_HEADING}\s*\z", "")
        .str.replace_all(r"\n{3,}", "\n\n")
        .str.strip_chars()
    )


def score_descriptions(
    prs: pl.LazyFrame, body_col: str = "body", files_col: str = "files"
) -> pl.LazyFrame:
    """Score each PR description's checks and quality; return the input with the score columns.

    Adds `clean_body`, the seven `has_*` booleans, `visuals_needed` (NULL when
    the files are unknown), `quality` (Int16, 0–100: the share of applicable
    checks met; visuals apply only when `visuals_needed` is true) and
    `missing` (short explanations of the unmet applicable checks, in CHECKS order).
    """
    rules = load_rules()
    clean = pl.col("clean_body")
    words = clean.str.replace_all(r"\[[xX]\]", "").str.count_matches(r"\S*[\p{L}\p{N}]\S*")
    key_free = clean.str.replace_all(rules.not_tracker_key, "")
    badge_free = clean.str.replace_all(rules.badge, "")
    needs = pl.col("visuals_needed").fill_null(False)
    flags = [pl.col(f"has_{name}") for name in CHECKS]
    met = pl.sum_horizontal(*flags[:6], flags[6] & needs)
    applicable = pl.lit(6) + needs.cast(pl.Int32)
    return (
        prs.with_columns(clean_body(pl.col(body_col)).alias("clean_body"))
        .with_columns(
            (words >= rules.min_words).alias("has_body"),
            # Reasons are prose: skip collapsed blocks (bots' release notes, logs) and URLs.
            clean.str.replace_all(r"(?s)<details>.*?</details>|https?://[^\s)\]>\"']+", "")
            .str.contains(rules.check["why"])
            .alias("has_why"),
            key_free.str.contains(rules.check["link"]).alias("has_link"),
            clean.str.contains(rules.check["testing"]).alias("has_testing"),
            clean.str.contains(rules.check["risk"]).alias("has_risk"),
            clean.str.contains(rules.check["focus"]).alias("has_focus"),
            badge_free.str.contains(rules.check["visuals"]).alias("has_visuals"),
            pl.col(files_col)
            .list.eval(pl.element().str.contains(rules.ui_path))
            .list.any()
            .alias("visuals_needed"),
        )
        .with_columns(
            (met * 100 / applicable).round(0).cast(pl.Int16).alias("quality"),
            pl.concat_list(
                [
                    pl.when(~flag & (needs if name == "visuals" else True)).then(
                        pl.lit(rules.missing[name])
                    )
                    for name, flag in zip(CHECKS, flags, strict=True)
                ]
            )
            .list.drop_nulls()
            .alias("missing"),
        )
    )

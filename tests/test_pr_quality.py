"""PR description quality: exact frames for cleaning and arithmetic, and accuracy on a labelled corpus."""

from __future__ import annotations

from pathlib import Path

import orjson
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from transforms.pr_quality import CHECKS, explain, load_rules, score_descriptions

CORPUS = Path(__file__).parent / "fixtures" / "pr_descriptions.jsonl"
SCHEMA = {"id": pl.String, "body": pl.String, "files": pl.List(pl.String)}

FOUR_OF_SIX = (
    "Fixes #12. The export crashed on empty channels because we read the first message "
    "without checking. To test: run `make test` and open the demo export in the dashboard."
)
ALL_MISSING = [load_rules().missing[name] for name in CHECKS]


def _frame(rows: list[tuple[str, str | None, list[str] | None]]) -> pl.LazyFrame:
    return pl.LazyFrame(rows, schema=SCHEMA, orient="row")


def test_unfilled_template_is_cleaned_to_what_the_author_wrote() -> None:
    body = (
        "<!-- Thanks for the PR!\r\nPlease fill in every section. -->\r\n"
        "## Description\r\n<!-- Describe your changes in detail -->\r\nDescribe your changes here\r\n\r\n"
        "## Related issue\r\nFixes # (issue)\r\n\r\n"
        "## Testing\r\n- [x] Tested locally\r\n- [ ] Added unit tests\r\n\r\n"
        "## Screenshots\r\n_No response_\r\n\r\n"
        "## Risks\r\nN/A\r\n"
    )
    untouched = "## What\n\n<!-- what -->\n\n## Why\n\n**How to test**\n- [ ] Tests\n\nTODO\n"
    got = score_descriptions(_frame([("a", body, None), ("b", untouched, None)])).collect()
    assert_frame_equal(
        got.select("id", "clean_body"),
        pl.DataFrame({"id": ["a", "b"], "clean_body": ["## Testing\n- [x] Tested locally", ""]}),
    )


def test_quality_is_the_share_of_applicable_checks_met() -> None:
    got = score_descriptions(
        _frame(
            [
                ("backend", FOUR_OF_SIX, ["api/export.py"]),
                ("ui", FOUR_OF_SIX, ["web/src/Export.tsx", "api/export.py"]),
                ("unknown_files", FOUR_OF_SIX, None),
            ]
        )
    ).collect()
    checks = [
        "has_body",
        "has_why",
        "has_link",
        "has_testing",
        "has_risk",
        "has_focus",
        "has_visuals",
    ]
    expected = pl.DataFrame(
        {
            "id": ["backend", "ui", "unknown_files"],
            **{c: [True] * 3 for c in checks[:4]},
            **{c: [False] * 3 for c in checks[4:]},
            "visuals_needed": [False, True, None],
            "quality": pl.Series([67, 57, 67], dtype=pl.Int16),
            "missing": [
                ["no risks called out", "no guidance for reviewers"],
                [
                    "no risks called out",
                    "no guidance for reviewers",
                    "no screenshots for a UI change",
                ],
                ["no risks called out", "no guidance for reviewers"],
            ],
        }
    )
    assert_frame_equal(got.select(expected.columns), expected)


def test_screenshots_count_only_when_the_ui_changed() -> None:
    body = (
        FOUR_OF_SIX
        + "\n\n![after](https://github.com/user-attachments/assets/0f0f0f0f-1111-2222-3333-444455556666)"
    )
    got = score_descriptions(
        _frame(
            [
                ("ui", body, ["frontend/src/App.vue"]),
                ("backend", body, ["api/x.py"]),
                ("none", body, []),
            ]
        )
    ).collect()
    expected = pl.DataFrame(
        {
            "id": ["ui", "backend", "none"],
            "has_visuals": [True, True, True],
            "visuals_needed": [True, False, False],
            "quality": pl.Series([71, 67, 67], dtype=pl.Int16),
        }
    )
    assert_frame_equal(got.select(expected.columns), expected)


def test_null_and_empty_bodies_score_zero_with_everything_missing() -> None:
    got = score_descriptions(
        _frame(
            [
                ("null", None, None),
                ("empty", "", ["src/components/Nav.jsx"]),
                ("blank", " \n\n ", ["a.py"]),
            ]
        )
    ).collect()
    expected = pl.DataFrame(
        {
            "id": ["null", "empty", "blank"],
            "clean_body": ["", "", ""],
            **{f"has_{name}": [False] * 3 for name in CHECKS},
            "visuals_needed": [None, True, False],
            "quality": pl.Series([0, 0, 0], dtype=pl.Int16),
            "missing": [ALL_MISSING[:6], ALL_MISSING, ALL_MISSING[:6]],
        }
    )
    assert_frame_equal(got.select(expected.columns), expected)


def test_column_names_are_configurable_and_input_columns_are_kept() -> None:
    prs = pl.LazyFrame(
        {"number": [7], "description": [FOUR_OF_SIX], "paths": [["ui/app.css"]]},
        schema={"number": pl.Int64, "description": pl.String, "paths": pl.List(pl.String)},
    )
    got = score_descriptions(prs, body_col="description", files_col="paths").collect()
    assert got.columns[:3] == ["number", "description", "paths"]
    assert got.select("number", "quality").rows() == [(7, 57)]


def test_every_check_has_advice() -> None:
    assert all(explain(name) for name in CHECKS)
    assert explain("has_why") == explain("why")


# --- accuracy on the labelled corpus ---------------------------------------------------


def _corpus() -> pl.DataFrame:
    records = [orjson.loads(line) for line in CORPUS.read_bytes().splitlines() if line.strip()]
    return pl.DataFrame(
        {
            "id": [r["id"] for r in records],
            "body": [r["body"] for r in records],
            "files": [r["files"] for r in records],
            "holdout": [bool(r.get("holdout", False)) for r in records],
            **{f"label_{n}": [bool(r["labels"][f"has_{n}"]) for r in records] for n in CHECKS},
        },
        schema_overrides=SCHEMA,
    )


def _precision_recall(scored: pl.DataFrame) -> pl.DataFrame:
    """Return one row per check: true/false positives, false negatives, precision and recall."""
    return pl.concat(
        [
            scored.select(
                pl.lit(name).alias("check"),
                (pl.col(f"has_{name}") & pl.col(f"label_{name}")).sum().alias("tp"),
                (pl.col(f"has_{name}") & ~pl.col(f"label_{name}")).sum().alias("fp"),
                (~pl.col(f"has_{name}") & pl.col(f"label_{name}")).sum().alias("fn"),
            )
            for name in CHECKS
        ]
    ).with_columns(
        (pl.col("tp") / (pl.col("tp") + pl.col("fp"))).fill_nan(1.0).round(2).alias("precision"),
        (pl.col("tp") / (pl.col("tp") + pl.col("fn"))).fill_nan(1.0).round(2).alias("recall"),
    )


def test_corpus_is_big_enough_and_well_formed() -> None:
    corpus = _corpus()
    assert corpus.height >= 80
    assert corpus["id"].is_unique().all()
    assert corpus.filter("holdout").height >= 16


# The requirement (0.9) holds on the whole labelled corpus. The holdout — written after
# the rules were final, and replaced whenever the rules changed because of it — is
# printed and guarded by a floor: on 16 descriptions one disagreement moves a figure
# by 0.1 or more.
@pytest.mark.parametrize(("subset", "floor"), [("all", 0.9), ("holdout", 0.6)])
def test_checks_agree_with_the_hand_labels(subset: str, floor: float) -> None:
    corpus = _corpus()
    if subset == "holdout":
        corpus = corpus.filter("holdout")
    scored = score_descriptions(corpus.lazy()).collect()
    table = _precision_recall(scored)
    wrong = scored.select(
        "id",
        pl.concat_list(
            [pl.when(pl.col(f"has_{n}") != pl.col(f"label_{n}")).then(pl.lit(n)) for n in CHECKS]
        )
        .list.drop_nulls()
        .alias("disagrees_on"),
    ).filter(pl.col("disagrees_on").list.len() > 0)
    with pl.Config(tbl_rows=-1, tbl_hide_dataframe_shape=True, fmt_table_cell_list_len=8):
        report = f"\n{subset} ({corpus.height} descriptions)\n{table}\n{wrong}"
    print(report)
    below = table.filter((pl.col("precision") < floor) | (pl.col("recall") < floor))
    assert below.is_empty(), f"checks below {floor}:{report}"

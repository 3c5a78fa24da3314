"""Opener classifier: exact frames for the markup cases, and precision/recall on a labelled corpus.

`tests/fixtures/openers.csv` holds engineering-team openers in Slack markup, each
labelled by hand from the docs/metrics.md definitions (and the decisions documented in
`transforms/openers.py`), never by running the classifier. Rows with
`holdout = 1` were written after the vocabulary was final. Earlier holdout sets
were scored, then folded into the tuning rows (`holdout = 0`) when the rules
changed because of them, and replaced by a fresh set: a holdout is only honest
once. The requirement (every flag at 0.9 or better) is asserted on the whole
labelled corpus; the holdout's figures are printed and guarded by a floor, since
on 20 rows one message moves a figure by 0.1 or more.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from transforms.openers import FLAGS, classify_openers, load_vocabulary

CORPUS = Path(__file__).parent / "fixtures" / "openers.csv"
CORPUS_MIN = 0.9
HOLDOUT_FLOOR = 0.6


def score(corpus: pl.DataFrame) -> pl.DataFrame:
    """Return precision and recall of classify_openers per flag against the labels."""
    got = classify_openers(corpus.lazy().select("text")).collect()
    return pl.DataFrame(
        [
            pl.DataFrame({"label": corpus[flag].cast(pl.Boolean), "got": got[flag]})
            .select(
                pl.lit(flag).alias("flag"),
                pl.len().alias("rows"),
                pl.col("label").sum().alias("positives"),
                (pl.col("label") & pl.col("got")).sum().alias("tp"),
                (~pl.col("label") & pl.col("got")).sum().alias("fp"),
                (pl.col("label") & ~pl.col("got")).sum().alias("fn"),
            )
            .row(0, named=True)
            for flag in FLAGS
        ]
    ).with_columns(
        precision=(pl.col("tp") / (pl.col("tp") + pl.col("fp"))).fill_nan(1.0).round(3),
        recall=(pl.col("tp") / (pl.col("tp") + pl.col("fn"))).fill_nan(1.0).round(3),
    )


def table(scores: dict[str, pl.DataFrame]) -> str:
    """Render the precision/recall tables as text for the output and failure messages."""
    with pl.Config(tbl_rows=-1, tbl_hide_dataframe_shape=True, tbl_hide_column_data_types=True):
        return "\n".join(f"{name}:\n{frame}" for name, frame in scores.items())


@pytest.fixture(scope="module")
def corpus() -> pl.DataFrame:
    """Load the labelled opener corpus."""
    return pl.read_csv(CORPUS)


@pytest.fixture(scope="module")
def scores(corpus: pl.DataFrame) -> Iterator[dict[str, pl.DataFrame]]:
    """Score the corpus (all rows, tuning rows, holdout rows) and print the tables."""
    result = {
        f"all rows ({corpus.height})": score(corpus),
        f"tuning rows ({corpus.filter(pl.col('holdout') == 0).height})": score(
            corpus.filter(pl.col("holdout") == 0)
        ),
        f"holdout rows ({corpus.filter(pl.col('holdout') == 1).height})": score(
            corpus.filter(pl.col("holdout") == 1)
        ),
    }
    print("\n" + table(result))
    yield result


def test_corpus_is_big_and_well_formed(corpus: pl.DataFrame) -> None:
    assert corpus.height >= 150
    assert corpus.filter(pl.col("holdout") == 1).height >= 20
    assert corpus["text"].null_count() == 0
    assert corpus["text"].is_duplicated().sum() == 0
    for flag in (*FLAGS, "holdout"):
        assert set(corpus[flag].unique()) <= {0, 1}, flag
    # A low-context opener has no what, why or ask (it may carry an expectation).
    low = corpus.filter(pl.col("low_context") == 1)
    assert low.select(pl.col("has_what", "has_why", "has_ask").sum()).row(0) == (0, 0, 0)


def test_all_rows_precision_recall(scores: dict[str, pl.DataFrame]) -> None:
    every = next(frame for name, frame in scores.items() if name.startswith("all"))
    short = every.filter((pl.col("precision") < CORPUS_MIN) | (pl.col("recall") < CORPUS_MIN))
    assert short.is_empty(), f"below {CORPUS_MIN}:\n{table(scores)}"


@pytest.mark.parametrize("metric", ["precision", "recall"])
@pytest.mark.parametrize("flag", FLAGS)
def test_holdout_rows_precision_recall(
    scores: dict[str, pl.DataFrame], flag: str, metric: str
) -> None:
    holdout = next(frame for name, frame in scores.items() if name.startswith("holdout"))
    value = holdout.filter(pl.col("flag") == flag)[metric].item()
    assert value >= HOLDOUT_FLOOR, f"{flag} {metric} {value} < {HOLDOUT_FLOOR}:\n{table(scores)}"


def expected(rows: list[tuple[str | None, bool, bool, bool, bool, bool]]) -> pl.DataFrame:
    """Build the expected output frame from (text, low_context, what, why, ask, expectation)."""
    frame = pl.DataFrame(rows, schema=["text", *FLAGS], orient="row", schema_overrides={"text": pl.String})
    return frame.with_columns(
        score_3w=pl.sum_horizontal(
            pl.col("has_what", "has_why", "has_ask").cast(pl.Int8)
        ).cast(pl.Int8)
    )


def test_markup_cases() -> None:
    want = expected([
        ("hi <@U04F2K9LM> :wave:", True, False, False, False, False),
        ("heyyy 👋🏽", True, False, False, False, False),
        ("<!subteam^S05QWERTY|@platform-team> got a sec?", True, False, False, False, False),
        ("<!here> anyone around? :eyes::skin-tone-2:", True, False, False, False, False),
        ("hello?", True, False, False, False, False),
        ("<@U08ZXC111> urgent, call me asap", True, False, False, False, True),
        # The '?' of a vague ask is no ask, even before real context.
        ("got a sec? the deploy failed with exit code 137: <https://ci.acme.io/r/1|run 1>",
         False, True, False, False, False),
        ("Can you review <https://github.com/acme/api/pull/7|#7> by 15:00 UTC? It's blocking the release.",
         False, True, True, True, True),
        ("PLAT-1422 blocked because `make migrate` fails", False, True, True, False, False),
        ("```Traceback (most recent call last):\n  ValueError: boom```", False, True, False, False, False),
        # A channel is a place, not a link to the situation; 15:00:00 is no emoji.
        ("see <#C0123ABC|incidents> at 15:00:00", False, False, False, False, False),
        # UTF-8 looks like an issue key and is not one; entities are text.
        ("FYI, no response needed: UTF-8 &amp; &lt;LF&gt; are now the defaults", False, False, False, False, True),
        ("is the p99 &gt; 2s expected?", False, False, False, True, False),
        ("the deploy failed", False, False, False, False, False),
        # "not blocking" is no reason; a bare "today" is a deadline only beside an ask.
        ("not blocking, staging was slow today", False, False, False, False, False),
        ("could you check staging today?", False, False, False, True, True),
        ("", False, False, False, False, False),
        (None, False, False, False, False, False),
    ])
    got = classify_openers(want.lazy().select("text"))
    assert isinstance(got, pl.LazyFrame)
    assert_frame_equal(got.collect(), want)


def test_files_give_context_and_other_columns_pass_through() -> None:
    messages = pl.LazyFrame(
        {
            "message_id": ["C1:1", "C1:2", "C1:3", "C1:4"],
            "body": ["", ":wave:", "hey", "hey"],
            "has_files": [True, True, False, None],
        }
    )
    want = pl.DataFrame(
        {
            "message_id": ["C1:1", "C1:2", "C1:3", "C1:4"],
            "body": ["", ":wave:", "hey", "hey"],
            "has_files": [True, True, False, None],
            "low_context": [False, False, True, True],
            "has_what": [True, True, False, False],
            "has_why": [False] * 4,
            "has_ask": [False] * 4,
            "has_expectation": [False] * 4,
            "score_3w": pl.Series([1, 1, 0, 0], dtype=pl.Int8),
        }
    )
    assert_frame_equal(classify_openers(messages, text_col="body").collect(), want)


def test_vocabulary_is_package_data() -> None:
    vocab = load_vocabulary()
    assert {"markup", "what", "why", "ask", "expectation", "low_context"} <= vocab.keys()
    assert vocab["what"]["min_words"] == 25

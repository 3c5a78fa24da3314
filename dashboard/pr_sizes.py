"""What the PR payoff page says about descriptions at the same size, and whom review load names.

Pure functions over the frames of `queries.pr_payoff_by_size` and `queries.review_load`, so
the sentence and the privacy rule are tested without Streamlit.
"""

from __future__ import annotations

import polars as pl

GOOD, THIN = "70-100", "0-39"
SURE_PRS = 20  # every compared cell this big (and all bands agreeing): "fairly sure"


def _compared(cells: pl.DataFrame, min_prs: int) -> pl.DataFrame:
    """One row per size band with min_prs good and min_prs thin PRs: both sides' figures."""
    good = cells.filter(pl.col("quality_band") == GOOD).drop("quality_band")
    thin = cells.filter(pl.col("quality_band") == THIN).drop("quality_band")
    both = good.join(thin, on="size_band", suffix="_thin", maintain_order="left")
    return both.filter((pl.col("prs") >= min_prs) & (pl.col("prs_thin") >= min_prs))


def size_sentence(cells: pl.DataFrame, min_prs: int) -> str:
    """Say whether well-described PRs (70-100) go with fewer review rounds and faster pickup
    than thin ones (0-39) of the same size band, and how sure that is.

    A band counts only with `min_prs` PRs on each side; "fewer"/"faster" are strict (a tie is
    neither). Pickup compares the reviewer's working hours, the wall clock where those are
    unknown on either side.
    """
    both = _compared(cells, min_prs)
    if both.is_empty():
        return (f"Too few PRs to compare descriptions at the same size: no size band has {min_prs} "
                f"well-described (quality 70–100) and {min_prs} thin (0–39) PRs.")
    n = len(both)
    pick = both.with_columns(
        good_pick=pl.coalesce(pl.when(pl.col("median_pickup_work_hours_thin").is_not_null())
                              .then(pl.col("median_pickup_work_hours")), pl.col("median_pickup_hours")),
        thin_pick=pl.coalesce(pl.when(pl.col("median_pickup_work_hours").is_not_null())
                              .then(pl.col("median_pickup_work_hours_thin")), pl.col("median_pickup_hours_thin")))
    fewer = int((pick["median_review_rounds"] < pick["median_review_rounds_thin"]).sum())
    faster = int((pick["good_pick"] < pick["thin_pick"]).sum())
    bands = ", ".join(f"{s}: {g} and {t} PRs" for s, g, t in both.select("size_band", "prs", "prs_thin").iter_rows())
    smallest = int(min(both["prs"].min(), both["prs_thin"].min()))  # type: ignore[type-var, arg-type]
    agree = fewer in (0, n) and faster in (0, n)
    if n == 1:
        sure = "a hint, not proof: only one size band has enough PRs"
    elif not agree:
        sure = "not sure: the size bands disagree"
    elif smallest >= SURE_PRS:
        sure = f"fairly sure: every band agrees and each side has {SURE_PRS} PRs or more"
    else:
        sure = f"a hint, not proof: the bands agree but the smallest side has {smallest} PRs"
    what = "band" if n == 1 else "bands"
    return (f"At the same size, well-described PRs (quality 70–100) went with fewer review rounds "
            f"than thin ones (0–39) in {fewer} of {n} size {what}, and with faster pickup in {faster} "
            f"of {n} ({bands}); {sure}.")


def review_load_rows(load: pl.DataFrame, min_group_size: int) -> pl.DataFrame:
    """Return review load person by person for teams of `min_group_size` reviewers or more; a
    smaller team is one row, named with its number of reviewers and its figures withheld (no
    group under min_group_size is shown)."""
    big = load.filter(pl.col("team_reviewers") >= min_group_size)
    small = (load.filter(pl.col("team_reviewers") < min_group_size)
             .group_by("team", maintain_order=True)
             .agg(pl.len().alias("team_reviewers"))
             .with_columns(note=pl.format("fewer than {} reviewers: not shown", pl.lit(min_group_size))))
    cols = ["team", "team_reviewers", "reviewer", "reviews", "first_reviews",
            "median_pickup_hours", "median_pickup_work_hours", "note"]
    return pl.concat([big.with_columns(note=pl.lit(None, pl.String)).select(cols),
                      small.select("team", "team_reviewers", "note")],
                     how="diagonal_relaxed").select(cols)

"""Sample-ratio-mismatch check: do impressions split across cells as planned?"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from ._rates import holm
from ._validate import ALLOCATION, IMPRESSIONS, TEST


def srm_table(cells: pd.DataFrame, alpha: float) -> pd.DataFrame:
    """Chi-square goodness-of-fit of each test's impressions against its planned shares.

    Shares come from the ``planned_share`` column when present, else equal allocation.
    p-values are Holm-adjusted across tests so that a clean programme of many tests raises
    a false alarm with probability at most ``alpha`` in total, not ``alpha`` per test.
    """
    from .._validation import check_fraction

    alpha = check_fraction(alpha, "alpha", example="0.01")
    n = cells[IMPRESSIONS].to_numpy(dtype=float)
    groups = cells.groupby(TEST, sort=False)
    if ALLOCATION in cells:
        share = cells[ALLOCATION].to_numpy(dtype=float)
        planned = "planned"
    else:
        share = 1.0 / groups[IMPRESSIONS].transform("size").to_numpy(dtype=float)
        planned = "equal"
    total = groups[IMPRESSIONS].transform("sum").to_numpy(dtype=float)
    expected = total * share
    contrib = pd.Series((n - expected) ** 2 / expected, index=cells.index)
    per_test = pd.DataFrame({
        "chi2": contrib.groupby(cells[TEST].to_numpy(), sort=False).sum(),
        "n_cells": groups.size(),
        "impressions": groups[IMPRESSIONS].sum(),
    })
    df = (per_test["n_cells"] - 1).to_numpy()
    p = np.where(df > 0, stats.chi2.sf(per_test["chi2"].to_numpy(), np.maximum(df, 1)), 1.0)
    per_test["p_value"] = p
    per_test["p_adjusted"] = holm(p)
    per_test["allocation"] = planned
    per_test["mismatch"] = per_test["p_adjusted"] < alpha
    per_test.index.name = TEST
    return per_test.reset_index()

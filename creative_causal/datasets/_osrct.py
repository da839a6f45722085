"""Observational studies drawn from randomised experiments, whose answer is the experiment's.

Gentzel, Garant and Jensen (2021), "How and why to use experimental data to evaluate methods
for observational causal inference" (ICML): every unit draws a preferred treatment with a
probability that depends on its covariates, and only the units whose randomised treatment
matches it are kept. Selection into treatment in the kept sample then depends on those
covariates alone (it is ignorable given them), so an estimator that adjusts for them should
recover the experiment's effect, and one that does not is biased.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .._validation import check_random_state
from ..exceptions import InvalidParameterError, UnknownNameError


def observational_sample(data: pd.DataFrame, treatment: str, preference: Any, *,
                         random_state: Any = None) -> pd.DataFrame:
    """Turn a randomised experiment into an observational study with known, ignorable selection.

    Each row draws a preferred treatment, 1 with probability ``preference``; the rows whose
    randomised ``treatment`` matches their draw are returned (about half of them). Make
    ``preference`` depend on covariates that also move the outcome, and the kept sample is
    confounded by exactly those covariates, while its average effect is still the one the
    experiment measures (OSRCT, Gentzel, Garant and Jensen 2021).

    Parameters
    ----------
    data : DataFrame
        The experiment, one row per unit. Not modified.
    treatment : str
        The randomised 0/1 column.
    preference : array-like of float
        Per row, the probability of preferring treatment (within [0, 1]).
    random_state : int, Generator or None
        Seeds the draws.

    Returns
    -------
    DataFrame
        The kept rows, with their original index.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> trial = pd.DataFrame({"age": rng.normal(size=4000), "t": rng.integers(0, 2, 4000)})
    >>> kept = observational_sample(trial, "t", 1 / (1 + np.exp(-2 * trial["age"])), random_state=0)
    >>> bool(kept.loc[kept["t"] == 1, "age"].mean() > 0.5 > kept.loc[kept["t"] == 0, "age"].mean() + 1)
    True
    """
    if treatment not in data.columns:
        raise UnknownNameError(f"observational_sample: no column {treatment!r} in the data; its columns are "
                               f"{list(data.columns)}. Pass the randomised 0/1 treatment's name.")
    t = data[treatment]
    bad = ~t.isin([0, 1])
    if bad.any():
        first = data.index[bad.to_numpy()].tolist()[0]  # a plain value: pandas 2 items repr as np.int64(2)
        raise InvalidParameterError(f"observational_sample: treatment {treatment!r} must be 0 or 1 in every row; "
                                    f"rows that are not: {int(bad.sum())} (the first: row {first!r}, "
                                    f"value {t[bad].tolist()[0]!r}). Drop or recode them first.")
    p = np.asarray(preference, dtype=float).ravel()
    if p.shape != (len(data),):
        raise InvalidParameterError(f"observational_sample: preference has {p.size} values for {len(data)} rows; "
                                    f"give one probability per row.")
    outside = ~((p >= 0) & (p <= 1))  # NaN is outside too
    if outside.any():
        first = data.index[outside].tolist()[0]
        raise InvalidParameterError(f"observational_sample: preference must be a probability in [0, 1]; "
                                    f"values that are not: {int(outside.sum())} (the first at row {first!r}: "
                                    f"{p[outside].tolist()[0]!r}).")
    prefers_treatment = check_random_state(random_state).random(len(data)) < p
    return data[(t.to_numpy() == 1) == prefers_treatment].copy()


__all__ = ["observational_sample"]

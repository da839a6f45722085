"""Difference of weighted means of an outcome between treated and untreated units, pooled or
within clusters (tests), with cluster-robust standard errors.

This is the simplest comparison there is, kept to show what confounding does to it: the
pooled version is biased whenever title-level factors drive both the artwork and the take
rate; the within-test version removes title-level confounding but not artwork-level.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from ._inference import demean, wls_cluster


@dataclass(frozen=True)
class Difference:
    """A difference of means with its cluster-robust standard error."""

    value: float
    std_error: float
    n_units: int
    n_clusters: int


def difference_in_means(
    outcome: ArrayLike,
    treatment: ArrayLike,
    *,
    weights: ArrayLike | None = None,
    clusters: ArrayLike | None = None,
    within: bool = False,
) -> Difference:
    """Weighted least-squares slope of ``outcome`` on ``treatment``, optionally after demeaning
    both within clusters (cluster fixed effects), with a CR1 cluster-robust standard error.

    For a binary treatment this is the difference of weighted means (pooled) or the
    precision-weighted average of within-cluster differences (``within=True``). Without
    ``clusters`` each unit is its own cluster (HC1). Clusters in which the treatment does not
    vary contribute nothing to the within estimate and are not counted in ``n_clusters``.

    Examples
    --------
    >>> d = difference_in_means([1.0, 2.0, 3.0, 4.0], [0, 1, 0, 1], clusters=[1, 1, 2, 2], within=True)
    >>> round(d.value, 6), d.n_clusters
    (1.0, 2)
    """
    y = np.asarray(outcome, dtype=float)
    t = np.asarray(treatment, dtype=float)
    w = np.ones_like(y) if weights is None else np.asarray(weights, dtype=float)
    codes = None if clusters is None else np.unique(np.asarray(clusters), return_inverse=True)[1].ravel()
    if within and codes is None:
        raise ValueError("within=True compares units inside clusters: pass clusters=...")
    if within:
        y, t = demean(y, codes, w), demean(t, codes, w)
    else:
        y, t = y - np.average(y, weights=w), t - np.average(t, weights=w)
    if float(np.sum(w * t * t)) <= 0:
        return Difference(float("nan"), float("nan"), int(y.size), 0)
    # clusters where the (demeaned) treatment is zero add nothing to the score: not counted
    informative = codes[np.abs(t) > 1e-12] if codes is not None else None
    fit = wls_cluster(y, t, w, codes)
    n_clusters = int(np.unique(informative).size) if informative is not None else int(y.size)
    return Difference(float(fit.coef[0]), float(np.sqrt(fit.cov[0, 0])), int(y.size), n_clusters)

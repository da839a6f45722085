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
    g = np.arange(y.size) if clusters is None else np.unique(np.asarray(clusters), return_inverse=True)[1].ravel()
    n_groups = int(g.max()) + 1 if g.size else 0
    if within:
        sw = np.bincount(g, weights=w, minlength=n_groups)
        y = y - (np.bincount(g, weights=w * y, minlength=n_groups) / sw)[g]
        t = t - (np.bincount(g, weights=w * t, minlength=n_groups) / sw)[g]
    else:
        y = y - np.average(y, weights=w)
        t = t - np.average(t, weights=w)
    sxx = float(np.sum(w * t * t))
    if sxx <= 0:
        return Difference(float("nan"), float("nan"), int(y.size), 0)
    beta = float(np.sum(w * t * y) / sxx)
    score = np.bincount(g, weights=w * t * (y - beta * t), minlength=n_groups)
    informative = np.bincount(g, weights=np.abs(t) > 1e-12, minlength=n_groups) > 0
    G = int(informative.sum())
    correction = G / (G - 1) if G > 1 else float("nan")
    se = float(np.sqrt(correction * np.sum(score**2)) / sxx)
    return Difference(beta, se, int(y.size), G)

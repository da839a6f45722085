"""Cluster-robust (CR1) inference for weighted least squares, in numpy (no n-by-n objects)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import stats


@dataclass(frozen=True)
class LinearFit:
    """Coefficients of a weighted least-squares fit with their cluster-robust covariance."""

    coef: NDArray[np.float64]
    cov: NDArray[np.float64]
    cov_unclustered: NDArray[np.float64]
    n_units: int
    n_clusters: int
    df_resid: int

    def critical_value(self, level: float) -> float:
        """t quantile with G - 1 degrees of freedom (clustered), normal without clusters."""
        if self.df_resid > 0:
            return float(stats.t.ppf(0.5 + level / 2, self.df_resid))
        return float(stats.norm.ppf(0.5 + level / 2))

    def p_value(self, estimate: float, std_error: float) -> float:
        if not np.isfinite(std_error) or std_error <= 0:
            return float("nan")
        z = abs(estimate) / std_error
        return float(2 * (stats.t.sf(z, self.df_resid) if self.df_resid > 0 else stats.norm.sf(z)))


def wls_cluster(y: NDArray[np.float64], z: NDArray[np.float64], w: NDArray[np.float64] | None,
                clusters: NDArray[np.int64] | None) -> LinearFit:
    """Weighted least squares of y on the columns of z (no intercept added) with CR1 errors.

    The cluster-robust covariance uses the Stata/statsmodels small-sample factor
    ``G / (G - 1) * (N - 1) / (N - K)``; without clusters it is HC1. ``cov_unclustered`` is
    always HC1, for showing what ignoring clustering would claim.
    """
    y = np.asarray(y, dtype=float)
    z = np.asarray(z, dtype=float)
    if z.ndim == 1:
        z = z[:, None]
    n, k = z.shape
    w = np.ones(n) if w is None else np.asarray(w, dtype=float)
    zw = z * w[:, None]
    bread = np.linalg.pinv(zw.T @ z)
    coef = bread @ (zw.T @ y)
    resid = y - z @ coef
    scores = zw * resid[:, None]
    hc1 = bread @ (scores.T @ scores) @ bread * n / max(n - k, 1)
    if clusters is None:
        return LinearFit(coef, hc1, hc1, n, n, 0)
    codes = np.unique(np.asarray(clusters), return_inverse=True)[1].ravel()
    g = int(codes.max()) + 1
    summed = np.zeros((g, k))
    np.add.at(summed, codes, scores)
    informative = np.any(np.abs(summed) > 0, axis=1) | np.bincount(codes, minlength=g).astype(bool)
    g_eff = int(informative.sum())
    factor = g_eff / max(g_eff - 1, 1) * (n - 1) / max(n - k, 1)
    cov = bread @ (summed.T @ summed) @ bread * factor
    return LinearFit(coef, cov, hc1, n, g_eff, max(g_eff - 1, 1))


def demean(values: NDArray[np.float64], codes: NDArray[np.int64], weights: NDArray[np.float64]) -> NDArray[np.float64]:
    """Subtract the weighted mean of each group (rows of a 1-D or 2-D array)."""
    values = np.asarray(values, dtype=float)
    g = int(codes.max()) + 1 if codes.size else 0
    sw = np.bincount(codes, weights=weights, minlength=g)
    if values.ndim == 1:
        return values - (np.bincount(codes, weights=weights * values, minlength=g) / sw)[codes]
    sums = np.zeros((g, values.shape[1]))
    np.add.at(sums, codes, values * weights[:, None])
    return values - (sums / sw[:, None])[codes]


def group_means(values: NDArray[np.float64], codes: NDArray[np.int64], weights: NDArray[np.float64]) -> NDArray[np.float64]:
    """The weighted group mean of each row's group (same shape as ``values``)."""
    return np.asarray(values, dtype=float) - demean(values, codes, weights)

"""Cluster-robust (CR1) inference for weighted least squares, in numpy (no n-by-n objects),
demeaning within groups, and the one cluster bootstrap every resampling check uses."""

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
                clusters: NDArray[np.int64] | None, *, denominator: NDArray[np.float64] | None = None) -> LinearFit:
    """Weighted least squares of y on the columns of z (no intercept added) with CR1 errors.

    The cluster-robust covariance uses the Stata/statsmodels small-sample factor
    ``G / (G - 1) * (N - 1) / (N - K)``; without clusters it is HC1. ``cov_unclustered`` is
    always HC1, for showing what ignoring clustering would claim.

    With ``denominator`` (``d``) it solves the linear score ``sum_i w_i z_i (y_i - d_i z_i'b) = 0``
    instead, with the same sandwich: every estimate of the package has this form. A
    doubly robust score is ``y`` = its numerator and ``d`` its denominator (1 for the ATE);
    the partially linear final stage is ``y = t_res * y_res`` and ``d = t_res ** 2`` with ``z``
    the effect's design (``[1]``, or segment columns).

    Examples
    --------
    >>> y, t = np.array([1.0, 2.0, 4.0, 3.0]), np.array([1.0, -1.0, 2.0, 1.0])
    >>> a = wls_cluster(y, t, None, None).coef
    >>> b = wls_cluster(t * y, np.ones(4), None, None, denominator=t**2).coef
    >>> bool(np.allclose(a, b))
    True
    """
    y = np.asarray(y, dtype=float)
    z = np.asarray(z, dtype=float)
    if z.ndim == 1:
        z = z[:, None]
    n, k = z.shape
    w = np.ones(n) if w is None else np.asarray(w, dtype=float)
    d = np.ones(n) if denominator is None else np.asarray(denominator, dtype=float)
    zw = z * w[:, None]
    bread = np.linalg.pinv((zw * d[:, None]).T @ z)
    coef = bread @ (zw.T @ y)
    resid = y - d * (z @ coef)
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


def residualize(values: NDArray[np.float64], adjustment: NDArray[np.float64],
                weights: NDArray[np.float64]) -> NDArray[np.float64]:
    """Weighted least-squares residual of ``values`` (1-D, or 2-D columns) on ``adjustment``.

    Examples
    --------
    >>> x = np.column_stack([np.ones(4), [0.0, 1.0, 2.0, 3.0]])
    >>> residualize(np.array([1.0, 3.0, 5.0, 7.0]), x, np.ones(4)).round(12).tolist()
    [0.0, 0.0, 0.0, 0.0]
    """
    values = np.asarray(values, dtype=float)
    if adjustment.shape[1] == 0:
        return values.copy()
    sw = np.sqrt(weights)
    scaled = values * (sw[:, None] if values.ndim == 2 else sw)
    beta = np.linalg.lstsq(adjustment * sw[:, None], scaled, rcond=None)[0]
    return values - adjustment @ beta


@dataclass(frozen=True)
class ClusterSums:
    """Per-cluster sums of the normal equations of a weighted least-squares problem.

    A resample of whole clusters (a cluster bootstrap, a subset of tests) is then solved
    from ``G`` small matrices instead of the ``n`` rows: for resample weights ``c`` (how often
    each cluster is drawn) the coefficients solve ``(sum_g c_g Z_g'WZ_g) b = sum_g c_g Z_g'Wy_g``,
    for thousands of resamples in a few matrix products. Every resampling check of the
    package (the refutation bootstrap and subsets, the mediation intervals) goes through here.

    Attributes
    ----------
    zz : ndarray, shape (G, k, k)
    zy : ndarray, shape (G, k)

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> z = np.column_stack([np.ones(40), rng.normal(size=40)])
    >>> y = z @ [1.0, 2.0] + rng.normal(size=40)
    >>> sums = ClusterSums.from_rows(z, y, np.ones(40), np.repeat(np.arange(10), 4))
    >>> all_once = np.ones((1, 10))
    >>> np.allclose(sums.solve(all_once)[0], wls_cluster(y, z, None, None).coef)
    True
    """

    zz: NDArray[np.float64]
    zy: NDArray[np.float64]

    @classmethod
    def from_rows(cls, z: NDArray[np.float64], y: NDArray[np.float64], w: NDArray[np.float64] | None,
                  groups: NDArray[np.int64] | None, *, denominator: NDArray[np.float64] | None = None) -> ClusterSums:
        """Sums over the rows of each cluster (``groups`` coded 0..G-1; None: every row its own);
        ``denominator`` as in :func:`wls_cluster` (a score's ``d``)."""
        z = np.asarray(z, dtype=float)
        z = z[:, None] if z.ndim == 1 else z
        n, k = z.shape
        w = np.ones(n) if w is None else np.asarray(w, dtype=float)
        wd = w if denominator is None else w * np.asarray(denominator, dtype=float)
        groups = np.arange(n) if groups is None else np.asarray(groups)
        g = int(groups.max()) + 1 if n else 0
        zz = np.zeros((g, k * k))
        zy = np.zeros((g, k))
        np.add.at(zz, groups, (wd[:, None, None] * z[:, :, None] * z[:, None, :]).reshape(n, k * k))
        np.add.at(zy, groups, w[:, None] * z * np.asarray(y, dtype=float)[:, None])
        return cls(zz.reshape(g, k, k), zy)

    @property
    def n_clusters(self) -> int:
        return int(self.zz.shape[0])

    def solve(self, counts: NDArray[np.float64], columns: list[int] | None = None) -> NDArray[np.float64]:
        """Coefficients for every row of ``counts`` (S, G), on all regressors or on ``columns``
        only (the regression on that subset of them). Rows whose system is singular are NaN."""
        idx = np.arange(self.zz.shape[1]) if columns is None else np.asarray(columns)
        k = idx.size
        zz = self.zz[:, idx][:, :, idx].reshape(self.n_clusters, k * k)
        a = (counts @ zz).reshape(len(counts), k, k)
        b = counts @ self.zy[:, idx]
        with np.errstate(divide="ignore", invalid="ignore"):
            if k == 1:
                return b / a[:, :, 0]
            coef = np.full(b.shape, np.nan)
            ok = np.abs(np.linalg.det(a)) > 1e-300
            coef[ok] = np.linalg.solve(a[ok], b[ok][..., None])[..., 0]
        return coef


def bootstrap_counts(n_clusters: int, n_resamples: int, rng: np.random.Generator) -> NDArray[np.float64]:
    """How often each cluster is drawn in each of ``n_resamples`` bootstrap resamples (S, G):
    ``n_clusters`` whole clusters drawn with replacement."""
    return rng.multinomial(n_clusters, np.full(n_clusters, 1.0 / n_clusters), size=n_resamples).astype(float)


def subset_counts(n_clusters: int, n_resamples: int, fraction: float, rng: np.random.Generator) -> NDArray[np.float64]:
    """0/1 indicators (S, G) of random subsets holding ``fraction`` of the clusters (at least 2)."""
    keep = max(2, int(round(fraction * n_clusters)))
    counts = np.zeros((n_resamples, n_clusters))
    picks = np.argsort(rng.random((n_resamples, n_clusters)), axis=1)[:, :keep]
    np.put_along_axis(counts, picks, 1.0, axis=1)
    return counts

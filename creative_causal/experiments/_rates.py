"""Take-rate statistics: Wilson intervals, title-adjusted outcomes, lifts and Holm correction.

All functions are vectorised over numpy arrays and have no pandas dependency, so they are
cheap to call on millions of cells.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

#: Continuity correction added to plays (and twice to impressions) before taking logs, so a
#: cell with zero plays still has a finite log take rate: log((plays + 0.5) / (impressions + 1)).
#: It is the Haldane-Anscombe correction; its bias is O(1 / plays^2), negligible above ~20 plays.
CONTINUITY = 0.5


def _z(level: float) -> float:
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be between 0 and 1 (for example 0.95), got {level!r}.")
    return float(stats.norm.ppf(0.5 + level / 2.0))


def wilson_interval(
    successes: ArrayLike, trials: ArrayLike, level: float = 0.95
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Wilson score interval for a binomial proportion.

    Parameters
    ----------
    successes, trials : array_like
        Plays and impressions (``trials > 0``).
    level : float, default=0.95
        Coverage of the interval.

    Returns
    -------
    low, high : ndarray
        Interval bounds, within [0, 1].

    Examples
    --------
    >>> low, high = wilson_interval([40], [1000])
    >>> round(float(low[0]), 4), round(float(high[0]), 4)
    (0.0295, 0.054)
    """
    x = np.asarray(successes, dtype=float)
    n = np.asarray(trials, dtype=float)
    z = _z(level)
    p = x / n
    denom = 1.0 + z**2 / n
    centre = (p + z**2 / (2 * n)) / denom
    half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denom
    return np.atleast_1d(np.clip(centre - half, 0.0, 1.0)), np.atleast_1d(np.clip(centre + half, 0.0, 1.0))


def log_take_rate(plays: ArrayLike, impressions: ArrayLike) -> NDArray[np.float64]:
    """Log take rate with the continuity correction: ``log((plays + 0.5) / (impressions + 1))``.

    Examples
    --------
    >>> float(log_take_rate(0, 99).round(3)[()])
    -5.298
    """
    x = np.asarray(plays, dtype=float)
    n = np.asarray(impressions, dtype=float)
    return np.log((x + CONTINUITY) / (n + 2 * CONTINUITY))


def log_rate_ratio(
    plays_a: ArrayLike, impressions_a: ArrayLike, plays_b: ArrayLike, impressions_b: ArrayLike, level: float = 0.95
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Log of the take-rate ratio a / b with its delta-method standard error and interval.

    Uses the continuity-corrected counts, so zero plays give a finite (wide) interval.

    Returns
    -------
    log_ratio, std_error, low, high : ndarray
        On the log scale; ``np.expm1`` turns them into relative lifts.
    """
    xa = np.asarray(plays_a, dtype=float) + CONTINUITY
    na = np.asarray(impressions_a, dtype=float) + 2 * CONTINUITY
    xb = np.asarray(plays_b, dtype=float) + CONTINUITY
    nb = np.asarray(impressions_b, dtype=float) + 2 * CONTINUITY
    log_ratio = np.log(xa / na) - np.log(xb / nb)
    se = np.sqrt(1 / xa - 1 / na + 1 / xb - 1 / nb)
    z = _z(level)
    return log_ratio, se, log_ratio - z * se, log_ratio + z * se


def two_proportion_test(
    plays_a: ArrayLike, impressions_a: ArrayLike, plays_b: ArrayLike, impressions_b: ArrayLike
) -> NDArray[np.float64]:
    """Two-sided p-value of the pooled two-proportion z-test of equal take rates.

    Examples
    --------
    >>> float(two_proportion_test(50, 1000, 50, 1000)[()])
    1.0
    """
    xa = np.asarray(plays_a, dtype=float)
    na = np.asarray(impressions_a, dtype=float)
    xb = np.asarray(plays_b, dtype=float)
    nb = np.asarray(impressions_b, dtype=float)
    pooled = (xa + xb) / (na + nb)
    se = np.sqrt(pooled * (1 - pooled) * (1 / na + 1 / nb))
    diff = xa / na - xb / nb
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(se > 0, diff / np.where(se > 0, se, 1.0), 0.0)
    return 2 * stats.norm.sf(np.abs(z))


def holm(p_values: ArrayLike) -> NDArray[np.float64]:
    """Holm step-down adjusted p-values (family-wise error control).

    Examples
    --------
    >>> holm([0.01, 0.04, 0.03]).round(2).tolist()
    [0.03, 0.06, 0.06]
    """
    p = np.asarray(p_values, dtype=float)
    m = p.size
    if m == 0:
        return p.copy()
    order = np.argsort(p, kind="stable")
    adjusted_sorted = np.maximum.accumulate((m - np.arange(m)) * p[order])
    adjusted = np.empty(m)
    adjusted[order] = np.minimum(adjusted_sorted, 1.0)
    return adjusted

"""Difference of weighted means of an outcome between treated and untreated units, pooled or
within clusters (tests), with cluster-robust standard errors.

This is the simplest comparison there is, kept to show what confounding does to it: the
pooled version is biased whenever title-level factors drive both the artwork and the take
rate; the within-test version removes title-level confounding but not artwork-level.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from .._display import ResultMixin, json_safe
from .._validation import check_level
from ..exceptions import InvalidParameterError
from ..plotting import interval_plot
from ._inference import demean, wls_cluster

if TYPE_CHECKING:
    import matplotlib.axes


@dataclass(frozen=True)
class Difference(ResultMixin):
    """A difference of means with its cluster-robust standard error and interval at ``level``."""

    value: float
    std_error: float
    ci_low: float
    ci_high: float
    level: float
    n_units: int
    n_clusters: int

    def to_frame(self) -> pd.DataFrame:
        """One row with every field."""
        return pd.DataFrame([self.to_dict()])

    def to_dict(self) -> dict[str, Any]:
        return json_safe({k: getattr(self, k) for k in ("value", "std_error", "ci_low", "ci_high", "level", "n_units",
                                                        "n_clusters")})

    def summary(self) -> str:
        return (f"Difference of means {self.value:+.4g} ({self.level:.0%} CI {self.ci_low:+.4g} to {self.ci_high:+.4g}), "
                f"SE {self.std_error:.4g}; {self.n_units} units in {self.n_clusters} informative clusters")

    def plot(self, ax: matplotlib.axes.Axes | None = None) -> matplotlib.axes.Axes:
        """The difference and its interval."""
        return interval_plot(["difference"], [self.value], [self.ci_low], [self.ci_high], ax, level=self.level,
                             xlabel="difference of means")


def difference_in_means(
    outcome: ArrayLike,
    treatment: ArrayLike,
    *,
    weights: ArrayLike | None = None,
    clusters: ArrayLike | None = None,
    within: bool = False,
    level: float = 0.95,
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
    level = check_level(level)
    y = np.asarray(outcome, dtype=float)
    t = np.asarray(treatment, dtype=float)
    w = np.ones_like(y) if weights is None else np.asarray(weights, dtype=float)
    codes = None if clusters is None else np.unique(np.asarray(clusters), return_inverse=True)[1].ravel()
    if within and codes is None:
        raise InvalidParameterError("within=True compares units inside clusters: pass clusters=...")
    if within:
        y, t = demean(y, codes, w), demean(t, codes, w)
    else:
        y, t = y - np.average(y, weights=w), t - np.average(t, weights=w)
    if float(np.sum(w * t * t)) <= 0:
        nan = float("nan")
        return Difference(nan, nan, nan, nan, level, int(y.size), 0)
    # clusters where the (demeaned) treatment is zero add nothing to the score: not counted
    informative = codes[np.abs(t) > 1e-12] if codes is not None else None
    fit = wls_cluster(y, t, w, codes)
    n_clusters = int(np.unique(informative).size) if informative is not None else int(y.size)
    value, se = float(fit.coef[0]), float(np.sqrt(fit.cov[0, 0]))
    crit = fit.critical_value(level)
    return Difference(value, se, value - crit * se, value + crit * se, level, int(y.size), n_clusters)

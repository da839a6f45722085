"""Causal priors: a new artwork starts from the take rate its features predict, not from nothing.

The study's effects arrive as a plain table (feature, effect, std_error and, when present,
``discovery``), never as estimator objects, so this module reads data only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from .._validation import check_between, check_positive
from ..exceptions import InvalidParameterError

_REQUIRED = ("feature", "effect", "std_error")


def _effects_table(effects: Any) -> pd.DataFrame:
    table = getattr(effects, "table", effects)  # an InsightTable, or its table
    if not isinstance(table, pd.DataFrame):
        raise InvalidParameterError("effects must be the insight table (InsightTable or its .table DataFrame, or a "
                                    "saved insights.csv read with pandas) with columns feature, effect, std_error.")
    missing = [c for c in _REQUIRED if c not in table]
    if missing:
        raise InvalidParameterError(f"the effects table lacks the column(s) {missing}; it needs {list(_REQUIRED)} "
                                    "(and 'discovery' to keep the reliable effects only).")
    return table


def prior_from_study(effects: Any, artworks: pd.DataFrame, *, baseline_rate: float | pd.Series | np.ndarray,
                     strength: float = 1.0, features: Sequence[str] | None = None, residual_sd: float = 0.10,
                     max_weight: float = 100_000.0, group: str | None = "test_id") -> pd.DataFrame:
    """A Beta prior for each new artwork, centred on the take rate its features predict.

    The predicted log take-rate ratio of an artwork is ``sum_f effect_f (x_f - mean_f)``: each
    reliable effect (``discovery`` true, when the table has that column) times how far the
    artwork's feature lies from the mean of the artworks it competes with (its ``group``, the
    test). The predicted take rate is ``baseline_rate * exp(ratio)``. The prior's weight comes
    from how sure that prediction is: the effects' standard errors (taken as independent) and
    ``residual_sd``, the spread of log take rates between artworks that the features do not
    explain; a delta-method Beta with that variance, times ``strength``, at most
    ``max_weight`` pseudo-impressions.

    Parameters
    ----------
    effects : InsightTable or DataFrame
        The study's effects table: ``feature``, ``effect`` (on the log take-rate ratio, per
        unit or 0 -> 1), ``std_error``, optional ``discovery``.
    artworks : DataFrame
        One row per new artwork: ``artwork_id`` (column or index), the features, and
        ``group`` (default ``test_id``) when several tests' artworks are given together.
    baseline_rate : float, Series or array
        The title's expected take rate (from its history): one number, one per row, or a
        Series indexed by ``group``.
    strength : float
        Multiplies the prior's weight: 1 trusts the study as measured, 0.1 lets ten times
        fewer impressions overrule it.
    features : list of str, optional
        The effects to use (default: every reliable effect whose feature is in ``artworks``).
        Use a set without mediated pairs (not both ``has_face`` and ``face_area``): total
        effects of a feature and its mediator add up to more than the truth.
    residual_sd : float
        Unexplained artwork-to-artwork spread of the log take rate.
    max_weight : float
        Cap on the prior's pseudo-impressions (the floor is 2, a flat prior's weight).
    group : str or None
        Column of ``artworks`` that holds the competing set; None centres on all rows.

    Returns
    -------
    DataFrame
        ``artwork_id``, ``predicted_log_ratio``, ``log_ratio_se``, ``predicted_rate``,
        ``prior_weight``, ``prior_plays``, ``prior_misses`` and the group column; feed the last
        two to :meth:`Policy.start` or to :func:`simulate_allocation`'s ``priors``.

    Examples
    --------
    >>> effects = pd.DataFrame({"feature": ["has_face"], "effect": [0.12], "std_error": [0.01], "discovery": [True]})
    >>> art = pd.DataFrame({"artwork_id": ["a", "b"], "has_face": [1, 0]})
    >>> prior = prior_from_study(effects, art, baseline_rate=0.05, group=None)
    >>> prior["predicted_rate"].round(4).tolist()
    [0.0531, 0.0471]
    """
    table = _effects_table(effects)
    strength = check_between(strength, "strength", 0.0, 1e6, "a weight")
    residual_sd = check_between(residual_sd, "residual_sd", 0.0, 10.0, "a standard deviation")
    max_weight = check_positive(max_weight, "max_weight")
    if not isinstance(artworks, pd.DataFrame) or artworks.empty:
        raise InvalidParameterError("artworks must be a non-empty DataFrame: one row per new artwork with its features.")
    frame = artworks.reset_index() if "artwork_id" not in artworks else artworks.reset_index(drop=True)
    if "artwork_id" not in frame:
        raise InvalidParameterError("artworks needs an artwork_id column (or index) to name each prior.")
    usable = table[table["discovery"].fillna(False).astype(bool)] if "discovery" in table else table
    if features is not None:
        unknown = sorted(set(features) - set(table["feature"]))
        if unknown:
            raise InvalidParameterError(f"features {unknown} are not in the effects table; it has "
                                        f"{sorted(table['feature'])}.")
        usable = table[table["feature"].isin(features)]
    absent = sorted(set(usable["feature"]) - set(frame.columns))
    if features is not None and absent:
        raise InvalidParameterError(f"artworks lacks the feature column(s) {absent} that the prior should use.")
    usable = usable[usable["feature"].isin(frame.columns)]
    values = frame[list(usable["feature"])].apply(pd.to_numeric, errors="coerce").astype(float)
    if values.isna().any().any():
        bad = values.columns[values.isna().any()].tolist()
        raise InvalidParameterError(f"artworks has missing or non-numeric values in {bad}; fill them before asking "
                                    "for priors (the prior of an artwork with an unknown feature would be a guess).")
    keys = frame[group] if group is not None and group in frame else pd.Series(0, index=frame.index)
    centred = values - values.groupby(keys.to_numpy()).transform("mean")
    effect = usable["effect"].to_numpy(float)
    se = usable["std_error"].to_numpy(float)
    log_ratio = centred.to_numpy() @ effect
    log_ratio_se = np.sqrt((centred.to_numpy() ** 2) @ se**2 + residual_sd**2)
    base = _baseline(baseline_rate, frame, keys)
    rate = np.clip(base * np.exp(log_ratio), 1e-6, 1 - 1e-6)
    # delta method: var(rate) = rate^2 var(log rate); a Beta with that mean and variance has
    # a + b = rate (1 - rate) / var - 1 pseudo-impressions
    # at least the two pseudo-impressions of a flat Beta(1, 1), so a zero strength is flat, never degenerate
    weight = np.clip(strength * ((1 - rate) / (rate * log_ratio_se**2) - 1), 2.0, max(max_weight, 2.0))
    out = pd.DataFrame({"artwork_id": frame["artwork_id"].astype(str), "predicted_log_ratio": log_ratio,
                        "log_ratio_se": log_ratio_se, "predicted_rate": rate, "prior_weight": weight,
                        "prior_plays": rate * weight, "prior_misses": (1 - rate) * weight})
    if group is not None and group in frame:
        out.insert(1, group, frame[group].to_numpy())
    out.attrs["features"] = list(usable["feature"])
    return out


def _baseline(baseline_rate: Any, frame: pd.DataFrame, keys: pd.Series) -> np.ndarray:
    if isinstance(baseline_rate, pd.Series):
        base = keys.map(baseline_rate).to_numpy(float)
        if np.isnan(base).any():
            missing = sorted(set(keys[np.isnan(base)].astype(str)))[:5]
            raise InvalidParameterError(f"baseline_rate has no value for {missing}; give one per group.")
    else:
        base = np.broadcast_to(np.asarray(baseline_rate, float), (len(frame),)).copy()
    if np.any((base <= 0) | (base >= 1)) or not np.all(np.isfinite(base)):
        raise InvalidParameterError("baseline_rate must be a take rate between 0 and 1 (exclusive), for example 0.05.")
    return base


__all__ = ["prior_from_study"]

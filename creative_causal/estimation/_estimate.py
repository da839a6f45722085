"""estimate_effect: one treatment's causal effect on the outcome."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any, Literal

import numpy as np
import pandas as pd

from .._validation import check_choice, check_column, check_int, check_level, draw_seed
from ..experiments import LOG_OUTCOMES, as_study_data
from ._dml import fit_dml
from ._inference import LinearFit, residualize, wls_cluster
from ._prepare import AUTO, DESIGNS, Prepared, prepare, resolve_confounders, units_text
from ._result import EffectEstimate, FittedStage, nuisance_design, pct

Method = Literal["dml", "ols", "naive"]
METHODS = ("dml", "ols", "naive")


def estimate_effect(
    data: Any,
    treatment: str,
    *,
    outcome: str | None = None,
    graph: Any = None,
    confounders: Sequence[str] | None = None,
    method: Method = "dml",
    design: Literal["within_test", "pooled"] = "within_test",
    cluster: str | None = AUTO,
    weights: str | None = AUTO,
    by: Sequence[str] | str | None = None,
    model_y: Any = None,
    model_t: Any = None,
    cv: int = 5,
    level: float = 0.95,
    random_state: Any = None,
) -> EffectEstimate:
    """Estimate the average causal effect of one artwork feature on take rate.

    Parameters
    ----------
    data : StudyData or DataFrame
        From :meth:`ABResults.join`, or plain tabular data (then pass ``outcome``; tests,
        clusters and weights are optional).
    treatment : str
        The feature whose effect is estimated (binary or continuous).
    outcome : str, optional
        Default: the StudyData's outcome (``log_take_rate_ratio``); with
        ``design="pooled"`` on A/B data, the cell's own ``log_take_rate``.
    graph : CausalGraph, optional
        Confounders are its back-door adjustment set. Default: :func:`creative_graph`.
    confounders : list of str, optional
        Adjust for exactly these instead (checked against ``graph`` when both are given:
        a descendant of the treatment raises :class:`IdentificationError`).
    method : {"dml", "ols", "naive"}, default="dml"
        Double ML (econml LinearDML, cross-fitted nuisance models); weighted least squares
        with the same design and linear confounders; or the plain difference of means
        (no adjustment, kept to show bias).
    design : {"within_test", "pooled"}, default="within_test"
        ``within_test`` compares artworks of the same test: outcome, treatment and
        confounders are demeaned within each test (test means stay in the nuisance models as
        Mundlak terms), so every title-level confounder drops out. Tests where the treatment
        does not vary carry no information and are counted in ``notes``. ``pooled`` uses the
        confounders (including title covariates) instead, for data without tests.
    cluster, weights : str or None, default "auto"
        Cluster (test) and precision-weight (impressions) columns; "auto" takes them from
        the StudyData, None turns them off.
    by : list of str, "auto" or None, default None
        Segment columns along which the effect may vary in the final stage ("auto": the
        StudyData's segments, e.g. genre and country), as in :func:`estimate_cate`. The
        reported effect is then the average over cells of the segment effects (segment
        levels with fewer than 20 informative tests join the reference level). By default
        (None) the final stage has one slope: the standard partially linear estimand, which
        weights segments by their treatment variance. Measured: the single slope covers
        better (see docs/estimation.md); per-segment effects are :func:`estimate_cate`'s job.
    model_y, model_t : scikit-learn estimators, optional
        Nuisance models (default: :func:`default_model`, histogram gradient boosting; a
        classifier for ``model_t`` with a binary treatment in the pooled design).
    cv : int, default=5
        Cross-fitting folds; every test stays in one fold.
    level : float, default=0.95
        Interval level.
    random_state : int, Generator or None
        Seeds the folds and the default nuisance models.

    Returns
    -------
    EffectEstimate

    Notes
    -----
    Standard errors are clustered by test (CR1, t with G - 1 degrees of freedom), computed
    from the final-stage regression of outcome residuals on treatment residuals: econml's
    ``groups=`` only keeps a test inside one fold and does not cluster its errors.

    Examples
    --------
    >>> from creative_causal.datasets import simulate_program
    >>> p = simulate_program(120, random_state=3)
    >>> est = estimate_effect(p.study_data(), "has_face", random_state=0)
    >>> est.ci_low < p.truth.effect("has_face") < est.ci_high
    True
    """
    check_choice(method, "method", METHODS)
    check_choice(design, "design", DESIGNS)
    level = check_level(level)
    cv = check_int(cv, "cv", minimum=2)
    study = as_study_data(data, outcome)
    if outcome is None:
        outcome = "log_take_rate" if design == "pooled" and "log_take_rate" in study.frame else study.outcome
    cluster = study.cluster if cluster == AUTO else cluster
    weights = study.weight if weights == AUTO else weights
    segments = list(study.segments) if by == AUTO else ([by] if isinstance(by, str) else list(by or []))
    for column in segments:
        check_column(study.frame, column, "segment column (by=)")
    found, _ = resolve_confounders(study, treatment, outcome, graph, confounders)
    prep = prepare(study, treatment, outcome, found, design, cluster, weights)
    # One integer seed, kept in the spec so a refit (refute(..., refit=True)) draws the same folds.
    random_state = draw_seed(random_state)
    spec = dict(method=method, design=design, confounders=tuple(found), cluster=cluster, weights=weights,
                outcome=outcome, by=by, model_y=model_y, model_t=model_t, cv=cv, level=level,
                random_state=random_state, test_column=study.cluster)
    if method == "dml":
        mod = segment_design(prep, segments)
        fit = fit_dml(prep, model_y=model_y, model_t=model_t, cv=cv, random_state=random_state, modifiers=mod)
        average = fit.design.mean(axis=0)
        value = float(average @ fit.final.coef)
        se = float(np.sqrt(average @ fit.final.cov @ average))
        se_naive = float(np.sqrt(average @ fit.final.cov_unclustered @ average))
        label = "double ML (econml LinearDML" + (f", effect varying by {', '.join(segments)}" if mod is not None else "") + ")"
        stage = _stage(prep, fit.y_res, fit.t_res, fit.design, tuple(fit.folds), True, spec)
        return _result(prep, value, se, se_naive, fit.final, level, label, stage)
    if method == "ols":
        fit, value, se, se_naive = _ols(prep)
        adjustment = nuisance_design(prep.design, prep.features, prep.n_within)
        y_res, t_res = residualize(prep.y, adjustment, prep.weights), residualize(prep.t, adjustment, prep.weights)
        stage = _stage(prep, y_res, t_res, np.ones((prep.n_cells, 1)), (), False, spec)
        return _result(prep, value, se, se_naive, fit, level, "weighted least squares" +
                       (" with test fixed effects" if design == "within_test" else ""), stage)
    # prep.y and prep.t are already demeaned within tests for the within design
    y_res = prep.y - np.average(prep.y, weights=prep.weights)
    t_res = prep.t - np.average(prep.t, weights=prep.weights)
    fit = wls_cluster(y_res, t_res[:, None], prep.weights, prep.codes)
    naive = replace(prep, confounders=(), features=np.zeros((prep.n_cells, 0)), feature_names=[], n_within=0)
    stage = _stage(naive, y_res, t_res, np.ones((prep.n_cells, 1)), (), False, {**spec, "confounders": ()})
    return _result(naive, float(fit.coef[0]), float(np.sqrt(fit.cov[0, 0])),
                   float(np.sqrt(fit.cov_unclustered[0, 0])), fit, level,
                   "difference of means" + (" within tests" if design == "within_test" else ""), stage)


def _stage(prep: Prepared, y_res: np.ndarray, t_res: np.ndarray, design: np.ndarray,
           folds: tuple[tuple[np.ndarray, np.ndarray], ...], crossfit: bool, spec: dict[str, Any]) -> FittedStage:
    test_column = spec.get("test_column")
    tests = pd.factorize(prep.frame[test_column])[0] if test_column and test_column in prep.frame else prep.codes
    return FittedStage(rows=prep.frame.index.to_numpy(), y=prep.y, t=prep.t, y_res=np.asarray(y_res, dtype=float),
                       t_res=np.asarray(t_res, dtype=float), features=prep.features,
                       feature_names=tuple(prep.feature_names), n_within=prep.n_within, weights=prep.weights,
                       codes=prep.codes, tests=tests, folds=folds, final_design=design, crossfit=crossfit, spec=spec)


def segment_design(prep: Prepared, segments: Sequence[str], min_tests: int = 20) -> np.ndarray | None:
    """Drop-first dummies of segment levels with enough informative tests (rare levels join
    the reference level), or None when there is nothing to vary by."""
    columns = []
    for s in segments:
        col = prep.frame[s].astype(str)
        if prep.codes is not None:
            informative = pd.Series(prep.codes).groupby(col.to_numpy()).nunique()
        else:
            informative = col.value_counts()
        keep = sorted(informative.index[informative.to_numpy() >= min_tests])
        for level in keep[1:]:
            columns.append((col == level).to_numpy(dtype=float))
    return np.column_stack(columns) if columns else None


def _ols(prep: Prepared) -> tuple[LinearFit, float, float, float]:
    # Within design: y, t and the leading confounder columns are already demeaned within
    # tests, so this is the fixed-effects regression (title covariates and test means are
    # absorbed). Pooled: an intercept and every confounder.
    fit = wls_cluster(prep.y, np.column_stack([prep.t, nuisance_design(prep.design, prep.features, prep.n_within)]),
                      prep.weights, prep.codes)
    return fit, float(fit.coef[0]), float(np.sqrt(fit.cov[0, 0])), float(np.sqrt(fit.cov_unclustered[0, 0]))


def _result(prep: Prepared, value: float, se: float, se_naive: float, fit: LinearFit, level: float,
            method: str, stage: FittedStage | None = None) -> EffectEstimate:
    crit = fit.critical_value(level)
    low, high = value - crit * se, value + crit * se
    units, scale = units_text(prep.outcome, prep.treatment, prep.binary)
    logged = prep.outcome in LOG_OUTCOMES
    nan = float("nan")
    return EffectEstimate(
        treatment=prep.treatment, outcome=prep.outcome, value=value, std_error=se, ci_low=low, ci_high=high,
        level=level, p_value=fit.p_value(value, se), pct_change=pct(value) if logged else nan,
        pct_ci_low=pct(low) if logged else nan, pct_ci_high=pct(high) if logged else nan,
        std_error_unclustered=se_naive, n_cells=prep.n_cells, n_tests=prep.n_tests,
        n_informative_tests=prep.n_informative_tests, method=method, design=prep.design,
        adjustment_set=tuple(prep.confounders), units=units, scale=scale, population=prep.population,
        notes=tuple(prep.notes), fitted=stage,
    )

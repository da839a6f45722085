"""estimate_effect: one treatment's causal effect on the outcome."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any, Literal

import numpy as np
import pandas as pd

from .._config import native_threads_capped
from .._validation import check_choice, check_column, check_int, check_level, draw_seed
from ..exceptions import InvalidParameterError
from ..experiments import LOG_OUTCOMES, as_study_data
from ._aipw import DR_ESTIMANDS, DRScores, fit_aipw
from ._diagnostics import NuisanceDiagnostics
from ._dml import fit_dml
from ._inference import LinearFit, residualize, wls_cluster
from ._prepare import AUTO, DESIGNS, Prepared, is_binary, prepare, resolve_confounders, units_text
from ._result import EffectEstimate, FittedStage, nuisance_design, pct

Method = Literal["dml", "ols", "naive"]
METHODS = ("dml", "ols", "naive")
Estimand = Literal["ate", "att", "ato", "plr"]
ESTIMANDS = ("ate", "att", "ato", "plr")


@native_threads_capped
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
    estimand: Estimand | None = None,
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
        Double ML (cross-fitted nuisance models chosen by out-of-fold loss, see
        ``estimand``); weighted least squares with the same design and linear confounders;
        or the plain difference of means (no adjustment, kept to show bias).
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
        (None) the final stage has one slope. Only for ``estimand="plr"``: the doubly robust
        estimands already average over all artwork; per-segment effects are
        :func:`estimate_cate`'s job.
    estimand : {"ate", "att", "ato", "plr"}, optional
        What the effect averages. ``"ate"``: the average effect of switching the component
        on, over all artwork (the default for a 0/1 treatment with double ML); ``"att"``:
        over the artwork that has it; ``"ato"``: overlap-weighted, for poor overlap (artwork
        that could have gone either way counts most); all three by the doubly robust (AIPW)
        score. ``"plr"``: the partially linear coefficient, a weighted average of the effect
        that leans on artwork whose treatment is least predictable from the confounders (the
        only estimand of a continuous treatment, and of ``method="ols"``). The naive method
        estimates the unadjusted ``"difference"``.
    model_y, model_t : scikit-learn estimators, optional
        Nuisance models, used as given (fitted per arm for ``model_y`` with a doubly robust
        estimand; a classifier for ``model_t`` models a propensity). Default: chosen per
        data set by out-of-fold loss from a constant, a regularised linear model, histogram
        gradient boosting and (up to 5 000 cells) a random forest; the choice, every
        candidate's loss and the diagnostics are in ``diagnostics``.
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
    Standard errors are clustered by test (CR1, t with G - 1 degrees of freedom), from the
    score of the estimand (the final-stage regression of outcome residuals on treatment
    residuals for ``"plr"``; the influence function of the doubly robust score otherwise).
    Cross-fitting keeps every test in one fold. With a doubly robust estimand in the
    within-test design, the outcome is each cell's contrast with the rest of its test, and
    the tests where the treatment does not vary stay in (see :func:`fit_aipw`); their cells
    count in the average. Propensities are clipped to [0.01, 0.99]; how many, and in which
    tests, is in ``diagnostics``.

    Examples
    --------
    >>> from creative_causal.datasets import simulate_program
    >>> p = simulate_program(120, random_state=3)
    >>> est = estimate_effect(p.study_data(), "has_face", random_state=0)
    >>> est.estimand, bool(est.ci_low < p.truth.effect("has_face") < est.ci_high)
    ('ate', True)
    """
    check_choice(method, "method", METHODS)
    if estimand is not None:
        check_choice(estimand, "estimand", ESTIMANDS)
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
    estimand = choose_estimand(estimand, method, study.frame[treatment], treatment, segments)
    prep = prepare(study, treatment, outcome, found, design, cluster, weights,
                   keep_constant_tests=estimand in DR_ESTIMANDS)
    # One integer seed, kept in the spec so a refit (refute(..., refit=True)) draws the same folds.
    random_state = draw_seed(random_state)
    spec = dict(method=method, design=design, confounders=tuple(found), cluster=cluster, weights=weights,
                outcome=outcome, by=by, estimand=estimand, model_y=model_y, model_t=model_t, cv=cv, level=level,
                random_state=random_state, test_column=study.cluster)
    if estimand in DR_ESTIMANDS:
        labels = prep.frame[study.cluster].to_numpy() if study.cluster in prep.frame else None
        dr = fit_aipw(prep, estimand=estimand, model_y=model_y, model_t=model_t, cv=cv, random_state=random_state,
                      test_labels=labels)
        scores = dr.scores
        if dr.diagnostics.n_clipped:
            d = dr.diagnostics
            prep.notes.append(f"{d.n_clipped} propensities clipped to [0.01, 0.99] ({d.share_clipped:.1%} of cells"
                              + (f"; tests {', '.join(d.clipped_tests)}" if d.clipped_tests else "") + ")")
        if dr.diagnostics.effective_cells_note:
            prep.notes.append(dr.diagnostics.effective_cells_note)
        stage = _stage(prep, scores.residual, scores.treatment - scores.propensity, np.ones((prep.n_cells, 1)),
                       tuple(dr.folds), True, spec, scores=scores)
        label = "double ML (doubly robust score" + (", contrast with the rest of the test)" if design == "within_test"
                                                    else ")")
        return _result(prep, dr.value, float(np.sqrt(dr.fit.cov[0, 0])), float(np.sqrt(dr.fit.cov_unclustered[0, 0])),
                       dr.fit, level, label, stage, estimand=estimand, diagnostics=dr.diagnostics)
    if method == "dml":
        mod = segment_design(prep, segments)
        fit = fit_dml(prep, model_y=model_y, model_t=model_t, cv=cv, random_state=random_state, modifiers=mod)
        average = fit.design.mean(axis=0)
        value = float(average @ fit.final.coef)
        se = float(np.sqrt(average @ fit.final.cov @ average))
        se_naive = float(np.sqrt(average @ fit.final.cov_unclustered @ average))
        label = "double ML (partially linear" + (f", effect varying by {', '.join(segments)}" if mod is not None else "") + ")"
        stage = _stage(prep, fit.y_res, fit.t_res, fit.design, tuple(fit.folds), True, spec)
        return _result(prep, value, se, se_naive, fit.final, level, label, stage, estimand=estimand,
                       diagnostics=fit.diagnostics)
    if method == "ols":
        fit, value, se, se_naive = _ols(prep)
        adjustment = nuisance_design(prep.design, prep.features, prep.n_within)
        y_res, t_res = residualize(prep.y, adjustment, prep.weights), residualize(prep.t, adjustment, prep.weights)
        stage = _stage(prep, y_res, t_res, np.ones((prep.n_cells, 1)), (), False, spec)
        return _result(prep, value, se, se_naive, fit, level, "weighted least squares" +
                       (" with test fixed effects" if design == "within_test" else ""), stage, estimand=estimand)
    # prep.y and prep.t are already demeaned within tests for the within design
    y_res = prep.y - np.average(prep.y, weights=prep.weights)
    t_res = prep.t - np.average(prep.t, weights=prep.weights)
    fit = wls_cluster(y_res, t_res[:, None], prep.weights, prep.codes)
    naive = replace(prep, confounders=(), features=np.zeros((prep.n_cells, 0)), feature_names=[], n_within=0)
    stage = _stage(naive, y_res, t_res, np.ones((prep.n_cells, 1)), (), False, {**spec, "confounders": ()})
    return _result(naive, float(fit.coef[0]), float(np.sqrt(fit.cov[0, 0])),
                   float(np.sqrt(fit.cov_unclustered[0, 0])), fit, level,
                   "difference of means" + (" within tests" if design == "within_test" else ""), stage,
                   estimand=estimand)


def choose_estimand(estimand: str | None, method: str, column: pd.Series, treatment: str,
                     segments: Sequence[str]) -> str:
    """The estimand asked for, checked against the method and the treatment, or the default:
    the ATE for a 0/1 treatment with double ML, the partially linear coefficient otherwise."""
    binary = is_binary(column)
    if method == "naive":
        if estimand is not None:
            raise InvalidParameterError(f"method='naive' adjusts for nothing: it estimates the plain difference in means, "
                                        f"not estimand={estimand!r}. Leave estimand out, or use method='dml'.")
        return "difference"
    if estimand is None:
        return "ate" if method == "dml" and binary and not segments else "plr"
    if estimand in DR_ESTIMANDS:
        if method != "dml":
            raise InvalidParameterError(f"estimand={estimand!r} is a doubly robust score fitted by double ML; use "
                                        f"method='dml' (method={method!r} estimates the partially linear coefficient, "
                                        "estimand='plr').")
        if not binary:
            raise InvalidParameterError(f"estimand={estimand!r} needs a 0/1 treatment, and {treatment!r} takes other "
                                        "values: its effect per unit is the partially linear coefficient. Pass "
                                        "estimand='plr' or leave estimand out.")
        if segments:
            raise InvalidParameterError(f"by= lets the partially linear coefficient vary by segment; estimand={estimand!r} "
                                        "already averages the effect over all artwork. Use estimand='plr' with by=, or "
                                        "estimate_cate(..., by=[...]) for the effect in each segment.")
    return estimand


def _stage(prep: Prepared, y_res: np.ndarray, t_res: np.ndarray, design: np.ndarray,
           folds: tuple[tuple[np.ndarray, np.ndarray], ...], crossfit: bool, spec: dict[str, Any],
           scores: DRScores | None = None) -> FittedStage:
    test_column = spec.get("test_column")
    tests = pd.factorize(prep.frame[test_column])[0] if test_column and test_column in prep.frame else prep.codes
    return FittedStage(rows=prep.frame.index.to_numpy(), y=prep.y, t=prep.t, y_res=np.asarray(y_res, dtype=float),
                       t_res=np.asarray(t_res, dtype=float), features=prep.features,
                       feature_names=tuple(prep.feature_names), n_within=prep.n_within, weights=prep.weights,
                       codes=prep.codes, tests=tests, folds=folds, final_design=design, crossfit=crossfit, spec=spec,
                       scores=scores)


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
            method: str, stage: FittedStage | None = None, *, estimand: str,
            diagnostics: NuisanceDiagnostics | None = None) -> EffectEstimate:
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
        n_informative_tests=prep.n_informative_tests, method=method, design=prep.design, estimand=estimand,
        adjustment_set=tuple(prep.confounders), units=units, scale=scale, population=prep.population,
        notes=tuple(prep.notes), diagnostics=diagnostics, fitted=stage,
    )

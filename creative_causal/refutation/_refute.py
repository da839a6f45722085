"""refute(): placebo treatment, random common cause, data subset and cluster bootstrap.

Speed comes from the design, not from fewer simulations. Every estimator here ends in a
linear score of cross-fitted pieces (the partially linear model's weighted regression of the
outcome residual on the treatment residual; the doubly robust score's outcome predictions,
residual and propensity), so a refutation only has to rebuild those pieces:

* placebo: the outcome model does not involve the treatment, so the outcome residual is
  reused; a treatment permuted within tests is independent of the covariates by
  construction, so its conditional mean is known exactly (its test mean) and needs no model.
  For a doubly robust score the permuted treatment's propensity is its test's treated share
  and both arms' outcome model is the fitted mean ``e mu1 + (1 - e) mu0``; tests where the
  treatment does not vary cannot be shuffled and add nothing to the placebo's numerator;
* random common cause: an independent covariate leaves the population nuisance functions
  unchanged; what a refit would pick up is the sample correlation, which is partialled out of
  the residuals (outcome and treatment, or outcome and propensity) fold by fold
  (cross-fitted, as the nuisance models are);
* subset and bootstrap: the double-ML score is Neyman-orthogonal, so nuisance estimation
  error moves the estimate only at second order, and the fitted residuals can be reused on
  each resample (the multiplier-bootstrap argument of Chernozhukov et al. 2018, used by
  DoubleML). Resamples are drawn as whole tests, and the score is re-solved from per-test
  sums with one matrix product for all simulations.

``refit=True`` refits every simulation from scratch instead (slow, exact; the reference the
fast path is tested against).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from .._config import native_threads_capped
from .._validation import check_choice, check_fraction, check_int, check_level, check_n_jobs, draw_seed
from ..estimation import (
    PROPENSITY_FLOOR,
    ClusterSums,
    EffectEstimate,
    FittedStage,
    bootstrap_counts,
    demean,
    estimate_effect,
    residualize,
    score_parts,
    subset_counts,
)
from ..exceptions import EstimationError, InvalidParameterError, OverlapWarning
from ..experiments import StudyData, as_study_data
from ._result import RefutationReport, RefutationResult, effect_text

TESTS = ("placebo", "random_common_cause", "subset", "bootstrap")
QUESTIONS = {
    "placebo": "Does the effect vanish when the treatment is replaced by a copy shuffled within each test?",
    "random_common_cause": "Does the estimate stay put when an independent random covariate is added?",
    "subset": "Is the estimate stable on random subsets of whole tests?",
    "bootstrap": "Does resampling whole tests give the same interval as the formula?",
}
#: The bootstrap fails when its standard error differs from the analytic one by more than
#: this factor *and* by more than its own sampling noise (with S resamples a bootstrap SE is
#: known to about 1/sqrt(2(S - 1)): +-7% at S = 100, +-16% at S = 20).
SE_RATIO_TOLERANCE = 1.25
_MAX_CHUNK_VALUES = 4_000_000  # cells x simulations held at once


@native_threads_capped
def refute(
    estimate: EffectEstimate,
    data: Any = None,
    *,
    tests: Sequence[str] = TESTS,
    n_simulations: int = 100,
    subset_fraction: float = 0.8,
    level: float = 0.95,
    refit: bool = False,
    random_state: Any = None,
    n_jobs: int = 1,
    executor: Any = None,
) -> RefutationReport:
    """Stress-test an estimate with four refutations and give each a plain verdict.

    Parameters
    ----------
    estimate : EffectEstimate
        From :func:`creative_causal.estimate_effect` in this session (it carries the fitted
        residuals the fast path reuses).
    data : StudyData or DataFrame, optional
        The data the estimate came from. Needed only with ``refit=True``.
    tests : sequence of str
        Any of ``placebo``, ``random_common_cause``, ``subset``, ``bootstrap``.
    n_simulations : int, default=100
        Simulations per test.
    subset_fraction : float, default=0.8
        Share of tests kept by the subset test.
    level : float, default=0.95
        Each test reports the middle ``level`` of its simulated estimates, and fails when its
        p-value is below ``1 - level``; the bootstrap also fails when its standard error
        differs from the analytic one by more than 25% and by more than its own sampling
        noise.
    refit : bool, default=False
        Refit the whole estimator in every simulation (slow; for checking the fast path).
    random_state : int, Generator or None
        Same seed, same simulations and verdicts; each test has its own stream, so choosing
        other tests does not change a test's result.
    n_jobs : int, default=1
        Processes for ``refit=True`` (the fast path needs none: all simulations of a test
        are solved together in a few matrix products).
    executor : dask.distributed.Client or concurrent.futures.Executor, optional
        Runs ``refit=True`` simulations there instead.

    Returns
    -------
    RefutationReport

    Notes
    -----
    How to read the verdicts: a passed test means the check found nothing wrong, not that
    the estimate is causal. The placebo and random-common-cause tests catch estimators that
    manufacture effects or are fragile; the subset test catches effects carried by a few
    tests; the bootstrap catches intervals that are too narrow (e.g. standard errors that
    ignore clustering). None of them can detect an unobserved confounder: that is what
    :func:`sensitivity` measures.

    Examples
    --------
    >>> from creative_causal import estimate_effect, simulate_program
    >>> data = simulate_program(120, random_state=3).study_data()
    >>> est = estimate_effect(data, "has_face", random_state=0)
    >>> report = refute(est, data, random_state=0)
    >>> [r.status for r in report.results]
    ['passed', 'passed', 'passed', 'passed']
    """
    start = time.perf_counter()
    tests, n_simulations = check_refutation(estimate, tests, n_simulations, "refute()")
    subset_fraction = check_fraction(subset_fraction, "subset_fraction", example="0.8")
    level = check_level(level)
    n_jobs = check_n_jobs(n_jobs)
    stage = estimate.fitted
    if stage is None and not refit:
        raise EstimationError("this estimate carries no fitted residuals (it was loaded or built by hand); pass the "
                              "data and refit=True, or re-run estimate_effect.")
    if refit:
        if data is None:
            raise EstimationError("refit=True re-runs the estimator and needs the data: refute(estimate, data, refit=True).")
        if stage is None:
            raise EstimationError("refit=True needs the estimate's settings; re-run estimate_effect in this session.")
    base = draw_seed(random_state, bits=62)
    results = []
    for name in tests:
        rng = np.random.default_rng([base, TESTS.index(name)])
        skip = _skip_reason(name, stage)
        if skip:
            results.append(_skipped(name, estimate, skip, level))
            continue
        if refit:
            sims = _refit_simulations(name, estimate, data, n_simulations, subset_fraction, rng, n_jobs, executor)
        else:
            sims = _FAST[name](stage, n_simulations, subset_fraction, rng)
        results.append(_judge(name, estimate, np.asarray(sims, dtype=float), level, subset_fraction, stage))
    return RefutationReport(estimate=estimate, results=tuple(results), level=level,
                            nuisance="refitted" if refit else "reused", seconds=time.perf_counter() - start)


def check_refutation(estimate: Any, tests: Sequence[str] | str, n_simulations: Any, caller: str
                     ) -> tuple[tuple[str, ...], int]:
    """The arguments every refuter shares: an EffectEstimate, known test names, simulations."""
    if not isinstance(estimate, EffectEstimate):
        raise InvalidParameterError(f"{caller} needs an EffectEstimate from estimate_effect, got {type(estimate).__name__}.")
    tests = (tests,) if isinstance(tests, str) else tuple(tests)
    if not tests:
        raise InvalidParameterError(f"tests is empty: name at least one of {list(TESTS)}.")
    for name in tests:
        check_choice(name, "each of tests", TESTS)
    return tests, check_int(n_simulations, "n_simulations", minimum=2)


# ---------------------------------------------------------------------------- verdicts
def significance(value: float, simulations: np.ndarray) -> float:
    """Two-sided p-value of ``value`` among ``simulations``: percentile test with 100 or more
    simulations (ties count half), normal approximation with fewer (as DoWhy decides)."""
    sims = np.asarray(simulations, dtype=float)
    sims = sims[np.isfinite(sims)]
    if sims.size == 0:
        return float("nan")
    if sims.size >= 100:
        half = float(np.mean((sims > value) + 0.5 * (sims == value)))
        return 2 * min(half, 1 - half)
    sd = sims.std()
    if sd == 0:
        return 1.0 if np.isclose(value, sims.mean()) else 0.0
    return float(2 * stats.norm.sf(abs(value - sims.mean()) / sd))


def _judge(name: str, est: EffectEstimate, sims: np.ndarray, level: float, fraction: float,
           stage: FittedStage | None) -> RefutationResult:
    alpha = 1 - level
    finite = sims[np.isfinite(sims)]
    n_bad = sims.size - finite.size
    if finite.size == 0:
        return _skipped(name, est, f"all {sims.size} simulations failed to give an estimate", level)
    mean, sd = float(finite.mean()), float(finite.std(ddof=1)) if finite.size > 1 else 0.0
    low, high = (float(q) for q in np.quantile(finite, [alpha / 2, 1 - alpha / 2]))
    details: dict[str, Any] = {}
    if n_bad:
        details["failed_simulations"] = int(n_bad)
    spread_in_se = sd / est.std_error if est.std_error > 0 else float("nan")
    if name == "placebo":
        expected = 0.0
        p = significance(0.0, finite)
        share = float(np.mean(np.abs(finite) < abs(est.value)))
        details["permutation_p_value"] = float((1 + np.sum(np.abs(finite) >= abs(est.value))) / (finite.size + 1))
        status = "passed" if p >= alpha else "failed"
        reason = (f"replacing the treatment with a copy shuffled within each test gave an average effect of "
                  f"{effect_text(mean, est)} (expected 0; the real estimate {effect_text(est.value, est)} is larger "
                  f"than {share:.0%} of the shuffled ones)")
    elif name == "random_common_cause":
        expected = est.value
        p = significance(est.value, finite)
        status = "passed" if p >= alpha else "failed"
        moved = abs(mean - est.value) / est.std_error if est.std_error > 0 else float("nan")
        details["shift_in_standard_errors"] = float(moved)
        reason = (f"adding an independent random covariate moved the estimate from {effect_text(est.value, est)} to "
                  f"{effect_text(mean, est)} on average ({moved:.2f} standard errors)")
    elif name == "subset":
        expected = est.value
        p = significance(est.value, finite)
        status = "passed" if p >= alpha else "failed"
        details["spread_in_standard_errors"] = float(spread_in_se)
        reason = (f"re-estimating on {finite.size} random {fraction:.0%} subsets of the tests gave "
                  f"{effect_text(mean, est)} (middle {level:.0%}: {effect_text(low, est)} to {effect_text(high, est)})")
    else:  # bootstrap
        expected = est.value
        p = significance(est.value, finite)
        ratio = sd / est.std_error if est.std_error > 0 else float("nan")
        details.update(bootstrap_std_error=sd, analytic_std_error=est.std_error, std_error_ratio=float(ratio),
                       resampled="whole tests" if stage is not None and stage.tests is not None else "cells")
        noise = stats.norm.ppf(1 - alpha / 2) * np.sqrt(1 / (2 * max(finite.size - 1, 1)))
        agrees = bool(abs(np.log(ratio)) <= max(np.log(SE_RATIO_TOLERANCE), noise)) if np.isfinite(ratio) else False
        status = "passed" if p >= alpha and agrees else "failed"
        unit = "whole tests" if details["resampled"] == "whole tests" else "cells"
        reason = (f"resampling {unit} {finite.size} times gave a standard error of {sd:.4g} against {est.std_error:.4g} "
                  f"from the formula (ratio {ratio:.2f})")
        if not agrees:
            reason += ("; the formula's interval is too narrow" if ratio > 1 else "; the formula's interval is too wide")
            if est.std_error_unclustered == est.std_error and ratio > 1:
                reason += " (are the standard errors clustered by test?)"
    reason += f": {status}"
    return RefutationResult(test=name, question=QUESTIONS[name], original=est.value, expected=expected, refuted=mean,
                            spread=sd, low=low, high=high, level=level, p_value=p, status=status, reason=reason,
                            n_simulations=int(finite.size), details=details, simulations=sims)


def _skip_reason(name: str, stage: FittedStage | None) -> str:
    if stage is None:
        return ""
    n_groups = int(stage.tests.max()) + 1 if stage.tests is not None else stage.n_cells
    if name == "random_common_cause" and stage.spec.get("method") == "naive":
        return "the difference of means adjusts for nothing, so an added covariate cannot change it"
    if name in ("subset", "bootstrap") and n_groups < 10:
        return f"only {n_groups} tests: too few to resample"
    return ""


def _skipped(name: str, est: EffectEstimate, reason: str, level: float) -> RefutationResult:
    nan = float("nan")
    return RefutationResult(test=name, question=QUESTIONS[name], original=est.value, expected=nan, refuted=nan,
                            spread=nan, low=nan, high=nan, level=level, p_value=nan, status="skipped",
                            reason=reason + ": skipped", n_simulations=0)


# ---------------------------------------------------------------------------- fast path
def _chunks(n_cells: int, n_simulations: int) -> list[range]:
    size = max(1, min(n_simulations, _MAX_CHUNK_VALUES // max(n_cells, 1)))
    return [range(i, min(i + size, n_simulations)) for i in range(0, n_simulations, size)]


def final_stage(y_res: np.ndarray, t_res: np.ndarray, w: np.ndarray, design: np.ndarray) -> np.ndarray:
    """The average effect of the final stage for many simulations at once.

    ``y_res`` is (n,) or (n, S), ``t_res`` (n, S); the regressors are ``t_res * design``
    and the effect is their coefficients averaged over the cells' design rows.
    """
    y2 = y_res if y_res.ndim == 2 else y_res[:, None]
    if design.shape[1] == 1:
        return (w[:, None] * t_res * y2).sum(axis=0) / (w[:, None] * t_res**2).sum(axis=0)
    a = np.einsum("n,ns,nk,nl->skl", w, t_res**2, design, design, optimize=True)
    b = np.einsum("n,ns,ns,nk->sk", w, t_res, np.broadcast_to(y2, t_res.shape), design, optimize=True)
    coef = np.linalg.solve(a, b[..., None])[..., 0]
    return coef @ design.mean(axis=0)


def _permute_within(values: np.ndarray, groups: np.ndarray | None, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` copies of ``values`` (columns), each shuffled within its group."""
    m = values.size
    if groups is None:
        return values[np.argsort(rng.random((m, n)), axis=0)]
    order = np.argsort(groups, kind="stable")
    # groups + U[0, 1) sorts by group first, then randomly inside each group
    shuffled = np.argsort(groups[:, None] + rng.random((m, n)), axis=0)
    out = np.empty((m, n))
    out[order] = values[shuffled]
    return out


def _placebo_fast(stage: FittedStage, n: int, fraction: float, rng: np.random.Generator) -> np.ndarray:
    if stage.scores is not None:
        return _placebo_scores(stage, n, rng)
    out = []
    unweighted = np.ones(stage.n_cells)
    for chunk in _chunks(stage.n_cells, n):
        perm = _permute_within(stage.t, stage.tests, len(chunk), rng)
        if stage.spec["design"] == "within_test":
            # exactly what the estimator does with any treatment column: demean within tests;
            # the permuted treatment's conditional mean given the covariates is then 0
            t_res = demean(perm, stage.tests, stage.weights) if stage.tests is not None else perm - perm.mean(axis=0)
        elif stage.tests is not None:
            # pooled: E[permuted t | covariates] is the (unweighted) test mean of t
            t_res = perm - (stage.t - demean(stage.t, stage.tests, unweighted))[:, None]
        else:
            t_res = perm - stage.t.mean()
        if not stage.crossfit:
            t_res = _partial_out(t_res, stage)
        out.append(final_stage(stage.y_res, t_res, stage.weights, stage.final_design))
    return np.concatenate(out)


def _placebo_scores(stage: FittedStage, n: int, rng: np.random.Generator) -> np.ndarray:
    """The doubly robust score of a treatment shuffled within tests: its propensity is the
    test's treated share (exactly), and both arms' outcome model is the fitted mean."""
    scores = stage.scores
    assert scores is not None
    t, w = scores.treatment, stage.weights
    if stage.tests is not None:
        share = np.bincount(stage.tests, weights=t) / np.bincount(stage.tests)
        e = share[stage.tests]
    else:
        e = np.full(len(t), t.mean())
    shuffled = (e > 0) & (e < 1)  # a test without variation cannot be shuffled: no placebo information
    e_safe = np.where(shuffled, e, 0.5)[:, None]
    fitted_mean = scores.propensity * scores.mu1 + (1 - scores.propensity) * scores.mu0
    residual = (scores.outcome - fitted_mean)[:, None]
    out = []
    for chunk in _chunks(stage.n_cells, n):
        perm = _permute_within(t, stage.tests, len(chunk), rng)
        _, r, den = score_parts(scores.estimand, perm, e_safe)
        if scores.estimand == "ato":
            den = den * shuffled[:, None]
        num = r * shuffled[:, None] * residual
        out.append((w[:, None] * num).sum(axis=0) / (w[:, None] * den).sum(axis=0))
    return np.concatenate(out)


def _partial_out(values: np.ndarray, stage: FittedStage) -> np.ndarray:
    """In-sample linear residual on the OLS method's adjustment (exact for OLS)."""
    if stage.spec["method"] == "naive":
        return values - np.average(values, axis=0, weights=stage.weights)
    return residualize(values, stage.linear_adjustment, stage.weights)


def _random_common_cause_fast(stage: FittedStage, n: int, fraction: float, rng: np.random.Generator) -> np.ndarray:
    if stage.scores is not None:
        return _random_common_cause_scores(stage, n, rng)
    out = []
    for chunk in _chunks(stage.n_cells, n):
        u = rng.standard_normal((stage.n_cells, len(chunk)))
        if stage.spec["design"] == "within_test" and stage.codes is not None:
            u = demean(u, stage.codes, stage.weights)
        if stage.crossfit:
            y_new, t_new = _crossfit_partial(stage.y_res, u, stage), _crossfit_partial(stage.t_res, u, stage)
        else:
            u = _partial_out(u, stage)
            y_new, t_new = _insample_partial(stage.y_res, u, stage.weights), _insample_partial(stage.t_res, u, stage.weights)
        out.append(final_stage(y_new, t_new, stage.weights, stage.final_design))
    return np.concatenate(out)


def _random_common_cause_scores(stage: FittedStage, n: int, rng: np.random.Generator) -> np.ndarray:
    """The doubly robust score with an independent covariate added to its nuisances, fold by
    fold: partialled out of each arm's outcome residual (the outcome models are fitted per
    arm), and one logistic Newton step of the propensity on it (a shift of
    ``e (1 - e) beta u``: a linear shift would move propensities near 0 or 1, and their
    weights, far more than a refitted classifier does)."""
    scores = stage.scores
    assert scores is not None
    t, w, e0 = scores.treatment, stage.weights, scores.propensity
    effect = (scores.mu1 - scores.mu0)[:, None]
    slope = e0 * (1 - e0)
    out = []
    for chunk in _chunks(stage.n_cells, n):
        u = rng.standard_normal((stage.n_cells, len(chunk)))
        residual = np.empty_like(u)
        shift = np.empty_like(u)
        for train, test in stage.folds:
            beta = ((t - e0)[train, None] * u[train]).sum(axis=0) / (slope[train, None] * u[train] ** 2).sum(axis=0)
            shift[test] = slope[test, None] * beta * u[test]
            for arm in (0.0, 1.0):
                fit_rows, rows = train[t[train] == arm], test[t[test] == arm]
                coef = ((scores.residual[fit_rows, None] * u[fit_rows]).sum(axis=0)
                        / np.maximum((u[fit_rows] ** 2).sum(axis=0), 1e-12))
                residual[rows] = scores.residual[rows, None] - u[rows] * coef
        e = np.clip(e0[:, None] + shift, PROPENSITY_FLOOR, 1 - PROPENSITY_FLOOR)
        a, r, den = score_parts(scores.estimand, t[:, None], e)
        num = a * effect + r * residual
        out.append((w[:, None] * num).sum(axis=0) / (w[:, None] * den).sum(axis=0))
    return np.concatenate(out)


def _insample_partial(res: np.ndarray, u: np.ndarray, w: np.ndarray) -> np.ndarray:
    coef = (w[:, None] * u * res[:, None]).sum(axis=0) / (w[:, None] * u**2).sum(axis=0)
    return res[:, None] - u * coef


def _crossfit_partial(res: np.ndarray, u: np.ndarray, stage: FittedStage) -> np.ndarray:
    """Residual of ``res`` on each column of ``u``, with slopes learnt on the other folds."""
    out = np.empty_like(u)
    wr = stage.weights * res
    for train, test in stage.folds:
        coef = (wr[train, None] * u[train]).sum(axis=0) / (stage.weights[train, None] * u[train] ** 2).sum(axis=0)
        out[test] = res[test, None] - u[test] * coef
    return out


def _final_stage_sums(stage: FittedStage) -> ClusterSums:
    """Per-test sums of the estimate's linear score (see :class:`FittedStage`)."""
    return ClusterSums.from_rows(stage.final_design, stage.numerator, stage.weights, stage.tests,
                                 denominator=stage.denominator)


def _subset_fast(stage: FittedStage, n: int, fraction: float, rng: np.random.Generator) -> np.ndarray:
    sums = _final_stage_sums(stage)
    return sums.solve(subset_counts(sums.n_clusters, n, fraction, rng)) @ stage.final_design.mean(axis=0)


def _bootstrap_fast(stage: FittedStage, n: int, fraction: float, rng: np.random.Generator) -> np.ndarray:
    sums = _final_stage_sums(stage)
    return sums.solve(bootstrap_counts(sums.n_clusters, n, rng)) @ stage.final_design.mean(axis=0)


_FAST: dict[str, Callable[[FittedStage, int, float, np.random.Generator], np.ndarray]] = {
    "placebo": _placebo_fast, "random_common_cause": _random_common_cause_fast, "subset": _subset_fast,
    "bootstrap": _bootstrap_fast,
}


# ---------------------------------------------------------------------------- refit path
def _refit_simulations(name: str, est: EffectEstimate, data: Any, n: int, fraction: float, rng: np.random.Generator,
                       n_jobs: int, executor: Any) -> np.ndarray:
    study = as_study_data(data, est.outcome)
    spec = dict(est.fitted.spec)  # type: ignore[union-attr]
    seeds = rng.integers(2**62, size=n)
    task = partial(_refit_once, name, study, est.treatment, spec, fraction)
    if executor is not None:
        if hasattr(executor, "gather"):  # dask.distributed.Client
            return np.asarray(executor.gather(executor.map(task, list(seeds), pure=False)), dtype=float)
        return np.asarray(list(executor.map(task, seeds)), dtype=float)
    if n_jobs == 1:
        return np.asarray([task(s) for s in seeds], dtype=float)
    from joblib import Parallel, delayed

    return np.asarray(Parallel(n_jobs=n_jobs)(delayed(task)(s) for s in seeds), dtype=float)


def _refit_once(name: str, study: StudyData, treatment: str, spec: dict[str, Any], fraction: float, seed: int) -> float:
    rng = np.random.default_rng(seed)
    frame = study.frame
    test = study.cluster
    kwargs = {k: spec[k] for k in ("outcome", "method", "design", "cluster", "weights", "by", "model_y", "model_t",
                                   "cv", "level", "random_state")}
    if spec.get("method") != "naive":
        kwargs["estimand"] = spec.get("estimand")
    kwargs["confounders"] = list(spec["confounders"])
    if name == "placebo":
        groups = pd.factorize(frame[test])[0] if test else None
        frame[treatment] = _permute_within(frame[treatment].to_numpy(dtype=float), groups, 1, rng)[:, 0]
    elif name == "random_common_cause":
        column = "_random_common_cause"
        frame[column] = rng.standard_normal(len(frame))
        kwargs["confounders"] = [*kwargs["confounders"], column]
    elif test is None:
        rows = (rng.permutation(len(frame))[: int(round(fraction * len(frame)))] if name == "subset"
                else rng.integers(len(frame), size=len(frame)))
        frame = frame.iloc[np.sort(rows)]
    else:
        tests = frame[test].unique()
        if name == "subset":
            chosen = rng.permutation(tests)[: int(round(fraction * len(tests)))]
            frame = frame[frame[test].isin(chosen)]
        else:
            # bootstrap: whole tests drawn with replacement. Copies keep their test id, so they
            # share a cross-fitting fold (no leakage between copies) and demeaning is unchanged.
            drawn = rng.choice(len(tests), size=len(tests), replace=True)
            rows = pd.Series(np.arange(len(frame))).groupby(pd.factorize(frame[test])[0]).indices
            frame = frame.iloc[np.concatenate([rows[i] for i in np.sort(drawn)])].reset_index(drop=True)
    sub = StudyData(frame, outcome=study.outcome, weight=study.weight, cluster=study.cluster, features=study.features,
                    covariates=study.covariates, segments=study.segments)
    with warnings.catch_warnings():
        # a refit repeats the original fit's warnings (trimmed strata) once per simulation
        warnings.simplefilter("ignore", OverlapWarning)
        try:
            # the estimate's own seed: only the refutation's change differs from the original fit
            value = estimate_effect(sub, treatment, **kwargs).value
        except EstimationError:
            value = float("nan")
    return value


__all__ = ["refute", "significance", "final_stage", "TESTS", "QUESTIONS"]

"""Doubly robust (AIPW) estimands of a binary treatment: the average effect (ATE), the
average effect on the treated (ATT) and the overlap-weighted effect (ATO), cross-fitted with
every test in one fold and standard errors clustered by test from the influence function.

Within-test design
------------------
A title's baseline take rate confounds everything about its artwork, and it cannot be
learned for a test held out of the training folds. So the outcome is each cell's contrast
with the other cells of its test::

    Y*_i = y_i - (impression-weighted mean of y over the other cells of the test)
         = ỹ_i / (1 - s_i)

(``ỹ`` the outcome demeaned within the test, ``s_i`` the cell's share of the test's
impressions): the title's baseline cancels exactly. The contrast also holds the other cells'
artwork, so the nuisance models see, besides the cell's own confounders, the test means of
the confounders (Mundlak terms), the impression-weighted share of the *other* cells that
have the component, the cell's impression share and the number of cells. A cell's
propensity is then its chance of having the component given its own covariates and what the
rest of its test looks like, and switching the component on changes ``Y*_i`` by the cell's
own effect. Tests where every cell has (or lacks) the component stay in: in a two-cell
test the other cell's artwork would otherwise decide the cell's own (a propensity of 0 or 1).

Estimands
---------
Every score has the ratio form ``theta = sum_i w_i num_i / sum_i w_i den_i`` (``w`` the
precision weights, impressions by default) with::

    num_i = a_i (mu1_i - mu0_i) + r_i (Y_i - mu_T,i)

    ATE: a = 1,          r = T/e - (1-T)/(1-e),   den = 1
    ATT: a = T,          r = T - (1-T) e/(1-e),   den = T
    ATO: a = e(1-e),     r = T(1-e) - (1-T)e,     den = e(1-e)

(``mu1``, ``mu0`` the outcome models fitted on treated and untreated cells, ``e`` the
propensity clipped to [0.01, 0.99]). The influence function of cell ``i`` is
``w_i (num_i - theta den_i) / sum w den``; its sums over tests give the cluster-robust
variance (factor ``G/(G-1)``, t with ``G - 1`` degrees of freedom).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from .._validation import check_choice, check_random_state, draw_seed
from ._diagnostics import NuisanceDiagnostics, diagnose
from ._dml import group_folds
from ._inference import LinearFit, wls_cluster
from ._models import PROPENSITY_FLOOR, Nuisance, fit_nuisance, fold_fit_predictions
from ._prepare import Prepared

#: The estimands of the doubly robust score (``"plr"`` is the partially linear model's).
DR_ESTIMANDS = ("ate", "att", "ato")


def score_parts(estimand: str, t: np.ndarray, e: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The weights ``a`` (on ``mu1 - mu0``), ``r`` (on the outcome residual, the Riesz
    representer) and the denominator of the estimand's score, for treatment ``t`` and
    propensity ``e`` (arrays of any matching shape)."""
    if estimand == "ate":
        return np.ones_like(e), t / e - (1 - t) / (1 - e), np.ones_like(e)
    if estimand == "att":
        return t * np.ones_like(e), t - (1 - t) * e / (1 - e), t * np.ones_like(e)
    return e * (1 - e), t * (1 - e) - (1 - t) * e, e * (1 - e)


@dataclass(frozen=True, eq=False)
class DRScores:
    """The cross-fitted pieces of a doubly robust score, kept with an estimate so refuters,
    sensitivity and segment effects reuse them.

    Attributes
    ----------
    estimand : {"ate", "att", "ato"}
    outcome : ndarray
        The outcome the score uses (the within-test contrast ``Y*``, or ``y`` when pooled).
    treatment : ndarray
        0/1.
    propensity : ndarray
        Cross-fitted, clipped to [0.01, 0.99].
    mu0, mu1 : ndarray
        Cross-fitted outcome predictions without and with the treatment.
    features : ndarray
        The nuisance models' inputs (confounders, Mundlak terms and, within tests, the rest
        of the test's treatment, impression share and size).
    """

    estimand: str
    outcome: np.ndarray
    treatment: np.ndarray
    propensity: np.ndarray
    mu0: np.ndarray
    mu1: np.ndarray
    features: np.ndarray

    @property
    def residual(self) -> np.ndarray:
        """Outcome net of the prediction for the cell's own arm."""
        return self.outcome - np.where(self.treatment == 1, self.mu1, self.mu0)

    def terms(self) -> tuple[np.ndarray, np.ndarray]:
        """Each cell's numerator and denominator: ``theta = sum w num / sum w den``."""
        a, r, den = score_parts(self.estimand, self.treatment, self.propensity)
        return a * (self.mu1 - self.mu0) + r * self.residual, den

    @property
    def riesz(self) -> np.ndarray:
        """The weight of each cell's outcome residual in the score (before normalising)."""
        return score_parts(self.estimand, self.treatment, self.propensity)[1]


@dataclass(frozen=True, eq=False)
class AIPWFit:
    """The cross-fitted doubly robust estimate of :func:`fit_aipw`.

    Attributes
    ----------
    value : float
    fit : LinearFit
        The estimate with its cluster-robust variance, for intervals and p-values.
    scores : DRScores
    numerator, denominator : ndarray
        Each cell's score terms.
    folds : list of (train, test)
    nuisances : tuple of Nuisance
        Untreated outcome, treated outcome and propensity models with every candidate's loss.
    diagnostics : NuisanceDiagnostics
    clipped : ndarray of bool
        Cells whose propensity was clipped.
    """

    value: float
    fit: LinearFit
    scores: DRScores
    numerator: np.ndarray
    denominator: np.ndarray
    folds: list[tuple[np.ndarray, np.ndarray]]
    nuisances: tuple[Nuisance, ...]
    diagnostics: NuisanceDiagnostics
    clipped: np.ndarray


def within_test_inputs(prep: Prepared) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The within-test contrast ``Y*``, the raw 0/1 treatment and the nuisance features (the
    confounders and Mundlak terms, plus the other cells' treated share, the cell's
    impression share and the test's number of cells, on the log scale)."""
    codes, w = prep.codes, prep.weights
    t = prep.frame[prep.treatment].to_numpy(dtype=float)
    g = int(codes.max()) + 1
    total = np.bincount(codes, weights=w, minlength=g)
    share = w / total[codes]
    contrast = prep.y / (1.0 - share)  # prep.y is demeaned within tests; one-cell tests were left out
    treated = np.bincount(codes, weights=w * t, minlength=g)
    others_treated = (treated[codes] - w * t) / (total[codes] - w)
    n_cells = np.bincount(codes, minlength=g)[codes].astype(float)
    features = np.column_stack([prep.features, others_treated, share, np.log(n_cells)])
    return contrast, t, features


def fit_aipw(prep: Prepared, *, estimand: str = "ate", model_y: Any = None, model_t: Any = None, cv: int = 5,
             random_state: Any = None, test_labels: np.ndarray | None = None) -> AIPWFit:
    """Cross-fit the outcome models of each arm and the propensity, and solve the estimand's
    doubly robust score with test-clustered errors.

    Parameters
    ----------
    prep : Prepared
        From :func:`prepare` with a binary treatment (within-test: with ``keep_constant_tests``).
    estimand : {"ate", "att", "ato"}
    model_y : scikit-learn regressor, optional
        Fitted on each arm (default: the library's best by out-of-fold loss).
    model_t : scikit-learn classifier, optional
        The propensity model (default: the library's best by the out-of-fold loss tailored to
        the estimand's weights, :func:`cell_loss`: the ATE's inverse-propensity weights, the
        ATT's controls' odds; for the ATO, the log loss).
    cv : int, default=5
    random_state : int, Generator or None
    test_labels : ndarray, optional
        Test ids of the cells, to name the tests holding clipped propensities (default: their codes).

    Examples
    --------
    >>> from creative_causal.datasets import simulate_program
    >>> from creative_causal.estimation import prepare
    >>> p = simulate_program(150, random_state=0)
    >>> data = p.study_data()
    >>> prep = prepare(data, "has_face", "log_take_rate_ratio", ["genre"], "within_test", "test_id", "impressions",
    ...                keep_constant_tests=True)
    >>> fit = fit_aipw(prep, random_state=0)
    >>> fit.scores.estimand, fit.value > 0
    ('ate', True)
    """
    check_choice(estimand, "estimand", DR_ESTIMANDS)
    rng = check_random_state(random_state)
    seed = draw_seed(rng)
    folds = group_folds(prep.codes, prep.n_cells, cv, rng)
    if prep.design == "within_test":
        y, t, x = within_test_inputs(prep)
    else:
        y, t, x = prep.y, prep.t, prep.features
    treated = t == 1
    common = dict(random_state=seed, groups=prep.codes)
    # The larger arm first; the smaller one may then borrow its shape (OFFSET_CANDIDATE).
    arms = [("outcome (untreated)", ~treated), ("outcome (treated)", treated)]
    larger, smaller = sorted(arms, key=lambda arm: -int(arm[1].sum()))
    big = fit_nuisance(larger[0], "regression", x, y, folds, model=model_y, rows=larger[1], keep_fitted=model_y is None,
                       **common)
    offsets = fold_fit_predictions(big.fitted, x) if model_y is None else None
    small = fit_nuisance(smaller[0], "regression", x, y, folds, model=model_y, rows=smaller[1], offsets=offsets,
                         **common)
    big = replace(big, fitted=())  # the fitted models are not kept with the estimate
    n0, n1 = (big, small) if larger is arms[0] else (small, big)
    # The ATE's and ATT's propensities are chosen by the loss tailored to the weights their scores
    # put on it (1/e and 1/(1 - e); the controls' odds): the ATE's estimates came closer to the
    # truth at the same calibration (docs/estimation.md, "Nuisance models"). The ATO's weights
    # are the log loss's own.
    ne = fit_nuisance("propensity", "classification", x, t.astype(int), folds, model=model_t,
                      weighting=estimand if estimand in ("ate", "att") else None, **common)
    raw = ne.prediction
    e = np.clip(raw, PROPENSITY_FLOOR, 1 - PROPENSITY_FLOOR)
    clipped = (raw < PROPENSITY_FLOOR) | (raw > 1 - PROPENSITY_FLOOR)
    scores = DRScores(estimand, y, t, e, n0.prediction, n1.prediction, x)
    numerator, denominator = scores.terms()
    fit = wls_cluster(numerator, np.ones(len(y)), prep.weights, prep.codes, denominator=denominator)
    diagnostics = diagnose([n0, n1], ne, y=y, t=t, outcome_prediction=y - scores.residual, clipped=clipped,
                           tests=prep.codes if test_labels is None else test_labels, feature=prep.treatment,
                           score_weights=prep.weights * scores.riesz)
    return AIPWFit(float(fit.coef[0]), fit, scores, numerator, denominator, folds, (n0, n1, ne), diagnostics, clipped)


__all__ = ["fit_aipw", "AIPWFit", "DRScores", "score_parts", "within_test_inputs", "DR_ESTIMANDS"]

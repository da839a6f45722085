"""Double machine learning for the partially linear model: outcome and treatment residualised
on the confounders by cross-fitted nuisance models (every test in one fold, models chosen by
out-of-fold loss), then a weighted final-stage regression with standard errors clustered by
test."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.base import is_classifier

from .._validation import check_int, check_random_state, draw_seed
from ..exceptions import EstimationError
from ._diagnostics import NuisanceDiagnostics, diagnose
from ._inference import LinearFit, wls_cluster
from ._models import Nuisance, fit_nuisance
from ._prepare import Prepared


def group_folds(codes: np.ndarray | None, n_units: int, cv: int,
                rng: np.random.Generator) -> list[tuple[np.ndarray, np.ndarray]]:
    """Cross-fitting folds as (train, test) index pairs; with cluster ``codes`` (0..G-1)
    every test stays inside one fold.

    Examples
    --------
    >>> folds = group_folds(np.repeat(np.arange(6), 2), 12, 3, np.random.default_rng(0))
    >>> sorted(len(test) for _, test in folds)
    [4, 4, 4]
    """
    check_int(cv, "cv", minimum=2)
    if codes is None:
        fold = rng.permutation(n_units) % cv
    else:
        n_groups = int(codes.max()) + 1
        if n_groups < cv:
            raise EstimationError(f"only {n_groups} tests for cv={cv} folds; lower cv or add tests.")
        fold = (rng.permutation(n_groups) % cv)[codes]
    idx = np.arange(n_units)
    return [(idx[fold != k], idx[fold == k]) for k in range(cv)]


@dataclass(frozen=True)
class DMLFit:
    """Cross-fitted residuals and the final-stage fit of :func:`fit_dml`.

    Attributes
    ----------
    y_res, t_res : ndarray
        Outcome and treatment net of their cross-fitted nuisance predictions.
    final : LinearFit
        Weighted regression of ``y_res`` on ``t_res * design``, errors clustered by test.
    design : ndarray
        Columns of the final stage: ``[1, modifiers...]``.
    folds : list of (train, test)
    nuisances : tuple of Nuisance
        The outcome and treatment models, with every candidate's out-of-fold loss.
    diagnostics : NuisanceDiagnostics
    """

    y_res: np.ndarray
    t_res: np.ndarray
    final: LinearFit
    design: np.ndarray
    folds: list[tuple[np.ndarray, np.ndarray]]
    nuisances: tuple[Nuisance, ...]
    diagnostics: NuisanceDiagnostics


def fit_dml(prep: Prepared, *, model_y: Any = None, model_t: Any = None, cv: int = 5, random_state: Any = None,
            modifiers: np.ndarray | None = None) -> DMLFit:
    """Residualise outcome and treatment with cross-fitted nuisance models and fit the final
    stage with cluster-robust errors (the partially linear model).

    The nuisance models are chosen per data set by out-of-fold loss from a small library
    (:func:`candidates`) unless given, and fitted without precision weights: they estimate
    conditional means, which weights do not change (and scikit-learn's histogram boosting bins
    weighted data 10 to 30 times more slowly). The final stage, which gives the estimate, is
    weighted. Native thread pools are capped during the fits.

    Parameters
    ----------
    prep : Prepared
        From :func:`prepare`.
    model_y, model_t : scikit-learn estimators, optional
        Used as given instead of the library (a classifier for ``model_t`` models a binary
        treatment's propensity in the pooled design).
    cv : int, default=5
    random_state : int, Generator or None
    modifiers : ndarray, optional
        Columns along which the effect varies in the final stage.
    """
    rng = check_random_state(random_state)
    seed = draw_seed(rng)
    folds = group_folds(prep.codes, prep.n_cells, cv, rng)
    # a binary treatment in the pooled design gets a propensity (a classifier); a regressor the
    # user passes for it models E[T | W] directly, the same quantity for 0/1
    classify = prep.binary and prep.design == "pooled" and (model_t is None or is_classifier(model_t))
    ny = fit_nuisance("outcome", "regression", prep.features, prep.y, folds, model=model_y, random_state=seed,
                      groups=prep.codes)
    t = prep.t.astype(int) if classify else prep.t
    nt = fit_nuisance("treatment", "classification" if classify else "regression", prep.features, t, folds,
                      model=model_t, random_state=seed, groups=prep.codes)
    y_res = prep.y - ny.prediction
    t_res = prep.t - nt.prediction
    design = np.ones((len(y_res), 1)) if modifiers is None else np.hstack([np.ones((len(y_res), 1)), modifiers])
    final = wls_cluster(y_res, t_res[:, None] * design, prep.weights, prep.codes)
    diagnostics = diagnose(ny, nt, y=prep.y, t=t, outcome_prediction=ny.prediction,
                           tests=prep.codes, feature=prep.treatment)
    return DMLFit(y_res, t_res, final, design, folds, (ny, nt), diagnostics)

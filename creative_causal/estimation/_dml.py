"""Double machine learning through econml's LinearDML, with folds that keep each test
together and standard errors clustered by test computed from the final stage."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._config import limit_native_threads
from .._validation import check_int, check_random_state, draw_seed
from ..exceptions import EstimationError
from ._inference import LinearFit, wls_cluster
from ._models import default_model, seeded
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
    econml_estimate : float
        econml's own (unweighted) final-stage estimate, kept so tests can check ours.
    """

    y_res: np.ndarray
    t_res: np.ndarray
    final: LinearFit
    design: np.ndarray
    folds: list[tuple[np.ndarray, np.ndarray]]
    econml_estimate: float


def fit_dml(prep: Prepared, *, model_y: Any = None, model_t: Any = None, cv: int = 5, random_state: Any = None,
            modifiers: np.ndarray | None = None) -> DMLFit:
    """Residualise outcome and treatment with cross-fitted nuisance models (econml LinearDML)
    and fit the final stage with cluster-robust errors.

    The nuisance models are fitted without precision weights: they estimate conditional means,
    which weights do not change, and scikit-learn's histogram boosting bins weighted data 10 to
    30 times more slowly. The final stage, which gives the estimate, is weighted. Native
    thread pools are capped during the fit (:func:`creative_causal.config_context`).

    Parameters
    ----------
    prep : Prepared
        From :func:`prepare`.
    model_y, model_t : scikit-learn estimators, optional
        Default: :func:`default_model` (a classifier for a binary treatment in the pooled design).
    cv : int, default=5
    random_state : int, Generator or None
    modifiers : ndarray, optional
        Columns along which the effect varies in the final stage.
    """
    from econml.dml import LinearDML
    from sklearn.base import is_classifier

    rng = check_random_state(random_state)
    seed = draw_seed(rng)
    # a binary treatment in the pooled design gets a propensity (classifier); a regressor the user
    # passes for it models E[T | W] directly, which for 0/1 is the same quantity
    discrete = prep.binary and prep.design == "pooled" and (model_t is None or is_classifier(model_t))
    model_y = model_y if model_y is not None else default_model("regression", random_state=seed)
    if model_t is None:
        model_t = default_model("classification" if discrete else "regression", random_state=seed)
    folds = group_folds(prep.codes, prep.n_cells, cv, rng)
    est = LinearDML(model_y=seeded(model_y, seed), model_t=seeded(model_t, seed), discrete_treatment=discrete,
                    cv=folds, random_state=seed, fit_cate_intercept=True)
    t = prep.t.astype(int) if discrete else prep.t
    w = prep.features if prep.features.shape[1] else None
    with warnings.catch_warnings(), limit_native_threads():
        # econml warns that it cannot check fold stratification for custom splits, and sklearn
        # about feature names; neither applies: folds are ours and arrays carry no names.
        warnings.filterwarnings("ignore", message=".*(stratif|feature names).*", category=UserWarning)
        est.fit(prep.y, t, X=modifiers, W=w, cache_values=True, inference=None)
    y_res, t_res, *_ = est.residuals_
    y_res = np.asarray(y_res, dtype=float).ravel()
    t_res = np.asarray(t_res, dtype=float).reshape(len(y_res), -1)[:, 0]
    design = np.ones((len(y_res), 1)) if modifiers is None else np.hstack([np.ones((len(y_res), 1)), modifiers])
    final = wls_cluster(y_res, t_res[:, None] * design, prep.weights, prep.codes)
    econml_value = float(np.mean(est.effect(modifiers))) if modifiers is not None else float(np.ravel(est.intercept_)[0])
    return DMLFit(y_res, t_res, final, design, folds, econml_value)

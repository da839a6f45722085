"""Nuisance models: one factory for the defaults, a small library chosen per data set by
out-of-fold loss, and cross-fitting.

The library (``candidates``) holds a constant (the mean, or the base rate), a regularised
linear model of the covariates' main effects (ridge, or L2 logistic regression), histogram
gradient boosting and a random forest (on data up to :data:`MAX_FOREST_ROWS` cells); the
outcome of the smaller treatment arm also gets :data:`OFFSET_CANDIDATE`, boosting on top of
the larger arm's chosen model (``fit_nuisance(offsets=...)``). A
model earns its place by beating the constant out of fold; where none does, the constant is
used and the adjustment adds no noise. Each is cross-fitted on the estimate's own folds (every
test in one fold); the one with the lowest out-of-fold loss is used (mean squared error; for
the propensity of an ATE or ATT, the loss tailored to the weights its score puts on the
propensity, otherwise the log loss, :func:`cell_loss`), and its out-of-fold predictions enter
the score directly, so choosing costs no second fit. The candidates are raced: one whose loss
on the folds fitted so far is :data:`RACE_Z` test-clustered standard errors worse than the
best complete candidate's on the same cells is dropped before its remaining folds are fitted
(it could not have won; on large data this is most of the choosing's cost). The losses of
every candidate are kept with the estimate, with the number of folds each was fitted on.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from sklearn.base import clone, is_classifier

from .._config import limit_native_threads
from .._validation import check_choice, draw_seed
from ..exceptions import InvalidParameterError
from ._inference import wls_cluster

Task = Literal["regression", "classification"]

#: Histogram gradient boosting with early stopping: fast on tens of thousands of cells and
#: flexible enough for nonlinear confounding (settings shared by both tasks).
_BOOSTING = dict(max_iter=300, learning_rate=0.1, max_leaf_nodes=15, min_samples_leaf=20, l2_regularization=1.0,
                 early_stopping=True, validation_fraction=0.15, n_iter_no_change=10)
#: The forest is left out of the library above this many cells: its cost grows fastest with
#: the data (a doubly robust fit of 20 000 cells took 37 s with it and 5.2 s without,
#: benchmarks/bench_estimate.py), and boosting covers the same ground there.
MAX_FOREST_ROWS = 5_000
#: The extra outcome candidate of the smaller treatment arm: histogram gradient boosting of
#: what the larger arm's chosen model leaves unexplained (an arm's outcome is the other's plus
#: the effect, and the effect is often simpler than the outcome). On the ACIC 2016 data sets,
#: where the treated are a fifth to a third of the children, it halved the ATE's mean absolute
#: error, 0.136 to 0.079 (benchmarks/validate_acic.py).
OFFSET_CANDIDATE = "other arm + boosting"
#: Propensities are kept away from 0 and 1 by this much when they divide (reported, never silent).
PROPENSITY_FLOOR = 0.01
#: A candidate is dropped part-way through cross-fitting once its loss on the cells of the folds
#: fitted so far exceeds the best complete candidate's on the same cells by this many
#: test-clustered standard errors. At 4 a candidate that would have won is practically never
#: dropped (no choice changed on the validation programmes of 1 200 cells); at 200 000 cells the
#: boosted propensity, which loses to the logistic model there, stops after one fold of five.
RACE_Z = 4.0
#: The estimands whose weights a propensity can be chosen for (:func:`cell_loss`).
WEIGHTINGS = ("ate", "att", "ato")


def default_model(task: Task = "regression", *, random_state: Any = None) -> Any:
    """Histogram gradient boosting (regressor or classifier): the library's flexible member.

    Parameters
    ----------
    task : {"regression", "classification"}
        A regressor for outcomes and continuous treatments, a classifier for propensities.
    random_state : int, Generator or None
        Seeds the model's validation split.

    Examples
    --------
    >>> default_model("classification", random_state=0).__class__.__name__
    'HistGradientBoostingClassifier'
    """
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    check_choice(task, "task", ("regression", "classification"))
    cls = HistGradientBoostingRegressor if task == "regression" else HistGradientBoostingClassifier
    return cls(**_BOOSTING, random_state=draw_seed(random_state))


def candidates(task: Task, n_rows: int, *, random_state: Any = None) -> dict[str, Any]:
    """The library the default nuisance model is chosen from, by name.

    Examples
    --------
    >>> sorted(candidates("regression", 1000, random_state=0))
    ['boosting', 'constant', 'forest', 'linear']
    >>> sorted(candidates("classification", 10**6, random_state=0))
    ['boosting', 'constant', 'linear']
    """
    from sklearn.dummy import DummyClassifier, DummyRegressor
    from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
    from sklearn.linear_model import LogisticRegression, RidgeCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    check_choice(task, "task", ("regression", "classification"))
    seed = draw_seed(random_state)
    forest = dict(n_estimators=50, min_samples_leaf=10, max_features=0.5, max_samples=0.5, n_jobs=1, random_state=seed)
    if task == "regression":
        library = {"constant": DummyRegressor(),
                   "linear": make_pipeline(StandardScaler(), RidgeCV(alphas=np.logspace(-3, 3, 13))),
                   "boosting": default_model("regression", random_state=seed),
                   "forest": RandomForestRegressor(**forest)}
    else:
        library = {"constant": DummyClassifier(strategy="prior"),
                   "linear": make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=2000)),
                   "boosting": default_model("classification", random_state=seed),
                   "forest": RandomForestClassifier(**forest)}
    if n_rows > MAX_FOREST_ROWS:
        library.pop("forest")
    return library


def seeded(model: Any, seed: int) -> Any:
    """A fresh clone of ``model``, seeded with ``seed`` when it has an unset ``random_state``
    (a user's own seed is kept)."""
    model = clone(model)
    params = model.get_params()
    if "random_state" in params and params["random_state"] is None:
        model.set_params(random_state=seed)
    return model


def fold_predictions(model: Any, x: np.ndarray, y: np.ndarray, folds: Sequence[tuple[np.ndarray, np.ndarray]], *,
                     rows: np.ndarray | None = None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield ``(test, prediction)`` fold by fold: each fold predicted by a clone of ``model``
    fitted on the other folds (restricted to ``rows`` when given, e.g. one treatment arm); a
    classifier predicts the probability of class 1."""
    for test, prediction, _ in _fold_fits(model, x, y, folds, rows=rows):
        yield test, prediction


def _fold_fits(model: Any, x: np.ndarray, y: np.ndarray, folds: Sequence[tuple[np.ndarray, np.ndarray]], *,
               rows: np.ndarray | None = None,
               offsets: Sequence[np.ndarray] | None = None) -> Iterator[tuple[np.ndarray, np.ndarray, Any]]:
    """:func:`fold_predictions`, also yielding each fold's fitted model (a float where the fold
    had nothing to learn from and its training mean is the prediction). With ``offsets`` (one
    array per fold, a value for every row), the model is fitted to ``y - offset`` and its
    prediction is ``offset + model``."""
    classify = is_classifier(model)
    x = x if x.shape[1] else np.zeros((len(y), 1))
    for k, (train, test) in enumerate(folds):
        offset = None if offsets is None else offsets[k]
        if rows is not None:
            train = train[rows[train]]
        if len(train) == 0 or (classify and len(np.unique(y[train])) < 2):
            # nothing (or one class) to learn from in this fold: the training mean is the prediction
            mean = float(np.mean(y[train])) if len(train) else float(np.mean(y))
            yield test, np.full(len(test), mean), mean
            continue
        fitted = clone(model).fit(x[train], y[train] if offset is None else y[train] - offset[train])
        if classify:
            proba = fitted.predict_proba(x[test])
            classes = list(fitted.classes_)
            yield test, proba[:, classes.index(1)] if 1 in classes else np.zeros(len(test)), fitted
        else:
            prediction = fitted.predict(x[test])
            yield test, prediction if offset is None else offset[test] + prediction, fitted


def fold_fit_predictions(fitted: Sequence[Any], x: np.ndarray) -> list[np.ndarray]:
    """Every row predicted by each fold's fitted regressor (:attr:`Nuisance.fitted`): the
    offsets of another nuisance's ``"other arm + boosting"`` candidate. A fold's model never
    saw that fold's rows, so an offset is out of fold wherever that fold is predicted."""
    x = x if x.shape[1] else np.zeros((len(x), 1))
    return [np.full(len(x), m) if isinstance(m, float) else m.predict(x) for m in fitted]


def crossfit_predict(model: Any, x: np.ndarray, y: np.ndarray, folds: Sequence[tuple[np.ndarray, np.ndarray]], *,
                     rows: np.ndarray | None = None) -> np.ndarray:
    """Out-of-fold predictions of ``model`` for every row (see :func:`fold_predictions`)."""
    out = np.full(len(y), np.nan)
    for test, prediction in fold_predictions(model, x, y, folds, rows=rows):
        out[test] = prediction
    return out


def cell_loss(y: np.ndarray, prediction: np.ndarray, task: Task, *, weighting: str | None = None) -> np.ndarray:
    """Each cell's squared error, or loss of its probability as the scores use it: kept within
    [0.01, 0.99] (:data:`PROPENSITY_FLOOR`), which also makes a regressor's linear probabilities
    comparable.

    A probability's loss is the log loss, or with ``weighting`` the loss tailored to the weights
    a doubly robust score puts on the propensity (Zhao 2019), with ``f`` the log-odds:

    * ``"ate"`` (weights ``1/e``, ``1/(1 - e)``): ``t (exp(-f) - f) + (1 - t) (exp(f) + f)``;
    * ``"att"`` (the controls' odds ``e/(1 - e)``): ``-t f + (1 - t) exp(f)``;
    * ``"ato"`` (overlap weights ``1 - e``, ``e``): the log loss itself.

    Each is minimised by the true probability (a proper scoring rule); they differ in which
    errors they count. The log loss grows with the logarithm of the odds a control is given
    (2.3 for a propensity of 0.9), the ATT's loss with the odds themselves (9, the weight the
    ATT would give it), the ATE's with ``1/e`` and ``1/(1 - e)``.

    Examples
    --------
    >>> t, p = np.array([1.0, 0.0]), np.array([0.5, 0.2])
    >>> cell_loss(t, p, "classification").round(3)
    array([0.693, 0.223])
    >>> cell_loss(t, p, "classification", weighting="att").round(3)
    array([0.  , 0.25])
    """
    if task == "regression":
        return (y - prediction) ** 2
    p = np.clip(prediction, PROPENSITY_FLOOR, 1 - PROPENSITY_FLOOR)
    if weighting in (None, "ato"):
        return -(y * np.log(p) + (1 - y) * np.log(1 - p))
    check_choice(weighting, "weighting", WEIGHTINGS)
    odds = p / (1 - p)
    log_odds = np.log(odds)
    if weighting == "att":
        return -y * log_odds + (1 - y) * odds
    return y * (1 / odds - log_odds) + (1 - y) * (odds + log_odds)


def loss(y: np.ndarray, prediction: np.ndarray, task: Task, *, weighting: str | None = None) -> float:
    """Mean squared error, or mean loss of a probability (:func:`cell_loss`)."""
    return float(np.mean(cell_loss(y, prediction, task, weighting=weighting)))


def clustered_z(difference: np.ndarray, groups: np.ndarray | None) -> float:
    """The mean of per-cell ``difference`` over its test-clustered standard error (cells of a
    test move together); 0 when there are fewer than two tests or no spread.

    Examples
    --------
    >>> d = np.array([1.0, 1.2, 0.9, 1.1, 1.0, 0.8])
    >>> round(clustered_z(d, np.array([0, 0, 1, 1, 2, 2])), 1)
    17.3
    """
    n = len(difference)
    clusters = np.arange(n) if groups is None else np.asarray(groups)
    if n < 2 or np.unique(clusters).size < 2:
        return 0.0
    # a regression on a constant: its CR1 error is the cluster-robust error of the mean
    fit = wls_cluster(difference, np.ones(n), None, clusters)
    se = float(np.sqrt(fit.cov[0, 0]))
    return float(fit.coef[0]) / se if se > 0 else 0.0


@dataclass(frozen=True)
class Nuisance:
    """One fitted nuisance: its out-of-fold predictions, the model used and every candidate's
    loss (over the folds it was fitted on: ``folds``, all of them unless it was dropped)."""

    role: str
    task: str
    prediction: np.ndarray
    model: str
    losses: dict[str, float]
    folds: dict[str, int] = field(default_factory=dict)
    #: the chosen model's fit in each fold, kept only when asked for (``keep_fitted``)
    fitted: tuple[Any, ...] = ()
    #: what ``losses`` measure: "squared error", "log loss", or "ATE-" or "ATT-tailored loss"
    criterion: str = ""

    def table(self) -> pd.DataFrame:
        return pd.DataFrame([dict(role=self.role, model=name, loss=value, criterion=self.criterion,
                                  chosen=name == self.model, folds=self.folds.get(name, np.nan))
                             for name, value in self.losses.items()])


def fit_nuisance(role: str, task: Task, x: np.ndarray, y: np.ndarray,
                 folds: Sequence[tuple[np.ndarray, np.ndarray]], *, model: Any = None, random_state: Any = None,
                 rows: np.ndarray | None = None, groups: np.ndarray | None = None,
                 offsets: Sequence[np.ndarray] | None = None, keep_fitted: bool = False,
                 weighting: str | None = None) -> Nuisance:
    """Cross-fit a nuisance: the given ``model``, or the library's candidate with the lowest
    out-of-fold loss, the candidates raced fold by fold (:data:`RACE_Z`; ``groups``, the cells'
    tests, cluster the race's standard errors). Native thread pools are capped during the fits.

    ``offsets`` (per fold, another nuisance's fit for every row, :func:`fold_fit_predictions`)
    add the candidate :data:`OFFSET_CANDIDATE`: boosting of what that fit leaves unexplained.
    ``keep_fitted`` keeps the chosen model's fit in each fold (:attr:`Nuisance.fitted`).
    ``weighting`` (a classification's estimand, :data:`WEIGHTINGS`) chooses the propensity by
    the loss tailored to that estimand's weights (:func:`cell_loss`) rather than the log loss."""
    seed = draw_seed(random_state)
    evaluated = np.ones(len(y), dtype=bool) if rows is None else rows
    measure = dict(task=task, weighting=weighting if task == "classification" else None)
    library = ({"user": seeded(model, seed)} if model is not None
               else candidates(task, int(evaluated.sum()), random_state=seed))
    if offsets is not None and task != "regression":
        raise InvalidParameterError(f"fit_nuisance: offsets shift a regression (an outcome model), not a {task} "
                                    f"nuisance ({role}); pass offsets=None.")
    if offsets is not None and model is None:
        library[OFFSET_CANDIDATE] = default_model(task, random_state=seed)
    predictions: dict[str, np.ndarray] = {}
    fits: dict[str, list[Any]] = {}
    losses: dict[str, float] = {}
    fitted_folds: dict[str, int] = {}
    best_cell_loss: np.ndarray | None = None  # per cell, the best complete candidate's
    with limit_native_threads():
        for name, candidate in library.items():
            prediction, seen, k = np.full(len(y), np.nan), np.zeros(len(y), dtype=bool), 0
            fits[name] = []
            by_fold = _fold_fits(candidate, x, y, folds, rows=rows, offsets=offsets if name == OFFSET_CANDIDATE else None)
            for k, (test, fold_prediction, fitted) in enumerate(by_fold, start=1):
                prediction[test], seen[test] = fold_prediction, True
                if keep_fitted:
                    fits[name].append(fitted)
                cells = seen & evaluated
                if best_cell_loss is not None and k < len(folds):
                    excess = cell_loss(y[cells], prediction[cells], **measure) - best_cell_loss[cells]
                    if clustered_z(excess, None if groups is None else groups[cells]) > RACE_Z:
                        break  # it cannot win: its remaining folds are not fitted
            fitted_folds[name] = k
            losses[name] = loss(y[cells], prediction[cells], **measure)
            if k == len(folds):
                predictions[name] = prediction
                if len(predictions) == 1 or losses[name] < min(losses[n] for n in predictions if n != name):
                    best_cell_loss = np.where(evaluated, cell_loss(y, prediction, **measure), np.nan)
    chosen = min(predictions, key=losses.get)
    label = type(model).__name__ if model is not None else chosen
    if model is not None:
        losses, fitted_folds = {label: losses[chosen]}, {label: fitted_folds[chosen]}
    criterion = ("squared error" if task == "regression" else "log loss" if weighting in (None, "ato")
                 else f"{weighting.upper()}-tailored loss")
    return Nuisance(role, task, predictions[chosen], label, losses, fitted_folds, tuple(fits[chosen]), criterion)


__all__ = ["default_model", "candidates", "seeded", "crossfit_predict", "fold_predictions", "fold_fit_predictions",
           "fit_nuisance", "Nuisance", "OFFSET_CANDIDATE",
           "loss", "cell_loss", "clustered_z", "MAX_FOREST_ROWS", "PROPENSITY_FLOOR", "RACE_Z", "WEIGHTINGS"]

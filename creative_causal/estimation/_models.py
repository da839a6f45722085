"""Nuisance models: one factory for the defaults, a small library chosen per data set by
out-of-fold loss, and cross-fitting.

The library (``candidates``) holds a constant (the mean, or the base rate), a regularised
linear model of the covariates' main effects (ridge, or L2 logistic regression), histogram
gradient boosting and a random forest (on data up to :data:`MAX_FOREST_ROWS` cells). A
model earns its place by beating the constant out of fold; where none does, the constant is
used and the adjustment adds no noise. Each is cross-fitted on the estimate's own folds (every
test in one fold); the one with the lowest out-of-fold loss (mean squared error, or log loss
for a propensity) is used, and its out-of-fold predictions enter the score directly, so
choosing costs no second fit. The losses of every candidate are kept with the estimate.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from sklearn.base import clone, is_classifier

from .._config import limit_native_threads
from .._validation import check_choice, draw_seed

Task = Literal["regression", "classification"]

#: Histogram gradient boosting with early stopping: fast on tens of thousands of cells and
#: flexible enough for nonlinear confounding (settings shared by both tasks).
_BOOSTING = dict(max_iter=300, learning_rate=0.1, max_leaf_nodes=15, min_samples_leaf=20, l2_regularization=1.0,
                 early_stopping=True, validation_fraction=0.15, n_iter_no_change=10)
#: The forest is left out of the library above this many cells: its cost grows fastest with
#: the data (a doubly robust fit of 20 000 cells took 37 s with it and 5.2 s without,
#: benchmarks/bench_estimate.py), and boosting covers the same ground there.
MAX_FOREST_ROWS = 5_000
#: Propensities are kept away from 0 and 1 by this much when they divide (reported, never silent).
PROPENSITY_FLOOR = 0.01


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


def crossfit_predict(model: Any, x: np.ndarray, y: np.ndarray, folds: Sequence[tuple[np.ndarray, np.ndarray]], *,
                     rows: np.ndarray | None = None) -> np.ndarray:
    """Out-of-fold predictions of ``model`` for every row: each fold predicted by a clone fitted
    on the other folds (restricted to ``rows`` when given, e.g. one treatment arm); a
    classifier predicts the probability of class 1."""
    out = np.full(len(y), np.nan)
    classify = is_classifier(model)
    x = x if x.shape[1] else np.zeros((len(y), 1))
    for train, test in folds:
        if rows is not None:
            train = train[rows[train]]
        if len(train) == 0 or (classify and len(np.unique(y[train])) < 2):
            # nothing (or one class) to learn from in this fold: the training mean is the prediction
            out[test] = float(np.mean(y[train])) if len(train) else float(np.mean(y))
            continue
        fitted = clone(model).fit(x[train], y[train])
        if classify:
            proba = fitted.predict_proba(x[test])
            classes = list(fitted.classes_)
            out[test] = proba[:, classes.index(1)] if 1 in classes else 0.0
        else:
            out[test] = fitted.predict(x[test])
    return out


def loss(y: np.ndarray, prediction: np.ndarray, task: Task) -> float:
    """Mean squared error, or log loss of probabilities as the scores use them: kept within
    [0.01, 0.99] (:data:`PROPENSITY_FLOOR`), which also makes a regressor's linear
    probabilities comparable."""
    if task == "regression":
        return float(np.mean((y - prediction) ** 2))
    p = np.clip(prediction, PROPENSITY_FLOOR, 1 - PROPENSITY_FLOOR)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


@dataclass(frozen=True)
class Nuisance:
    """One fitted nuisance: its out-of-fold predictions, the model used and every candidate's loss."""

    role: str
    task: str
    prediction: np.ndarray
    model: str
    losses: dict[str, float]
    constant_loss: float

    def table(self) -> pd.DataFrame:
        return pd.DataFrame([dict(role=self.role, model=name, loss=value, chosen=name == self.model)
                             for name, value in self.losses.items()])


def fit_nuisance(role: str, task: Task, x: np.ndarray, y: np.ndarray,
                 folds: Sequence[tuple[np.ndarray, np.ndarray]], *, model: Any = None, random_state: Any = None,
                 rows: np.ndarray | None = None) -> Nuisance:
    """Cross-fit a nuisance: the given ``model``, or the library's candidate with the lowest
    out-of-fold loss. Native thread pools are capped during the fits."""
    seed = draw_seed(random_state)
    evaluated = np.ones(len(y), dtype=bool) if rows is None else rows
    y_eval = y[evaluated]
    base = float(np.mean(y_eval)) if evaluated.any() else 0.0
    constant = loss(y_eval, np.full(len(y_eval), base), task)
    library = ({"user": seeded(model, seed)} if model is not None
               else candidates(task, int(evaluated.sum()), random_state=seed))
    predictions: dict[str, np.ndarray] = {}
    losses: dict[str, float] = {}
    with limit_native_threads():
        for name, candidate in library.items():
            predictions[name] = crossfit_predict(candidate, x, y, folds, rows=rows)
            losses[name] = loss(y_eval, predictions[name][evaluated], task)
    chosen = min(losses, key=losses.get)
    label = type(model).__name__ if model is not None else chosen
    named_losses = {label: losses[chosen]} if model is not None else losses
    return Nuisance(role, task, predictions[chosen], label, named_losses, constant)


__all__ = ["default_model", "candidates", "seeded", "crossfit_predict", "fit_nuisance", "Nuisance", "loss",
           "MAX_FOREST_ROWS", "PROPENSITY_FLOOR"]

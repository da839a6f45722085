"""The default nuisance models: one factory, so every estimator, diagnostic and reference
uses the same learners."""

from __future__ import annotations

from typing import Any, Literal

from sklearn.base import clone

from .._validation import check_choice, draw_seed

Task = Literal["regression", "classification"]

#: Histogram gradient boosting with early stopping: fast on tens of thousands of cells and
#: flexible enough for nonlinear confounding (settings shared by both tasks).
_BOOSTING = dict(max_iter=300, learning_rate=0.1, max_leaf_nodes=15, min_samples_leaf=20, l2_regularization=1.0,
                 early_stopping=True, validation_fraction=0.15, n_iter_no_change=10)


def default_model(task: Task = "regression", *, random_state: Any = None) -> Any:
    """The default nuisance model: histogram gradient boosting (regressor or classifier).

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


def seeded(model: Any, seed: int) -> Any:
    """A fresh clone of ``model``, seeded with ``seed`` when it has an unset ``random_state``
    (a user's own seed is kept)."""
    model = clone(model)
    params = model.get_params()
    if "random_state" in params and params["random_state"] is None:
        model.set_params(random_state=seed)
    return model

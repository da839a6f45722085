"""DoWhy's refuters on the same estimator: the reference our verdicts are checked against."""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Literal

import numpy as np
import pandas as pd

from .._config import limit_native_threads
from .._validation import check_choice, check_level, draw_seed
from ..estimation import EffectEstimate, default_model
from ..exceptions import EstimationError
from ._refute import TESTS, check_refutation

_DOWHY_METHOD = {"placebo": "placebo_treatment_refuter", "random_common_cause": "random_common_cause",
                 "subset": "data_subset_refuter", "bootstrap": "bootstrap_refuter"}


def dowhy_refutations(
    estimate: EffectEstimate,
    *,
    tests: Sequence[str] = TESTS,
    n_simulations: int = 100,
    level: float = 0.95,
    model_y: Any = None,
    model_t: Any = None,
    cv: int = 5,
    random_state: Any = None,
    n_jobs: int = 1,
    compare_to: Literal["dowhy", "estimate"] = "dowhy",
) -> pd.DataFrame:
    """Run DoWhy's refuters on the estimate's own prepared data, with econml's LinearDML (or
    LinearDRLearner for a doubly robust ATE).

    The estimate's prepared arrays (outcome, treatment and confounders exactly as they
    entered the nuisance models, so already demeaned within tests for the partially linear
    model in the within-test design, or the contrast with the rest of the test and its
    features for the doubly robust score) become a DoWhy ``CausalModel`` with the graph
    confounders -> treatment -> outcome; LinearDML (LinearDRLearner) with the given nuisance
    models (default: the estimate's own, or histogram gradient boosting when the library
    chose them) is fitted through DoWhy, and each refuter runs ``n_simulations`` full refits. DoWhy's verdict is
    read as DoWhy documents it: a test fails when its p-value is at most ``1 - level``. The
    placebo permutes the treatment across all rows; the bootstrap resamples rows and, with
    ``required_variables=False``, adds no measurement noise, so that it is the plain
    bootstrap ours is compared with.

    ``compare_to="estimate"`` makes DoWhy judge the estimate's own value (the number
    :func:`refute` judges) instead of the value of DoWhy's refit: the simulations are DoWhy's
    either way. It is how the two are compared on an estimate that should fail.

    Returns
    -------
    DataFrame
        One row per test: ``test``, ``original``, ``refuted``, ``p_value``, ``status``,
        ``seconds``.
    """
    import networkx as nx
    from dowhy import CausalModel
    from dowhy.causal_estimators.econml import Econml
    from econml.dml import LinearDML
    from econml.dr import LinearDRLearner

    tests, n_simulations = check_refutation(estimate, tests, n_simulations, "dowhy_refutations()")
    check_choice(compare_to, "compare_to", ("dowhy", "estimate"))
    alpha = 1 - check_level(level)
    seed = draw_seed(random_state)
    stage = estimate.fitted
    if stage is None:
        raise EstimationError("the estimate carries no prepared data; re-run estimate_effect in this session.")
    spec = stage.spec
    if spec["method"] != "dml" or stage.final_design.shape[1] != 1 or stage.estimand not in ("plr", "ate"):
        raise EstimationError("the DoWhy reference covers single-slope double-ML estimates of the ATE or the partially "
                              f"linear coefficient (method='dml', no by=); this one is method={spec['method']!r}, "
                              f"estimand={stage.estimand!r}.")
    scores = stage.scores
    features = scores.features if scores is not None else stage.features
    names = [f"w{i}" for i in range(features.shape[1])]
    frame = pd.DataFrame(features, columns=names)
    frame["t"], frame["y"] = (scores.treatment, scores.outcome) if scores is not None else (stage.t, stage.y)
    graph = nx.DiGraph([(n, "t") for n in names] + [(n, "y") for n in names] + [("t", "y")])
    my = next(m for m in (model_y, spec["model_y"], default_model("regression", random_state=seed)) if m is not None)
    task = "classification" if scores is not None else "regression"
    mt = next(m for m in (model_t, spec["model_t"], default_model(task, random_state=seed)) if m is not None)
    if scores is not None:
        econml_estimator: Any = LinearDRLearner(model_propensity=mt, model_regression=my, cv=cv, random_state=seed)
    else:
        econml_estimator = LinearDML(model_y=my, model_t=mt, cv=cv, random_state=seed)
    rows = []
    with _quiet_dowhy(), limit_native_threads(), warnings.catch_warnings():
        # DoWhy (and the libraries it drives) warn about their own deprecated paths on every refit
        warnings.filterwarnings("ignore", module=r"(dowhy|econml|sklearn|pandas|numpy|scipy)(\.|$)")
        model = CausalModel(data=frame, treatment="t", outcome="y", graph=graph)
        ident = model.identify_effect(proceed_when_unidentifiable=True)
        ident.set_identifier_method("backdoor")
        estimator = Econml(ident, econml_estimator=econml_estimator)
        estimator.fit(frame)
        dowhy_estimate = estimator.estimate_effect(frame, control_value=0, treatment_value=1, target_units="ate")
        if compare_to == "estimate":
            dowhy_estimate.value = estimate.value
        for name in tests:
            # A RandomState, not an int: DoWhy's subset and bootstrap refuters pass an int seed
            # unchanged to every simulation, which then all draw the same sample (p = 0).
            kwargs: dict[str, Any] = dict(num_simulations=n_simulations, n_jobs=n_jobs,
                                          random_state=np.random.RandomState(seed))
            if name == "placebo":
                kwargs["placebo_type"] = "permute"
            if name == "subset":
                kwargs["subset_fraction"] = 0.8
            if name == "bootstrap":
                kwargs["required_variables"] = False
            start = time.perf_counter()
            result = model.refute_estimate(ident, dowhy_estimate, method_name=_DOWHY_METHOD[name], **kwargs)
            p = float(result.refutation_result["p_value"])
            rows.append(dict(test=name, original=float(dowhy_estimate.value), refuted=float(result.new_effect),
                             p_value=p, status="failed" if p <= alpha else "passed",
                             seconds=time.perf_counter() - start))
    return pd.DataFrame(rows)


@contextmanager
def _quiet_dowhy() -> Iterator[None]:
    """DoWhy logs every refit at INFO: raise its logger's level for the block, then restore it."""
    logger = logging.getLogger("dowhy")
    before = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(before)


__all__ = ["dowhy_refutations"]

"""DoWhy's refuters on the same estimator: the reference our verdicts are checked against."""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..estimation import EffectEstimate
from ..exceptions import EstimationError
from ._refute import TESTS

_DOWHY_METHOD = {"placebo": "placebo_treatment_refuter", "random_common_cause": "random_common_cause",
                 "subset": "data_subset_refuter", "bootstrap": "bootstrap_refuter"}


def dowhy_refutations(
    estimate: EffectEstimate,
    *,
    tests: Sequence[str] = TESTS,
    n_simulations: int = 100,
    alpha: float = 0.05,
    model_y: Any = None,
    model_t: Any = None,
    cv: int = 5,
    random_state: int = 0,
    n_jobs: int = 1,
) -> pd.DataFrame:
    """Run DoWhy's refuters on the estimate's own prepared data, with econml's LinearDML.

    The estimate's prepared arrays (outcome, treatment and confounders exactly as they
    entered the nuisance models, so already demeaned within tests for the within-test
    design) become a DoWhy ``CausalModel`` with the graph confounders -> treatment -> outcome;
    LinearDML with the given nuisance models (default: the ones of the estimate) is fitted
    through DoWhy, and each refuter runs ``n_simulations`` full refits. DoWhy's verdict is
    read as DoWhy documents it: a test fails when its p-value is at most ``alpha``. The
    placebo permutes the treatment across all rows; the bootstrap resamples rows and, with
    ``required_variables=False``, adds no measurement noise, so that it is the plain
    bootstrap ours is compared with.

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

    stage = estimate.fitted
    if stage is None:
        raise EstimationError("the estimate carries no prepared data; re-run estimate_effect in this session.")
    spec = stage.spec
    if spec["method"] != "dml" or stage.final_design.shape[1] != 1:
        raise EstimationError("the DoWhy reference covers single-slope double-ML estimates (method='dml', no modifiers).")
    from ..estimation._dml import default_regressor

    names = [f"w{i}" for i in range(stage.features.shape[1])]
    frame = pd.DataFrame(stage.features, columns=names)
    frame["t"], frame["y"] = stage.t, stage.y
    graph = nx.DiGraph([(n, "t") for n in names] + [(n, "y") for n in names] + [("t", "y")])
    my = model_y if model_y is not None else (spec["model_y"] if spec["model_y"] is not None else default_regressor(random_state))
    mt = model_t if model_t is not None else (spec["model_t"] if spec["model_t"] is not None else default_regressor(random_state))
    rows = []
    logging.getLogger("dowhy").setLevel(logging.ERROR)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = CausalModel(data=frame, treatment="t", outcome="y", graph=graph)
        ident = model.identify_effect(proceed_when_unidentifiable=True)
        ident.set_identifier_method("backdoor")
        estimator = Econml(ident, econml_estimator=LinearDML(model_y=my, model_t=mt, cv=cv, random_state=random_state))
        estimator.fit(frame)
        dowhy_estimate = estimator.estimate_effect(frame, control_value=0, treatment_value=1, target_units="ate")
        for name in tests:
            # A RandomState, not an int: DoWhy's subset and bootstrap refuters pass an int seed
            # unchanged to every simulation, which then all draw the same sample (p = 0).
            kwargs: dict[str, Any] = dict(num_simulations=n_simulations, n_jobs=n_jobs,
                                          random_state=np.random.RandomState(random_state))
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


__all__ = ["dowhy_refutations"]

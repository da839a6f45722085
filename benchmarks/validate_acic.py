"""Coverage on a semi-synthetic benchmark we did not generate: the 2016 Atlantic Causal
Inference Conference data challenge (Dorie, Hill, Shalit, Scott and Cervone 2019).

The covariates are real (4 802 children of the Collaborative Perinatal Project: 58
variables, three of them categorical); treatment and potential outcomes are simulated by the
challenge's organisers, with known expected outcomes ``mu0`` and ``mu1`` for every child. The
copy that ships inside the ``causallib`` package (installed by the README's test command
with ``--no-deps``; read from its files by ``datasets.load_acic2016``, the package is not
imported) holds one data set
from each of ten of the challenge's 77 data-generating processes, which differ in the
treated share, overlap, the form of the response surfaces and how much the effect varies.
Each is a single draw, so a coverage figure here is a count out of ten, not a calibrated
frequency.

Truths: the sample ATE ``mean(mu1 - mu0)`` over every child and the sample ATT over the
treated (the challenge scored the ATT). Estimators, all in the pooled design (no tests):

* ours: ``estimand="ate"``, ``"att"`` and ``"plr"`` with the default nuisance library, OLS
  with the covariates, and the naive difference;
* DoubleML's IRM, ``score="ATE"`` and ``"ATTE"`` (the reference, test-only dependency), with
  the histogram gradient boosting nuisances of ``validate_estimands.py``.

Printed: per data set, each estimate's error and z-score (error over its SE); then per
estimator, how many of the ten intervals cover their truth, the mean error and mean absolute
error, the mean z, mean absolute z and standard deviation of z, the mean interval width and
the mean interval score (the width plus 40 times any miss).

    python benchmarks/validate_acic.py [--instances 1 2 ... 10] [--n-jobs 2]
"""

from __future__ import annotations

import argparse
import time
import warnings
from typing import Any

import numpy as np
import pandas as pd

OURS: dict[str, dict[str, Any]] = {
    "naive": dict(method="naive", confounders=[]),
    "ols": dict(method="ols"),
    "ours ate": dict(estimand="ate"),
    "ours att": dict(estimand="att"),
    "ours plr": dict(estimand="plr"),
}
REFERENCE = {"DoubleML IRM ate": "ATE", "DoubleML IRM att": "ATTE"}
ESTIMATORS = (*OURS, *REFERENCE)
ATT_ESTIMATORS = ("ours att", "DoubleML IRM att")  # judged against the sample ATT, the rest against the ATE


def one_instance(instance: int, seed: int = 0) -> dict[str, Any]:
    warnings.simplefilter("ignore")
    from creative_causal import estimate_effect
    from creative_causal.datasets import load_acic2016

    data = load_acic2016(instance)
    frame, covariates, ate, att = data.frame, list(data.covariates), data.truth["ate"], data.truth["att"]
    row: dict[str, Any] = dict(instance=instance, treated_share=float(frame["t"].mean()), ate=ate, att=att)
    for name, settings in OURS.items():
        kw = dict(outcome="y", confounders=covariates, design="pooled", cluster=None, weights=None, random_state=seed)
        est = estimate_effect(frame, "t", **{**kw, **settings})
        row[name] = (est.value, est.std_error, est.ci_low, est.ci_high)
        if name == "ours ate":
            d = est.diagnostics
            row.update(outcome_model=d.outcome_model, propensity_model=d.treatment_model, share_clipped=d.share_clipped,
                       auc=d.auc)
    encoded = pd.get_dummies(frame, columns=["x_2", "x_21", "x_24"], drop_first=True, dtype=float)
    row.update(reference_fits(encoded, [c for c in encoded if c not in ("t", "y")], seed))
    return row


def reference_fits(frame: pd.DataFrame, covariates: list[str], seed: int) -> dict[str, tuple[float, ...]]:
    """DoubleML's IRM with the ATE and ATTE scores on ``frame`` (treatment ``t``, outcome ``y``):
    estimate, SE and 95% interval per :data:`REFERENCE` name."""
    import doubleml as dml
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from validate_estimands import REFERENCE_BOOSTING

    data = dml.DoubleMLData(frame, "y", "t", x_cols=covariates)
    out = {}
    for name, score in REFERENCE.items():
        np.random.seed(seed)  # DoubleML draws its folds from the global generator
        irm = dml.DoubleMLIRM(data, HistGradientBoostingRegressor(**REFERENCE_BOOSTING, random_state=seed),
                              HistGradientBoostingClassifier(**REFERENCE_BOOSTING, random_state=seed), score=score,
                              n_folds=5).fit()
        low, high = irm.confint(level=0.95).to_numpy()[0]
        out[name] = (float(irm.coef[0]), float(irm.se[0]), float(low), float(high))
    return out


def per_instance(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Each estimate's error and z-score against its truth, one row per data set."""
    out = []
    for r in rows:
        line: dict[str, Any] = dict(instance=r["instance"], treated=r["treated_share"], ate=r["ate"], att=r["att"],
                                    clipped=r["share_clipped"], auc=r["auc"])
        for name in ESTIMATORS:
            value, se, _, _ = r[name]
            truth = r["att"] if name in ATT_ESTIMATORS else r["ate"]
            line[f"{name} z"] = (value - truth) / se
        out.append(line)
    return pd.DataFrame(out)


def summarise(rows: list[dict[str, Any]], estimators: tuple[str, ...] = ESTIMATORS) -> pd.DataFrame:
    """Per estimator over the rows (each with its ``ate`` and ``att``): intervals covering, mean
    error, mean absolute error, mean z and |z|, the standard deviation of z, mean width and mean
    interval score (``validate_estimands.interval_score``: the width plus 40 times any miss)."""
    from validate_estimands import interval_score

    out = []
    for name in estimators:
        value, se, low, high = (np.array(v) for v in zip(*(r[name] for r in rows)))
        truth = np.array([r["att"] if name in ATT_ESTIMATORS else r["ate"] for r in rows])
        z = (value - truth) / se
        out.append(dict(estimator=name, truth="ATT" if name in ATT_ESTIMATORS else "ATE",
                        covered=int(np.sum((low <= truth) & (truth <= high))), of=len(rows),
                        mean_error=np.mean(value - truth), mean_abs_error=np.mean(np.abs(value - truth)),
                        mean_z=np.mean(z), mean_abs_z=np.mean(np.abs(z)), sd_z=np.std(z, ddof=1) if len(z) > 1 else np.nan,
                        width=np.mean(high - low), interval_score=np.mean(interval_score(low, high, truth))))
    return pd.DataFrame(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, nargs="+", default=list(range(1, 11)))
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0, help="folds and nuisance seeds")
    args = parser.parse_args()
    from joblib import Parallel, delayed

    start = time.perf_counter()
    rows = Parallel(n_jobs=args.n_jobs)(delayed(one_instance)(i, args.seed) for i in args.instances)
    print(f"ACIC 2016 (causallib's copy): {len(rows)} data sets of 4 802 children, 58 covariates; "
          f"{time.perf_counter() - start:.0f} s")
    print(per_instance(rows).to_string(index=False, float_format=lambda v: f"{v:.2f}"))
    print(summarise(rows).to_string(index=False, float_format=lambda v: f"{v:.3f}"))


if __name__ == "__main__":
    main()

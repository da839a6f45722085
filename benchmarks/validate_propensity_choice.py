"""What the propensity's choice does to the doubly robust ATE: the library's choice against
each candidate of its library, on the same programmes, folds and outcome models.

On ``validate_estimands.py``'s programmes (same settings and seeds; truth the population
ATE), the library's ATE (``estimate_effect(estimand="ate")``, whose propensity is the
candidate with the lowest ATE-tailored loss) and the ATE with each propensity candidate of
the library in its place (``constant``, ``linear``, ``boosting``, ``forest``: the same
models with the same seeds, fitted on the same folds; the outcome models as the library
chose them). Printed per setting and propensity: how often the library chose it, its mean
out-of-fold ATE-tailored loss and log loss, coverage of the 95% interval, mean z and the
standard deviation of the z-scores, the standard deviation of the estimates, RMSE and the
mean standard error (docs/estimation.md, "Where the IRM is more precise").

    python benchmarks/validate_propensity_choice.py [--replications 80] [--settings all] [--n-jobs 2]
                                                    [--save rows.csv]
"""

from __future__ import annotations

import argparse
import time
import warnings
from typing import Any

import numpy as np
import pandas as pd
from validate_estimands import SETTINGS, doubly_robust_inputs, draw_programme, population_truth


def one_programme(setting: str, r: int) -> list[dict[str, Any]]:
    """The library's ATE and each propensity candidate's on replication ``r`` of ``setting``."""
    warnings.simplefilter("ignore")
    from creative_causal import estimate_effect
    from creative_causal._validation import check_random_state, draw_seed
    from creative_causal.estimation import (
        PROPENSITY_FLOOR,
        DRScores,
        candidates,
        cell_loss,
        fit_aipw,
        fit_nuisance,
        within_test_inputs,
        wls_cluster,
    )

    study = draw_programme(setting, r).study_data(check_srm=False)
    est = estimate_effect(study, "has_face", random_state=r, estimand="ate")
    # estimate_effect's path to fit_aipw, step by step, so the folds and seeds are the library's
    prep = doubly_robust_inputs(study)
    fit_seed = draw_seed(r)
    fit = fit_aipw(prep, estimand="ate", random_state=fit_seed)
    assert np.isclose(fit.value, est.value), "the library's path was not reproduced"
    nuisance_seed = draw_seed(check_random_state(fit_seed))
    y, t, x = within_test_inputs(prep)
    n0, n1, chosen = fit.nuisances
    rows = [dict(setting=setting, replication=r, propensity="library", chosen=chosen.model, value=est.value,
                 se=est.std_error)]
    for name, model in candidates("classification", len(t), random_state=nuisance_seed).items():
        raw = fit_nuisance("propensity", "classification", x, t.astype(int), fit.folds, model=model,
                           random_state=nuisance_seed, groups=prep.codes).prediction
        e = np.clip(raw, PROPENSITY_FLOOR, 1 - PROPENSITY_FLOOR)
        numerator, denominator = DRScores("ate", y, t, e, n0.prediction, n1.prediction, x).terms()
        solved = wls_cluster(numerator, np.ones(len(y)), prep.weights, prep.codes, denominator=denominator)
        rows.append(dict(setting=setting, replication=r, propensity=name, chosen=chosen.model,
                         value=float(solved.coef[0]), se=float(np.sqrt(solved.cov[0, 0])),
                         tailored_loss=float(np.mean(cell_loss(t, raw, "classification", weighting="ate"))),
                         log_loss=float(np.mean(cell_loss(t, raw, "classification")))))
    return rows


def summarise(rows: pd.DataFrame, truth: float) -> pd.DataFrame:
    out = []
    chosen = rows[rows.propensity == "library"].chosen.value_counts()
    for name, group in rows.groupby("propensity", sort=False):
        z = (group.value - truth) / group.se
        out.append(dict(propensity=name, chosen=int(chosen.sum()) if name == "library" else int(chosen.get(name, 0)),
                        tailored_loss=group.get("tailored_loss", pd.Series(dtype=float)).mean(),
                        log_loss=group.get("log_loss", pd.Series(dtype=float)).mean(),
                        coverage=np.mean(np.abs(z) <= 1.959964), mean_z=z.mean(), sd_z=z.std(ddof=1),
                        sd_estimates=group.value.std(ddof=1), rmse=np.sqrt(np.mean((group.value - truth) ** 2)),
                        mean_se=group.se.mean()))
    return pd.DataFrame(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, default=80)
    parser.add_argument("--settings", nargs="+", default=["all"], choices=["all", *SETTINGS])
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--save", default=None, help="write every programme's estimates to this CSV")
    args = parser.parse_args()
    from joblib import Parallel, delayed

    saved = []
    for setting in list(SETTINGS) if "all" in args.settings else args.settings:
        start = time.perf_counter()
        truth = population_truth(SETTINGS[setting])
        got = Parallel(n_jobs=args.n_jobs)(delayed(one_programme)(setting, r) for r in range(args.replications))
        rows = pd.DataFrame([row for rows in got for row in rows]).assign(truth=truth)
        saved.append(rows)
        table = summarise(rows, truth)
        print(f"\n{setting}: population ATE {truth:+.4f}; {args.replications} programmes; "
              f"{time.perf_counter() - start:.0f} s")
        print(table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    if args.save:
        pd.concat(saved).to_csv(args.save, index=False)


if __name__ == "__main__":
    main()

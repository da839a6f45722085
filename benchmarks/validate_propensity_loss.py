"""Which loss should choose a doubly robust estimand's propensity model? The log loss, or the
loss tailored to the weights the estimand puts on the propensity (Zhao 2019;
``creative_causal.estimation.cell_loss``), compared on the same programmes and folds.

The library chooses the ATE's and the ATT's propensities by their tailored losses (the
ATO's by the log loss, its own). This script refits with the choice forced each way (the
candidates and folds are the library's; only the loss that picks among them changes):

* ``log``: every propensity by the log loss (the library before the tailored losses);
* ``tailored``: every propensity by its estimand's tailored loss (the library).

On the simulator's validation settings (``validate_estimands.py``'s programmes and seeds)
for ``--estimand ate`` (truth: the population ATE) or ``att`` (truth: each programme's own
ATT over the treated cells of multi-cell tests), on IHDP's surfaces (``--ihdp``, pooled
design, truths the sample ATE and ATT) and on DoubleML's simulation designs
(``--doubleml-designs``, ``validate_doubleml_designs.py``'s data, the sample truths).
Printed per setting and rule: coverage, mean z and the standard deviation of the z-scores,
root mean squared error, mean standard error, the propensity models chosen, and how often
the two rules chose differently.

    python benchmarks/validate_propensity_loss.py [--estimand ate|att] [--settings small nonlinear]
                                                  [--replications 200] [--ihdp | --doubleml-designs]
                                                  [--n-jobs 2]
"""

from __future__ import annotations

import argparse
import time
import warnings
from typing import Any

import numpy as np
import pandas as pd

RULES = ("log", "tailored")


def _forcing(rule: str, estimand: str) -> Any:
    """A context that makes the library choose propensities by ``rule`` (inside a worker)."""
    from unittest import mock

    from creative_causal.estimation import _aipw, fit_nuisance

    def chosen_by_rule(role: str, task: str, *args: Any, **kwargs: Any) -> Any:
        if role == "propensity":
            kwargs["weighting"] = None if rule == "log" else estimand
        return fit_nuisance(role, task, *args, **kwargs)

    return mock.patch.object(_aipw, "fit_nuisance", chosen_by_rule)


def simulated(setting: str, r: int, estimand: str) -> dict[str, Any]:
    warnings.simplefilter("ignore")
    from validate_estimands import draw_programme

    from creative_causal import estimate_effect

    program = draw_programme(setting, r)
    study = program.study_data(check_srm=False)
    cells = study.frame
    population = (cells["n_cells_in_test"] > 1) & ((cells["has_face"] == 1) if estimand == "att" else True)
    row: dict[str, Any] = dict(setting=setting, replication=r, sample_truth=program.truth.effect_over(
        "has_face", cells.loc[population, "artwork_id"], cells.loc[population, "impressions"]))
    for rule in RULES:
        with _forcing(rule, estimand):
            est = estimate_effect(study, "has_face", estimand=estimand, random_state=r)
        row[rule] = (est.value, est.std_error, est.diagnostics.treatment_model)
    return row


def ihdp(surface: str, r: int, estimand: str) -> dict[str, Any]:
    warnings.simplefilter("ignore")
    from creative_causal import estimate_effect
    from creative_causal.datasets import load_ihdp

    data = load_ihdp(surface, replication=r)
    row: dict[str, Any] = dict(setting=f"IHDP {surface}", replication=r, sample_truth=data.truth[estimand])
    for rule in RULES:
        with _forcing(rule, estimand):
            est = estimate_effect(data.frame, data.treatment, outcome=data.outcome, confounders=list(data.covariates),
                                  design="pooled", cluster=None, weights=None, estimand=estimand, random_state=r)
        row[rule] = (est.value, est.std_error, est.diagnostics.treatment_model)
    return row


def designed(design: str, r: int, estimand: str) -> dict[str, Any]:
    """DoubleML's simulation designs (``datasets.load_doubleml_design``; 500 units), the sample truth."""
    warnings.simplefilter("ignore")
    from creative_causal import estimate_effect
    from creative_causal.datasets import load_doubleml_design

    data = load_doubleml_design(design, replication=r)
    row: dict[str, Any] = dict(setting=design, replication=r, sample_truth=data.truth[estimand])
    for rule in RULES:
        with _forcing(rule, estimand):
            est = estimate_effect(data.frame, data.treatment, outcome=data.outcome, confounders=list(data.covariates),
                                  design="pooled", cluster=None, weights=None, estimand=estimand, random_state=r)
        row[rule] = (est.value, est.std_error, est.diagnostics.treatment_model)
    return row


def summarise(rows: list[dict[str, Any]], truth: float | None) -> pd.DataFrame:
    """Per rule; ``truth`` the population's, or None for each row's own."""
    target = np.array([r["sample_truth"] for r in rows]) if truth is None else np.full(len(rows), truth)
    choices = {rule: pd.Series([r[rule][2] for r in rows]) for rule in RULES}
    out = []
    for rule in RULES:
        value, se = (np.array([r[rule][k] for r in rows], dtype=float) for k in (0, 1))
        z = (value - target) / se
        out.append(dict(rule=rule, n=len(rows), coverage=np.mean(np.abs(z) <= 1.959964), mean_z=z.mean(),
                        sd_z=z.std(ddof=1), rmse=np.sqrt(np.mean((value - target) ** 2)), mean_se=se.mean(),
                        models=choices[rule].value_counts().to_dict()))
    changed = float(np.mean(choices["log"] != choices["tailored"]))
    return pd.DataFrame(out).assign(choice_changed=changed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--estimand", choices=["ate", "att"], default="ate")
    parser.add_argument("--settings", nargs="+", default=["default", "effect_propensity", "nonlinear", "small", "linear"])
    parser.add_argument("--replications", type=int, default=200)
    parser.add_argument("--ihdp", action="store_true", help="IHDP surfaces A and B (20 replications) instead")
    parser.add_argument("--doubleml-designs", action="store_true",
                        help="DoubleML's irm and heterogeneous designs (100 replications) instead")
    parser.add_argument("--n-jobs", type=int, default=2)
    args = parser.parse_args()
    from joblib import Parallel, delayed
    from validate_estimands import SETTINGS, population_truth

    if args.ihdp:
        jobs = [(ihdp, surface, min(args.replications, 20)) for surface in ("A", "B")]
    elif args.doubleml_designs:
        jobs = [(designed, design, min(args.replications, 100)) for design in ("irm", "heterogeneous")]
    else:
        jobs = [(simulated, setting, args.replications) for setting in args.settings]
    for function, setting, replications in jobs:
        start = time.perf_counter()
        rows = Parallel(n_jobs=args.n_jobs)(delayed(function)(setting, r, args.estimand) for r in range(replications))
        # the ATE against the population's (as validate_estimands.py); an ATT against each sample's own
        truth = population_truth(SETTINGS[setting]) if function is simulated and args.estimand == "ate" else None
        print(f"{setting}, estimand {args.estimand}: {replications} replications, {time.perf_counter() - start:.0f} s")
        with pd.option_context("display.width", 160, "display.float_format", "{:.4f}".format):
            print(summarise(rows, truth).to_string(index=False), "\n", flush=True)


if __name__ == "__main__":
    main()

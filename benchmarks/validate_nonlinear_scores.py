"""Score-side attempts at the small bias of our ATE under nonlinear confounding.

On the programmes of ``validate_estimands.py``'s nonlinear setting (same seeds), the
library's ATE (``fit_aipw``) and, on the same cross-fitting folds, doubly robust ATEs with
linear nuisances fitted in other ways:

* ``linear``: ridge outcome per arm and a logistic propensity (``C``), as the library's
  linear candidates, cross-fitted;
* ``linear, all cells``: the same fitted once on every cell (no cross-fitting);
* ``weighted outcomes``: the ``linear`` propensity, and each arm's ridge outcome weighted
  by the inverse of its training propensity (``1/e`` on the treated, ``1/(1 - e)`` on the
  untreated) or by the odds toward the other arm (``(1 - e)/e``, ``e/(1 - e)``), so the
  outcome fits where it is averaged (Kang and Schafer 2007, Cao, Tsiatis and Davidian 2009);
* ``double cross-fit``: outcome models and propensity fitted on disjoint pairs of the four
  training folds (Newey and Robins 2018), so their errors are independent;
* ``bias-reduced``: Vermeulen and Vansteelandt (2015): per arm, a logistic propensity fitted
  by the impression-weighted calibration equations ``sum w (1 - T/e) x = 0`` (its mirror for
  the untreated) with a ridge penalty, and the arm's ridge outcome weighted by
  ``w (1 - e)/e`` on the treated, ``w e/(1 - e)`` on the untreated; cross-fitted, with a
  larger penalty, and on all cells.

Prints coverage of the population ATE, mean and sd of z, mean SE and RMSE per variant
(docs/estimation.md, the nonlinear setting).

    python benchmarks/validate_nonlinear_scores.py [--replications 200] [--n-jobs 2]
"""

from __future__ import annotations

import argparse
import time
import warnings
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, stats
from validate_estimands import SETTINGS, doubly_robust_inputs, draw_programme, population_truth

ALPHAS = np.logspace(-3, 3, 13)  # the library's ridge grid
VARIANTS: dict[str, dict[str, Any]] = {
    "linear": dict(kind="linear"),
    "linear, C = 0.1": dict(kind="linear", C=0.1),
    "linear, C = 10": dict(kind="linear", C=10.0),
    "linear, C = 100": dict(kind="linear", C=100.0),
    "linear, all cells": dict(kind="linear", in_sample=True),
    "weighted outcomes, 1/e": dict(kind="weighted", scheme="inverse"),
    "weighted outcomes, odds": dict(kind="weighted", scheme="odds"),
    "double cross-fit": dict(kind="double"),
    "bias-reduced": dict(kind="bias-reduced"),
    "bias-reduced, penalty 10": dict(kind="bias-reduced", penalty=10.0),
    "bias-reduced, all cells": dict(kind="bias-reduced", in_sample=True),
}


def calibrated_logit(x: np.ndarray, t: np.ndarray, w: np.ndarray, arm: int, penalty: float) -> np.ndarray:
    """Intercept and slopes of a logistic propensity solving the calibration equations of
    ``arm`` (the minimum of Tan's calibration loss, ridge-penalised slopes)."""
    design = np.column_stack([np.ones(len(x)), x])

    def loss(beta: np.ndarray) -> tuple[float, np.ndarray]:
        eta = np.clip(design @ beta, -30, 30)
        if arm == 1:  # gradient zero: sum w (1 - T/e) x = 0
            value, slope = np.sum(w * (t * np.exp(-eta) + (1 - t) * eta)), (1 - t) - t * np.exp(-eta)
        else:  # sum w (1 - (1 - T)/(1 - e)) x = 0
            value, slope = np.sum(w * ((1 - t) * np.exp(eta) - t * eta)), (1 - t) * np.exp(eta) - t
        grad = design.T @ (w * slope)
        grad[1:] += penalty * beta[1:]
        return float(value + 0.5 * penalty * beta[1:] @ beta[1:]), grad

    start = np.zeros(design.shape[1])
    start[0] = np.log(t.mean() / (1 - t.mean()))
    return optimize.minimize(loss, start, jac=True, method="L-BFGS-B").x


def expit(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def ate_terms(x: np.ndarray, y: np.ndarray, t: np.ndarray, w: np.ndarray, folds: list[tuple[np.ndarray, np.ndarray]], *,
              kind: str, C: float = 1.0, penalty: float = 1.0, in_sample: bool = False,
              scheme: str = "inverse") -> np.ndarray:
    """Each cell's doubly robust ATE score with this variant's nuisances."""
    from sklearn.linear_model import LogisticRegression, RidgeCV
    from sklearn.preprocessing import StandardScaler

    n, k = len(y), len(folds)
    mu0, mu1, e1, e0 = (np.zeros(n) for _ in range(4))
    splits = [(np.arange(n), np.arange(n))] if in_sample else folds
    for i, (train, test) in enumerate(splits):
        train_t = train
        if kind == "double":
            train = np.concatenate([folds[(i + 1) % k][1], folds[(i + 2) % k][1]])
            train_t = np.concatenate([folds[(i + 3) % k][1], folds[(i + 4) % k][1]])
        scale = StandardScaler().fit(x[train])
        x_train, x_test, t_train, weights = scale.transform(x[train]), scale.transform(x[test]), t[train], w[train]
        weights = weights / weights.mean()
        if kind == "bias-reduced":
            b1, b0 = (calibrated_logit(x_train, t_train, weights, arm, penalty) for arm in (1, 0))
            p1 = np.clip(expit(b1[0] + x_train @ b1[1:]), 0.01, 0.99)
            p0 = np.clip(expit(b0[0] + x_train @ b0[1:]), 0.01, 0.99)
            e1[test], e0[test] = expit(b1[0] + x_test @ b1[1:]), expit(b0[0] + x_test @ b0[1:])
            w1, w0 = weights * (1 - p1) / p1, weights * p0 / (1 - p0)
        elif kind == "weighted":
            model = LogisticRegression(C=C, max_iter=5000).fit(x_train, t_train)
            p = np.clip(model.predict_proba(x_train)[:, 1], 0.01, 0.99)
            e1[test] = e0[test] = model.predict_proba(x_test)[:, 1]
            w1, w0 = (1 / p, 1 / (1 - p)) if scheme == "inverse" else ((1 - p) / p, p / (1 - p))
        else:
            scale_t = StandardScaler().fit(x[train_t])
            model = LogisticRegression(C=C, max_iter=5000).fit(scale_t.transform(x[train_t]), t[train_t])
            e1[test] = e0[test] = model.predict_proba(scale_t.transform(x[test]))[:, 1]
            w1 = w0 = np.ones(len(train))
        treated = t_train == 1
        mu1[test] = RidgeCV(alphas=ALPHAS).fit(x_train[treated], y[train][treated], sample_weight=w1[treated]).predict(x_test)
        mu0[test] = RidgeCV(alphas=ALPHAS).fit(x_train[~treated], y[train][~treated],
                                               sample_weight=w0[~treated]).predict(x_test)
    e1, e0 = np.clip(e1, 0.01, 0.99), np.clip(e0, 0.01, 0.99)
    return mu1 - mu0 + t / e1 * (y - mu1) - (1 - t) / (1 - e0) * (y - mu0)


def one_replication(r: int) -> dict[str, tuple[float, float, int]]:
    warnings.simplefilter("ignore")
    from creative_causal.estimation import fit_aipw, within_test_inputs, wls_cluster

    prep = doubly_robust_inputs(draw_programme("nonlinear", r).study_data(check_srm=False))
    library = fit_aipw(prep, random_state=r)
    y, t, x = within_test_inputs(prep)

    def estimate(terms: np.ndarray) -> tuple[float, float, int]:
        fit = wls_cluster(terms, np.ones(len(terms)), prep.weights, prep.codes)
        return float(fit.coef[0]), float(np.sqrt(fit.cov[0, 0])), fit.df_resid

    row = {"library": estimate(library.numerator)}
    for name, options in VARIANTS.items():
        row[name] = estimate(ate_terms(x, y, t, prep.weights, library.folds, **options))
    return row


def main() -> None:
    from joblib import Parallel, delayed

    parser = argparse.ArgumentParser()
    parser.add_argument("--replications", type=int, default=200)
    parser.add_argument("--n-jobs", type=int, default=2)
    args = parser.parse_args()
    truth = population_truth(SETTINGS["nonlinear"])
    start = time.perf_counter()
    rows = Parallel(n_jobs=args.n_jobs)(delayed(one_replication)(r) for r in range(args.replications))
    table = []
    for name in rows[0]:
        value, se, df = (np.array([row[name][i] for row in rows]) for i in range(3))
        z = (value - truth) / se
        table.append(dict(variant=name, coverage=np.mean(np.abs(z) <= stats.t.ppf(0.975, df)), mean_z=z.mean(),
                          sd_z=z.std(ddof=1), mean_se=se.mean(), rmse=np.sqrt(np.mean((value - truth) ** 2))))
    print(f"nonlinear setting, {args.replications} programmes, population ATE {truth:.4f} "
          f"({time.perf_counter() - start:.0f} s)")
    print(pd.DataFrame(table).round(4).to_string(index=False))


if __name__ == "__main__":
    main()

"""Replication study of estimate_effect on simulated programmes with known truth.

Prints coverage of the 95% interval of the sample ATE, mean bias (in effect units and in
standard errors) and rejection rates, for the scenarios of the estimation issue (the
estimands against DoubleML and the population ATE: benchmarks/validate_estimands.py):

    python benchmarks/validate_estimation.py [--replications 50] [--scenario all]

Scenarios: confounded (default programme), title_only (artwork confounding off),
null (false-positive rate of a zero-effect feature), clustered (treatment assigned per title).
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

from creative_causal.datasets import simulate_program
from creative_causal.estimation import estimate_effect


def report(label: str, truth: np.ndarray, values: np.ndarray, ses: np.ndarray, lows: np.ndarray, highs: np.ndarray) -> None:
    covered = np.mean((lows <= truth) & (truth <= highs))
    bias = np.mean(values - truth)
    print(f"  {label:<34} coverage {covered:6.1%}  bias {bias:+.4f} ({np.mean((values - truth) / ses):+.2f} SE)  "
          f"mean SE {np.mean(ses):.4f}  sd of estimates {np.std(values):.4f}")


def confounded(n: int, **kwargs) -> None:
    variants = {
        "dml within-test, ATE (default)": dict(),
        "dml within-test, partially linear": dict(estimand="plr"),
        "dml within-test, PLR by segment": dict(estimand="plr", by="auto"),
        "ols within-test": dict(method="ols"),
        "naive within-test": dict(method="naive"),
        "naive pooled": dict(method="naive", design="pooled"),
        "dml pooled, ATE (title covariates)": dict(design="pooled"),
    }
    rows = {k: [] for k in variants}
    truths = []
    for r in range(n):
        p = simulate_program(300, random_state=5000 + r, **kwargs)
        sd = p.study_data()
        cells = sd.frame[sd.frame["n_cells_in_test"] > 1]
        # the impression-weighted effect over the artworks of multi-cell tests (the ATE's population)
        truths.append(p.truth.effect_over("has_face", cells["artwork_id"], cells["impressions"]))
        for k, v in variants.items():
            e = estimate_effect(sd, "has_face", random_state=r, **v)
            rows[k].append((e.value, e.std_error, e.ci_low, e.ci_high))
    truth = np.array(truths)
    for k, vals in rows.items():
        a = np.array(vals)
        report(k, truth, a[:, 0], a[:, 1], a[:, 2], a[:, 3])


def null_feature(n: int) -> None:
    rejections = {"symmetry": 0, "contrast": 0}
    for r in range(n):
        p = simulate_program(300, random_state=7000 + r)
        sd = p.study_data()
        for f in rejections:
            e = estimate_effect(sd, f, random_state=r)
            rejections[f] += e.p_value < 0.05
    for f, k in rejections.items():
        print(f"  zero-effect feature {f}: rejected at 5% in {k}/{n} programmes ({k / n:.0%})")


def clustered(n: int) -> None:
    covered_c = covered_u = 0
    ratio = []
    for r in range(n):
        p = simulate_program(300, random_state=9000 + r, effects={"has_face": 0.0})
        sd = p.study_data()
        rng = np.random.default_rng(r)
        frame = sd.frame
        per_title = rng.random(frame["test_id"].nunique()) < 0.5
        codes = frame["test_id"].factorize()[0]
        frame["campaign"] = per_title[codes].astype(float)  # assigned per title, no true effect
        from creative_causal.experiments import StudyData

        data = StudyData.from_frame(frame, outcome="log_take_rate", features=["campaign", "brightness"],
                                    weight="impressions", cluster="test_id", covariates=["genre", "popularity"],
                                    segments=[])
        e = estimate_effect(data, "campaign", design="pooled", confounders=["genre", "popularity"], random_state=r)
        crit = 1.959963984540054
        covered_c += e.ci_low <= 0 <= e.ci_high
        covered_u += abs(e.value) <= crit * e.std_error_unclustered
        ratio.append(e.std_error / e.std_error_unclustered)
    print(f"  treatment assigned per title (true effect 0): clustered CI covers {covered_c / n:.0%}, "
          f"unclustered covers {covered_u / n:.0%}; clustered SE / unclustered SE = {np.mean(ratio):.1f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--replications", type=int, default=50)
    parser.add_argument("--scenario", default="all", choices=["all", "confounded", "title_only", "null", "clustered"])
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    n = args.replications
    start = time.perf_counter()
    if args.scenario in ("all", "confounded"):
        print(f"confounded programme (300 titles, defaults), has_face, {n} replications:")
        confounded(n)
    if args.scenario in ("all", "title_only"):
        print(f"title-level confounding only (artwork_confounding=0), has_face, {n} replications:")
        confounded(n, artwork_confounding=0.0)
    if args.scenario in ("all", "null"):
        print(f"zero-effect features, {n} replications:")
        null_feature(n)
    if args.scenario in ("all", "clustered"):
        print(f"clustered errors, {n} replications:")
        clustered(n)
    print(f"({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()

"""Speed and memory of estimate_effect: the doubly robust ATE next to the partially linear
coefficient, at 20 000 to 1 000 000 cells, and next to DoubleML's IRM on the same inputs.

Each (size, estimator) runs in a fresh subprocess, so its peak resident memory is its own.
Prints the median wall time of --repeats runs (one run above 100 000 cells) and the peak
memory of estimate_effect(has_face) with the default nuisance library and the within-test
design, for estimand="ate" and estimand="plr", their time ratio, and the time of DoubleML's
DoubleMLIRM (histogram gradient boosting nuisances, 5 folds, clustered by test) fitted on
the ATE's own inputs (the within-test contrast, treatment and features). Native threads are
capped at one (the package default); run with the machine otherwise idle. ``--unraced`` adds
both estimands with every library candidate fitted on every fold (``RACE_Z`` infinite: the
library before the race), timed in the same run, and prints how much faster the race is.

    python benchmarks/bench_estimate.py [--sizes 20000 1000000] [--repeats 3] [--doubleml-max 1000000]
                                        [--unraced]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
import warnings


def study_of(n_cells: int):
    from creative_causal.datasets import simulate_program

    program = simulate_program(max(n_cells // 4, 10), cells_per_test=(4, 4), random_state=1)
    return program, program.study_data(check_srm=False)


def child(n_cells: int, estimator: str, repeats: int) -> dict:
    warnings.simplefilter("ignore")
    import numpy as np

    from creative_causal.estimation import estimate_effect

    if estimator.endswith("-unraced"):
        from creative_causal.estimation import _models

        _models.RACE_Z = float("inf")  # every candidate on every fold
    program, study = study_of(n_cells)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    times, value = [], float("nan")
    for r in range(repeats):
        if estimator == "doubleml":
            seconds, value = doubleml_irm(study, r)
        else:
            start = time.perf_counter()
            est = estimate_effect(study, "has_face", estimand=estimator.removesuffix("-unraced"), random_state=r)
            seconds, value = time.perf_counter() - start, est.value
        times.append(seconds)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"cells": len(study.frame), "estimator": estimator, "time": statistics.median(times), "peak_mib": peak,
            "data_mib": before, "value": float(value), "truth": float(np.round(program.truth.effect("has_face"), 4))}


def doubleml_irm(study, seed: int) -> tuple[float, float]:
    """DoubleML's IRM on our ATE's inputs; the time includes building its data object."""
    import doubleml as dml
    import numpy as np
    import pandas as pd
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from threadpoolctl import threadpool_limits

    from creative_causal.estimation import prepare, resolve_confounders, within_test_inputs

    confounders, _ = resolve_confounders(study, "has_face", study.outcome, None, None)
    prep = prepare(study, "has_face", study.outcome, confounders, "within_test", study.cluster, study.weight,
                   keep_constant_tests=True)
    y, t, x = within_test_inputs(prep)
    settings = dict(max_iter=300, learning_rate=0.1, max_leaf_nodes=15, min_samples_leaf=20, l2_regularization=1.0,
                    early_stopping=True, validation_fraction=0.15, n_iter_no_change=10, random_state=seed)
    start = time.perf_counter()
    with threadpool_limits(1):
        frame = pd.DataFrame(x, columns=[f"x{i}" for i in range(x.shape[1])]).assign(y=y, d=t, test=prep.codes)
        data = dml.DoubleMLData(frame, "y", "d", x_cols=[c for c in frame if c.startswith("x")], cluster_cols="test")
        np.random.seed(seed)
        irm = dml.DoubleMLIRM(data, HistGradientBoostingRegressor(**settings),
                              HistGradientBoostingClassifier(**settings), n_folds=5,
                              weights=prep.weights / prep.weights.mean()).fit()
    return time.perf_counter() - start, float(irm.coef[0])


def run(n: int, estimator: str, repeats: int) -> dict:
    done = subprocess.run([sys.executable, __file__, "--child", str(n), "--estimator", estimator, "--repeats",
                           str(repeats)], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[20_000, 1_000_000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--doubleml-max", type=int, default=1_000_000, help="largest size also timed with DoubleML")
    parser.add_argument("--unraced", action="store_true", help="also time both estimands without the race")
    parser.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--estimator", default="ate", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        print(json.dumps(child(args.child, args.estimator, args.repeats)))
        return
    print(f"{'cells':>10} {'estimator':>12} {'time s':>8} {'peak MiB':>9} {'x PLR':>6}  estimate (truth)")
    for n in args.sizes:
        repeats = args.repeats if n <= 100_000 else 1
        rows = [run(n, "plr", repeats), run(n, "ate", repeats)]
        if n <= args.doubleml_max:
            rows.append(run(n, "doubleml", repeats))
        if args.unraced:
            rows += [run(n, "plr-unraced", repeats), run(n, "ate-unraced", repeats)]
        for r in rows:
            label = "DoubleML" if r["estimator"] == "doubleml" else r["estimator"]
            print(f"{r['cells']:>10,} {label:>12} {r['time']:8.2f} {r['peak_mib']:9.0f} {r['time'] / rows[0]['time']:6.2f}"
                  f"  {r['value']:.4f} ({r['truth']:.4f})", flush=True)
        if args.unraced:
            timed = {r["estimator"]: r["time"] for r in rows}
            print(f"{'':>10} the race makes plr {timed['plr-unraced'] / timed['plr']:.2f}x and ate "
                  f"{timed['ate-unraced'] / timed['ate']:.2f}x faster", flush=True)


if __name__ == "__main__":
    main()

"""Speed and memory of estimate_effect at 5 000 to 1 000 000 cells, against DoWhy.

Each size runs in a fresh subprocess (so peak memory is that size's own). Prints wall time
(median of --repeats runs) and peak resident memory of estimate_effect(has_face) with the
default nuisance models and the within-test design; the growth exponent of time in cells;
and the time of the same estimator (econml LinearDML, same nuisance models, same prepared
data) run through DoWhy's CausalModel: identify_effect, then its Econml estimator.

    python benchmarks/bench_estimate.py [--sizes 5000 20000 100000 1000000] [--repeats 3]
        [--dowhy-max 100000]
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

import numpy as np


def child(n_cells: int, repeats: int, with_dowhy: bool) -> dict:
    warnings.simplefilter("ignore")
    from creative_causal.datasets import simulate_program
    from creative_causal.estimation import estimate_effect

    program = simulate_program(max(n_cells // 4, 10), cells_per_test=(4, 4), random_state=1)
    study = program.study_data(check_srm=False)
    estimate_effect(study, "has_face", random_state=0, cv=2) if n_cells <= 20_000 else None  # warm imports
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    times = []
    for r in range(repeats):
        start = time.perf_counter()
        est = estimate_effect(study, "has_face", random_state=r)
        times.append(time.perf_counter() - start)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out = {"cells": est.n_cells, "time": statistics.median(times), "peak_mib": peak, "before_mib": before,
           "value": est.value, "truth": program.truth.effect("has_face")}
    if with_dowhy:
        out["dowhy_time"] = statistics.median(dowhy_time(study) for _ in range(repeats))
    return out


def dowhy_time(study) -> float:
    """The same LinearDML (same nuisances, same demeaned data) through DoWhy's CausalModel."""
    import networkx as nx
    import pandas as pd
    from dowhy import CausalModel
    from dowhy.causal_estimators.econml import Econml
    from econml.dml import LinearDML

    from creative_causal.estimation._dml import default_regressor, group_folds
    from creative_causal.estimation._prepare import prepare
    from creative_causal.graph import creative_graph

    confounders = creative_graph(study, "has_face").adjustment_set("has_face", study.outcome).variables
    prep = prepare(study, "has_face", study.outcome, confounders, "within_test", "test_id", "impressions")
    w_cols = [f"w{i}" for i in range(prep.features.shape[1])]
    df = pd.DataFrame(prep.features, columns=w_cols).assign(t=prep.t, y=prep.y)
    graph = nx.DiGraph([(w, "t") for w in w_cols] + [(w, "y") for w in w_cols] + [("t", "y")])
    folds = group_folds(prep.codes, prep.n_cells, 5, np.random.default_rng(0))
    start = time.perf_counter()
    model = CausalModel(data=df, treatment="t", outcome="y", graph=graph)
    estimand = model.identify_effect()
    estimand.set_identifier_method("backdoor")
    estimator = Econml(estimand, econml_estimator=LinearDML(model_y=default_regressor(0), model_t=default_regressor(0),
                                                            cv=folds, random_state=0), confidence_intervals=False)
    estimator.fit(df)
    estimator.estimate_effect(df, control_value=0, treatment_value=1, target_units="ate")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[5_000, 20_000, 100_000, 1_000_000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--dowhy-max", type=int, default=100_000, help="largest size also timed through DoWhy")
    parser.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        print(json.dumps(child(args.child, args.repeats, args.child <= args.dowhy_max)))
        return
    rows = []
    print(f"{'cells':>10} {'time s':>8} {'peak MiB':>9} {'DoWhy s':>8} {'ratio':>6}  estimate / truth")
    for n in args.sizes:
        repeats = args.repeats if n <= 100_000 else 1
        done = subprocess.run([sys.executable, __file__, "--child", str(n), "--repeats", str(repeats),
                               "--dowhy-max", str(args.dowhy_max)], capture_output=True, text=True, check=True)
        r = json.loads(done.stdout.strip().splitlines()[-1])
        rows.append(r)
        dowhy = f"{r['dowhy_time']:8.2f} {r['dowhy_time'] / r['time']:6.2f}" if "dowhy_time" in r else f"{'-':>8} {'-':>6}"
        print(f"{n:>10,} {r['time']:8.2f} {r['peak_mib']:9.0f} {dowhy}  {r['value']:.4f} / {r['truth']:.4f}",
              flush=True)
    if len(rows) > 1:
        x = np.log([r["cells"] for r in rows])
        y = np.log([r["time"] for r in rows])
        print(f"growth exponent of time in cells: {np.polyfit(x, y, 1)[0]:.2f} (1.0 = linear)")


if __name__ == "__main__":
    main()

"""Coverage and bias of every off-policy estimator against known answers.

A simulated programme (--tests tests) is logged --replications times with fresh impressions
(--impressions per test), under an A/B split (the planned shares) and under an adaptive
logging policy (Thompson sampling with a 5% floor, refreshes of --batch). Each log is judged
for a target policy that puts 70% of impressions on the cell the programme lists first and
splits the rest evenly, and for the logging policy's own average split. The truth is the
target's take rate on the same tests, with each test weighted by its logged impressions.
Printed per logging policy and method: coverage of the 95% interval, bias, mean standard
error against the estimates' spread, mean effective sample size.

Then a learning target: Thompson sampling run along each A/B log as a policy object, learning
at each of its refreshes. The truth is Thompson's on-policy take rate on the same tests with
the same horizon and refreshes (``simulate_allocation``, --truth-replications replications,
its mean), so the coverage is of the policy's expected value.

    python benchmarks/validate_ope.py [--tests 100] [--impressions 5000] [--replications 200]
"""

from __future__ import annotations

import argparse
import time
import warnings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tests", type=int, default=100)
    parser.add_argument("--impressions", type=int, default=5000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--replications", type=int, default=200)
    parser.add_argument("--truth-replications", type=int, default=200)
    args = parser.parse_args()
    warnings.simplefilter("ignore")

    import numpy as np
    import pandas as pd

    from creative_causal.allocation import (
        METHODS,
        Thompson,
        evaluate_policy,
        simulate_allocation,
        simulate_impression_log,
        true_take_rates,
    )
    from creative_causal.datasets import simulate_program

    program = simulate_program(args.tests, random_state=3)
    tests, rates, active = true_take_rates(program)
    cells = program.cells[["test_id", "cell_id"]].astype(str)
    k = cells.groupby("test_id")["cell_id"].transform("size").to_numpy()
    first = (cells.groupby("test_id").cumcount() == 0).to_numpy()
    target = cells.assign(probability=np.where(first, 0.7, 0.3 / (k - 1)))
    rate_of = pd.Series(rates[active], index=pd.MultiIndex.from_frame(cells))  # cells are in test order
    value_of_test = (target.set_index(["test_id", "cell_id"])["probability"] * rate_of).groupby(level=0).sum()

    for logging_name, logger in (("A/B split", None), ("Thompson, 5% floor", Thompson(min_share=0.05))):
        start = time.perf_counter()
        rows = []
        for r in range(args.replications):
            log = simulate_impression_log(program, logger, impressions=args.impressions, batch=args.batch,
                                          random_state=10_000 + r)
            n_t = log.groupby("test_id").size()
            truth = float((n_t * value_of_test.reindex(n_t.index)).sum() / n_t.sum())
            for method in METHODS:
                v = evaluate_policy(log, target, method=method, random_state=r)
                rows.append(dict(method=method, value=v.value, se=v.std_error, covered=v.ci_low <= truth <= v.ci_high,
                                 error=v.value - truth, ess=v.effective_sample_size))
        table = pd.DataFrame(rows).groupby("method", sort=False).agg(
            coverage=("covered", "mean"), bias=("error", "mean"), mean_se=("se", "mean"), sd_estimates=("value", "std"),
            ess=("ess", "mean"))
        print(f"\nlogging: {logging_name}; {args.tests} tests x {args.impressions:,} impressions, {args.replications} "
              f"replications; {time.perf_counter() - start:.0f} s")
        print(table.to_string(float_format=lambda x: f"{x:.5g}"))

    start = time.perf_counter()
    truth = simulate_allocation(program, Thompson(), horizon=args.impressions, batch=args.batch,
                                replications=args.truth_replications, random_state=99).totals().iloc[0]
    rows = []
    for r in range(args.replications):
        log = simulate_impression_log(program, impressions=args.impressions, batch=args.batch, random_state=20_000 + r)
        for method in METHODS:
            v = evaluate_policy(log, Thompson(), method=method, random_state=r)
            rows.append(dict(method=method, value=v.value, se=v.std_error, error=v.value - truth.take_rate,
                             covered=v.ci_low <= truth.take_rate <= v.ci_high, ess=v.effective_sample_size))
    table = pd.DataFrame(rows).groupby("method", sort=False).agg(
        coverage=("covered", "mean"), bias=("error", "mean"), mean_se=("se", "mean"), sd_estimates=("value", "std"),
        ess=("ess", "mean"))
    print(f"\nlearning target: Thompson run along A/B logs ({args.impressions:,} impressions per test, refreshes of "
          f"{args.batch:,}); on-policy truth {truth.take_rate:.5%} (95% interval {truth.take_rate_ci_low:.5%} to "
          f"{truth.take_rate_ci_high:.5%}); {time.perf_counter() - start:.0f} s")
    print(table.to_string(float_format=lambda x: f"{x:.5g}"))


if __name__ == "__main__":
    main()

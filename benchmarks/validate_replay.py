"""Are the replay's intervals honest? ``replay_tests`` against the truth, over many programmes.

Each of --programmes simulated programmes (--tests tests, fresh seed) ran as A/B tests with
counts drawn from known take rates. ``replay_tests`` sees only the counts and says what
Thompson sampling would have done: extra plays, the winner's share of impressions, how often
it keeps the A/B test's winner, each with a 95% interval over --replications replays. The
truth is the same replay run with the true take rates (--truth-replications replays, its
mean). Printed per figure: coverage of the interval over programmes, mean error, mean
interval half-width.

    python benchmarks/validate_replay.py [--programmes 40] [--tests 100] [--replications 100]
"""

from __future__ import annotations

import argparse
import time
import warnings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--programmes", type=int, default=40)
    parser.add_argument("--tests", type=int, default=100)
    parser.add_argument("--replications", type=int, default=100)
    parser.add_argument("--truth-replications", type=int, default=200)
    args = parser.parse_args()
    warnings.simplefilter("ignore")

    import numpy as np
    import pandas as pd

    from creative_causal.allocation import Thompson, replay_tests, true_take_rates
    from creative_causal.allocation._replay import serve
    from creative_causal.datasets import simulate_program

    start = time.perf_counter()
    rows = []
    for p in range(args.programmes):
        program = simulate_program(args.tests, random_state=1_000 + p)
        replay = replay_tests(program.cells, replications=args.replications, random_state=p)
        totals = replay.totals()
        test_ids, rates, active = true_take_rates(program)
        keep = np.isin(test_ids, replay.test_ids)
        rates, active = rates[keep], active[keep]
        grid = program.cells.assign(position=program.cells.groupby("test_id").cumcount())
        n = np.zeros(rates.shape)
        n[pd.Index(test_ids)[keep].get_indexer(grid["test_id"]), grid["position"]] = grid["impressions"]
        total = n.sum(axis=1)
        observed = np.zeros(rates.shape)
        observed[pd.Index(test_ids)[keep].get_indexer(grid["test_id"]), grid["position"]] = grid["plays"] / grid[
            "impressions"]
        winner = np.argmax(np.where(active, observed, -np.inf), axis=1)
        is_winner = np.arange(rates.shape[1]) == winner[:, None]
        truth_rates = np.broadcast_to(rates, (args.truth_replications, *rates.shape))
        served, recommended = serve(Thompson(), total, truth_rates, active, replay.refreshes,
                                    np.random.default_rng(10_000 + p))
        truth = {"extra_plays": float(np.mean((served * rates).sum(axis=(1, 2)) - (n * rates).sum())),
                 "adaptive_winner_share": float(np.mean((served * is_winner).sum(axis=2).sum(axis=1) / total.sum())),
                 "same_winner": float(np.mean(recommended == winner))}
        for name, value in truth.items():
            rows.append({"figure": name, "covered": totals[f"{name}_ci_low"] <= value <= totals[f"{name}_ci_high"],
                         "error": totals[name] - value,
                         "half_width": (totals[f"{name}_ci_high"] - totals[f"{name}_ci_low"]) / 2,
                         "truth": value})
    table = pd.DataFrame(rows).groupby("figure", sort=False).agg(
        coverage=("covered", "mean"), mean_error=("error", "mean"), sd_error=("error", "std"),
        mean_half_width=("half_width", "mean"), mean_truth=("truth", "mean"))
    print(f"{args.programmes} programmes x {args.tests} tests, {args.replications} replays each; truth from "
          f"{args.truth_replications} replays with the true take rates; {time.perf_counter() - start:.0f} s")
    print(table.to_string(float_format=lambda x: f"{x:.4g}"))


if __name__ == "__main__":
    main()

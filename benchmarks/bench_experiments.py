"""Speed and memory of loading and summarising A/B results at scale.

Prints, for 10 000 to 1 000 000 cells, the median of several runs of
ABResults.from_frame (validation + outcomes + SRM), .lifts() and .join(features), against
a baseline measured in the same run: one pandas groupby-sum over the same table (the least
any per-test computation must cost). Also the peak memory of the whole load.

    python benchmarks/bench_experiments.py [--sizes 10000 100000 1000000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import tracemalloc
import warnings

import numpy as np
import pandas as pd
from _timing import timed

from creative_causal import ABResults


def make_cells(n_cells: int, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    k = 4
    n_tests = n_cells // k
    test = np.repeat(np.arange(n_tests), k)
    imps = rng.integers(1_000, 50_000, size=n_tests * k)
    cells = pd.DataFrame({
        "test_id": [f"AB-{t}" for t in test], "cell_id": np.tile(np.arange(1, k + 1), n_tests),
        "artwork_id": [f"A-{i}" for i in range(n_tests * k)], "impressions": imps,
        "plays": rng.binomial(imps, 0.05), "genre": np.array(["drama", "kids", "horror"])[test % 3],
    })
    feats = pd.DataFrame({"has_face": rng.integers(0, 2, size=len(cells)), "brightness": rng.random(len(cells))},
                         index=cells["artwork_id"])
    return cells, feats


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    print(f"{'cells':>10} {'baseline':>9} {'from_frame':>11} {'ratio':>6} {'lifts':>8} {'join':>8} {'peak MiB':>9}")
    for n in args.sizes:
        cells, feats = make_cells(n)
        base = timed(lambda c=cells: c.groupby("test_id")[["impressions", "plays"]].sum(), args.repeats)
        load = timed(lambda c=cells: ABResults.from_frame(c), args.repeats)
        ab = ABResults.from_frame(cells)
        lifts = timed(ab.lifts, args.repeats)
        join = timed(lambda a=ab, f=feats: a.join(f), args.repeats)
        tracemalloc.start()
        ABResults.from_frame(cells).join(feats)
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        print(f"{n:>10,} {base:>8.3f}s {load:>10.3f}s {load / base:>6.1f} {lifts:>7.3f}s {join:>7.3f}s {peak:>9.0f}")


if __name__ == "__main__":
    main()

"""Speed, memory and outcome of the allocation policies replayed against the simulator's truth.

One programme of --tests tests (2 to 6 cells each), --replications replications and
--horizon impressions per test, split in refreshes of --batch. For each policy: median wall
time of --repeats runs, peak resident memory of the process so far, and the programme's
regret (plays lost against always serving the best cell), take rate, share of impressions to
the best cell and share of tests whose recommended cell is the best one at the end, with 95%
intervals over replications. The fixed split (the classic A/B test) is the baseline the
regret ratio is taken against. Native threads are not used (numpy only); run with the
machine otherwise idle.

Then: policy refreshes per second with 10 000 concurrent tests of 4 cells (``shares`` and
``update`` on one batched state), and off-policy evaluation (``evaluate_policy``, doubly
robust) of a --log-rows impression log read from Parquet in batches, in a fresh subprocess
so its peak memory is its own, beside half the log for the time ratio (near-linear time).

Last, the anchors: the same Thompson simulation (--anchor-tests tests of the programme, one
replication, --anchor-horizon impressions in refreshes of --batch // 10) with MABWiser's
Beta-Bernoulli Thompson sampling (one MAB per test, per-impression draws, ``partial_fit`` per
refresh) and Vowpal Wabbit's closest learner (``--cb_explore --bag 5``: bootstrapped Thompson,
one example at a time, on a tenth of the horizon), each beside ours on the same tests: time per
impression, the ratio, and regret. Install them with ``pip install mabwiser vowpalwabbit``; an
anchor that is missing is reported and skipped.

    python benchmarks/bench_allocation.py [--tests 1000] [--replications 20] [--horizon 1000000] [--batch 10000]
                                          [--log-rows 10000000] [--anchor-tests 20] [--anchor-horizon 200000]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tests", type=int, default=1000)
    parser.add_argument("--replications", type=int, default=20)
    parser.add_argument("--horizon", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--log-rows", type=int, default=10_000_000)
    parser.add_argument("--anchor-tests", type=int, default=20)
    parser.add_argument("--anchor-horizon", type=int, default=200_000)
    parser.add_argument("--only-anchors", action="store_true", help="run the anchors' comparison only")
    parser.add_argument("--ope-child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    if args.ope_child:
        print(json.dumps(ope_child(args.ope_child)))
        return

    from creative_causal.allocation import (
        KLUCB,
        UCB1,
        EpsilonGreedy,
        ExploreThenCommit,
        FixedSplit,
        Thompson,
        TopTwoThompson,
        simulate_allocation,
    )
    from creative_causal.datasets import simulate_program

    program = simulate_program(args.tests, random_state=1)
    if args.only_anchors:
        anchors(program, args.anchor_tests, args.anchor_horizon, args.batch // 10, args.repeats)
        return
    policies = [FixedSplit(), ExploreThenCommit(explore=args.horizon // 20), ExploreThenCommit(
        explore=args.horizon // 5, stop_level=0.95), EpsilonGreedy(epsilon=0.1), UCB1(), KLUCB(), Thompson(),
        TopTwoThompson(), Thompson(min_share=0.05)]
    print(f"{args.tests} tests x {args.replications} replications x {args.horizon:,} impressions, refreshes of "
          f"{args.batch:,}; median of {args.repeats} runs")
    print(f"{'policy':<52}{'time s':>8}{'peak MiB':>10}{'regret':>13}{'95% CI':>27}{'x fixed':>9}{'take rate':>11}"
          f"{'to best':>9}{'winner':>8}")
    baseline = None
    for policy in policies:
        times = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            result = simulate_allocation(program, policy, horizon=args.horizon, batch=args.batch,
                                         replications=args.replications, random_state=0)
            times.append(time.perf_counter() - start)
        t = result.totals().iloc[0]
        baseline = baseline or t.regret
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"{str(policy):<52}{statistics.median(times):>8.1f}{peak:>10.0f}{t.regret:>13,.0f}"
              f"{f'{t.regret_ci_low:,.0f} to {t.regret_ci_high:,.0f}':>27}{t.regret / baseline:>9.3f}"
              f"{t.take_rate:>11.4%}{t.share_to_best:>9.1%}{t.p_correct:>8.1%}")

    refreshes_per_second()
    off_policy(args.log_rows)
    anchors(program, args.anchor_tests, args.anchor_horizon, args.batch // 10, args.repeats)


def anchors(program, n_tests: int, horizon: int, batch: int, repeats: int) -> None:
    """Our Thompson simulation beside MABWiser's and Vowpal Wabbit's on the same tests."""
    import numpy as np

    from creative_causal.allocation import Thompson, simulate_allocation, true_take_rates

    tests = program.cells["test_id"].drop_duplicates().iloc[:n_tests]
    subset = dataclasses.replace(program, cells=program.cells[program.cells["test_id"].isin(tests)])
    _, rates, active = true_take_rates(subset)
    best = rates.max(axis=1)
    print(f"\nanchors: Thompson sampling on {n_tests} tests x {horizon:,} impressions, refreshes of {batch:,}, "
          f"one replication; median of {repeats} runs")
    print(f"{'library':<44}{'impressions':>13}{'time s':>9}{'us/impr.':>10}{'x ours':>9}{'regret/1k impr.':>17}")

    def ours() -> float:
        result = simulate_allocation(subset, Thompson(), horizon=horizon, batch=batch, random_state=0)
        return float(result.regret[0, :, -1].sum())

    def mabwiser(seed: int) -> float:
        from mabwiser.mab import MAB, LearningPolicy

        rng = np.random.default_rng(seed)
        regret = 0.0
        for j in range(n_tests):
            k = int(active[j].sum())
            mab = MAB(list(range(k)), LearningPolicy.ThompsonSampling(), seed=seed + j)
            mab.fit(decisions=np.array([], dtype=int), rewards=np.array([]))  # Beta(1, 1), as ours
            for start in range(0, horizon, batch):
                n = min(batch, horizon - start)
                decisions = np.asarray(mab.predict(np.zeros((n, 1))))
                mab.partial_fit(decisions, (rng.random(n) < rates[j, decisions]).astype(int))
                regret += float((best[j] - rates[j, decisions]).sum())
        return regret

    def vowpal(seed: int, impressions: int) -> float:
        import vowpalwabbit

        rng = np.random.default_rng(seed)
        regret = 0.0
        for j in range(n_tests):
            k = int(active[j].sum())
            vw = vowpalwabbit.Workspace(f"--cb_explore {k} --bag 5 --quiet --random_seed {seed + j}")
            for start in range(0, impressions, batch):
                n = min(batch, impressions - start)
                served = []
                for _ in range(n):
                    pmf = np.asarray(vw.predict("| bias"), dtype=float)
                    arm = int(rng.choice(k, p=pmf / pmf.sum()))
                    served.append((arm, float(pmf[arm])))
                for arm, p in served:  # feedback arrives at the refresh, as in ours
                    vw.learn(f"{arm + 1}:{-float(rng.random() < rates[j, arm])}:{p} | bias")
                    regret += best[j] - rates[j, arm]
            vw.finish()
        return regret

    runs: list[tuple[str, int, Any]] = [("creative_causal Thompson (vectorised)", horizon, lambda s: ours()),
                                        ("MABWiser ThompsonSampling", horizon, mabwiser),
                                        ("Vowpal Wabbit cb_explore --bag 5", horizon // 10,
                                         lambda s: vowpal(s, horizon // 10))]
    baseline = None
    for name, impressions, run in runs:
        try:
            times, regrets = [], []
            for r in range(repeats):
                start = time.perf_counter()
                regrets.append(run(r))
                times.append(time.perf_counter() - start)
        except ImportError as exc:
            print(f"{name:<44} not installed ({exc.name}); pip install mabwiser vowpalwabbit")
            continue
        per = statistics.median(times) / (impressions * n_tests) * 1e6
        baseline = baseline or per
        print(f"{name:<44}{impressions * n_tests:>13,}{statistics.median(times):>9.2f}{per:>10.3f}"
              f"{per / baseline:>9.0f}{1000 * statistics.median(regrets) / (impressions * n_tests):>17.3f}")


def refreshes_per_second(n_tests: int = 10_000, n_cells: int = 4, repeats: int = 20) -> None:
    import numpy as np

    from creative_causal.allocation import KLUCB, ExploreThenCommit, FixedSplit, Thompson, TopTwoThompson

    rng = np.random.default_rng(0)
    rates = rng.uniform(0.02, 0.08, (n_tests, n_cells))
    print(f"\nrefreshes per second, {n_tests:,} concurrent tests of {n_cells} cells (shares + update of 1 000 "
          f"impressions per test), median of {repeats}:")
    for policy in (FixedSplit(), ExploreThenCommit(), KLUCB(), Thompson(), TopTwoThompson()):
        state = policy.start(n_cells, shape=(n_tests,))
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            counts = policy.choose(1000, state, rng)
            state = policy.update(state, counts, rng.binomial(counts, rates))
            times.append(time.perf_counter() - start)
        per_second = 1 / statistics.median(times)
        print(f"  {str(policy):<32} {per_second:8.1f} refreshes/s = {per_second * n_tests:12,.0f} test updates/s")


def write_log(path: Path, rows: int) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from creative_causal.allocation import simulate_impression_log
    from creative_causal.datasets import simulate_program

    program = simulate_program(1000, random_state=2)
    per_test = rows // program.cells["test_id"].nunique()
    writer = None
    for part in range(10):  # ten slices of impressions, so the generator never holds the whole log
        log = simulate_impression_log(program, impressions=per_test // 10, random_state=part)
        table = pa.Table.from_pandas(log, preserve_index=False)
        writer = writer or pq.ParquetWriter(path, table.schema)
        writer.write_table(table)
    writer.close()


def ope_child(path: str) -> dict:
    import pyarrow.parquet as pq

    from creative_causal.allocation import evaluate_policy
    from creative_causal.datasets import simulate_program

    meta = pq.ParquetFile(path).metadata
    cells = simulate_program(1000, random_state=2).cells  # the programme write_log served
    k = cells.groupby("test_id")["cell_id"].transform("size")
    first = cells.groupby("test_id").cumcount() == 0
    target = cells[["test_id", "cell_id"]].astype(str).assign(probability=(first * 0.5 + 0.5 / k).to_numpy())
    start = time.perf_counter()
    value = evaluate_policy(path, target, method="dr")
    return {"rows": meta.num_rows, "seconds": time.perf_counter() - start, "value": value.value,
            "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def off_policy(rows: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        results = []
        for n in (rows // 2, rows):
            path = Path(folder) / f"log_{n}.parquet"
            write_log(path, n)
            out = subprocess.run([sys.executable, __file__, "--ope-child", str(path)], capture_output=True, text=True,
                                 check=True)
            results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    print("\noff-policy evaluation (doubly robust) of a Parquet log, fresh process each:")
    for r in results:
        print(f"  {r['rows']:>12,} rows  {r['seconds']:7.1f} s  peak {r['peak_mib']:6.0f} MiB  value {r['value']:.4%}")
    print(f"  time ratio for twice the rows: {results[1]['seconds'] / results[0]['seconds']:.2f} (2.00 is linear)")


if __name__ == "__main__":
    main()

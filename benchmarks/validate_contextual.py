"""When does a per-segment policy pay, and what does pooling across segments buy?

One programme (--tests tests) served to --segments member segments of equal size, in three
worlds: segments that respond alike ("same"), mildly differently (each segment shifts the
log take rate by N(0, 0.1) per has_face and N(0, 0.3) per unit of brightness) and strongly
differently (N(0, 0.5) per has_face, N(0, 2) per unit of text_area, so segments often want
different artwork). Three policies: one Thompson policy for everyone, ``Contextual`` with
pooling estimated from the data (the default), and ``Contextual(pooling=0)``, a separate
Thompson policy per segment. Printed: regret against each segment's best cell (summed over
tests, mean and 95% interval over replications), share of impressions to each segment's best
cell, and share of impressions whose segment has the right winner at the end.

    python benchmarks/validate_contextual.py [--tests 200] [--segments 8] [--replications 10]
"""

from __future__ import annotations

import argparse
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tests", type=int, default=200)
    parser.add_argument("--segments", type=int, default=8)
    parser.add_argument("--replications", type=int, default=10)
    parser.add_argument("--horizon", type=int, default=40_000)
    parser.add_argument("--batch", type=int, default=2_000)
    args = parser.parse_args()

    import numpy as np

    from creative_causal.allocation import Contextual, Thompson, compare_policies
    from creative_causal.datasets import simulate_program

    program = simulate_program(args.tests, random_state=0)
    rng = np.random.default_rng(0)
    share = 1 / args.segments
    worlds = {
        "same": {f"s{i}": {"share": share} for i in range(args.segments)},
        "mild": {f"s{i}": {"share": share, "has_face": float(rng.normal(0, 0.1)),
                           "brightness": float(rng.normal(0, 0.3))} for i in range(args.segments)},
        "strong": {f"s{i}": {"share": share, "has_face": float(rng.normal(0, 0.5)),
                             "text_area": float(rng.normal(0, 2))} for i in range(args.segments)},
    }
    policies = {"one Thompson for all": Thompson(), "contextual, pooled": Contextual(),
                "contextual, separate": Contextual(pooling=0)}
    print(f"{args.tests} tests x {args.segments} segments, {args.horizon:,} impressions per test in refreshes of "
          f"{args.batch:,}, {args.replications} replications")
    print(f"{'world':<8}{'policy':<24}{'regret':>10}{'95% CI':>22}{'to best':>9}{'right winner':>14}{'time s':>8}")
    for world, segments in worlds.items():
        for name, policy in policies.items():
            start = time.perf_counter()
            row = compare_policies(program, {name: policy}, horizon=args.horizon, batch=args.batch,
                                   replications=args.replications, segments=segments,
                                   random_state=1).to_frame().iloc[0]
            print(f"{world:<8}{name:<24}{row.regret:>10,.0f}{f'{row.regret_ci_low:,.0f} to {row.regret_ci_high:,.0f}':>22}"
                  f"{row.share_to_best:>9.1%}{row.p_correct:>14.1%}{time.perf_counter() - start:>8.1f}")


if __name__ == "__main__":
    main()

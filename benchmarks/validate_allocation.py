"""When do causal priors help a new test, and what does a wrong prior cost?

A study is run on one simulated programme (the past: --train-titles titles); its reliable
effects give priors (``prior_from_study``) to the artworks of a second, independent
programme (the new tests), whose title baseline is each test's mean true take rate (what a
title's history would give). Thompson sampling is replayed on the new tests with a flat
prior, the study's prior at strength 1 and 0.1, and a wrong prior (the effects with their
signs flipped). Printed: regret (plays lost against always serving the best cell) after the
first --early impressions per test and at --horizon, with 95% intervals over replications,
and the share of tests whose recommended cell is the best one after the first refresh.

    python benchmarks/validate_allocation.py [--train-titles 400] [--tests 300] [--replications 20]
"""

from __future__ import annotations

import argparse
import warnings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train-titles", type=int, default=400)
    parser.add_argument("--tests", type=int, default=300)
    parser.add_argument("--replications", type=int, default=20)
    parser.add_argument("--horizon", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=5_000)
    parser.add_argument("--early", type=int, default=20_000)
    args = parser.parse_args()
    warnings.simplefilter("ignore")

    import numpy as np

    import creative_causal as cc
    from creative_causal.allocation import Thompson, prior_from_study, simulate_allocation, true_take_rates

    features = ["has_face", "smile", "closeup", "brightness", "contrast", "colorfulness", "sharpness", "text_area"]
    past = cc.simulate_program(args.train_titles, random_state=11)
    effects = cc.discover_insights(past.study_data(check_srm=False), features, refute=False, random_state=0).table
    print("study effects used (discoveries):")
    print(effects.loc[effects["discovery"], ["feature", "effect", "std_error"]].to_string(index=False))

    new = cc.simulate_program(args.tests, random_state=12)
    tests, rates, active = true_take_rates(new)
    baseline = {t: rates[i][active[i]].mean() for i, t in enumerate(tests)}
    artworks = new.cells[["test_id", "artwork_id"]].merge(new.artworks, left_on="artwork_id", right_index=True)
    base = artworks["test_id"].map(baseline)
    wrong = effects.assign(effect=-effects["effect"])
    priors = {
        "flat Beta(1, 1)": None,
        "study prior": prior_from_study(effects, artworks, baseline_rate=base.to_numpy()),
        "study prior, strength 0.1": prior_from_study(effects, artworks, baseline_rate=base.to_numpy(), strength=0.1),
        "wrong prior (signs flipped)": prior_from_study(wrong, artworks, baseline_rate=base.to_numpy()),
        "wrong prior, strength 0.1": prior_from_study(wrong, artworks, baseline_rate=base.to_numpy(), strength=0.1),
    }
    weight = priors["study prior"]["prior_weight"]
    print(f"\nprior weight (pseudo-impressions): median {weight.median():,.0f}, range {weight.min():,.0f} to "
          f"{weight.max():,.0f}; {args.tests} new tests, {args.replications} replications, Thompson sampling, "
          f"refreshes of {args.batch:,}")
    early_step = args.early // args.batch - 1
    early_label, late_label = f"regret first {args.early:,}", f"regret at {args.horizon:,}"
    print(f"{'prior':<30}{early_label:>24}{'95% CI':>20}{late_label:>22}{'95% CI':>20}{'winner after 1st refresh':>26}")
    for name, prior in priors.items():
        r = simulate_allocation(new, Thompson(), horizon=args.horizon, batch=args.batch, replications=args.replications,
                                priors=prior, random_state=0)
        early = r.regret[..., early_step].sum(axis=1)
        late = r.regret[..., -1].sum(axis=1)
        half = lambda x: 1.96 * x.std(ddof=1) / np.sqrt(len(x))  # noqa: E731
        first = r.correct[..., 0].mean()
        print(f"{name:<30}{early.mean():>24,.0f}{f'± {half(early):,.0f}':>20}{late.mean():>22,.0f}"
              f"{f'± {half(late):,.0f}':>20}{first:>26.1%}")


if __name__ == "__main__":
    main()

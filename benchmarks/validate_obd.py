"""Off-policy evaluation on real logged bandit data: the Open Bandit Dataset's small sample.

ZOZOTOWN (a fashion shop) served item recommendations in three slots under two policies on
the same campaign and days: uniform random and Bernoulli Thompson sampling (BTS); each served
10 000 logged impressions in the sample that ships inside the ``obp`` package (Saito et al.
2021; the full data set is 26 million rows). So each policy's take rate is known from its own
log, and each can be judged off-policy on the other's log:

1. BTS judged on the random log, against BTS's own click rate, with two versions of BTS's
   split: (a) its probability of every item in every slot rebuilt with our Beta posterior
   draws from the production prior ``obp`` ships (``prior_bts.yaml``; the Open Bandit
   Pipeline's convention), and (b) the split BTS actually served over the week (its log's
   share of each item in each slot). BTS updated its posterior during the week, so (a) is a
   snapshot: the script prints how far it is from (b). The click rates of the two logs are
   comparable because members were assigned to the policies at random over the same days;
2. the random policy judged on the BTS log (with the propensities BTS logged), against the
   random policy's own click rate.

Each slot is a "test" whose cells are the 80 items (rows independent within a slot, the
usual assumption on this data). Clicks are rare (about 40 per log), so both sides are noisy:
the printed z-score divides the difference by both standard errors.

The data are not downloaded at run time: get the wheel once from the package registry
(``pip download obp==0.4.1 --no-deps -d DIR``; ``obp`` itself need not be installed, its
dependencies pin torch) and pass it with ``--wheel``, or install it with ``--no-deps``.

    python benchmarks/validate_obd.py --wheel DIR/obp-0.4.1-py3-none-any.whl [--draws 200000]
"""

from __future__ import annotations

import argparse
import io
import sys
import warnings
import zipfile
from pathlib import Path

COLUMNS = ["item_id", "position", "click", "propensity_score"]


def _opener(wheel: str | None):
    if wheel:
        archive = zipfile.ZipFile(wheel)
        return lambda name: io.BytesIO(archive.read(f"obp/{name}"))
    from importlib import metadata

    try:
        root = Path(metadata.distribution("obp").locate_file("obp"))
    except metadata.PackageNotFoundError:
        sys.exit("the Open Bandit Dataset sample ships inside the obp wheel: run `pip download obp==0.4.1 --no-deps "
                 "-d DIR` and pass --wheel DIR/obp-0.4.1-py3-none-any.whl (or `pip install --no-deps obp`).")
    return lambda name: open(root / name, "rb")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheel", default=None, help="path of the obp wheel (default: an installed obp)")
    parser.add_argument("--campaign", default="all", choices=["all", "men", "women"])
    parser.add_argument("--draws", type=int, default=200_000, help="posterior draws for BTS's slot probabilities")
    args = parser.parse_args()
    warnings.simplefilter("ignore")

    import numpy as np
    import pandas as pd
    import yaml
    from scipy import stats

    from creative_causal.allocation import METHODS, AllocationState, evaluate_policy, posterior_draws

    open_file = _opener(args.wheel)
    logs = {}
    for policy in ("random", "bts"):
        frame = pd.read_csv(open_file(f"dataset/obd/{policy}/{args.campaign}/{args.campaign}.csv"), usecols=COLUMNS)
        logs[policy] = pd.DataFrame({"test_id": "slot " + frame["position"].astype(str),
                                     "cell_id": frame["item_id"].astype(str), "played": frame["click"],
                                     "propensity": frame["propensity_score"]})
    prior = yaml.safe_load(open_file("policy/conf/prior_bts.yaml"))[args.campaign]
    alpha, beta = np.asarray(prior["alpha"], float), np.asarray(prior["beta"], float)
    n_items = len(alpha)

    # 1a. BTS ranks items by one posterior draw each; the item in slot k is the k-th largest
    state = AllocationState.new(n_items, prior_plays=alpha, prior_misses=beta)
    draws = posterior_draws(state, args.draws, np.random.default_rng(0))
    ranked = np.argsort(-draws, axis=1)[:, :3]
    slots = sorted(logs["bts"]["test_id"].unique())
    probability = np.stack([np.bincount(ranked[:, k], minlength=n_items) / args.draws for k in range(3)])
    grid = pd.MultiIndex.from_product([slots, [str(i) for i in range(n_items)]], names=["test_id", "cell_id"])
    snapshot = pd.DataFrame({"probability": probability.ravel()}, index=grid).reset_index()
    # 1b. what BTS served: each item's share of each slot in its log
    served = (logs["bts"].groupby(["test_id", "cell_id"]).size().reindex(grid, fill_value=0)
              .groupby(level=0).transform(lambda c: c / c.sum()).rename("probability").reset_index())
    distance = 0.5 * np.abs(snapshot["probability"] - served["probability"]).groupby(snapshot["test_id"]).sum()
    print(f"Open Bandit Dataset sample, campaign {args.campaign!r}: {n_items} items, 3 slots, "
          f"{len(logs['random']):,} random and {len(logs['bts']):,} BTS impressions")
    print(f"BTS's split rebuilt from the production prior ({args.draws:,} posterior draws) against the split it served: "
          f"total variation {', '.join(f'{d:.2f}' for d in distance)} in slots 1 to 3")

    uniform = snapshot.assign(probability=1.0 / n_items)
    cases = (("1a. BTS (prior snapshot) judged on the random log", logs["random"], snapshot, logs["bts"]),
             ("1b. BTS (the split it served) judged on the random log", logs["random"], served, logs["bts"]),
             ("2. the random policy judged on the BTS log", logs["bts"], uniform, logs["random"]))
    for label, log, target, truth_log in cases:
        truth = truth_log["played"].mean()
        truth_se = np.sqrt(truth * (1 - truth) / len(truth_log))
        print(f"\n{label}; truth: its own click rate {truth:.4%} (SE {truth_se:.4%}, {int(truth_log['played'].sum())} "
              "clicks)")
        print(f"  {'method':<10}{'estimate':>10}{'95% CI':>22}{'covers':>8}{'SE':>9}{'z':>7}{'rel. error':>12}{'ESS':>9}")
        for method in METHODS:
            v = evaluate_policy(log, target, method=method, random_state=0)
            z = (v.value - truth) / np.hypot(v.std_error, truth_se)
            covers = "yes" if v.ci_low <= truth <= v.ci_high else "no"
            print(f"  {method:<10}{v.value:>10.4%}{f'{v.ci_low:.4%} to {v.ci_high:.4%}':>22}{covers:>8}{v.std_error:>9.4%}"
                  f"{z:>7.2f}{(v.value - truth) / truth:>12.1%}{v.effective_sample_size:>9,.0f}")
        print(f"  (covers: the interval holds the truth; z: the difference over both standard errors, |z| > "
              f"{stats.norm.ppf(0.975):.2f} a miss at 95%; replay's interval is Wilson's, its z uses the normal SE)")


if __name__ == "__main__":
    main()

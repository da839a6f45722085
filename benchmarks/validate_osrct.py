"""Coverage on data we did not generate, in the within-test design: observational samples
drawn from a randomised experiment (OSRCT, Gentzel, Garant and Jensen 2021).

The experiment: Thornton (2008), "The demand for, and impact of, learning HIV status"
(``causaldata.thornton_hiv``, the test extra). People in 119 Malawian villages were tested
for HIV and randomly offered a cash incentive (``any``) to collect their result (``got``).
Its difference in means, +0.451 on the 2 825 people with every variable recorded, is the
benchmark: the average effect of the incentive.

Each replication turns the experiment into an observational study whose selection is known
to be ignorable given the covariates (``datasets.observational_sample``): every person draws
a "preferred" treatment with a probability that rises with age and falls with distance to
the results centre, and only the people whose actual (randomised) treatment matches it are
kept. The kept sample is confounded by distance and age, and its average effect is still the
experiment's. Villages play the tests (the within-test design compares people of one
village; errors clustered by village).

Printed per estimator over ``--replications`` samples: the mean estimate, its bias against
the benchmark (in effect units and in mean standard errors), the coverage of the benchmark
by the 95% interval, the standard deviation of the z-scores, the mean width, and the same
estimator on the whole experiment with the samples' mean bias against it (in an experiment
each estimator's own figure is unbiased too, and differs from the difference in means by
sampling noise only). The benchmark has its own standard error (about 0.02, half a
replication's), and the replications share people, so read the coverage as a check on bias
rather than a calibrated frequency.

    python benchmarks/validate_osrct.py [--replications 100] [--n-jobs 2]
"""

from __future__ import annotations

import argparse
import time
import warnings
from typing import Any

import numpy as np
import pandas as pd

COVARIATES = ["distvct", "age", "hiv2004"]
ESTIMATORS: dict[str, dict[str, Any]] = {
    "naive": dict(method="naive", design="pooled", confounders=[]),
    "ours ate (within village)": dict(estimand="ate"),
    "ours plr (within village)": dict(estimand="plr"),
    "ols (village effects)": dict(method="ols"),
    "ours ate (pooled)": dict(estimand="ate", design="pooled"),
}


def experiment() -> tuple[pd.DataFrame, float]:
    """The experiment's people with every variable recorded, and its difference in means."""
    from causaldata import thornton_hiv

    raw = thornton_hiv.load_pandas().data
    data = raw.dropna(subset=["got", "any", "villnum", *COVARIATES]).reset_index(drop=True)
    data = data.assign(any=data["any"].astype(int), village=data["villnum"].astype(int).astype(str))
    benchmark = float(data.loc[data["any"] == 1, "got"].mean() - data.loc[data["any"] == 0, "got"].mean())
    return data, benchmark


def preference(data: pd.DataFrame) -> np.ndarray:
    """The chance of preferring treatment: ``logistic(-1 - 1.5 z(distance) + 0.8 z(age))``, so
    nearer and older people are kept when treated, farther and younger ones when not."""
    def z(column: str) -> np.ndarray:
        values = data[column].to_numpy(dtype=float)
        return (values - values.mean()) / values.std()

    return 1.0 / (1.0 + np.exp(-(-1.0 - 1.5 * z("distvct") + 0.8 * z("age"))))


def estimates(data: pd.DataFrame, r: int) -> dict[str, tuple[float, float, float, float]]:
    """Every estimator on ``data``: (estimate, standard error, interval low, high)."""
    warnings.simplefilter("ignore")
    from creative_causal import estimate_effect

    out = {}
    for name, settings in ESTIMATORS.items():
        kw = dict(confounders=COVARIATES, cluster="village", weights=None, random_state=r)
        kw.update(settings)
        est = estimate_effect(data, "any", outcome="got", **kw)
        out[name] = (est.value, est.std_error, est.ci_low, est.ci_high)
    return out


def one_replication(data: pd.DataFrame, r: int) -> dict[str, Any]:
    from creative_causal.datasets import observational_sample

    sample = observational_sample(data, "any", preference(data), random_state=5_000 + r)
    return dict(replication=r, n=len(sample), treated_share=float(sample["any"].mean()), **estimates(sample, r))


def summarise(rows: list[dict[str, Any]], benchmark: float, whole: dict[str, tuple[float, ...]]) -> pd.DataFrame:
    out = []
    for name in ESTIMATORS:
        value, se, low, high = (np.array(v) for v in zip(*(r[name] for r in rows)))
        z = (value - benchmark) / se
        out.append(dict(estimator=name, mean=value.mean(), bias=value.mean() - benchmark,
                        bias_in_se=(value.mean() - benchmark) / se.mean(),
                        coverage=np.mean((low <= benchmark) & (benchmark <= high)), sd_z=np.std(z, ddof=1),
                        width=np.mean(high - low), on_experiment=whole[name][0],
                        bias_vs_experiment=value.mean() - whole[name][0]))
    return pd.DataFrame(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, default=100)
    parser.add_argument("--n-jobs", type=int, default=2)
    args = parser.parse_args()
    from joblib import Parallel, delayed

    start = time.perf_counter()
    data, benchmark = experiment()
    whole = estimates(data, 0)
    rows = Parallel(n_jobs=args.n_jobs)(delayed(one_replication)(data, r) for r in range(args.replications))
    print(f"Thornton (2008): {len(data)} people in {data['village'].nunique()} villages; experimental effect "
          f"{benchmark:+.3f}. {args.replications} observational samples of about {np.mean([r['n'] for r in rows]):.0f} "
          f"people ({np.mean([r['treated_share'] for r in rows]):.0%} treated); {time.perf_counter() - start:.0f} s")
    print(summarise(rows, benchmark, whole).to_string(index=False, float_format=lambda v: f"{v:.3f}"))


if __name__ == "__main__":
    main()

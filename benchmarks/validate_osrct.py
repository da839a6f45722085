"""Coverage on data we did not generate, in the within-test design: observational samples
drawn from randomised experiments (OSRCT, Gentzel, Garant and Jensen 2021).

Two experiments randomised within villages (``causaldata``, the test extra):

* ``thornton``: Thornton (2008), "The demand for, and impact of, learning HIV status".
  People in 119 Malawian villages were tested for HIV and randomly offered a cash incentive
  (``any``) to collect their result (``got``). Covariates: distance to the results centre,
  age, HIV status.
* ``insurance``: Cai, de Janvry and Sadoulet (2015), "Social networks and the decision to
  insure". Rice farmers in 44 Chinese villages were randomly invited to an intensive
  (rather than a simple) information session (``intensive``) on a new weather insurance;
  the outcome is buying it (``takeup_survey``). Its difference in means is about zero:
  the benchmark checks that adjustment removes a bias the selection creates, not that it
  finds an effect. Covariates: age, household size, rice area, perceived disaster
  probability, sex, risk aversion, literacy, the default option of the session (randomised
  too) and the friends' take-up rate (``pre_takeup_rate``).

The benchmark is the experiment's difference in means on the people with every variable
recorded: the average effect of the treatment.

Each replication turns the experiment into an observational study whose selection is known
to be ignorable given the covariates (``datasets.observational_sample``): every person draws
a "preferred" treatment with a probability ``logistic(-1 - 1.5 z(lowers) + 0.8 z(raises))``
of two covariates (Thornton: distance lowers it, age raises it; insurance: the friends'
take-up rate lowers it, risk aversion raises it, the two covariates that predict buying
best; the insurance selection copies Thornton's coefficients, fixed before any estimate was
looked at), and only the people whose actual (randomised) treatment matches it are kept. The
kept sample is confounded by those covariates, and its average effect is still the
experiment's. Villages play the tests (the within-test design compares people of one
village; errors clustered by village).

Printed per estimator over ``--replications`` samples: the mean estimate, its bias against
the benchmark (in effect units and in mean standard errors), the coverage of the benchmark
by the 95% interval, the standard deviation of the z-scores, the mean width, and the same
estimator on the whole experiment with the samples' mean bias against it (in an experiment
each estimator's own figure is unbiased too, and differs from the difference in means by
sampling noise only). The benchmark has its own standard error (about half a replication's),
and the replications share people, so read the coverage as a check on bias rather than a
calibrated frequency.

    python benchmarks/validate_osrct.py [--experiment thornton|insurance|all] [--replications 100] [--n-jobs 2]
"""

from __future__ import annotations

import argparse
import time
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

ESTIMATORS: dict[str, dict[str, Any]] = {
    "naive": dict(method="naive", design="pooled", confounders=[]),
    "ours ate (within village)": dict(estimand="ate"),
    "ours plr (within village)": dict(estimand="plr"),
    "ols (village effects)": dict(method="ols"),
    "ours ate (pooled)": dict(estimand="ate", design="pooled"),
}


@dataclass(frozen=True)
class Experiment:
    """A village experiment (``datasets.load_village_experiment``) and how its samples are selected."""

    name: str
    lowers: str  # the covariate that lowers the preference for treatment (``-1.5 z``)
    raises: str  # the covariate that raises it (``+0.8 z``)

    def load(self) -> Any:
        """The experiment (``BenchmarkData``): its people with every variable recorded, and its
        difference in means as the truth."""
        from creative_causal.datasets import load_village_experiment

        return load_village_experiment(self.name)

    def preference(self, data: pd.DataFrame) -> np.ndarray:
        """The chance of preferring treatment: ``logistic(-1 - 1.5 z(lowers) + 0.8 z(raises))``."""
        def z(column: str) -> np.ndarray:
            values = data[column].to_numpy(dtype=float)
            return (values - values.mean()) / values.std()

        return 1.0 / (1.0 + np.exp(-(-1.0 - 1.5 * z(self.lowers) + 0.8 * z(self.raises))))


EXPERIMENTS = {
    "thornton": Experiment("thornton", lowers="distvct", raises="age"),
    "insurance": Experiment("insurance", lowers="pre_takeup_rate", raises="risk_averse"),
}


def estimates(benchmark: Any, data: pd.DataFrame, r: int) -> dict[str, tuple[float, float, float, float]]:
    """Every estimator on ``data`` (the people of ``benchmark``, a ``BenchmarkData``, or a sample
    of them): (estimate, standard error, interval low, high)."""
    warnings.simplefilter("ignore")
    from creative_causal import estimate_effect

    out = {}
    for name, settings in ESTIMATORS.items():
        kw = dict(confounders=list(benchmark.covariates), cluster=benchmark.cluster, weights=None, random_state=r)
        kw.update(settings)
        est = estimate_effect(data, benchmark.treatment, outcome=benchmark.outcome, **kw)
        out[name] = (est.value, est.std_error, est.ci_low, est.ci_high)
    return out


def one_replication(experiment: Experiment, data: Any, r: int) -> dict[str, Any]:
    from creative_causal.datasets import observational_sample

    sample = observational_sample(data.frame, data.treatment, experiment.preference(data.frame), random_state=5_000 + r)
    return dict(replication=r, n=len(sample), treated_share=float(sample[data.treatment].mean()),
                **estimates(data, sample, r))


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
    parser.add_argument("--experiment", choices=[*EXPERIMENTS, "all"], default="all")
    parser.add_argument("--replications", type=int, default=100)
    parser.add_argument("--n-jobs", type=int, default=2)
    args = parser.parse_args()
    from joblib import Parallel, delayed

    for key in EXPERIMENTS if args.experiment == "all" else [args.experiment]:
        experiment = EXPERIMENTS[key]
        start = time.perf_counter()
        data = experiment.load()
        benchmark = data.truth["ate"]
        whole = estimates(data, data.frame, 0)
        rows = Parallel(n_jobs=args.n_jobs)(delayed(one_replication)(experiment, data, r)
                                            for r in range(args.replications))
        print(f"{data.name}: {len(data.frame)} people in {data.frame['village'].nunique()} villages; experimental effect "
              f"{benchmark:+.3f}. {args.replications} observational samples of about "
              f"{np.mean([r['n'] for r in rows]):.0f} people ({np.mean([r['treated_share'] for r in rows]):.0%} "
              f"treated); {time.perf_counter() - start:.0f} s")
        print(summarise(rows, benchmark, whole).to_string(index=False, float_format=lambda v: f"{v:.3f}"))
        print()


if __name__ == "__main__":
    main()

"""Our four refuters against DoWhy's, at 20 000 cells, same estimator and nuisance models.

Ours: ``refute(estimate, data, n_simulations=100)`` (median of --repeats runs; the fitted
nuisance models are reused, see creative_causal/refutation/_refute.py), and optionally the
``refit=True`` path at a few simulations, scaled to 100. DoWhy 0.14: ``refute_estimate``
with placebo (permute), random common cause, data subset (0.8) and bootstrap (no added
noise), each a full refit of econml LinearDML (``--estimand plr``, the default here) or
LinearDRLearner (``--estimand ate``) with the same histogram-boosting nuisance models on the
estimate's own prepared data. DoWhy runs --dowhy-sims simulations per refuter
and its time is scaled linearly to 100 (each simulation is an independent refit). Verdicts:
a test fails when its p-value is below 0.05 (DoWhy's documented reading); ours adds the
bootstrap standard-error check.

Measured here (2 cores): ours 0.36 s against DoWhy's ~1 500 s (scaled from 20), and three
of four verdicts agree; DoWhy's bootstrap fails spuriously with early-stopping boosting (see
the note printed at the end). With ``--nuisance linear`` all four agree.

    python benchmarks/bench_refute.py [--cells 20000] [--dowhy-sims 20] [--repeats 5] [--refit-sims 0]
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _timing import timed  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cells", type=int, default=20_000)
    parser.add_argument("--dowhy-sims", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--refit-sims", type=int, default=0, help="also time our refit path at this many simulations")
    parser.add_argument("--treatment", default="has_face")
    parser.add_argument("--nuisance", choices=("hgb", "linear", "library"), default="hgb",
                        help="histogram gradient boosting (estimation.default_model), linear models, or the "
                             "default library chosen by out-of-fold loss (DoWhy then gets boosting)")
    parser.add_argument("--estimand", choices=("plr", "ate"), default="plr",
                        help="plr: DoWhy fits econml LinearDML; ate: econml LinearDRLearner")
    args = parser.parse_args()
    warnings.simplefilter("ignore")

    from creative_causal import estimate_effect, refute, simulate_program
    from creative_causal.refutation import dowhy_refutations

    program = simulate_program(args.cells // 4, cells_per_test=(4, 4), random_state=7)
    data = program.study_data(check_srm=False)
    models = {}
    propensity = args.estimand == "ate"
    if args.nuisance == "linear":
        from sklearn.linear_model import LinearRegression, LogisticRegression

        models = dict(model_y=LinearRegression(), model_t=LogisticRegression(max_iter=1000) if propensity
                      else LinearRegression())
    elif args.nuisance == "hgb":
        from creative_causal.estimation import default_model

        models = dict(model_y=default_model("regression", random_state=0),
                      model_t=default_model("classification" if propensity else "regression", random_state=0))
    start = time.perf_counter()
    est = estimate_effect(data, args.treatment, estimand=args.estimand, random_state=0, **models)
    fit_seconds = time.perf_counter() - start
    print(f"{data.n_units} cells, {est.n_cells} of them in the {est.n_tests} tests where {args.treatment} varies; "
          f"nuisance models: {args.nuisance}; estimate_effect({args.treatment!r}) {fit_seconds:.1f} s: "
          f"{est.value:+.4f} (SE {est.std_error:.4f}); truth {program.truth.effect(args.treatment):+.4f}")

    ours_seconds = timed(lambda: refute(est, data, n_simulations=100, random_state=0), args.repeats)
    ours = refute(est, data, n_simulations=100, random_state=0)
    print(f"\nours (nuisance models reused), 4 refuters x 100 simulations: {ours_seconds:.3f} s "
          f"(median of {args.repeats})")
    print(ours.summary())

    if args.refit_sims:
        start = time.perf_counter()
        refit = refute(est, data, n_simulations=args.refit_sims, refit=True, random_state=0)
        refit_seconds = (time.perf_counter() - start) * 100 / args.refit_sims
        print(f"\nours (refit every simulation), scaled to 100 simulations: {refit_seconds:.0f} s")
        print(refit.summary())

    start = time.perf_counter()
    dowhy = dowhy_refutations(est, n_simulations=args.dowhy_sims, random_state=0)
    dowhy_raw = time.perf_counter() - start
    dowhy_scaled = dowhy["seconds"].sum() * 100 / args.dowhy_sims
    print(f"\nDoWhy refute_estimate, 4 refuters x {args.dowhy_sims} simulations: {dowhy_raw:.0f} s; "
          f"scaled to 100: {dowhy_scaled:.0f} s")
    print(dowhy.to_string(index=False, float_format=lambda v: f"{v:.4g}"))

    ours_status = {r.test: r.status for r in ours.results}
    agree = all(ours_status[row.test] == row.status for row in dowhy.itertuples())
    print(f"\nspeed-up (DoWhy at 100 simulations / ours): {dowhy_scaled / ours_seconds:,.0f}x (target >= 5x)")
    print("verdicts: " + ", ".join(f"{row.test} ours={ours_status[row.test]} dowhy={row.status}"
                                   for row in dowhy.itertuples()))
    n_same = sum(ours_status[row.test] == row.status for row in dowhy.itertuples())
    print(f"same verdicts: {agree} ({n_same} of {len(dowhy)})")
    if not agree and args.nuisance == "hgb":
        print("note: DoWhy's bootstrap refits on rows drawn with replacement; the copies land in histogram boosting's\n"
              "internal early-stopping split, stopping misfires, the nuisance models overfit and the estimate is\n"
              "attenuated (measured: about -0.003, 2 SE, also with copies kept in one cross-fitting fold; none without\n"
              "early stopping). Our bootstrap reuses the fitted residuals and is not exposed to it. With\n"
              "--nuisance linear every verdict agrees.")


if __name__ == "__main__":
    main()

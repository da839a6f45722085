"""Validation of the trust layer against the simulator's known truth.

Prints three studies:

1. the insight sweep: false discovery proportion and power over --replications simulated
   programmes with 5 real effects and 8 null features (default nuisance models, BH at 0.05),
   plus each feature's bias and interval coverage;
2. sensitivity: as the hidden confounder U grows, the bias of the has_face estimate, its
   robustness value, and the bias bound at U's true partial R2 values;
3. mediation: n_faces -> face_area -> take rate against the true direct and indirect effects.

    python benchmarks/validate_trust.py [--replications 20] [--titles 300] [--skip sweep,sensitivity,mediation]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd

REAL = ("has_face", "smile", "brightness", "colorfulness", "text_area")
NULL = ("contrast", "saturation", "warmth", "sharpness", "exposure_clip", "symmetry", "negative_space", "depth_of_field")
EFFECTS = {"has_face": 0.08, "smile": 0.08, "brightness": 0.20, "colorfulness": 0.15, "text_area": -0.6,
           "n_faces": 0.0, "face_area": 0.0, "closeup": 0.0, "face_thirds": 0.0, "sharpness": 0.0, "thirds": 0.0,
           "has_text": 0.0}


def sweep_study(replications: int, titles: int) -> None:
    from creative_causal import discover_insights, simulate_program

    fdp, power, rows = [], [], []
    start = time.perf_counter()
    for r in range(replications):
        program = simulate_program(titles, effects=EFFECTS, random_state=1000 + r)
        found = discover_insights(program.study_data(), [*REAL, *NULL], random_state=r)
        hits = set(found.discoveries["feature"])
        fdp.append(len(hits & set(NULL)) / max(len(hits), 1))
        power.append(len(hits & set(REAL)) / len(REAL))
        for row in found.table.itertuples():
            truth = program.truth.effect(row.feature)
            rows.append(dict(feature=row.feature, bias_in_se=(row.effect - truth) / row.std_error,
                             covered=row.ci_low <= truth <= row.ci_high, discovered=row.discovery,
                             refutation_failed=str(row.refutation).startswith("failed")))
    seconds = time.perf_counter() - start
    per = pd.DataFrame(rows).groupby("feature").agg(mean_bias_in_se=("bias_in_se", "mean"), coverage=("covered", "mean"),
                                                    discovery_rate=("discovered", "mean"),
                                                    refutation_failures=("refutation_failed", "mean"))
    per = per.loc[[*REAL, *NULL]]
    print(f"1. Insight sweep: {replications} programmes x {titles} titles, 5 real + 8 null features, BH FDR 0.05 "
          f"({seconds / replications:.1f} s per programme incl. refutations)")
    print(f"   mean false discovery proportion {np.mean(fdp):.3f} (target <= 0.1); "
          f"power {np.mean(power):.3f} (target >= 0.8); any false discovery in {np.mean(np.array(fdp) > 0):.0%} "
          "of programmes")
    print(per.round(3).to_string())


def sensitivity_study(titles: int) -> None:
    from creative_causal import estimate_effect, sensitivity, simulate_program
    from creative_causal.estimation._inference import demean
    from creative_causal.refutation import bias_bound
    from creative_causal.refutation._sensitivity import _partial_r2

    print("\n2. Sensitivity: hidden confounder U (raises face probability, lowers take rate), has_face")
    print("   strength  estimate   truth     bias  bias/SE  robustness  RV(CI)   E-value  R2(U~D)  R2(U~Y)  bound  covered")
    for strength in (0.0, 0.5, 1.0, 2.0, 3.0):
        program = simulate_program(titles, unobserved_confounding=strength, random_state=21)
        data = program.study_data()
        est = estimate_effect(data, "has_face", random_state=0)
        s = sensitivity(est)
        stage = est.fitted
        u = program.latent.loc[data.frame.loc[stage.rows, "artwork_id"], "U"].to_numpy()
        u = demean(u, stage.codes, stage.weights)
        x = np.column_stack([stage.features, u])
        r2d = _partial_r2(stage.t, x, [x.shape[1] - 1], stage.weights)
        r2y = _partial_r2(stage.y, np.column_stack([stage.t, x]), [x.shape[1] - 1], stage.weights, keep_first=1)
        bound = float(bias_bound(r2d, r2y, s.sd_ratio))
        truth = program.truth.effect("has_face")
        bias = est.value - truth
        print(f"   {strength:>8.1f}  {est.value:+.4f}  {truth:+.4f}  {bias:+.4f}  {bias / est.std_error:+7.1f}  "
              f"{s.robustness_value:>9.1%}  {s.robustness_value_ci:>6.1%}  {s.e_value:>7.2f}  {r2d:>7.4f}  {r2y:>7.4f}  "
              f"{bound:.4f}  {abs(bias) <= bound + 2 * est.std_error}")


def mediation_study(titles: int, seeds: int = 5) -> None:
    from creative_causal import mediation, simulate_program

    print("\n3. Mediation: n_faces -> face_area (+ closeup) -> take rate")
    rows = []
    for seed in range(seeds):
        program = simulate_program(titles, random_state=seed + 1)
        m = mediation(program.study_data(), "n_faces", "face_area", random_state=seed)
        truth = program.truth.mediation.iloc[0]
        for name in ("total", "direct", "indirect"):
            low, high = m.effects.loc[name, ["ci_low", "ci_high"]]
            rows.append(dict(seed=seed + 1, effect=name, estimate=m.value(name), truth=truth[name],
                             covered=low <= truth[name] <= high))
        rows.append(dict(seed=seed + 1, effect="verdict", estimate=np.nan, truth=np.nan, covered=m.verdict == "partial"))
    frame = pd.DataFrame(rows)
    print(frame.pivot_table(index="effect", values=["estimate", "truth", "covered"], aggfunc="mean").round(4).to_string())
    print("   (verdict row: share of programmes where the verdict is 'partial', the truth)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--replications", type=int, default=20)
    parser.add_argument("--titles", type=int, default=300)
    parser.add_argument("--skip", default="")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    skip = set(args.skip.split(","))
    if "sweep" not in skip:
        sweep_study(args.replications, args.titles)
    if "sensitivity" not in skip:
        sensitivity_study(400)
    if "mediation" not in skip:
        mediation_study(args.titles)


if __name__ == "__main__":
    main()

"""Validation figures for the foundation: simulator recovery, confounding bias and the
sample-ratio check. Prints the numbers quoted in the issue note.

    python benchmarks/validate_foundation.py [--replications 50]
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np

from creative_causal import SampleRatioMismatchWarning
from creative_causal.datasets import simulate_program
from creative_causal.estimation import difference_in_means


def face_contrasts(seed: int, **kwargs):
    p = simulate_program(300, random_state=seed, **kwargs)
    study = p.study_data()
    f = study.frame
    truth = p.truth.effect("has_face")
    within = difference_in_means(f[study.outcome], f["has_face"], weights=f["impressions"], clusters=f["test_id"],
                                 within=True)
    pooled = difference_in_means(np.log(f["take_rate"]), f["has_face"], weights=f["impressions"],
                                 clusters=f["test_id"])
    return truth, within, pooled


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--replications", type=int, default=50)
    n = parser.parse_args().replications
    for label, kwargs in (("confounding off", dict(confounding=0.0)), ("confounding on", {})):
        rows = []
        for seed in range(n):
            truth, within, pooled = face_contrasts(1000 + seed, **kwargs)
            rows.append([truth, within.value, within.std_error, pooled.value, pooled.std_error])
        r = np.array(rows)
        wz = (r[:, 1] - r[:, 0]) / r[:, 2]
        pz = (r[:, 3] - r[:, 0]) / r[:, 4]
        print(f"{label} ({n} programmes of 300 titles), has_face, true effect {r[:, 0].mean():+.4f} on average:")
        print(f"  within-test: mean bias {np.mean(r[:, 1] - r[:, 0]):+.4f} = {wz.mean():+.2f} SE; "
              f"95% CI covers truth {np.mean(np.abs(wz) < 1.96):.0%}; mean SE {r[:, 2].mean():.4f}")
        print(f"  pooled:      mean bias {np.mean(r[:, 3] - r[:, 0]):+.4f} = {pz.mean():+.2f} SE; "
              f"95% CI covers truth {np.mean(np.abs(pz) < 1.96):.0%}; mean SE {r[:, 4].mean():.4f}")
    flagged_injected, injected, false_tests, clean_tests, programme_alarms = 0, 0, 0, 0, 0
    for seed in range(n):
        p = simulate_program(200, random_state=2000 + seed, srm_share=0.05, srm_size=0.10)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SampleRatioMismatchWarning)
            table = p.ab_results().srm(warn=False).set_index("test_id")
        inj = p.titles.set_index("test_id")["injected_srm"]
        flagged_injected += int(table["mismatch"][inj].sum())
        injected += int(inj.sum())
        false_tests += int(table["mismatch"][~inj].sum())
        clean_tests += int((~inj).sum())
        clean = simulate_program(200, random_state=3000 + seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SampleRatioMismatchWarning)
            programme_alarms += bool(clean.ab_results().srm(warn=False)["mismatch"].any())
    print("sample-ratio check (alpha 0.01, Holm across tests), 10% under-allocation of one cell:")
    print(f"  detected {flagged_injected}/{injected} injected mismatches ({flagged_injected / max(injected, 1):.0%})")
    print(f"  false alarms: {false_tests}/{clean_tests} clean tests; {programme_alarms}/{n} clean programmes")


if __name__ == "__main__":
    main()

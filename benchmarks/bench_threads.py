"""Native thread pools on a quiet machine and with one core kept busy by another process.

Three workloads: the issue's scenario, ``analyze`` on 60 titles with two treatments (double ML
with gradient boosting, refutations, sensitivity, mediation, overlap); the graph's testable
implications on the same data (hundreds of small least-squares fits: BLAS, not OpenMP); and
the sensitivity analysis of one estimate, ten times (least squares per benchmark covariate).
Each run is a fresh process with the library's cap on native threads set to 1 (the default),
to the number of cores, or removed; the same runs then repeat while a second process spins
on one core. Prints the median seconds of each, and the slowdown under load (busy / quiet,
the same setting).

    python benchmarks/bench_threads.py [--repeats 3] [--titles 60]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

RUN = """
import sys, time, warnings
warnings.simplefilter("ignore")
import creative_causal as cc
threads = None if sys.argv[1] == "none" else int(sys.argv[1])
program = cc.simulate_program(int(sys.argv[2]), random_state=1)
study = program.study_data(check_srm=False)
estimate = cc.estimate_effect(study, "has_face", random_state=0)
graph = cc.creative_graph(study)
graph.testable_implications(study)  # imports and first-call costs out of the timings
seconds = []
with cc.config_context(native_threads=threads):
    start = time.perf_counter()
    cc.CreativeStudy(program.ab_results(check_srm=False), program.artworks, treatments=["has_face", "brightness"],
                     random_state=0).run()
    seconds.append(time.perf_counter() - start)
    start = time.perf_counter()
    graph.testable_implications(study)
    seconds.append(time.perf_counter() - start)
    start = time.perf_counter()
    for _ in range(10):
        cc.sensitivity(estimate)
    seconds.append(time.perf_counter() - start)
print(*seconds)
"""
WORKLOADS = ("analyze", "implications", "sensitivity x10")
SPIN = "while True:\n    pass\n"


def run(setting: str, titles: int) -> list[float]:
    done = subprocess.run([sys.executable, "-c", RUN, setting, str(titles)], capture_output=True, text=True, check=True)
    return [float(v) for v in done.stdout.strip().splitlines()[-1].split()]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--titles", type=int, default=60)
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    settings = ["1", str(cores), "none"]
    quiet: dict[str, list[list[float]]] = {s: [] for s in settings}
    busy: dict[str, list[list[float]]] = {s: [] for s in settings}
    for _ in range(args.repeats):  # interleaved, so drift of the machine hits every setting alike
        for s in settings:
            quiet[s].append(run(s, args.titles))
        spinner = subprocess.Popen([sys.executable, "-c", SPIN])
        try:
            time.sleep(0.5)
            for s in settings:
                busy[s].append(run(s, args.titles))
        finally:
            spinner.kill()
            spinner.wait()
    print(f"{args.titles} titles, 2 treatments, {cores} cores; median of {args.repeats} runs (seconds)")
    print(f"{'workload':<16} {'native threads':<16} {'quiet':>8} {'one busy core':>14} {'busy / quiet':>13} "
          f"{'quiet / default':>16}")
    for i, workload in enumerate(WORKLOADS):
        default = statistics.median(r[i] for r in quiet["1"])
        for s in settings:
            q, b = statistics.median(r[i] for r in quiet[s]), statistics.median(r[i] for r in busy[s])
            name = {"none": "uncapped", str(cores): f"{cores} (all cores)", "1": "1 (default)"}[s]
            print(f"{workload:<16} {name:<16} {q:>8.2f} {b:>14.2f} {b / q:>13.2f} {q / default:>16.2f}")


if __name__ == "__main__":
    main()

"""Native thread pools on a quiet machine and with one core kept busy by another process.

The issue's scenario: ``analyze`` on 60 titles with two treatments (double ML with gradient
boosting, refutations, sensitivity, mediation, overlap). Each run is a fresh process with the
library's cap on native threads set to 1 (the default), to the number of cores, or removed;
the same runs then repeat while a second process spins on one core. Prints the median
seconds of each, and the slowdown under load (busy / quiet, the same setting).

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
start = time.perf_counter()
with cc.config_context(native_threads=threads):
    cc.CreativeStudy(program.ab_results(check_srm=False), program.artworks, treatments=["has_face", "brightness"],
                     random_state=0).run()
print(time.perf_counter() - start)
"""
SPIN = "while True:\n    pass\n"


def run(setting: str, titles: int) -> float:
    done = subprocess.run([sys.executable, "-c", RUN, setting, str(titles)], capture_output=True, text=True, check=True)
    return float(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--titles", type=int, default=60)
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    settings = ["1", str(cores), "none"]
    quiet: dict[str, list[float]] = {s: [] for s in settings}
    busy: dict[str, list[float]] = {s: [] for s in settings}
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
    print(f"{'native threads':<16} {'quiet':>8} {'one busy core':>14} {'busy / quiet':>13}")
    for s in settings:
        q, b = statistics.median(quiet[s]), statistics.median(busy[s])
        name = {"none": "uncapped", str(cores): f"{cores} (all cores)", "1": "1 (default)"}[s]
        print(f"{name:<16} {q:>8.2f} {b:>14.2f} {b / q:>13.2f}")


if __name__ == "__main__":
    main()

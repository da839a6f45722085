"""Speed and memory of frame discovery against the decode floor.

A film is rendered (``render_video``, --seconds long at --size, 24 fps). Timed on it, median
of --repeats runs: the decode floor (a plain sequential ``cv2.VideoCapture.read`` of every
frame of the same file), shot detection alone (the same read plus the small copy and the
shot detectors on every frame, in frames per second), and ``discover_frames`` with default
settings (2 sampled frames per second, one process), with its ratio to the floor; then the
same film in chunks of --chunk seconds on two processes (``chunk_seconds``, ``n_jobs=2``).
After discovery, the chosen frames are decoded again (for the contact sheet and the stills):
timed by seeking (``decode_at``) against a pass in order up to the last of them, and the
contact sheet plus the stills as the command line writes them.
Peak memory of discovery is measured in a fresh process on the film and on a film half as
long (memory should not grow with length). Run with the machine otherwise idle.

    python benchmarks/bench_frames.py [--seconds 60] [--size 1920 1080] [--repeats 3] [--chunk 15]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path


def child(path: str, chunk: float) -> dict:
    from creative_causal.frames import discover_frames

    start = time.perf_counter()
    found = discover_frames(path, progress=False, chunk_seconds=chunk or None, n_jobs=2 if chunk else 1)
    return {"seconds": time.perf_counter() - start, "frames": int(len(found.frames)),
            "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def median_time(run: Callable[[], int], repeats: int) -> tuple[float, int]:
    """The median seconds of ``repeats`` calls of ``run``, and what the last call returned."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--size", type=int, nargs=2, default=(1920, 1080))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--chunk", type=float, default=15.0, help="chunk length (s) of the chunked run")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--child-chunk", type=float, default=0.0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    if args.child:
        print(json.dumps(child(args.child, args.child_chunk)))
        return

    import cv2

    from creative_causal.datasets import render_video
    from creative_causal.frames import discover_frames
    from creative_causal.frames._shots import ShotTracker
    from creative_causal.frames._video import decode_at, open_video, read_frames

    with tempfile.TemporaryDirectory() as folder:
        films = {}
        for seconds in (args.seconds / 2, args.seconds):
            start = time.perf_counter()
            path = Path(folder) / f"film_{seconds:g}s.mp4"
            truth = render_video(path, seconds=seconds, fps=24, size=tuple(args.size), random_state=1)
            films[seconds] = path
            print(f"rendered {path.name}: {truth.n_frames} frames at {args.size[0]}x{args.size[1]}, "
                  f"{path.stat().st_size / 2**20:.1f} MiB, in {time.perf_counter() - start:.0f} s")
        path = films[args.seconds]

        def floor() -> int:
            capture = cv2.VideoCapture(str(path))
            n = 0
            while capture.read()[0]:
                n += 1
            capture.release()
            return n

        def shots_only() -> int:
            capture, info = open_video(path)
            tracker = ShotTracker(info.fps)
            for frame in read_frames(capture, info, set()):
                tracker.add(frame.index, frame.small)
            capture.release()
            tracker.finish()
            return tracker.n_frames

        timings = {name: median_time(run, args.repeats) for name, run in
                   (("decode floor (cv2 read of every frame)", floor), ("shot detection alone", shots_only))}
        found = discover_frames(path, progress=False)
        wanted = {int(f) for f in found.selected["frame"]}

        def in_order() -> int:
            capture, info = open_video(path)
            n = 0
            for frame in read_frames(capture, info, wanted):
                n += frame.rgb is not None
                if frame.index >= max(wanted):
                    break
            capture.release()
            return n

        def by_seeking() -> int:
            return sum(1 for _ in decode_at(path, wanted))

        def sheet_and_stills() -> int:
            found.to_html(Path(folder) / "contact_sheet.html")
            return len(found.save_frames(Path(folder) / "stills"))

        again = {name: median_time(run, args.repeats) for name, run in
                 (("a pass in order", in_order), ("decode_at (seeking)", by_seeking),
                  ("contact sheet and stills", sheet_and_stills))}
        runs = [json.loads(subprocess.run([sys.executable, __file__, "--child", str(p)], capture_output=True, text=True,
                                          check=True).stdout.strip().splitlines()[-1])
                for p in [path] * args.repeats + [films[args.seconds / 2]]]
        chunked = [json.loads(subprocess.run([sys.executable, __file__, "--child", str(path), "--child-chunk",
                                              str(args.chunk)], capture_output=True, text=True,
                                             check=True).stdout.strip().splitlines()[-1]) for _ in range(args.repeats)]
    floor_s, n = timings["decode floor (cv2 read of every frame)"]
    print(f"\n{n} frames, median of {args.repeats} runs:")
    for name, (seconds, frames) in timings.items():
        print(f"  {name:<44}{seconds:8.1f} s  {frames / seconds:7.0f} frames/s  x{seconds / floor_s:.2f} the floor")
    discovery = statistics.median(r["seconds"] for r in runs[:-1])
    print(f"  {'discover_frames (defaults, one process)':<44}{discovery:8.1f} s  {n / discovery:7.0f} frames/s  "
          f"x{discovery / floor_s:.2f} the floor ({runs[0]['frames']} frames sampled)")
    parallel = statistics.median(r["seconds"] for r in chunked)
    print(f"  {f'in chunks of {args.chunk:g} s on 2 processes':<44}{parallel:8.1f} s  {n / parallel:7.0f} frames/s  "
          f"x{parallel / floor_s:.2f} the floor, {discovery / parallel:.2f}x faster than one process")
    base = again["a pass in order"][0]
    print(f"  decoding the {len(wanted)} chosen frames again:")
    for name, (seconds, count) in again.items():
        print(f"    {name:<42}{seconds:8.2f} s  ({count} pictures)  x{seconds / base:.2f} the pass in order")
    print(f"  peak memory of discovery: {runs[0]['peak_mib']:.0f} MiB for {args.seconds:g} s, {runs[-1]['peak_mib']:.0f} MiB "
          f"for {args.seconds / 2:g} s")


if __name__ == "__main__":
    main()

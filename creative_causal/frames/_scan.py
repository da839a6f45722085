"""Reading a video: one pass over a range of its frames (the whole video, or one chunk), and
the assembly of the passes into frames, faces, shots and transitions.

A chunk reads from ``WARMUP`` seconds before its first frame to ``WARMUP`` seconds after its
last, so the shot detectors and the motion signal see what a single pass would have seen
there (PySceneDetect reports a cut some frames after it), and keeps only what happens in its
own range: cuts at its frames, blends that end in it, its sampled frames. Assembled in
order, the chunks give the single pass's result (a test checks it); transitions and shots
that span a boundary come out whole because shots are cut after the merge.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..exceptions import FrameError
from ..features import extract_features, shrink_to_working_size
from ._characters import FACE_BOXES, FACE_COLUMNS, IdentityModel, face_rows
from ._rank import GUARD_SECONDS
from ._shots import MAX_BLEND_SECONDS, MIN_SHOT_SECONDS, ShotTracker, shot_table
from ._signals import FACE_POSE, colour_layout, dhash, edge_energy, highlights, is_black, letterbox, motion, pose_columns
from ._video import VideoInfo, open_video, read_frames

#: Sampled frames are measured in batches of this many per process (bounded memory: one
#: batch of working-size pictures at a time).
BATCH = 16
#: The image features are measured at this size (the extractor's default working size).
WORKING_SIZE = 512
#: A chunk reads this many seconds before and after its range (more than the longest blend
#: the detector looks back over, plus twice the shortest shot it may cut).
WARMUP = MAX_BLEND_SECONDS + 2 * MIN_SHOT_SECONDS + 0.25


@dataclass
class Part:
    """What one pass over frames ``first`` to ``last - 1`` of a video found (``end``: one past
    the last frame decoded; less than ``last`` when the stream broke)."""

    info: VideoInfo
    first: int
    last: int
    end: int
    rows: list[dict[str, Any]]
    features: pd.DataFrame
    faces: pd.DataFrame
    failures: dict[str, str]
    cuts: list[int]
    blends: list[tuple[int, int]]
    darkness: list[float] = field(repr=False)


def _measure(pictures: dict[str, np.ndarray], n_jobs: int, identity: IdentityModel) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The image features of a batch of sampled frames, and their faces with identity descriptors."""
    table = extract_features(pictures, features=["default", FACE_BOXES, FACE_POSE], n_jobs=n_jobs, progress=False,
                             working_size=WORKING_SIZE)
    faces = face_rows(pictures, table, identity)
    errors = getattr(table, "errors", pd.DataFrame())
    table = pose_columns(table.drop(columns=FACE_COLUMNS))
    table.errors = errors
    return table, faces


def scan_range(path: Path, sample_fps: float, n_jobs: int, max_pixels: int, progress: bool, identity: IdentityModel,
               first: int = 0, last: int | None = None) -> Part:
    """Read frames ``first`` to ``last - 1`` of a video (all of it by default) in one pass:
    the sampled frames' signals, features and faces, and what the shot detectors saw."""
    capture, info = open_video(path, max_pixels=max_pixels)
    stem = path.stem
    step = max(1, int(round(info.fps / sample_fps)))
    stop = last if last is not None else np.inf
    margin = int(np.ceil(WARMUP * info.fps))
    start = max(first - margin, 0) if first > 0 else 0
    ahead = margin if last is not None else 0
    tracker = ShotTracker(info.fps)
    rows: list[dict[str, Any]] = []
    batch: dict[str, np.ndarray] = {}
    tables, face_tables = [], []
    failures: dict[str, str] = {}
    previous = None
    # the image features of one batch are measured on a second thread while decoding goes on
    # (OpenCV releases the GIL); at most one batch is in flight besides the one being filled
    worker = ThreadPoolExecutor(max_workers=1)
    in_flight: list[Future] = []

    def collect() -> None:
        while in_flight:
            table, faces = in_flight.pop().result()
            tables.append(table)
            face_tables.append(faces)
            for row in getattr(table, "errors", pd.DataFrame()).itertuples():
                failures[str(row.artwork_id)] = f"{row.error}: {row.message}"

    def measure() -> None:
        if batch:
            collect()
            in_flight.append(worker.submit(_measure, dict(batch), n_jobs, identity))
            batch.clear()

    bar = _progress_bar(info, progress)
    end = start
    try:
        for frame in read_frames(capture, info, step, start=start):
            if frame.index >= stop + ahead:
                break
            tracker.add(frame.index, frame.small)
            if frame.index >= stop:
                continue  # read on only for the detectors: a cut is reported some frames after it
            end = frame.index + 1
            if frame.rgb is not None and frame.index >= first:
                rows.append(_signals(stem, frame, previous, batch))
                if len(batch) >= BATCH * n_jobs:  # a pool per batch: give each process a batch
                    measure()
            previous = frame.small
            if bar is not None and frame.index % max(1, int(info.fps)) == 0:
                bar.update(1)
        measure()
        collect()
    finally:
        capture.release()
        worker.shutdown(wait=True, cancel_futures=True)
        if bar is not None:
            bar.close()
    features = pd.concat(tables) if tables else pd.DataFrame()
    face_tables = [f for f in face_tables if len(f)]  # pandas 2 warns on concatenating empty frames
    faces = pd.concat(face_tables, ignore_index=True) if face_tables else face_rows({}, pd.DataFrame(), identity)
    return Part(info, first, int(min(stop, info.n_frames or np.inf)) if last is not None else end, end, rows, features,
                faces, failures, [c for c in tracker.cuts if first <= c < end],
                [b for b in tracker.blends if first <= b[1] + 1 < end], tracker.darkness[first - start:end - start])


def _signals(stem: str, frame: Any, previous: np.ndarray | None, batch: dict[str, np.ndarray]) -> dict[str, Any]:
    """The video signals of a sampled frame; its letterbox-cropped picture joins the batch."""
    working = shrink_to_working_size(frame.rgb, WORKING_SIZE)  # what the extractor measures anyway
    top, bottom = letterbox(working)
    picture = working[top:working.shape[0] - bottom]
    pan_x, pan_y, zoom, subject = motion(previous, frame.small) if previous is not None else (0.0,) * 4
    edge_x, edge_y = edge_energy(picture)
    ident = f"{stem}@{frame.index}"
    batch[ident] = picture
    return dict(video=stem, frame=frame.index, time=frame.time, id=ident, black=is_black(working),
                letterbox=(top + bottom) / working.shape[0], pan_x=pan_x, pan_y=pan_y, zoom=zoom, subject_motion=subject,
                edge_x=edge_x, edge_y=edge_y, highlights=highlights(picture), dhash=dhash(picture),
                layout=colour_layout(picture))


def _progress_bar(info: Any, enabled: bool) -> Any:
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=int(np.ceil(info.duration)) or None, unit="s", desc=Path(info.path).name, leave=False)


def assemble(path: Path, parts: list[Part], sample_fps: float) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame,
                                                                           pd.DataFrame, VideoInfo, list[tuple[str, str, str]]]:
    """One video's frames, faces, shots and transitions from its passes, in order. A pass
    that stopped early (a broken stream) ends the video there: what came before is kept."""
    parts = sorted(parts, key=lambda p: p.first)
    info, stem = parts[0].info, path.stem
    kept = []
    for part in parts:
        kept.append(part)
        if part.end < part.last:
            break
    decoded = kept[-1].end
    problems: list[tuple[str, str, str]] = []
    if decoded == 0:
        raise FrameError(f"{path}: no frame could be decoded (an empty or unsupported stream); re-encode the video.")
    if info.n_frames and decoded < info.n_frames - max(2, int(info.fps)):
        problems.append((stem, "broken stream", f"decoding stopped at frame {decoded} ({decoded / info.fps:.2f} s) of "
                         f"{info.n_frames}; the frames before the break were kept."))
    rows = [row for part in kept for row in part.rows]
    if not rows:
        step = max(1, int(round(info.fps / sample_fps)))
        raise FrameError(f"{path}: {decoded} frames is too short to sample one every {step} frames; raise sample_fps.")
    tracker = ShotTracker.merged(info.fps, [c for p in kept for c in p.cuts], [b for p in kept for b in p.blends],
                                 [d for p in kept for d in p.darkness], decoded)
    starts, transitions = tracker.finish()
    shots = shot_table(starts, transitions, decoded, info.fps).assign(video=stem)
    frames = pd.DataFrame(rows)
    tables = [p.features for p in kept if len(p.features)]
    if tables:
        frames = frames.join(pd.concat(tables), on="id")
    failures = {k: v for p in kept for k, v in p.failures.items()}
    frames["feature_error"] = [failures.get(ident, "") for ident in frames["id"]]
    frames["shot"] = np.searchsorted(np.asarray(starts), frames["frame"].to_numpy(), side="right") + 1
    expected = int(round(GUARD_SECONDS * info.fps))
    trans = pd.DataFrame([dict(video=stem, first_frame=t.first, last_frame=t.last, kind=t.kind,
                               guard=2 + max(0, expected - (t.last - t.first + 1))) for t in transitions],
                         columns=["video", "first_frame", "last_frame", "kind", "guard"])
    faces = pd.concat([p.faces for p in kept], ignore_index=True)
    faces = faces.merge(frames[["id", "video", "frame", "time"]], on="id").drop(columns="id")
    return frames.drop(columns="id"), faces, shots, trans, info, problems


def chunk_ranges(info: VideoInfo, sample_fps: float, chunk_seconds: float | None) -> list[tuple[int, int | None]]:
    """(first, last) frame ranges of the chunks: one range for the whole video without
    ``chunk_seconds`` or when the container does not say how many frames it has; chunks
    are whole multiples of the sampling step, so every chunk samples the same frames as one
    pass would."""
    if chunk_seconds is None or not info.n_frames:
        return [(0, None)]
    step = max(1, int(round(info.fps / sample_fps)))
    length = max(step, int(round(chunk_seconds * info.fps / step)) * step)
    bounds = list(range(0, info.n_frames, length))
    return [(a, b) for a, b in zip(bounds, bounds[1:])] + [(bounds[-1], None)]


__all__ = ["scan_range", "assemble", "chunk_ranges", "Part", "BATCH", "WORKING_SIZE", "WARMUP"]

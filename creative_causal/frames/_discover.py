"""Frame discovery: one streaming pass over each video, then the gate, the score and a
diverse selection (see :mod:`._rank`)."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._validation import check_int, check_positive
from ..exceptions import FrameError, InvalidParameterError
from ..features import DEFAULT_MAX_PIXELS, extract_features, shrink_to_working_size
from ._rank import GUARD_SECONDS, check_weights, gate, mark_duplicates, score, select
from ._result import ERROR_COLUMNS, FrameCandidates
from ._shots import ShotTracker, shot_table
from ._signals import colour_layout, dhash, edge_energy, is_black, letterbox, motion
from ._video import open_video, read_frames

#: Sampled frames are measured in batches of this many per process (bounded memory: one
#: batch of working-size pictures at a time).
BATCH = 32
#: The image features are measured at this size (the extractor's default working size).
WORKING_SIZE = 512
#: A shot whose median camera flow exceeds this share of the frame width per frame pans; one
#: whose radial flow exceeds this per pixel of radius zooms.
PAN_SPEED, ZOOM_SPEED = 0.002, 0.002
#: Shot types from the largest face's share of the frame (the catalog's ``face_area``).
CLOSE_UP, MEDIUM = 0.05, 0.01


def _scan(path: Path, sample_fps: float, n_jobs: int, max_pixels: int,
          progress: bool) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, Any, list[tuple[str, str, str]]]:
    """Read one video once: the sampled frames' signals and features, its shots and transitions."""
    capture, info = open_video(path, max_pixels=max_pixels)
    stem = path.stem
    step = max(1, int(round(info.fps / sample_fps)))
    tracker = ShotTracker(info.fps)
    rows: list[dict[str, Any]] = []
    batch: dict[str, np.ndarray] = {}
    tables = []
    problems: list[tuple[str, str, str]] = []
    previous = None

    failures: dict[str, str] = {}
    # the image features of one batch are measured on a second thread while decoding goes on
    # (OpenCV releases the GIL); at most one batch is in flight besides the one being filled
    worker = ThreadPoolExecutor(max_workers=1)
    in_flight: list[Future] = []

    def collect() -> None:
        while in_flight:
            table = in_flight.pop().result()
            tables.append(table)
            for row in getattr(table, "errors", pd.DataFrame()).itertuples():
                failures[str(row.artwork_id)] = f"{row.error}: {row.message}"

    def measure() -> None:
        if batch:
            collect()
            in_flight.append(worker.submit(extract_features, dict(batch), n_jobs=n_jobs, progress=False,
                                           working_size=WORKING_SIZE))
            batch.clear()

    bar = _progress_bar(info, progress)
    try:
        for frame in read_frames(capture, info, step):
            tracker.add(frame.index, frame.small)
            if frame.rgb is not None:
                working = shrink_to_working_size(frame.rgb, WORKING_SIZE)  # what the extractor measures anyway
                top, bottom = letterbox(working)
                picture = working[top:working.shape[0] - bottom]
                pan_x, pan_y, zoom, subject = motion(previous, frame.small) if previous is not None else (0.0,) * 4
                edge_x, edge_y = edge_energy(picture)
                ident = f"{stem}@{frame.index}"
                rows.append(dict(video=stem, frame=frame.index, time=frame.time, id=ident, black=is_black(working),
                                 letterbox=(top + bottom) / working.shape[0], pan_x=pan_x, pan_y=pan_y, zoom=zoom,
                                 subject_motion=subject, edge_x=edge_x, edge_y=edge_y, dhash=dhash(picture),
                                 layout=colour_layout(picture)))
                batch[ident] = picture
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
    decoded = tracker.n_frames
    if decoded == 0:
        raise FrameError(f"{path}: no frame could be decoded (an empty or unsupported stream); re-encode the video.")
    if info.n_frames and decoded < info.n_frames - max(2, int(info.fps)):
        problems.append((stem, "broken stream", f"decoding stopped at frame {decoded} ({decoded / info.fps:.2f} s) of "
                         f"{info.n_frames}; the frames before the break were kept."))
    if not rows:
        raise FrameError(f"{path}: {decoded} frames is too short to sample one every {step} frames; raise sample_fps.")
    starts, transitions = tracker.finish()
    shots = shot_table(starts, transitions, decoded, info.fps).assign(video=stem)
    frames = pd.DataFrame(rows)
    features = pd.concat(tables) if tables else pd.DataFrame()
    frames = frames.join(features, on="id") if len(features) else frames
    frames["feature_error"] = [failures.get(ident, "") for ident in frames["id"]]
    frames["shot"] = np.searchsorted(np.asarray(starts), frames["frame"].to_numpy(), side="right") + 1
    expected = int(round(GUARD_SECONDS * info.fps))
    trans = pd.DataFrame([dict(video=stem, first_frame=t.first, last_frame=t.last, kind=t.kind,
                               guard=2 + max(0, expected - (t.last - t.first + 1))) for t in transitions],
                         columns=["video", "first_frame", "last_frame", "kind", "guard"])
    return frames.drop(columns="id"), shots, trans, info, problems


def _progress_bar(info: Any, enabled: bool) -> Any:
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=int(np.ceil(info.duration)) or None, unit="s", desc=Path(info.path).name, leave=False)


def _describe_shots(shots: pd.DataFrame, frames: pd.DataFrame) -> pd.DataFrame:
    """Camera motion and shot type per shot, from its sampled frames."""
    grouped = frames.groupby(["video", "shot"])
    pan = grouped[["pan_x", "pan_y"]].median().abs().max(axis=1)
    zoom = grouped["zoom"].median().abs()
    face = grouped["face_area"].max() if "face_area" in frames else pd.Series(dtype=float)
    camera = np.where(zoom > ZOOM_SPEED, "zoom", np.where(pan > PAN_SPEED, "pan", "static"))
    motion_table = pd.DataFrame({"camera": camera}, index=pan.index)
    kind = pd.Series(np.where(face >= CLOSE_UP, "close-up", np.where(face >= MEDIUM, "medium", "wide")),
                     index=face.index, name="shot_type")
    out = shots.join(motion_table, on=["video", "shot"]).join(kind, on=["video", "shot"])
    for column in ("camera", "shot_type"):  # shots shorter than the sampling step have no sampled frame
        out[column] = out[column].astype(object).where(out[column].notna(), "unknown (not sampled)")
    return out


def discover_frames(video: str | os.PathLike[str] | Sequence[str | os.PathLike[str]], *, sample_fps: float = 2.0,
                    top: int = 24, per_shot: int = 2, weights: Mapping[str, float] | None = None, n_jobs: int = 1,
                    max_pixels: int = DEFAULT_MAX_PIXELS, progress: bool = True) -> FrameCandidates:
    """Find candidate stills in a video (or several): shots, per-frame quality and content, a
    gate with reasons, a score and a diverse selection.

    Each video is decoded once, in order. Every frame feeds the shot detectors (a small copy);
    every ``1 / sample_fps`` seconds a frame is sampled: its letterbox bars are cropped, the
    image catalog's features are measured on it by the same extractor as for artwork (faces,
    expression, colour, quality, composition, text), and video signals are added (black,
    letterbox, camera and subject motion, a difference hash and a colour layout). Then the
    gate rejects frames with reasons, the survivors are scored and ``top`` are chosen, at most
    ``per_shot`` from any shot, favouring frames unlike those already chosen.

    Parameters
    ----------
    video : path or list of paths
        Any container and codec OpenCV's FFmpeg backend reads (mp4, mkv, mov, avi, webm).
        A video that cannot be read is listed in ``errors`` and the others go on.
    sample_fps : float
        Frames sampled per second of video.
    top, per_shot : int
        How many frames to choose, and at most how many from one shot.
    weights : dict, optional
        Weights of the standardised signals in the score (default :data:`DEFAULT_WEIGHTS`).
    n_jobs : int
        Processes for the image features.
    max_pixels : int
        Frames larger than this (width x height) are refused, as for images.
    progress : bool
        A progress bar in video seconds.

    Returns
    -------
    FrameCandidates

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from creative_causal.datasets import render_video
    >>> film = pathlib.Path(tempfile.mkdtemp()) / "film.mp4"
    >>> truth = render_video(film, seconds=6, fps=12, size=(320, 180), random_state=0)
    >>> found = discover_frames(film, top=4, progress=False)
    >>> int(found.frames["selected"].sum())
    4
    """
    sample_fps = check_positive(sample_fps, "sample_fps")
    top = check_int(top, "top", minimum=1)
    per_shot = check_int(per_shot, "per_shot", minimum=1)
    n_jobs = check_int(n_jobs, "n_jobs", minimum=1)
    paths = [Path(video)] if isinstance(video, (str, os.PathLike)) else [Path(v) for v in video]
    if not paths:
        raise InvalidParameterError("video is an empty list: give at least one video file.")
    stems = [p.stem for p in paths]
    if len(set(stems)) < len(stems):
        raise InvalidParameterError(f"two videos share the name {next(s for s in stems if stems.count(s) > 1)!r}; "
                                    "rename one so their frames can be told apart.")
    parts, errors, infos = [], [], []
    for path in paths:
        try:
            frames, shots, trans, info, problems = _scan(path, sample_fps, n_jobs, max_pixels, progress)
        except FrameError as exc:
            errors.append((path.stem, "unreadable video", str(exc)))
            continue
        parts.append((frames, shots, trans))
        infos.append(info)
        errors += problems
    if not parts:
        raise FrameError("no video could be read: " + " | ".join(e[2] for e in errors))
    frames = pd.concat([p[0] for p in parts], ignore_index=True)
    shots = _describe_shots(pd.concat([p[1] for p in parts], ignore_index=True), frames)
    transitions = pd.concat([p[2] for p in parts], ignore_index=True)
    weights = check_weights(weights, frames.columns)
    scene = shots.assign(scene=(shots["begins_with"] != "dissolve").groupby(shots["video"]).cumsum())
    frames["scene"] = frames.join(scene.set_index(["video", "shot"])["scene"], on=["video", "shot"])["scene"]

    reasons = gate(frames, transitions)
    passed = (reasons == "").to_numpy()
    scores = score(frames, passed, weights)
    duplicates = mark_duplicates(frames, passed, scores)
    reasons = pd.Series([r or d for r, d in zip(reasons, duplicates)], index=frames.index)
    eligible = (reasons == "").to_numpy()
    layouts = np.stack(frames["layout"].to_numpy())
    chosen = select(frames, eligible, scores, layouts, top=top, per_shot=per_shot)
    frames["reasons"] = reasons
    frames["score"] = scores
    frames["selected"] = False
    frames["rank"] = pd.array([pd.NA] * len(frames), dtype="Int64")
    frames.loc[frames.index[chosen], "selected"] = True
    frames.loc[frames.index[chosen], "rank"] = np.arange(1, len(chosen) + 1)
    settings = dict(sample_fps=sample_fps, top=top, per_shot=per_shot, weights=weights, max_pixels=max_pixels)
    return FrameCandidates(tuple(infos), frames, shots, transitions, pd.DataFrame(errors, columns=ERROR_COLUMNS),
                           settings)


__all__ = ["discover_frames"]

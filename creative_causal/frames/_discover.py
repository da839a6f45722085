"""Frame discovery: one streaming pass over each video, then the gate, the score and a
diverse selection (see :mod:`._rank`)."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._config import native_threads_capped
from .._validation import check_int, check_positive, check_random_state
from ..exceptions import FrameError, InvalidParameterError
from ..features import DEFAULT_MAX_PIXELS
from ._characters import APPEARANCE, IdentityModel, frame_characters, name_characters
from ._lift import expected_lift
from ._rank import check_weights, gate, looks, mark_duplicates, score, select
from ._result import ERROR_COLUMNS, FrameCandidates
from ._scan import Part, assemble, chunk_ranges, scan_range
from ._signals import closed_eyes
from ._video import open_video

#: A shot whose median camera flow exceeds this share of the frame width per frame pans; one
#: whose radial flow exceeds this per pixel of radius zooms.
PAN_SPEED, ZOOM_SPEED = 0.002, 0.002
#: Shot types from the largest face's share of the frame (the catalog's ``face_area``).
CLOSE_UP, MEDIUM = 0.05, 0.01


def _scan_or_message(path: Path, sample_fps: float, n_jobs: int, max_pixels: int, progress: bool,
                     identity: IdentityModel, first: int = 0, last: int | None = None) -> Part | str:
    """One pass's result, or the message of the :class:`FrameError` that stopped it (for
    process pools and clusters: one broken video must not stop the others)."""
    try:
        return scan_range(path, sample_fps, n_jobs, max_pixels, progress, identity, first, last)
    except FrameError as exc:
        return str(exc)


def _scan_all(paths: list[Path], sample_fps: float, n_jobs: int, max_pixels: int, progress: bool,
              identity: IdentityModel, executor: Any, chunk_seconds: float | None) -> list[Any]:
    """Every video's frames, faces, shots and transitions (or its error message), in order.

    The work is one pass per video, or per chunk of ``chunk_seconds``. One task at a time,
    the image features on ``n_jobs`` processes; or, when there are several tasks, one task per
    process (``n_jobs > 1``) or per ``executor`` worker (a ``concurrent.futures`` executor
    or a Dask ``Client``: anything with ``submit`` returning futures with ``result()``).
    """
    tasks: list[tuple[int, int, int | None]] = []
    for k, path in enumerate(paths):
        ranges = [(0, None)]
        if chunk_seconds is not None:
            try:
                capture, info = open_video(path, max_pixels=max_pixels)
                capture.release()
                ranges = chunk_ranges(info, sample_fps, chunk_seconds)
            except FrameError:
                pass  # the pass over it reports the error
        tasks += [(k, first, last) for first, last in ranges]
    alone = executor is None and (n_jobs == 1 or len(tasks) == 1)
    if executor is not None:
        futures = [executor.submit(_scan_or_message, paths[k], sample_fps, 1, max_pixels, False, identity, first, last)
                   for k, first, last in tasks]
        outcomes = [future.result() for future in futures]
    elif not alone:
        from joblib import Parallel, delayed

        outcomes = list(Parallel(n_jobs=min(n_jobs, len(tasks)), backend="loky")(
            delayed(_scan_or_message)(paths[k], sample_fps, 1, max_pixels, False, identity, first, last)
            for k, first, last in tasks))
    else:
        outcomes = [_scan_or_message(paths[k], sample_fps, n_jobs, max_pixels, progress and chunk_seconds is None,
                                     identity, first, last) for k, first, last in tasks]
    results: list[Any] = []
    for k, path in enumerate(paths):
        mine = [outcome for (owner, _, _), outcome in zip(tasks, outcomes) if owner == k]
        broken = next((i for i, m in enumerate(mine) if isinstance(m, str)), len(mine))
        if broken == 0:  # the video (or its first chunk) could not be read at all
            results.append(mine[0])
            continue
        try:
            result = assemble(path, mine[:broken], sample_fps)
        except FrameError as exc:
            results.append(str(exc))
            continue
        if broken < len(mine):  # a later chunk failed (a damaged stream, a frame count the container overstated)
            result[-1].append((path.stem, "broken stream", f"a chunk could not be read ({mine[broken]}); the frames "
                               "before it were kept."))
        results.append(result)
    return results


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


@native_threads_capped
def discover_frames(video: str | os.PathLike[str] | Sequence[str | os.PathLike[str]], *, sample_fps: float = 2.0,
                    top: int = 24, per_shot: int = 2, study: Any = None, weights: Mapping[str, float] | None = None,
                    identity: IdentityModel | None = None, n_jobs: int = 1, executor: Any = None,
                    chunk_seconds: float | None = None, max_pixels: int = DEFAULT_MAX_PIXELS,
                    random_state: Any = None, progress: bool = True) -> FrameCandidates:
    """Find candidate stills in a video (or several): shots, per-frame quality and content,
    lead characters, a gate with reasons, a score and a diverse selection.

    Each video is decoded once, in order (or in chunks that together give the same result).
    Every frame feeds the shot detectors (a small copy); every ``1 / sample_fps`` seconds a
    frame is sampled: its letterbox bars are cropped, the image catalog's features are
    measured on it by the same extractor as for artwork (faces, expression, colour, quality,
    composition, text), and video signals are added (black, letterbox, camera and subject
    motion, a difference hash and a colour layout). The faces are clustered by identity into
    characters ranked by screen time. Then the gate rejects frames with reasons, the survivors
    are scored (with ``study``, by the lift its effects predict too) and ``top`` are chosen,
    at most ``per_shot`` from any shot, favouring frames unlike those already chosen.

    Parameters
    ----------
    video : path or list of paths
        Any container and codec OpenCV's FFmpeg backend reads (mp4, mkv, mov, avi, webm).
        A video that cannot be read is listed in ``errors`` and the others go on.
    sample_fps : float
        Frames sampled per second of video.
    top, per_shot : int
        How many frames to choose, and at most how many from one shot.
    study : StudyResult, InsightTable or DataFrame, optional
        What the team's A/B tests showed: each frame that passes the gate gets
        ``expected_lift`` (the change in take rate the study's reliable effects predict for it
        relative to the video's other candidates) with a ``lift_low``/``lift_high`` interval
        at the study's level, and the score weighs it (``LIFT_WEIGHT``). It extrapolates from
        finished artwork to frames; ``extrapolated`` counts features outside the study's range.
    weights : dict, optional
        Weights of the standardised signals in the score (default :data:`DEFAULT_WEIGHTS`, plus
        ``expected_lift`` with ``study``).
    identity : IdentityModel, optional
        How faces are told apart to find the characters (default :data:`APPEARANCE`, no model
        file; give a face recogniser's embedding for real identity).
    n_jobs : int
        Processes: with one video in one piece, for its image features; with several videos
        or chunks, one video or chunk per process.
    executor : concurrent.futures executor or dask.distributed Client, optional
        Runs one video (or chunk) per task (a process pool, a local or remote Dask cluster);
        the results are the same as without it. The identity model must be picklable.
    chunk_seconds : float, optional
        Split each video into chunks of about this many seconds, read as separate tasks (on
        ``n_jobs`` processes or ``executor``) and merged: shots and transitions that span a
        boundary come out whole, and the result equals one pass's. For long videos on
        several cores or a cluster.
    max_pixels : int
        Frames larger than this (width x height) are refused, as for images.
    random_state : None, int or Generator
        Used only when a video has more faces than are clustered exactly (a random sample is).
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
    if chunk_seconds is not None:
        chunk_seconds = check_positive(chunk_seconds, "chunk_seconds")
    identity = APPEARANCE if identity is None else identity
    if not isinstance(identity, IdentityModel):
        raise InvalidParameterError(f"identity must be an IdentityModel (an embedding function and a threshold), got "
                                    f"{type(identity).__name__}.")
    rng = check_random_state(random_state)
    paths = [Path(video)] if isinstance(video, (str, os.PathLike)) else [Path(v) for v in video]
    if not paths:
        raise InvalidParameterError("video is an empty list: give at least one video file.")
    stems = [p.stem for p in paths]
    if len(set(stems)) < len(stems):
        raise InvalidParameterError(f"two videos share the name {next(s for s in stems if stems.count(s) > 1)!r}; "
                                    "rename one so their frames can be told apart.")
    parts, errors, infos = [], [], []
    for path, outcome in zip(paths, _scan_all(paths, sample_fps, n_jobs, max_pixels, progress, identity, executor,
                                              chunk_seconds)):
        if isinstance(outcome, str):
            errors.append((path.stem, "unreadable video", outcome))
            continue
        frames, faces, shots, trans, info, problems = outcome
        parts.append((frames, shots, trans, faces))
        infos.append(info)
        errors += problems
    if not parts:
        raise FrameError("no video could be read: " + " | ".join(e[2] for e in errors))
    frames = pd.concat([p[0] for p in parts], ignore_index=True)
    shots = _describe_shots(pd.concat([p[1] for p in parts], ignore_index=True), frames)
    transitions = pd.concat([p[2] for p in parts], ignore_index=True)
    interval = {Path(i.path).stem: max(1, int(round(i.fps / sample_fps))) / i.fps for i in infos}
    faces, characters = name_characters(pd.concat([p[3] for p in parts], ignore_index=True), frames, identity,
                                        interval, rng)
    frames = pd.concat([frames, frame_characters(frames, faces)], axis=1)
    frames["eyes_closed"] = closed_eyes(frames)  # against each character's usual openness
    scene = shots.assign(scene=(shots["begins_with"] != "dissolve").groupby(shots["video"]).cumsum())
    frames["scene"] = frames.join(scene.set_index(["video", "shot"])["scene"], on=["video", "shot"])["scene"]

    reasons = gate(frames, transitions)
    passed = (reasons == "").to_numpy()
    from_study = None
    if study is not None:
        lift, from_study = expected_lift(frames, passed, study)
        frames = pd.concat([frames, lift], axis=1)
    weights = check_weights(weights, frames.columns, with_lift=study is not None)
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
    frames["look"] = looks(layouts, eligible, scores)
    settings = dict(sample_fps=sample_fps, top=top, per_shot=per_shot, weights=weights, max_pixels=max_pixels,
                    identity=identity.name, study=from_study, chunk_seconds=chunk_seconds)
    return FrameCandidates(tuple(infos), frames, shots, transitions, pd.DataFrame(errors, columns=ERROR_COLUMNS),
                           settings, faces, characters)


class FrameDiscoverer:
    """Frame discovery with its settings fixed: build it once, call :meth:`discover` on each
    video (or list of videos) of a catalogue; every keyword is :func:`discover_frames`'s.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from creative_causal.datasets import render_video
    >>> film = pathlib.Path(tempfile.mkdtemp()) / "film.mp4"
    >>> truth = render_video(film, seconds=6, fps=12, size=(320, 180), random_state=0)
    >>> discoverer = FrameDiscoverer(top=3, progress=False)
    >>> discoverer
    FrameDiscoverer(top=3, progress=False)
    >>> len(discoverer.discover(film).selected)
    3
    """

    def __init__(self, *, sample_fps: float = 2.0, top: int = 24, per_shot: int = 2, study: Any = None,
                 weights: Mapping[str, float] | None = None, identity: IdentityModel | None = None, n_jobs: int = 1,
                 executor: Any = None, chunk_seconds: float | None = None, max_pixels: int = DEFAULT_MAX_PIXELS,
                 random_state: Any = None, progress: bool = True) -> None:
        check_positive(sample_fps, "sample_fps")  # bad settings fail here, not at the first video
        check_int(top, "top", minimum=1)
        check_int(per_shot, "per_shot", minimum=1)
        check_int(n_jobs, "n_jobs", minimum=1)
        if identity is not None and not isinstance(identity, IdentityModel):
            raise InvalidParameterError(f"identity must be an IdentityModel, got {type(identity).__name__}.")
        self.sample_fps, self.top, self.per_shot, self.study, self.weights = sample_fps, top, per_shot, study, weights
        self.identity, self.n_jobs, self.executor, self.max_pixels = identity, n_jobs, executor, max_pixels
        self.chunk_seconds = chunk_seconds
        self.random_state, self.progress = random_state, progress

    def get_params(self) -> dict[str, Any]:
        """The settings, as keywords of :func:`discover_frames`."""
        return {name: getattr(self, name) for name in _PARAMS}

    def discover(self, video: str | os.PathLike[str] | Sequence[str | os.PathLike[str]]) -> FrameCandidates:
        """Candidate stills of ``video`` (a path or a list of paths) with these settings."""
        return discover_frames(video, **self.get_params())

    def __repr__(self) -> str:
        defaults = FrameDiscoverer.__init__.__kwdefaults__ or {}
        changed = [f"{k}={v!r}" for k, v in self.get_params().items() if v is not defaults.get(k) and v != defaults.get(k)]
        return f"FrameDiscoverer({', '.join(changed)})"


_PARAMS = ("sample_fps", "top", "per_shot", "study", "weights", "identity", "n_jobs", "executor", "chunk_seconds",
           "max_pixels", "random_state", "progress")

__all__ = ["discover_frames", "FrameDiscoverer"]

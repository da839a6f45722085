"""Short films with known truth, for testing frame discovery: where every cut, fade and
dissolve is, which frames are blurred, black, letterboxed or covered by credits.

A film is a sequence of shots. Each shot starts from one rendered scene (the poster
renderer's faces, backgrounds and text, drawn in landscape and larger than the frame) and
moves over it: static, a pan (the frame window slides across the scene) or a zoom (the
window shrinks towards the centre). Between shots: a hard cut, a fade through black, or a
dissolve (a cross-fade). Faces are three recurring characters (the portraits by name, see
``datasets.PORTRAITS``): the lead alone in four of every six shots with faces, the other two
each leading one of them, where the lead may appear beside them as a second, smaller face;
in about half the shots with faces the shot's lead shuts the eyes for 0.3 to 1 second.
Some shots have a burst of motion blur (the frame smeared along
the pan direction), one shot is letterboxed (black bars above and below), the film opens
with black frames and ends with a credits shot (text over a dark background).

Everything is drawn from one local Generator: the same seed gives the same film, and the
film is written with OpenCV's FFmpeg backend (``mp4v`` in an ``.mp4``; other extensions use
the container OpenCV picks for them).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pandas as pd

from .._validation import check_int, check_positive, check_random_state
from ..exceptions import InvalidParameterError
from ._render import PORTRAITS, TURNED_PORTRAITS, face_layout, render_poster

#: A face counts as in view when at least this share of its box is inside the picture.
IN_VIEW = 0.75
#: Codec used for every film (OpenCV's FFmpeg backend writes it without extra libraries).
FOURCC = "mp4v"


@dataclass(frozen=True)
class VideoTruth:
    """What a rendered film holds, frame by frame.

    Attributes
    ----------
    path : Path
    fps : float
    n_frames : int
    size : (int, int)
        (width, height).
    cuts : tuple of int
        First frame of every shot that starts with a hard cut.
    fades, dissolves : tuple of (int, int)
        Frame ranges (first, last inclusive) of each fade through black and each dissolve.
    frames : DataFrame
        One row per frame: ``shot`` (number), ``camera`` (static / pan / zoom), ``blurred``,
        ``black``, ``letterbox`` (rows of bar above and below), ``credits``, ``transition``
        (inside a fade or dissolve), ``n_faces`` and ``text_area`` of the shot's scene, and
        ``characters``: who the faces are (portrait names, the largest face first, joined by
        ``","``; ``""`` without faces), and ``faces``: who is where, a tuple of
        (name, x, y, width, height) per face in view (at least ``IN_VIEW`` of its box), as shares of the frame (empty inside
        transitions, where two shots mix); ``eyes_closed``: the largest face in view is the
        shot's lead with the eyes shut, ``turned_away``: it is a head seen from the side
        (the cameraman, ``datasets.TURNED_PORTRAITS``).
    """

    path: Path
    fps: float
    n_frames: int
    size: tuple[int, int]
    cuts: tuple[int, ...]
    fades: tuple[tuple[int, int], ...]
    dissolves: tuple[tuple[int, int], ...]
    frames: pd.DataFrame = field(repr=False)

    @property
    def shot_starts(self) -> tuple[int, ...]:
        """First frame of every shot after the first, whatever the transition into it."""
        starts = self.frames["shot"].to_numpy()
        return tuple(int(i) for i in np.flatnonzero(np.diff(starts)) + 1)

    def character_at(self, frame: int, x: float, y: float) -> str | None:
        """Who is at ``(x, y)`` (shares of the full frame, bars included) in ``frame``: the
        character whose face box holds the point, or None when no face, or two, do."""
        holding = [name for name, fx, fy, fw, fh in self.frames.at[frame, "faces"]
                   if fx <= x <= fx + fw and fy <= y <= fy + fh]
        return holding[0] if len(holding) == 1 else None

    @property
    def screen_time(self) -> pd.Series:
        """Seconds each character's face is in view (frames outside transitions), most first."""
        shown = self.frames["faces"].explode().dropna().map(lambda face: face[0])
        return (shown.value_counts() / self.fps).rename("seconds")


def _scene_row(rng: np.random.Generator, credits: bool) -> pd.Series:
    if credits:
        return pd.Series(dict(has_face=0, n_faces=0, brightness=0.12, contrast=0.2, colorfulness=0.05,
                              text_area=0.30, sharpness=1.0))
    has_face = rng.random() < 0.75
    return pd.Series(dict(has_face=int(has_face), n_faces=int(rng.integers(1, 3)) if has_face else 0,
                          face_area=float(rng.uniform(0.04, 0.12)), face_thirds=float(rng.uniform(0.3, 0.9)),
                          smile=float(rng.random()), brightness=float(rng.uniform(0.3, 0.65)),
                          contrast=float(rng.uniform(0.25, 0.5)), colorfulness=float(rng.uniform(0.15, 0.6)),
                          text_area=0.0, sharpness=1.0))


def _window(scene: np.ndarray, camera: str, progress: float, size: tuple[int, int], direction: int) -> np.ndarray:
    """The frame the camera sees at ``progress`` (0 to 1) through the shot."""
    x0, y0, cw, ch = _window_rect(scene.shape[:2], camera, progress, size, direction)
    crop = scene[y0:y0 + ch, x0:x0 + cw]
    return cv2.resize(crop, size, interpolation=cv2.INTER_AREA)


def _window_rect(scene_shape: tuple[int, ...], camera: str, progress: float, size: tuple[int, int],
                 direction: int) -> tuple[int, int, int, int]:
    """The part of the scene (x, y, width, height in pixels) the camera sees at ``progress``."""
    w, h = size
    sh, sw = scene_shape[:2]
    if camera == "zoom":
        scale = 1.0 - 0.35 * progress
        cw, ch = int(round(sw * scale)), int(round(sh * scale))
        x0, y0 = (sw - cw) // 2, (sh - ch) // 2
    else:
        cw, ch = int(round(w * sw / (1.25 * w))), int(round(h * sw / (1.25 * w)))
        travel = sw - cw
        offset = 0.5 if camera == "static" else (progress if direction > 0 else 1 - progress)
        x0, y0 = int(round(travel * offset)), (sh - ch) // 2
    return x0, y0, cw, ch


def _faces_in_view(plan: dict[str, Any], progress: float, scene_size: tuple[int, int],
                   size: tuple[int, int]) -> tuple[tuple[str, float, float, float, float], ...]:
    """Who is where in a frame of the shot: (name, x, y, width, height) of each face at least
    :data:`IN_VIEW` of which the camera sees (outside any letterbox bars), as shares of the frame."""
    x0, y0, cw, ch = _window_rect(scene_size[::-1], plan["camera"], progress, size, plan["direction"])
    bar = plan["letterbox"] / size[1]
    seen = []
    for name, (cx, cy, side) in zip(plan.get("portraits", ()), plan.get("layout", ())):
        x, y, fw, fh = (cx - side / 2 - x0) / cw, (cy - side / 2 - y0) / ch, side / cw, side / ch
        visible = (max(min(x + fw, 1) - max(x, 0), 0) * max(min(y + fh, 1 - bar) - max(y, bar), 0)) / (fw * fh)
        if visible >= IN_VIEW:
            seen.append((name, x, y, fw, fh))
    return tuple(seen)


def _eyes_shut(plan: dict[str, Any], k: int) -> bool:
    """Whether the shot's lead has the eyes shut in the shot's frame ``k``."""
    start, stop = plan.get("eyes_shut", (0, 0))
    return start <= k < stop


def _motion_blur(frame: np.ndarray, length: int, horizontal: bool) -> np.ndarray:
    kernel = np.zeros((length, length), np.float32)
    if horizontal:
        kernel[length // 2, :] = 1.0 / length
    else:
        kernel[:, length // 2] = 1.0 / length
    return cv2.filter2D(frame, -1, kernel)


def render_video(path: str | os.PathLike[str], *, seconds: float = 12.0, fps: float = 24.0,
                 size: tuple[int, int] = (640, 360), shots: int | None = None,
                 random_state: Any = None) -> VideoTruth:
    """Write a short film with known cuts, fades, dissolves, blur, black frames, letterboxing
    and credits, and return its truth.

    Parameters
    ----------
    path : path
        Where to write the film (``.mp4`` recommended; the folder must exist).
    seconds, fps : float
        Length and frame rate.
    size : (int, int)
        (width, height), even numbers.
    shots : int, optional
        Number of shots (default: one per 1.5 seconds, at least 4).
    random_state : None, int or Generator

    Returns
    -------
    VideoTruth

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> truth = render_video(folder / "film.mp4", seconds=3, fps=12, size=(160, 96), random_state=0)
    >>> truth.n_frames, len(truth.frames)
    (36, 36)
    """
    rng = check_random_state(random_state)
    fps = check_positive(fps, "fps")
    seconds = check_positive(seconds, "seconds")
    if not (isinstance(size, (tuple, list)) and len(size) == 2 and all(int(v) == v and v >= 32 and v % 2 == 0
                                                                        for v in size)):
        raise InvalidParameterError(f"size must be (width, height) in even pixels of at least 32, got {size!r}.")
    w, h = int(size[0]), int(size[1])
    n_frames = int(round(seconds * fps))
    n_shots = check_int(shots, "shots", minimum=2) if shots is not None else max(4, int(seconds / 1.5))
    if n_frames < n_shots * 8:
        raise InvalidParameterError(f"{n_frames} frames cannot hold {n_shots} shots of at least 8 frames; make the film "
                                    "longer or the shots fewer.")
    black_lead = max(2, int(round(0.25 * fps)))
    # shot lengths: equal shares of what follows the black lead, jittered, each at least 8 frames
    available = n_frames - black_lead
    if available < 8 * n_shots:
        raise InvalidParameterError(f"{available} frames after the black lead cannot hold {n_shots} shots of at least 8 "
                                    "frames; make the film longer or the shots fewer.")
    weights = rng.uniform(0.7, 1.3, n_shots)
    lengths = 8 + np.floor(weights / weights.sum() * (available - 8 * n_shots)).astype(int)
    lengths[-1] += available - lengths.sum()
    transitions = ["cut"] + [str(rng.choice(["cut", "cut", "fade", "dissolve"])) for _ in range(n_shots - 1)]
    half = max(4, int(round(0.4 * fps))) // 2
    letterboxed = int(rng.integers(1, n_shots - 1)) if n_shots > 2 else -1
    plans = []
    for s in range(n_shots):
        credits = s == n_shots - 1
        row = _scene_row(rng, credits)
        camera = "static" if credits else str(rng.choice(["static", "pan", "zoom"]))
        blur_start = int(rng.integers(0, max(1, lengths[s] - 6))) if (not credits and rng.random() < 0.5) else -1
        plans.append(dict(row=row, camera=camera, direction=int(rng.choice([-1, 1])), blur_start=blur_start,
                          credits=credits, seed=int(rng.integers(2**31)), letterbox=h // 8 if s == letterboxed else 0))
    # characters: drawn last, so the rest of the film is the same whoever plays in it
    cast = [PORTRAITS[i] for i in rng.permutation(len(PORTRAITS))]
    face_shots = [plan for plan in plans if plan["row"].get("n_faces", 0)]
    for k, plan in enumerate(face_shots):
        lead = cast[(0, 1, 0, 0, 2, 0)[k % 6]]
        if lead == cast[0]:  # the film's lead alone; the others share their shots with the lead
            plan["row"]["n_faces"] = 1
        plan["portraits"] = (lead, cast[0])[:int(plan["row"]["n_faces"])]
        plan["row"]["smile"] = 0.8 if lead != "cameraman" else 0.2  # the portraits' own expressions
    scene_size = (int(w * 1.25) // 2 * 2, int(h * 1.25) // 2 * 2)
    # eyes shut: in about half the shots with faces the shot's lead closes them for 0.3 to 1 s
    for plan, length in zip(plans, lengths):
        if not plan["row"].get("n_faces", 0):
            continue
        span = int(round(rng.uniform(0.3, 1.0) * fps))
        if rng.random() < 0.5 and length > span + 2:
            start = int(rng.integers(1, length - span))
            plan["eyes_shut"] = (start, start + span)
    for plan in face_shots:
        plan["layout"] = face_layout(pd.Series({**plan["row"].to_dict(), "portraits": plan["portraits"]}),
                                     size=scene_size, random_state=plan["seed"])
    starts = black_lead + np.r_[0, np.cumsum(lengths)[:-1]]

    scenes: dict[tuple[int, bool], np.ndarray] = {}

    def shot_frame(s: int, k: int) -> np.ndarray:
        """Frame ``k`` of shot ``s`` (0-based), before transitions; scenes are drawn when first needed."""
        plan = plans[s]
        shut = _eyes_shut(plan, k)
        if (s, shut) not in scenes:
            for old in [key for key in scenes if key[0] < s - 1]:
                del scenes[old]  # the film is written in order: earlier scenes are done with
            row = pd.Series({**plan["row"].to_dict(), "portraits": plan.get("portraits", ()), "eyes_closed": shut})
            scenes[s, shut] = render_poster(row, size=scene_size, random_state=plan["seed"])
        frame = _window(scenes[s, shut], plan["camera"], k / max(lengths[s] - 1, 1), (w, h), plan["direction"])
        if plan["blur_start"] >= 0 and plan["blur_start"] <= k < plan["blur_start"] + 6:
            frame = _motion_blur(frame, max(9, w // 24), horizontal=plan["camera"] != "zoom")
        if plan["letterbox"]:
            frame[:plan["letterbox"]] = 0
            frame[h - plan["letterbox"]:] = 0
        return frame

    rows = [dict(shot=0, camera="static", blurred=False, black=True, letterbox=0, credits=False, transition=False,
                 n_faces=0, text_area=0.0, characters="", faces=(), shut=False) for _ in range(black_lead)]
    for s, plan in enumerate(plans):
        for k in range(lengths[s]):
            rows.append(dict(shot=s + 1, camera=plan["camera"], blurred=plan["blur_start"] >= 0
                             and plan["blur_start"] <= k < plan["blur_start"] + 6, black=False,
                             letterbox=plan["letterbox"], credits=plan["credits"], transition=False,
                             n_faces=int(plan["row"].get("n_faces", 0)), text_area=float(plan["row"]["text_area"]),
                             characters=",".join(plan.get("portraits", ())),
                             faces=_faces_in_view(plan, k / max(lengths[s] - 1, 1), scene_size, (w, h)),
                             shut=_eyes_shut(plan, k)))
    truth_frames = pd.DataFrame(rows)
    cuts, fades, dissolves = [black_lead], [], []  # the first picture follows the black lead with a cut
    blend_at: dict[int, tuple[str, int, int]] = {}  # frame -> (kind, shot before, its position in the blend)
    for s in range(1, n_shots):
        boundary = int(starts[s])
        first, last = boundary - half, boundary + half - 1
        if transitions[s] == "cut":
            cuts.append(boundary)
            continue
        (fades if transitions[s] == "fade" else dissolves).append((first, last))
        truth_frames.loc[first:last, ["transition", "blurred"]] = [True, False]
        if transitions[s] == "fade":  # the darkest frames of a fade are black too
            truth_frames.loc[boundary - 1:boundary, "black"] = True
        for j in range(2 * half):
            blend_at[first + j] = (transitions[s], s - 1, j)
    truth_frames["faces"] = [() if mixed else seen for seen, mixed in zip(truth_frames["faces"], truth_frames["transition"])]
    # the largest face in view: is it the lead with eyes shut, is it a head turned away
    largest = truth_frames["faces"].map(lambda seen: seen[0][0] if seen else "")
    lead = truth_frames["characters"].str.split(",").str[0]
    truth_frames["eyes_closed"] = truth_frames.pop("shut") & (largest == lead) & (largest != "")
    truth_frames["turned_away"] = largest.isin(TURNED_PORTRAITS)

    def film_frame(i: int) -> np.ndarray:
        if i < black_lead:
            return np.zeros((h, w, 3), np.uint8)
        if i in blend_at:
            kind, before, j = blend_at[i]
            after = before + 1
            if kind == "fade":  # the outgoing shot fades to black, then the incoming one from black
                if j < half:
                    return (shot_frame(before, lengths[before] - half + j) * (1 - (j + 1) / half)).astype(np.uint8)
                return (shot_frame(after, j - half) * ((j - half) / half)).astype(np.uint8)
            # dissolve: the outgoing shot holds its last frame while the incoming one holds its first
            outgoing = shot_frame(before, min(lengths[before] - half + j, lengths[before] - 1))
            incoming = shot_frame(after, max(j - half, 0))
            alpha = (j + 1) / (2 * half + 1)
            return cv2.addWeighted(outgoing, 1 - alpha, incoming, alpha, 0)
        s = int(np.searchsorted(starts, i, side="right")) - 1
        return shot_frame(s, i - int(starts[s]))

    out = Path(path)
    writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*FOURCC), float(fps), (w, h))
    if not writer.isOpened():
        raise InvalidParameterError(f"{out}: OpenCV cannot write a video there (check the folder exists and the "
                                    "extension is a video container such as .mp4).")
    try:
        for i in range(n_frames):  # one frame at a time: memory does not grow with the film's length
            writer.write(cv2.cvtColor(film_frame(i), cv2.COLOR_RGB2BGR))
    finally:
        writer.release()
    return VideoTruth(out, float(fps), n_frames, (w, h), tuple(int(c) for c in cuts),
                      tuple((int(a), int(b)) for a, b in fades), tuple((int(a), int(b)) for a, b in dissolves),
                      truth_frames)


__all__ = ["render_video", "VideoTruth", "FOURCC"]

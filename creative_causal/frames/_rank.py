"""From measured frames to candidate stills: a quality gate with reasons, an interpretable
score, and a diverse selection.

Gate (every rejected frame keeps all its reasons):

* ``black``: a black frame or the depth of a fade;
* ``in a transition``: inside a detected fade or dissolve, or within its ``guard`` frames of it
  (two, or more when the detected blend is shorter than ``GUARD_SECONDS``: a detected blend is
  often only the part of it where one side holds still);
* ``blurred``: ``sharpness`` below ``BLUR_FLOOR`` (out of focus), or the gradient energy in
  one direction (``edge_x`` or ``edge_y``) below ``BLUR_ENERGY`` times the median of its
  shot's frames within ``BLUR_WINDOW`` seconds (a burst of motion blur; a zoom that softens
  the picture slowly is not one);
* ``too dark``: the largest face's ``face_brightness`` below ``FACE_DARK`` (a face in shadow), or
  without a face the frame's ``brightness`` below ``DARK``. A low-key scene whose faces are lit
  passes: on real footage (a dim restaurant, backgrounds crushed to black) the frame's
  brightness and its share of black or white pixels rejected 94 of 135 frames whose faces
  were well exposed;
* ``clipped``: more than ``CLIPPED`` of the picture blown to white (``highlights``, grey 250
  and above); black crushed in the shadows is a look, not a defect;
* ``text covers the frame``: ``text_area`` above ``TEXT_COVER`` (credits, titles);
* ``eyes closed``: the largest face's eyes judged shut (``eyes_closed``; see
  ``features.eye_openness``: the eyes are judged from 10 pixels apart at the 512-pixel working size);
* ``near-duplicate of frame N``: a 64-bit difference hash within ``DUPLICATE_BITS`` bits of a
  frame of the same video that scored higher and passed;
* ``no features``: the image extractor failed on the frame (its message is kept).

Score: ``sum_k weight_k * z_k`` over the frames that pass, ``z_k`` each signal standardised
over them (:data:`DEFAULT_WEIGHTS`, plus ``expected_lift`` at :data:`LIFT_WEIGHT` when a
study is given; override with ``weights=``).

Selection: greedy maximal marginal relevance over the passing frames: the next frame is the
one with the highest ``score - DIVERSITY * (largest cosine similarity of its colour layout to
a frame already chosen)``, at most ``per_shot`` per shot, until ``top`` are chosen.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..exceptions import InvalidParameterError, UnknownNameError
from ._signals import hamming

BLUR_FLOOR, BLUR_ENERGY, BLUR_WINDOW = 0.45, 0.5, 1.0
#: A detected transition shorter than this (seconds) is widened to it, plus two frames on each
#: side: a detected blend is often only the part of it where one side holds still.
GUARD_SECONDS = 0.5
DARK, FACE_DARK, CLIPPED = 0.12, 0.15, 0.10
TEXT_COVER = 0.05
DUPLICATE_BITS = 6
DIVERSITY = 1.0
#: At most this many groups of look-alike frames for browsing.
MAX_LOOKS = 12
#: Weights of the standardised signals in the score: faces, lead characters and a close-up,
#: a smile, focus, composition on the thirds and uncluttered space count for; subject motion
#: (a risk of blur) and a largest face turned away from the camera against.
DEFAULT_WEIGHTS: Mapping[str, float] = {"has_face": 1.0, "n_characters": 0.5, "closeup": 0.5, "smile": 0.5,
                                        "sharpness": 0.75, "thirds": 0.5, "negative_space": 0.25,
                                        "subject_motion": -0.25, "turned_away": -0.25}


#: The weight of ``expected_lift`` in the default score when a study is given: the study's
#: prediction counts as much as the faces.
LIFT_WEIGHT = 1.0


def check_weights(weights: Mapping[str, float] | None, columns: pd.Index, *, with_lift: bool = False) -> dict[str, float]:
    chosen = dict(DEFAULT_WEIGHTS if weights is None else weights)
    if weights is None and with_lift:
        chosen["expected_lift"] = LIFT_WEIGHT
    if not chosen:
        raise InvalidParameterError("weights is empty: give at least one signal's weight, e.g. {'has_face': 1.0}.")
    unknown = [k for k in chosen if k not in columns]
    if unknown:
        raise UnknownNameError(f"weights names {unknown[0]!r}, which no frame has; signals: "
                               f"{', '.join(sorted(c for c in columns if c not in ('video', 'frame')))}.")
    return {k: float(v) for k, v in chosen.items()}


def gate(frames: pd.DataFrame, transitions: pd.DataFrame) -> pd.Series:
    """Reasons to reject each frame ("" when it passes), all of them, in the order above."""
    reasons: list[list[str]] = [[] for _ in range(len(frames))]

    def flag(mask: np.ndarray, text: str) -> None:
        for i in np.flatnonzero(mask):
            reasons[i].append(text)

    failed = frames["feature_error"].astype(str).str.len().to_numpy() > 0
    flag(frames["black"].to_numpy(bool), "black")
    in_transition = np.zeros(len(frames), dtype=bool)
    for row in transitions.itertuples():
        in_transition |= ((frames["video"] == row.video) & (frames["frame"] >= row.first_frame - row.guard)
                          & (frames["frame"] <= row.last_frame + row.guard)).to_numpy()
    flag(in_transition, "in a transition")
    smeared = _energy_drop(frames) < np.log(BLUR_ENERGY)
    flag(~failed & ((frames["sharpness"].to_numpy(float) < BLUR_FLOOR) | smeared), "blurred")
    face_lit = frames["face_brightness"].to_numpy(float)
    dark = np.where(np.isnan(face_lit), frames["brightness"].to_numpy(float) < DARK, face_lit < FACE_DARK)
    flag(~failed & dark, "too dark")
    flag(~failed & (frames["highlights"].to_numpy(float) > CLIPPED), "clipped")
    flag(~failed & (frames["text_area"].to_numpy(float) > TEXT_COVER), "text covers the frame")
    flag(~failed & frames["eyes_closed"].to_numpy(bool), "eyes closed")
    for i in np.flatnonzero(failed):
        reasons[i].append(f"no features ({frames['feature_error'].iloc[i]})")
    return pd.Series(["; ".join(r) for r in reasons], index=frames.index)


def _energy_drop(frames: pd.DataFrame) -> np.ndarray:
    """How far (log) each frame's gradient energy falls below the median of its scene's frames
    within ``BLUR_WINDOW`` seconds, in its weaker direction. A burst of motion blur falls far
    below its neighbours; a slow change (a zoom softening the picture) does not. A scene is a
    run of shots joined by dissolves: a smear can pass for a short dissolve and must not
    become its own reference."""
    drop = np.zeros(len(frames))
    edges = frames[["edge_x", "edge_y"]].to_numpy(float)
    times = frames["time"].to_numpy(float)
    for rows in frames.groupby(["video", "scene" if "scene" in frames else "shot"]).indices.values():
        near = np.abs(times[rows][:, None] - times[rows][None, :]) <= BLUR_WINDOW
        for axis in (0, 1):
            values = edges[rows, axis]
            reference = np.nanmedian(np.where(near, values[None, :], np.nan), axis=1)
            drop[rows] = np.minimum(drop[rows], values - reference)
    return np.nan_to_num(drop, nan=0.0)


def score(frames: pd.DataFrame, passed: np.ndarray, weights: Mapping[str, float]) -> np.ndarray:
    """The weighted sum of standardised signals (NaN for frames that did not pass)."""
    out = np.full(len(frames), np.nan)
    if not passed.any():
        return out
    total = np.zeros(int(passed.sum()))
    for name, weight in weights.items():
        values = frames[name].to_numpy(float)[passed]
        spread = values.std()
        total += weight * ((values - values.mean()) / spread if spread > 0 else 0.0)
    out[passed] = total
    return out


def mark_duplicates(frames: pd.DataFrame, passed: np.ndarray, scores: np.ndarray) -> list[str]:
    """For each passing frame, "near-duplicate of frame N" when a better passing frame of the
    same video hashes within DUPLICATE_BITS bits (checked in score order)."""
    notes = [""] * len(frames)
    kept: dict[str, list[tuple[int, int]]] = {}
    for i in np.flatnonzero(passed)[np.argsort(-scores[passed], kind="stable")]:
        video, code = frames["video"].iloc[i], int(frames["dhash"].iloc[i])
        twin = next((f for f, h in kept.get(video, []) if hamming(code, h) <= DUPLICATE_BITS), None)
        if twin is None:
            kept.setdefault(video, []).append((int(frames["frame"].iloc[i]), code))
        else:
            notes[i] = f"near-duplicate of frame {twin}"
    return notes


def select(frames: pd.DataFrame, eligible: np.ndarray, scores: np.ndarray, layouts: np.ndarray, *, top: int,
           per_shot: int) -> np.ndarray:
    """Indices of the chosen frames, in the order chosen (greedy maximal marginal relevance)."""
    chosen: list[int] = []
    per: dict[tuple[str, int], int] = {}
    candidates = list(np.flatnonzero(eligible))
    similarity = np.full(len(frames), -np.inf)
    while candidates and len(chosen) < top:
        value = np.array([scores[i] - DIVERSITY * max(similarity[i], 0.0) for i in candidates])
        pick = candidates.pop(int(np.argmax(value)))
        chosen.append(pick)
        key = (frames["video"].iloc[pick], int(frames["shot"].iloc[pick]))
        per[key] = per.get(key, 0) + 1
        similarity = np.maximum(similarity, layouts @ layouts[pick])
        candidates = [i for i in candidates
                      if per.get((frames["video"].iloc[i], int(frames["shot"].iloc[i])), 0) < per_shot]
    return np.asarray(chosen, dtype=int)


def looks(layouts: np.ndarray, eligible: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Groups of frames that look alike, for browsing: Ward clustering of the colour layouts
    of the frames that passed, into ``ceil(sqrt(n / 2))`` groups (at most :data:`MAX_LOOKS`),
    numbered from 1 by their best frame's score; 0 for the others."""
    from sklearn.cluster import AgglomerativeClustering

    out = np.zeros(len(layouts), dtype=int)
    rows = np.flatnonzero(eligible)
    k = min(MAX_LOOKS, int(np.ceil(np.sqrt(len(rows) / 2))))
    if k < 2:
        out[rows] = 1
        return out
    labels = AgglomerativeClustering(n_clusters=k, linkage="ward").fit_predict(layouts[rows])
    best = pd.Series(scores[rows]).groupby(labels).max().sort_values(ascending=False, kind="stable")
    number = {label: n for n, label in enumerate(best.index, start=1)}
    out[rows] = [number[label] for label in labels]
    return out


__all__ = ["looks", "gate", "score", "mark_duplicates", "select", "DEFAULT_WEIGHTS", "LIFT_WEIGHT", "check_weights",
           "GUARD_SECONDS"]

"""Video signals of a sampled frame, beside the image catalog's features: motion, black and
letterboxed frames, the largest face's turn and eyes, and descriptors for near-duplicates
and diversity."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import cv2
import numpy as np
import pandas as pd

from ..features import EYES_OPEN_MIN, TURNED, DecodedImage, FeatureSpec, detect_faces, pose_features

#: Rows darker than this grey level (0-255), nearly uniform, count as a letterbox bar.
BAR_LEVEL, BAR_SPREAD = 20.0, 6.0
#: Bars must cover at least this share of the height on each side to be cropped.
MIN_BAR = 0.04


def letterbox(rgb: np.ndarray) -> tuple[int, int]:
    """Rows of black bar at the top and at the bottom (0, 0 when there are none or the frame
    is black all over)."""
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)
    dark = (grey.mean(axis=1) < BAR_LEVEL) & (grey.std(axis=1) < BAR_SPREAD)
    if dark.all():
        return 0, 0
    top = int(np.argmin(dark)) if dark[0] else 0
    bottom = int(np.argmin(dark[::-1])) if dark[-1] else 0
    h = len(dark)
    if top < MIN_BAR * h or bottom < MIN_BAR * h:
        return 0, 0
    return top, bottom


def is_black(rgb: np.ndarray, level: float = 16.0) -> bool:
    """Mean grey level below ``level`` (0-255): a black frame or the depth of a fade."""
    return float(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).mean()) < level


def motion(previous_small: np.ndarray, small: np.ndarray) -> tuple[float, float, float, float]:
    """Dense optical flow (Farnebäck) between two consecutive small frames: the camera's
    movement (median flow, in frame widths per frame, horizontally and vertically), the
    zoom (mean radial flow per pixel of radius) and the subject's movement (mean flow
    magnitude apart from the camera's, in frame widths per frame)."""
    a = cv2.cvtColor(previous_small, cv2.COLOR_BGR2GRAY)
    b = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
    flow = cv2.calcOpticalFlowFarneback(a, b, None, 0.5, 3, 15, 3, 5, 1.2, 0)
    h, w = a.shape
    pan = np.median(flow.reshape(-1, 2), axis=0)
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    rx, ry = xs - (w - 1) / 2, ys - (h - 1) / 2
    radius2 = rx**2 + ry**2 + 1e-6
    residual = flow - pan
    zoom = float(((residual[..., 0] * rx + residual[..., 1] * ry) / radius2).mean())
    subject = float(np.linalg.norm(residual - zoom * np.dstack([rx, ry]), axis=2).mean())
    return float(pan[0] / w), float(pan[1] / w), zoom, subject / w


def edge_energy(rgb: np.ndarray) -> tuple[float, float]:
    """Log mean squared Sobel gradient across (x) and along (y) the rows. Motion blur wipes
    out the gradients along its direction, so a blurred frame falls far below its shot in one
    of the two, however sharp its other edges stay."""
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)
    gx = cv2.Sobel(grey, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(grey, cv2.CV_32F, 0, 1, ksize=3)
    return float(np.log1p((gx * gx).mean())), float(np.log1p((gy * gy).mean()))


def _largest_face_pose(img: DecodedImage, detector: Any = None, **_: Any) -> Mapping[str, float]:
    boxes = detect_faces(img, detector)
    largest = max(boxes, key=lambda b: b[2] * b[3]) if boxes else None
    pose = pose_features(np.asarray(img.rgb), largest)
    judged = bool(np.isfinite(pose["eye_openness"]))
    lit = 0.0
    if largest is not None:
        x, y, w, h = (int(round(v)) for v in largest[:4])
        face = np.asarray(img.gray)[max(y, 0):y + h, max(x, 0):x + w]
        lit = float(face.mean() / 255.0) if face.size else 0.0
    # features must be finite: "not judged" travels as its own column (see pose_columns)
    return {"pose_judged": float(judged), **{k: v if judged else 0.0 for k, v in pose.items()}, "face_brightness": lit}


#: The largest face's turn and eye openness (``features.pose_features``) and its brightness
#: (mean luma / 255 in its box), measured with the image features on the boxes the ``faces``
#: group detected.
FACE_POSE = FeatureSpec("face_pose", "frames", _largest_face_pose,
                        {"pose_judged": ("0/1", (0.0, 1.0)), "face_turn": ("nose offset / eye distance", (-1.0, 1.0)),
                         "eye_openness": ("score", (0.0, float("inf"))), "face_brightness": ("luma / 255", (0.0, 1.0))},
                        needs_detector=True)


def highlights(rgb: np.ndarray, level: int = 250) -> float:
    """Share of pixels at grey level ``level`` or above: blown highlights."""
    return float((cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY) >= level).mean())


def pose_columns(table: pd.DataFrame) -> pd.DataFrame:
    """``face_turn`` and ``eye_openness`` with NaN where the largest face was not judged (no
    face, too small, or a box the landmark network doubts), the verdict ``turned_away``
    (False where not judged), and ``face_brightness`` (NaN without a face). Whether the eyes
    are closed needs the whole video: :func:`closed_eyes`."""
    if "pose_judged" not in table:  # no frame of the batch was measured
        return table.assign(face_turn=np.nan, eye_openness=np.nan, turned_away=False, face_brightness=np.nan)
    table["face_brightness"] = table["face_brightness"].where(table["has_face"] > 0)
    judged = table.pop("pose_judged").to_numpy() > 0
    table["face_turn"] = table["face_turn"].where(judged)
    table["eye_openness"] = table["eye_openness"].where(judged)
    table["turned_away"] = judged & (table["face_turn"].abs() >= TURNED).to_numpy()
    return table


#: Eyes are closed below this share of the same character's usual openness...
RELATIVE_OPEN = 0.5
#: ...measured as the median over at least this many judged frames of the video, but never
#: above this openness: narrowed eyes of a character whose open eyes score high (2.4) read 0.95.
MIN_REFERENCE, RELATIVE_CAP = 5, 0.85


def closed_eyes(frames: pd.DataFrame) -> pd.Series:
    """Whether the largest face's eyes are closed in each frame: its ``eye_openness`` below
    ``features.EYES_OPEN_MIN``, or below :data:`RELATIVE_OPEN` of the usual openness of the
    same face, at most :data:`RELATIVE_CAP` (the usual openness: the median over the video's
    judged frames whose largest face is the same ``lead_character``, or over all the video's
    judged frames when the character has fewer than :data:`MIN_REFERENCE`). The usual
    openness differs between people, cameras and styles: a real animated clip's open eyes
    scored a median 1.6 and 2.4 (two characters) where our rendered photographs' scored 0.75,
    and its closed eyes 0.43 to 0.81. False where the eyes were not judged."""
    openness = frames["eye_openness"]
    judged = openness.notna()
    by_video = openness.groupby(frames["video"]).transform(lambda s: s.median() if s.count() >= MIN_REFERENCE else np.nan)
    character = frames["lead_character"].where(frames["lead_character"] != "", "?")
    by_character = openness.groupby([frames["video"], character]).transform(
        lambda s: s.median() if s.count() >= MIN_REFERENCE else np.nan)
    usual = by_character.where(by_character.notna() & (character != "?"), by_video)
    # np.minimum keeps NaN (no reference), which np.fmax then ignores: the absolute rule alone
    limit = np.fmax(EYES_OPEN_MIN, np.minimum(RELATIVE_OPEN * usual.to_numpy(float), RELATIVE_CAP))
    return pd.Series(judged.to_numpy() & (openness.to_numpy(float) < limit), index=frames.index, name="eyes_closed")


def dhash(rgb: np.ndarray) -> int:
    """64-bit difference hash: near-duplicate frames differ in few bits."""
    grey = cv2.resize(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), (9, 8), interpolation=cv2.INTER_AREA)
    bits = (grey[:, 1:] > grey[:, :-1]).ravel()
    return int(np.packbits(bits).view(">u8")[0])


def hamming(a: int, b: int) -> int:
    return int(bin(a ^ b).count("1"))


def colour_layout(rgb: np.ndarray, side: int = 8) -> np.ndarray:
    """The frame's colour layout: Lab at ``side`` x ``side``, as a unit vector (cosine
    similarity compares layouts)."""
    lab = cv2.cvtColor(cv2.resize(rgb, (side, side), interpolation=cv2.INTER_AREA), cv2.COLOR_RGB2LAB)
    vector = lab.astype(np.float32).ravel() - 128.0
    return vector / (np.linalg.norm(vector) + 1e-9)


__all__ = ["FACE_POSE", "pose_columns", "closed_eyes", "highlights", "letterbox", "is_black", "motion", "edge_energy",
           "dhash", "hamming", "colour_layout"]

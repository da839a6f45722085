"""Render a poster for each row of a feature table, so the image-to-insight pipeline can be
tested against known truth.

The mapping from a row to pixels (a 1000 x 1500 JPEG by default):

- **background**: a smooth two-colour field (random hues), its saturation scaled by
  ``colorfulness``; after composition the poster is calibrated (a few rounds of shifting
  and stretching luma and scaling chroma, measured at the 512-pixel working size) so that
  its brightness, contrast and colourfulness are the row's;
- **faces**: ``n_faces`` heads cut from public-domain portraits that ship in installed
  packages (scikit-image's astronaut and cameraman, matplotlib's Grace Hopper; located at
  run time by the face detector, never copied into the repository). The smiling portraits
  (astronaut, Grace Hopper) are used when ``smile >= 0.5``, the cameraman otherwise. The
  largest face's box covers ``face_area`` of the poster, its centre lies at the distance
  from a rule-of-thirds point that ``face_thirds`` implies; further faces are smaller
  (as in the simulator, area ∝ n^-0.6) and placed where they do not overlap;
- **text**: lines of capital letters (OpenCV Hershey font) whose bounding boxes add up to
  ``text_area`` of the poster, placed in bands free of faces;
- **focus**: a Gaussian blur whose width falls as ``sharpness`` rises (14 px at 0.2 to none
  at 1.0, at full size): the background takes all of it, text half, and the finished poster
  a third (at most 2.5 px) so that faces stay detectable.
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

from .._validation import check_random_state

_LETTERS = np.array(list("ABCDEFGHIJKLMNOPRSTUVWY"))


@functools.lru_cache(maxsize=1)
def _portraits() -> dict[str, list[np.ndarray]]:
    """Head crops (RGB) from installed portraits, keyed by expression."""
    import matplotlib.cbook as cbook
    from skimage import data

    from ..features import DecodedImage, FaceDetector

    hopper = cv2.cvtColor(cv2.imread(str(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))), cv2.COLOR_BGR2RGB)
    sources = {"smiling": [data.astronaut(), hopper], "neutral": [np.dstack([data.camera()] * 3)]}
    detector = FaceDetector("ssd")
    crops: dict[str, list[np.ndarray]] = {}
    for mood, images in sources.items():
        for image in images:
            decoded = DecodedImage.from_array(image, working_size=max(image.shape[:2]))
            x, y, w, h, _ = max(detector(decoded), key=lambda b: b[2] * b[3])
            # the crop is the face box itself plus a thin margin, so the pasted box is what a detector sees
            m = 0.12
            x0, y0 = int(max(x - m * w, 0)), int(max(y - m * h, 0))
            x1, y1 = int(min(x + (1 + m) * w, image.shape[1])), int(min(y + (1 + m) * h, image.shape[0]))
            crops.setdefault(mood, []).append(np.ascontiguousarray(image[y0:y1, x0:x1]))
    return crops


def _background(h: int, w: int, colorfulness: float, rng: np.random.Generator) -> np.ndarray:
    hues = rng.uniform(0, 180, 2)
    field = cv2.resize(rng.random((4, 3)).astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
    hsv = np.zeros((h, w, 3), np.float32)
    hsv[..., 0] = np.where(field > 0.5, hues[0], hues[1])
    hsv[..., 1] = np.clip(colorfulness * 2.2, 0, 1) * 255
    hsv[..., 2] = 80 + 120 * field
    return cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2RGB)


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
    rng = check_random_state(random_state)
    w, h = size
    sharp = float(row.get("sharpness", 0.6))
    # features are measured at a 512-pixel working size: a blur must survive the 3x downscale.
    # The background takes the full blur, text half, the finished poster a third (faces stay detectable).
    sigma = float(np.interp(sharp, [0.2, 0.4, 0.6, 0.8, 1.0], [14.0, 9.0, 5.0, 2.0, 0.0]))
    canvas = _blur(_background(h, w, float(row.get("colorfulness", 0.3)), rng), sigma)
    n_faces = int(row.get("n_faces", 0)) if row.get("has_face", 0) else 0
    placements = _face_placements(row, n_faces, w, h, rng)
    text_area = float(row.get("text_area", 0.0))
    if text_area > 0.002:
        layer = canvas.copy()
        _draw_text(layer, text_area, [b for *_, b in placements], rng)
        written = np.any(layer != canvas, axis=2, keepdims=True)
        blurred_text = _blur(layer, sigma / 2)
        canvas = np.where(cv2.dilate(written.astype(np.uint8), np.ones((5, 5)))[..., None] > 0, blurred_text, canvas)
    # calibrate colour statistics before the faces go in, so faces keep their own contrast
    canvas = _set_luma(canvas, float(row.get("brightness", 0.45)), float(row.get("contrast", 0.35)),
                       float(row.get("colorfulness", 0.3)))
    for crop, (cx, cy, side), _ in placements:
        _paste(canvas, crop, cx, cy, side)
    return _blur(canvas, min(sigma / 3, 2.5))  # the whole poster, mildly: faces stay detectable


def _face_placements(row: pd.Series, n_faces: int, w: int, h: int, rng: np.random.Generator) -> list[Any]:
    """(crop, (cx, cy, side), box) for each face: the largest by face_area and face_thirds, the
    rest smaller and not overlapping."""
    if not n_faces:
        return []
    crops = _portraits()["smiling" if row.get("smile", 0) >= 0.5 else "neutral"]
    area = float(np.clip(row.get("face_area", 0.05), 0.004, 0.45))
    thirds = np.array([(1 / 3, 1 / 3), (2 / 3, 1 / 3), (1 / 3, 2 / 3), (2 / 3, 2 / 3)])
    point = thirds[rng.integers(4)]
    distance = (1 - float(row.get("face_thirds", 1.0))) * np.hypot(1 / 3, 1 / 3)
    angle = rng.uniform(0, 2 * np.pi)
    cx, cy = (point + distance * np.array([np.cos(angle), np.sin(angle)])) * (w, h)
    side = np.sqrt(area * w * h) * 1.24  # the crop carries a 12% margin around the face box
    cx, cy = float(np.clip(cx, side / 2, w - side / 2)), float(np.clip(cy, side / 2, h - side / 2))
    out = [(crops[rng.integers(len(crops))], (cx, cy, side), (cx - side / 2, cy - side / 2, side, side))]
    for k in range(1, n_faces):
        s = side * (k + 1) ** -0.3 * 0.8
        for _ in range(60):
            x, y = rng.uniform(s / 2, w - s / 2), rng.uniform(s / 2, h - s / 2)
            if all(x + s / 2 < bx or x - s / 2 > bx + bw or y + s / 2 < by or y - s / 2 > by + bh
                   for *_, (bx, by, bw, bh) in out):
                out.append((crops[rng.integers(len(crops))], (x, y, s), (x - s / 2, y - s / 2, s, s)))
                break
    return out


def _draw_text(canvas: np.ndarray, text_area: float, boxes: list[tuple[int, int, int, int]], rng: np.random.Generator) -> None:
    """Centred lines of capitals, 3.5% of the poster high, until their boxes cover ``text_area``."""
    h, w = canvas.shape[:2]
    target = text_area * w * h
    line_h = int(0.035 * h)
    scale = cv2.getFontScaleFromHeight(cv2.FONT_HERSHEY_DUPLEX, line_h, 3)
    letter_w = cv2.getTextSize("M", cv2.FONT_HERSHEY_DUPLEX, scale, 3)[0][0]
    colour = (255, 255, 255) if rng.random() < 0.5 else (15, 15, 15)
    drawn = 0.0
    for y in range(h - line_h, line_h, -int(line_h * 1.7)):
        if drawn >= target:
            break
        if not all(y < by - 4 or y - line_h > by + bh + 4 for _, by, _, bh in boxes):
            continue
        width = min(w * 0.9, max((target - drawn) / line_h, 4 * letter_w))
        text = "".join(rng.choice(_LETTERS, max(4, int(width / letter_w))))
        (tw, th), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_DUPLEX, scale, 3)
        cv2.putText(canvas, text, (int((w - tw) / 2), y), cv2.FONT_HERSHEY_DUPLEX, scale, colour, 3, cv2.LINE_AA)
        drawn += tw * th


def _set_luma(rgb: np.ndarray, brightness: float, contrast: float, colorfulness: float | None = None,
              iterations: int = 4) -> np.ndarray:
    """Calibrate the finished poster so that, measured at the 512-pixel working size, its
    brightness, contrast and colourfulness are the row's: Y is shifted and stretched and the
    chroma (Cr, Cb around 128) scaled, a few times, since clipping and downscaling move them."""
    from ..features._io import DecodedImage
    from ..features._pixels import color_features

    ycc = cv2.cvtColor(rgb, cv2.COLOR_RGB2YCrCb).astype(np.float32)
    for _ in range(iterations):
        out = cv2.cvtColor(np.clip(ycc, 0, 255).astype(np.uint8), cv2.COLOR_YCrCb2RGB)
        measured = color_features(DecodedImage.from_array(out))
        y = ycc[..., 0]
        gain = (contrast + 1e-3) / (measured["contrast"] + 1e-3)
        ycc[..., 0] = (y - y.mean()) * gain + y.mean() + (brightness - measured["brightness"]) * 255
        if colorfulness is not None and measured["colorfulness"] > 1e-3:
            ycc[..., 1:] = 128 + (ycc[..., 1:] - 128) * np.clip(colorfulness / measured["colorfulness"], 0.2, 5.0)
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
    >>> p = simulate_program(2, seed=1)
    >>> paths = render_posters(p.artworks.head(1), tempfile.mkdtemp(), size=(200, 300), random_state=0)
    >>> paths[0].suffix
    '.jpg'
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rng = check_random_state(random_state)
    seeds = rng.integers(2**31 - 1, size=len(artworks))
    jobs = [(out / f"{ident}.jpg", row, int(seed)) for (ident, row), seed in zip(artworks.iterrows(), seeds)]
    work = partial(_render_to_file, size=size, quality=quality)
    if n_jobs == 1 or len(jobs) < 2:
        return [work(job) for job in jobs]
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    with ProcessPoolExecutor(n_jobs, mp_context=get_context("spawn")) as pool:
        return list(pool.map(work, jobs, chunksize=max(1, len(jobs) // (8 * n_jobs))))


def _render_to_file(job: tuple[Path, pd.Series, int], *, size: tuple[int, int], quality: int) -> Path:
    path, row, seed = job
    poster = render_poster(row, size=size, random_state=seed)
    cv2.imwrite(str(path), cv2.cvtColor(poster, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    return path

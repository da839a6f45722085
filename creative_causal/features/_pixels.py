"""Colour, quality and composition features (features.md), from the shared decoded arrays.

Every function takes a :class:`DecodedImage` (RGB uint8 at the working resolution and its
Rec. 601 luma) and returns a dict of named floats in the catalog's units and ranges.
"""

from __future__ import annotations

import cv2
import numpy as np

from ._io import DecodedImage

#: Luma at or below / at or above these counts as clipped to black / white.
CLIP_LOW, CLIP_HIGH = 5, 250
#: HSV saturation above which a pixel counts as coloured for warmth (0..1).
WARMTH_MIN_SATURATION = 0.2
#: Saliency below this share of its maximum counts as negative space.
NEGATIVE_SPACE_LEVEL = 0.25


def color_features(img: DecodedImage) -> dict[str, float]:
    """Brightness, contrast, colourfulness, saturation and warmth.

    - ``brightness`` (0..1): mean Rec. 601 luma / 255. Fooled by large black borders.
    - ``contrast`` (0..1): RMS contrast, 2 x standard deviation of luma / 255, clipped.
    - ``colorfulness`` (0..1): Hasler and Suesstrunk (2003) colourfulness / 150, clipped;
      0 for any gray image.
    - ``saturation`` (0..1): mean HSV saturation.
    - ``warmth`` (-1..1): share of coloured pixels (HSV saturation >= 0.2, value >= 0.15) with
      warm hues (red to yellow, 330-60 degrees) minus the share with cool hues (cyan to
      violet, 170-290 degrees). Skin tones count as warm.
    """
    rgb = img.rgb.astype(np.float32)
    luma = img.gray.astype(np.float32)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    rg = r - g
    yb = 0.5 * (r + g) - b
    colourfulness = np.sqrt(rg.std() ** 2 + yb.std() ** 2) + 0.3 * np.sqrt(rg.mean() ** 2 + yb.mean() ** 2)
    hsv = cv2.cvtColor(img.rgb, cv2.COLOR_RGB2HSV)
    hue = hsv[..., 0].astype(np.float32) * 2.0  # OpenCV stores degrees / 2
    sat = hsv[..., 1].astype(np.float32) / 255.0
    val = hsv[..., 2].astype(np.float32) / 255.0
    coloured = (sat >= WARMTH_MIN_SATURATION) & (val >= 0.15)
    warm = coloured & ((hue >= 330) | (hue < 60))
    cool = coloured & (hue >= 170) & (hue < 290)
    return {
        "brightness": float(luma.mean() / 255.0),
        "contrast": float(min(2.0 * luma.std() / 255.0, 1.0)),
        "colorfulness": float(min(colourfulness / 150.0, 1.0)),
        "saturation": float(sat.mean()),
        "warmth": float(warm.mean() - cool.mean()),
    }


def quality_features(img: DecodedImage) -> dict[str, float]:
    """Sharpness and exposure clipping.

    - ``sharpness`` (0..1): log1p(variance of the Laplacian of luma at the working
      resolution) / log1p(5000), clipped. Fooled by noise and fine texture (read as sharp).
    - ``exposure_clip`` (0..1): share of pixels with luma <= 5 or >= 250.
    """
    lap = cv2.Laplacian(img.gray, cv2.CV_32F, ksize=3)
    luma = img.gray
    return {
        "sharpness": float(min(np.log1p(float(lap.var())) / np.log1p(5000.0), 1.0)),
        "exposure_clip": float(np.mean((luma <= CLIP_LOW) | (luma >= CLIP_HIGH))),
    }


def spectral_residual_saliency(gray: np.ndarray, width: int = 64) -> np.ndarray:
    """Saliency map by the spectral residual (Hou and Zhang, 2007), scaled to [0, 1], at the
    input's size. A flat image has no salient region: the map is all zeros."""
    h, w = gray.shape
    small_w = width
    small_h = max(8, round(h * width / w))
    small = cv2.resize(gray, (small_w, small_h), interpolation=cv2.INTER_AREA).astype(np.float32)
    if small.std() < 1e-3:
        return np.zeros_like(gray, dtype=np.float32)
    spectrum = np.fft.fft2(small)
    log_amplitude = np.log(np.abs(spectrum) + 1e-8)
    phase = np.angle(spectrum)
    residual = log_amplitude - cv2.blur(log_amplitude.astype(np.float32), (3, 3))
    saliency = np.abs(np.fft.ifft2(np.exp(residual + 1j * phase))) ** 2
    saliency = cv2.GaussianBlur(saliency.astype(np.float32), (0, 0), sigmaX=2.5)
    saliency = cv2.resize(saliency, (w, h), interpolation=cv2.INTER_LINEAR)
    peak = float(saliency.max())
    return saliency / peak if peak > 0 else np.zeros_like(saliency)


def composition_features(img: DecodedImage) -> dict[str, float]:
    """Rule of thirds, negative space, depth of field and symmetry.

    - ``thirds`` (0..1): share of saliency mass within 1/12 of the image size of a
      rule-of-thirds line (the bands cover about 55% of the image, so uniform saliency
      gives 0.55); 0 for a flat image.
    - ``negative_space`` (0..1): share of the image whose saliency is below 25% of the
      maximum; 1 for a flat image.
    - ``depth_of_field`` (0..1): shallow focus. With local sharpness s (blurred |Laplacian|),
      ratio = s(salient top 20%) / (s(salient) + s(rest)); the feature is
      2 * max(ratio - 0.5, 0): 0 when everything is equally sharp (or the background is
      sharper), near 1 when only the subject is sharp. Fooled by flat backgrounds, which have
      no texture to be sharp.
    - ``symmetry`` (0..1): 1 - mean |L - mirror(L)| / 128 on the blurred luma, clipped; a
      mirrored image gives 1.
    """
    gray = img.gray
    h, w = gray.shape
    sal = spectral_residual_saliency(gray)
    total = float(sal.sum())
    ys = (np.arange(h) + 0.5) / h
    xs = (np.arange(w) + 0.5) / w
    near_x = (np.abs(xs - 1 / 3) < 1 / 12) | (np.abs(xs - 2 / 3) < 1 / 12)
    near_y = (np.abs(ys - 1 / 3) < 1 / 12) | (np.abs(ys - 2 / 3) < 1 / 12)
    band = near_y[:, None] | near_x[None, :]
    thirds = float(sal[band].sum() / total) if total > 0 else 0.0
    negative = float(np.mean(sal < NEGATIVE_SPACE_LEVEL)) if total > 0 else 1.0
    local = cv2.GaussianBlur(np.abs(cv2.Laplacian(gray, cv2.CV_32F, ksize=3)), (0, 0), sigmaX=3)
    if total > 0 and local.mean() > 1e-6:
        top = sal >= np.quantile(sal, 0.8)
        inside, outside = float(local[top].mean()), float(local[~top].mean()) if (~top).any() else 0.0
        ratio = inside / (inside + outside) if inside + outside > 0 else 0.5
        dof = float(np.clip(2 * (ratio - 0.5), 0.0, 1.0))
    else:
        dof = 0.0
    smooth = cv2.GaussianBlur(gray, (0, 0), sigmaX=2).astype(np.float32)
    symmetry = float(np.clip(1.0 - np.abs(smooth - smooth[:, ::-1]).mean() / 128.0, 0.0, 1.0))
    return {"thirds": thirds, "negative_space": negative, "depth_of_field": dof, "symmetry": symmetry}


def embedding_features(img: DecodedImage, bins: int = 4) -> dict[str, float]:
    """A compact look descriptor for clustering: a 4x4x4 RGB histogram (64 values) and an
    8-orientation gradient histogram on a 2x2 grid (32 values), each normalised."""
    small = cv2.resize(img.rgb, (64, 64), interpolation=cv2.INTER_AREA)
    q = (small // (256 // bins)).reshape(-1, 3).astype(np.int64)
    colour = np.bincount(q[:, 0] * bins * bins + q[:, 1] * bins + q[:, 2], minlength=bins**3).astype(np.float64)
    colour /= colour.sum()
    g = cv2.resize(img.gray, (64, 64), interpolation=cv2.INTER_AREA).astype(np.float32)
    gx, gy = cv2.Sobel(g, cv2.CV_32F, 1, 0), cv2.Sobel(g, cv2.CV_32F, 0, 1)
    mag, ang = cv2.cartToPolar(gx, gy)
    orient = (ang % np.pi / np.pi * 8).astype(np.int64) % 8
    texture = []
    for i in range(2):
        for j in range(2):
            sl = (slice(32 * i, 32 * i + 32), slice(32 * j, 32 * j + 32))
            hist = np.bincount(orient[sl].ravel(), weights=mag[sl].ravel(), minlength=8)
            texture.append(hist / (hist.sum() + 1e-9))
    values = np.concatenate([colour, *texture])
    return {f"emb_{k}": float(v) for k, v in enumerate(values)}

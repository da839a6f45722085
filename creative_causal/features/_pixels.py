"""Colour, quality and composition features (features.md), from the shared decoded arrays.

Every function takes a :class:`DecodedImage` (RGB uint8 at the working resolution and its
Rec. 601 luma) and returns a dict of named floats in the catalog's units and ranges.
"""

from __future__ import annotations

import cv2
import numpy as np

from ._faces import FaceDetector, detect_faces
from ._io import DecodedImage, halve
from ._text import text_mask

#: Luma at or below / at or above these counts as clipped to black / white.
CLIP_LOW, CLIP_HIGH = 5, 250
#: HSV saturation above which a pixel counts as coloured for warmth (0..1).
WARMTH_MIN_SATURATION = 0.2
#: Saliency below this share of its maximum counts as negative space.
NEGATIVE_SPACE_LEVEL = 0.25


#: Around a face box, this share of its size on each side is face too (hair, ears, chin).
FACE_SURROUND = 0.25
#: Below this share of background, statistics fall back to the whole image.
MIN_BACKGROUND = 0.2


def background_mask(img: DecodedImage, detector: FaceDetector | None) -> np.ndarray | None:
    """Pixels that are neither a face (box plus 25% around) nor text, as uint8 0/1; ``None``
    when there is nothing to exclude, when no detector is given, or when less than 20% of
    the image would remain (then statistics use the whole image)."""
    if detector is None:
        return None
    key = ("background", id(detector))
    if key not in img.cache:  # colour and quality both read it
        img.cache[key] = _background_mask(img, detector)
    return img.cache[key]


def _background_mask(img: DecodedImage, detector: FaceDetector) -> np.ndarray | None:
    h, w = img.gray.shape
    mask = np.ones((h, w), np.uint8)
    for x, y, bw, bh, _ in detect_faces(img, detector):
        x0, y0 = int(max(x - FACE_SURROUND * bw, 0)), int(max(y - FACE_SURROUND * bh, 0))
        mask[y0:int(min(y + (1 + FACE_SURROUND) * bh, h)), x0:int(min(x + (1 + FACE_SURROUND) * bw, w))] = 0
    mask[text_mask(img)] = 0
    share = float(mask.mean())
    mask.setflags(write=False)  # shared through the cache
    return None if share == 1.0 or share < MIN_BACKGROUND else mask


def color_features(img: DecodedImage, detector: FaceDetector | None = None) -> dict[str, float]:
    """Brightness, contrast, colourfulness, saturation and warmth of the scene.

    With a ``detector`` (as in :func:`extract_features`), they are measured outside the
    faces (each box and 25% around it) and the text lines, the background the designer
    chose: a face or a title then does not move them. Otherwise, and when faces and text
    cover more than 80% of the image, over the whole image.

    - ``brightness`` (0..1): mean Rec. 601 luma / 255. Fooled by large black borders.
    - ``contrast`` (0..1): RMS contrast, 2 x standard deviation of luma / 255, clipped.
    - ``colorfulness`` (0..1): Hasler and Suesstrunk (2003) colourfulness / 150, clipped;
      0 for any gray image.
    - ``saturation`` (0..1): mean HSV saturation.
    - ``warmth`` (-1..1): share of coloured pixels (HSV saturation >= 0.2, value >= 0.15) with
      warm hues (red to yellow, 330-60 degrees) minus the share with cool hues (cyan to
      violet, 170-290 degrees). Skin tones count as warm.
    """
    mask = background_mask(img, detector)
    # uint8 and OpenCV reductions throughout: this runs on every image of a catalogue
    r, g, b = cv2.split(img.rgb)
    rg = cv2.subtract(r, g, dtype=cv2.CV_16S)
    yb = cv2.subtract(cv2.addWeighted(r, 0.5, g, 0.5, 0.0, dtype=cv2.CV_32F), b, dtype=cv2.CV_32F)
    (rg_mean,), (rg_std,) = cv2.meanStdDev(rg, mask=mask)
    (yb_mean,), (yb_std,) = cv2.meanStdDev(yb, mask=mask)
    colourfulness = np.hypot(rg_std[0], yb_std[0]) + 0.3 * np.hypot(rg_mean[0], yb_mean[0])
    (luma_mean,), (luma_std,) = cv2.meanStdDev(img.gray, mask=mask)
    # shares and means: a half-size image gives the same values to a fraction of a percent, 4x cheaper
    half = halve(img.rgb)
    counted = np.ones(half.shape[:2], bool) if mask is None else mask[:2 * half.shape[0]:2, :2 * half.shape[1]:2] > 0
    hue, sat, val = cv2.split(cv2.cvtColor(half, cv2.COLOR_RGB2HSV))  # OpenCV: hue in degrees / 2, 0..255 else
    coloured = counted & (sat >= round(WARMTH_MIN_SATURATION * 255)) & (val >= 39)  # value >= 0.15
    warm = coloured & ((hue >= 165) | (hue < 30))  # 330..60 degrees
    cool = coloured & (hue >= 85) & (hue < 145)  # 170..290 degrees
    n = max(int(np.count_nonzero(counted)), 1)
    return {
        "brightness": float(luma_mean[0] / 255.0),
        "contrast": float(min(2.0 * luma_std[0] / 255.0, 1.0)),
        "colorfulness": float(min(colourfulness / 150.0, 1.0)),
        "saturation": float(sat[counted].mean() / 255.0),
        "warmth": float(np.count_nonzero(warm) - np.count_nonzero(cool)) / n,
    }


#: Edge pixels for focus: gradients at least 63% as steep as the steepest (squared: 40% of the
#: 90th percentile of gradients above 2 luma levels per pixel), and at least 2 luma levels per pixel.
EDGE_RELATIVE, EDGE_MIN_GRADIENT = 0.4, 2.0
#: Calibration of the blur radius on area-downscaled edges blurred by known Gaussians (the
#: tests check 1, 2 and 3 pixels to within 15%): over the steep core of an edge the
#: Laplacian-to-gradient energy ratio is _CORE / sigma^2 (0.238 for a continuous Gaussian
#: edge cut at 40% of its peak), here measured as _SLOPE * sigma^2 + _SHARP_EDGE.
_CORE, _SLOPE, _SHARP_EDGE = 0.2379, 0.775, 0.064


def focus_blur_radius(gray: np.ndarray) -> float:
    """Estimated Gaussian blur radius (sigma, in pixels of ``gray``) of the image's steepest
    edges; ``nan`` without edges.

    Across a step edge blurred by a Gaussian of width sigma, the second derivative is
    -x / sigma^2 times the first, so the ratio of their energies over the edge depends on
    sigma alone: not on the edge's contrast, nor on how many edges there are. It is taken
    over the steep cores of the strongest edges (gradients at least 63% of the steepest),
    where it is least disturbed by noise and by neighbouring edges.
    """
    gx, gy = cv2.Sobel(gray, cv2.CV_32F, 1, 0), cv2.Sobel(gray, cv2.CV_32F, 0, 1)  # 3x3
    gradient2 = cv2.addWeighted(cv2.multiply(gx, gx), 1 / 64, cv2.multiply(gy, gy), 1 / 64, 0.0)  # Sobel's gain is 8
    laplacian = cv2.Laplacian(gray, cv2.CV_32F, ksize=1)
    sample = gradient2[::2, ::2]  # every 4th pixel: 4x cheaper, the same steepest edges
    sample = sample[sample >= EDGE_MIN_GRADIENT**2]
    if not sample.size:
        return float("nan")
    cut = int(len(sample) * 0.9)  # "the steepest": the top 10% of edge pixels, however many edges there are
    steepest = float(np.partition(sample, cut)[cut])
    edges = (gradient2 >= max(EDGE_RELATIVE * steepest, EDGE_MIN_GRADIENT**2)).astype(np.uint8)
    ratio = cv2.mean(cv2.multiply(laplacian, laplacian), mask=edges)[0] / cv2.mean(gradient2, mask=edges)[0]
    if ratio <= 0:
        return float("inf")
    return float(np.sqrt(max(_CORE / ratio - _SHARP_EDGE, 0.0) / _SLOPE))


def quality_features(img: DecodedImage, detector: FaceDetector | None = None) -> dict[str, float]:
    """Sharpness and exposure clipping.

    - ``sharpness`` (0..1): focus, 1 / (1 + r) where r is the blur radius of the image's
      strongest edges in working-size pixels (:func:`focus_blur_radius`): 1 for perfectly
      sharp edges, 0.5 for a 1-pixel Gaussian blur, 0.25 for 3 pixels; 0 without edges
      (nothing steeper than 2 luma levels per pixel).
      Independent of contrast and of how much of the image is edges. Fooled by noise and
      film grain (read as sharp) and by soft subjects such as fog or skin close-ups (read as
      blurred).
    - ``exposure_clip`` (0..1): share of pixels with luma <= 5 or >= 250, outside faces and
      text when a ``detector`` is given (as for :func:`color_features`: white or black
      titles are not clipped exposure).
    """
    radius = focus_blur_radius(img.gray)
    clipped = (img.gray <= CLIP_LOW) | (img.gray >= CLIP_HIGH)
    mask = background_mask(img, detector)
    return {
        "sharpness": 0.0 if not np.isfinite(radius) else float(1.0 / (1.0 + radius)),
        "exposure_clip": float(clipped.mean() if mask is None else clipped[mask > 0].mean()),
    }


def spectral_residual_saliency(gray: np.ndarray, width: int = 64, *, full_size: bool = True) -> np.ndarray:
    """Saliency map by the spectral residual (Hou and Zhang, 2007), scaled to [0, 1]: at the
    input's size, or with ``full_size=False`` on the ``width``-pixel-wide grid it is computed
    on. A flat image has no salient region: the map is all zeros."""
    h, w = gray.shape
    small_w = width
    small_h = max(8, round(h * width / w))
    while gray.shape[1] >= 4 * width:  # exact halvings first: area-averaging by 2 is 10x cheaper than by 5.3
        gray = halve(gray)
    small = cv2.resize(gray, (small_w, small_h), interpolation=cv2.INTER_AREA).astype(np.float32)
    if small.std() < 1e-3:
        return np.zeros((h, w) if full_size else (small_h, small_w), dtype=np.float32)
    spectrum = np.fft.fft2(small)
    log_amplitude = np.log(np.abs(spectrum) + 1e-8)
    phase = np.angle(spectrum)
    residual = log_amplitude - cv2.blur(log_amplitude.astype(np.float32), (3, 3))
    saliency = np.abs(np.fft.ifft2(np.exp(residual + 1j * phase))) ** 2
    saliency = cv2.GaussianBlur(saliency.astype(np.float32), (0, 0), sigmaX=2.5)
    if full_size:
        saliency = cv2.resize(saliency, (w, h), interpolation=cv2.INTER_LINEAR)
    peak = float(saliency.max())
    return saliency / peak if peak > 0 else np.zeros_like(saliency)


def composition_features(img: DecodedImage) -> dict[str, float]:
    """Rule of thirds, negative space, depth of field and symmetry.

    Saliency, and local sharpness averaged onto the same grid, are read on the 64-pixel-wide
    grid the saliency is computed on (it carries no finer detail; this keeps the group cheap).

    - ``thirds`` (0..1): share of saliency mass within 1/12 of the image size of a
      rule-of-thirds line (the bands cover about 55% of the image, so uniform saliency
      gives 0.55); 0 for a flat image.
    - ``negative_space`` (0..1): share of the image whose saliency is below 25% of the
      maximum; 1 for a flat image.
    - ``depth_of_field`` (0..1): shallow focus. With local sharpness s (|Laplacian| averaged
      over each grid cell), ratio = s(salient top 20%) / (s(salient) + s(rest)); the feature
      is 2 * max(ratio - 0.5, 0): 0 when everything is equally sharp (or the background is
      sharper), near 1 when only the subject is sharp. Fooled by flat backgrounds, which have
      no texture to be sharp.
    - ``symmetry`` (0..1): 1 - mean |L - mirror(L)| / 128 on the blurred luma, clipped; a
      mirrored image gives 1.
    """
    gray = img.gray
    sal = spectral_residual_saliency(gray, full_size=False)
    h, w = sal.shape
    total = float(sal.sum())
    ys = (np.arange(h) + 0.5) / h
    xs = (np.arange(w) + 0.5) / w
    near_x = (np.abs(xs - 1 / 3) < 1 / 12) | (np.abs(xs - 2 / 3) < 1 / 12)
    near_y = (np.abs(ys - 1 / 3) < 1 / 12) | (np.abs(ys - 2 / 3) < 1 / 12)
    band = near_y[:, None] | near_x[None, :]
    thirds = float(sal[band].sum() / total) if total > 0 else 0.0
    negative = float(np.mean(sal < NEGATIVE_SPACE_LEVEL)) if total > 0 else 1.0
    local = cv2.resize(np.abs(cv2.Laplacian(gray, cv2.CV_32F, ksize=3)), (w, h), interpolation=cv2.INTER_AREA)
    if total > 0 and local.mean() > 1e-6:
        top = sal >= np.quantile(sal, 0.8)
        inside, outside = float(local[top].mean()), float(local[~top].mean()) if (~top).any() else 0.0
        ratio = inside / (inside + outside) if inside + outside > 0 else 0.5
        dof = float(np.clip(2 * (ratio - 0.5), 0.0, 1.0))
    else:
        dof = 0.0
    if gray.shape[1] % 2:  # without the middle column an odd-width mirror image halves into a mirror image
        gray = np.delete(gray, gray.shape[1] // 2, axis=1)
    smooth = cv2.GaussianBlur(halve(gray), (0, 0), sigmaX=1).astype(np.float32)  # sigma 2 at full working size
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

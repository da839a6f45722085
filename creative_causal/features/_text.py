"""Text-like regions without downloaded models: titles and taglines on artwork.

A title's letters cross each row of pixels several times in a short stretch; a shape's outline
crosses it once. The detector looks for rows dense in such crossings, bounded above and
below by quiet rows (the gaps between lines of text).
"""

from __future__ import annotations

import cv2
import numpy as np

from ._io import DecodedImage

#: A text line: rising edges per pixel along its rows, averaged over a window 1/20 of the
#: image wide and 3 rows high (measured: 0.2 to 0.4 inside titles, below 0.07 along contours).
STROKE_DENSITY = 0.085
#: Text lines are 1% to 15% of the image height and at least twice as wide as tall.
LINE_HEIGHT = (0.01, 0.15)
#: Above and below a line of text the rows are quiet: at most this share of its stroke density.
QUIET_MARGIN = 0.4


def text_features(img: DecodedImage) -> dict[str, float]:
    """Text-like regions without downloaded models.

    1. Edges: morphological gradient of the luma, Otsu threshold.
    2. Stroke density: rising edges along each row (a letter's strokes), averaged over a
       window 1/20 of the image wide and 3 rows high. Titles are dense (each letter crosses a
       row several times); the outline of a shape crosses it once.
    3. Lines: dense windows joined by a horizontal closing (1/40 of the width); a region is
       a text line when it is at least twice as wide as tall, 1% to 15% of the image high,
       and the rows just above and below it (a third of its height) are quiet, with at most
       40% of its stroke density, as the gaps between lines of text are. Texture (foliage,
       fabric, a space suit's folds) is dense all round and fails this.

    - ``text_area`` (0..1): share of the image covered by the lines' boxes, each the tight
      box of the edges inside the line (about the letters' boxes).
    - ``has_text`` (0/1): ``text_area >= 0.01``.

    Fooled by regular rows of small shapes with quiet bands between them (shelves,
    windows, railings: read as text), and misses letters taller than about 8% of the image
    (too sparse for the window), handwriting and vertical text.
    """
    area = float(text_mask(img).mean())
    return {"text_area": area, "has_text": float(area >= 0.01)}


def text_mask(img: DecodedImage) -> np.ndarray:
    """The text lines of :func:`text_features` as a boolean mask, computed once per image."""
    if "text" not in img.cache:
        img.cache["text"] = _find_text(img)
    return img.cache["text"]


def _find_text(img: DecodedImage) -> np.ndarray:
    gray = np.asarray(img.gray)
    h, w = gray.shape
    gradient = cv2.morphologyEx(gray, cv2.MORPH_GRADIENT, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3)))
    mask = np.zeros((h, w), dtype=bool)
    if gradient.max() < 40:  # no strong edges at all: Otsu would split noise
        return mask
    _, edges = cv2.threshold(gradient, 0, 1, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    rising = np.zeros((h, w), np.uint8)
    np.greater(edges[:, 1:], edges[:, :-1], out=rising[:, 1:].view(bool))
    window = (max(3, w // 20), 3)
    # integer window sums (4x cheaper than a float mean): density >= d  <=>  sum >= d * window area
    rising_count = cv2.boxFilter(rising, cv2.CV_16U, window, normalize=False)
    dense = cv2.morphologyEx((rising_count >= STROKE_DENSITY * window[0] * window[1]).astype(np.uint8), cv2.MORPH_CLOSE,
                             cv2.getStructuringElement(cv2.MORPH_RECT, (max(3, w // 40), 1)))
    _, _, stats, _ = cv2.connectedComponentsWithStats(dense, connectivity=8)
    for x, y, bw, bh, _ in stats[1:]:
        if bw < 2 * bh or not LINE_HEIGHT[0] * h <= bh <= LINE_HEIGHT[1] * h:
            continue
        margin = max(2, bh // 3)
        inside = float(rising[y:y + bh, x:x + bw].mean())
        around = [band.mean() for band in (rising[max(y - margin, 0):y, x:x + bw], rising[y + bh:y + bh + margin, x:x + bw])
                  if band.size]
        if max(around, default=0.0) <= QUIET_MARGIN * inside:
            # the tight box of the line's edges: the density window's margins are not text
            cols = np.flatnonzero(edges[y:y + bh, x:x + bw].any(axis=0))
            rows = np.flatnonzero(edges[y:y + bh, x:x + bw].any(axis=1))
            if cols.size and rows.size:
                mask[y + rows[0]:y + rows[-1] + 1, x + cols[0]:x + cols[-1] + 1] = True
    return mask

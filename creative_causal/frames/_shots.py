"""Shot boundaries from the single decoding pass: hard cuts, fades and dissolves.

* **Hard cuts**: PySceneDetect's ``ContentDetector`` (the ``scenedetect-headless``
  distribution, which uses our OpenCV), fed the small copies of the frames we decode anyway.
* **Gradual transitions**: PySceneDetect has no dissolve detector (its ``DissolveDetector``
  is a commented-out stub), so ours tests, at every frame, whether the frames just before it
  are a blend of two different pictures: a frame ``f_t`` between ``f_a`` and ``f_b`` lies on
  the line ``f_a + lambda_t (f_b - f_a)`` with ``lambda_t`` rising at an even pace from 0 to 1.
  A dissolve blends two shots; a fade blends a shot with black (fade out, then fade in). A cut
  (one jump of ``lambda``), a held frame (``lambda`` flat) and camera motion (frames off the
  line, or a pace that is not even) do not pass. A transition
  that reaches a black frame is a fade, otherwise a dissolve; cuts inside or next to one are
  dropped (the detectors see the fast change at its edges).
"""

from __future__ import annotations

import warnings
from collections import deque
from dataclasses import dataclass

import cv2
import numpy as np
import pandas as pd

#: ContentDetector's threshold (its default) and the shortest shot it may cut, in seconds.
CUT_THRESHOLD = 27.0
MIN_SHOT_SECONDS = 0.25
#: A gradual transition lasts between these many frames (inside it), and its two ends must
#: differ by at least this RMS grey level (0-255) at 32 x 18 pixels.
MIN_BLEND_FRAMES, MAX_BLEND_SECONDS, MIN_BLEND_CHANGE = 3, 2.0, 18.0
#: A blended frame lies within this share of the ends' distance from the line between them,
#: and its position along the line within this much of an even pace.
MAX_OFF_LINE, MAX_UNEVEN = 0.13, 0.2
#: A frame whose mean grey level is below this (0-255) counts as black.
BLACK_LEVEL = 16.0
_TINY = (32, 18)


@dataclass(frozen=True)
class Transition:
    first: int
    last: int
    kind: str  # "fade" or "dissolve"


class ShotTracker:
    """Feed it every frame's small copy in order (:meth:`add`), then :meth:`finish`."""

    def __init__(self, fps: float) -> None:
        with warnings.catch_warnings():  # scenedetect warns about its own module layout on import
            warnings.simplefilter("ignore", DeprecationWarning)
            from scenedetect import FrameTimecode
            from scenedetect.detectors import ContentDetector
        self._timecode = FrameTimecode
        self.fps = fps
        self._content = ContentDetector(threshold=CUT_THRESHOLD, min_scene_len=max(2, int(round(MIN_SHOT_SECONDS * fps))))
        self.cuts: list[int] = []
        self.blends: list[tuple[int, int]] = []
        self.darkness: list[float] = []
        self._recent: deque[np.ndarray] = deque(maxlen=max(MIN_BLEND_FRAMES + 2, int(MAX_BLEND_SECONDS * fps) + 2))
        self.n_frames = 0

    @classmethod
    def merged(cls, fps: float, cuts: list[int], blends: list[tuple[int, int]], darkness: list[float],
               n_frames: int) -> ShotTracker:
        """A tracker holding what passes over consecutive ranges of one video saw (cuts, blends
        and the darkness of every frame, in order), ready to :meth:`finish`."""
        tracker = cls(fps)
        tracker.cuts, tracker.blends, tracker.darkness, tracker.n_frames = list(cuts), list(blends), list(darkness), n_frames
        return tracker

    def add(self, index: int, small_bgr: np.ndarray) -> None:
        self.cuts += [int(getattr(c, "frame_num", c)) for c in
                      self._content.process_frame(self._timecode(index, self.fps), small_bgr)]
        grey = cv2.cvtColor(small_bgr, cv2.COLOR_BGR2GRAY)
        self.darkness.append(float(grey.mean()))
        tiny = cv2.resize(grey, _TINY, interpolation=cv2.INTER_AREA).astype(np.float32).ravel()
        self._recent.append(tiny)
        blend = self._blend_ending_here(index)
        if blend is not None:
            self.blends.append(blend)
        self.n_frames = index + 1

    def _blend_ending_here(self, b: int) -> tuple[int, int] | None:
        """The longest run of frames just before ``b`` that blends frame ``a`` into frame ``b``.

        Every candidate start is tested at once from the Gram matrix of the recent frames:
        with ``G = F F'``, the position of frame ``j`` along the line from start ``k`` to the
        end ``e`` is ``(G_je - G_jk - G_ke + G_kk) / |e - k|^2`` and its squared distance
        from ``k`` is ``G_jj - 2 G_jk + G_kk``.
        """
        recent = np.stack(self._recent).astype(np.float64)
        count = len(recent)
        last = count - 1
        starts = np.arange(0, count - 1 - MIN_BLEND_FRAMES)
        if not len(starts):
            return None
        gram = recent @ recent.T
        diag = np.diag(gram)
        to_end = gram[starts, last]
        norm2 = diag[last] - 2 * to_end + diag[starts]
        changed = norm2 / recent.shape[1] >= MIN_BLEND_CHANGE**2
        if not changed.any():
            return None
        starts, to_end, norm2 = starts[changed], to_end[changed], norm2[changed]
        rows = gram[starts]  # rows[k, j] = G_kj
        lam = (gram[:, last][None, :] - rows - to_end[:, None] + diag[starts][:, None]) / norm2[:, None]
        dist2 = diag[None, :] - 2 * rows + diag[starts][:, None]
        off = np.sqrt(np.maximum(dist2 - lam**2 * norm2[:, None], 0) / norm2[:, None])
        j = np.arange(count)[None, :]
        inside = (j > starts[:, None]) & (j < last)
        even = (j - starts[:, None]) / (last - starts[:, None])  # a blend moves from a to b at an even pace
        good = np.where(inside, (off < MAX_OFF_LINE) & (np.abs(lam - even) < MAX_UNEVEN), True).all(axis=1)
        if not good.any():
            return None
        inner = last - int(starts[good].min()) - 1
        return b - inner, b - 1

    def finish(self) -> tuple[list[int], list[Transition]]:
        """Shot starts (frame numbers, the first shot's 0 excluded) and the gradual transitions."""
        ranges: list[list[int]] = []
        for first, last in sorted(self.blends):
            if ranges and first <= ranges[-1][1] + 3:  # overlapping, or a fade out and in around black frames
                ranges[-1][1] = max(ranges[-1][1], last)
            else:
                ranges.append([first, last])
        dark = np.asarray(self.darkness)
        transitions = []
        for first, last in ranges:
            lo, hi = max(first - 1, 0), min(last + 2, len(dark))
            kind = "fade" if (dark[lo:hi] < BLACK_LEVEL).any() else "dissolve"
            transitions.append(Transition(first, last, kind))
        near = [(t.first - 2, t.last + 3) for t in transitions]
        cuts = [c for c in sorted(set(self.cuts)) if not any(lo <= c <= hi for lo, hi in near)]
        starts = sorted(set(cuts) | {(t.first + t.last + 1) // 2 for t in transitions})
        return [s for s in starts if 0 < s < self.n_frames], transitions


def shot_table(starts: list[int], transitions: list[Transition], n_frames: int, fps: float) -> pd.DataFrame:
    """One row per shot: number, first and last frame, times, duration, and how it begins."""
    bounds = [0, *starts, n_frames]
    begins = {(t.first + t.last + 1) // 2: t.kind for t in transitions}
    rows = []
    for number, (first, after) in enumerate(zip(bounds[:-1], bounds[1:]), start=1):
        rows.append(dict(shot=number, first_frame=first, last_frame=after - 1, start=first / fps, end=after / fps,
                         duration=(after - first) / fps, begins_with="start" if first == 0 else begins.get(first, "cut")))
    return pd.DataFrame(rows)


__all__ = ["ShotTracker", "Transition", "shot_table"]

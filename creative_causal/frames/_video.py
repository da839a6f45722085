"""Opening a video safely, reading it once frame by frame, and decoding chosen frames again.

Every frame is decoded (shot detection compares consecutive frames), but only a small copy
is kept for the detectors; a full frame is converted and kept only when it is sampled, and
only until its features are measured. Peak memory is therefore a few frames plus one batch of
sampled frames, whatever the video's length.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..exceptions import FrameError
from ..features import DEFAULT_MAX_PIXELS

#: Containers the FFmpeg backend of OpenCV reads (others are tried too; these are tested).
VIDEO_EXTENSIONS = (".mp4", ".m4v", ".mkv", ".mov", ".avi", ".webm")


@dataclass(frozen=True)
class VideoInfo:
    """What the container says about a video."""

    path: str
    fps: float
    n_frames: int
    width: int
    height: int

    @property
    def duration(self) -> float:
        """Seconds, from the container's frame count (the decoded count may differ)."""
        return self.n_frames / self.fps if self.fps > 0 else 0.0


def open_video(path: str | os.PathLike[str], *, max_pixels: int = DEFAULT_MAX_PIXELS) -> tuple[cv2.VideoCapture, VideoInfo]:
    """Open ``path`` for sequential reading, or raise :class:`FrameError` saying what is wrong."""
    where = Path(path)
    if not where.exists():
        raise FrameError(f"{where}: no such file; check the path.")
    if where.is_dir():
        raise FrameError(f"{where}: is a folder; pass the video files in it (or a list of them).")
    if where.stat().st_size == 0:
        raise FrameError(f"{where}: the file is empty.")
    capture = cv2.VideoCapture(str(where), cv2.CAP_FFMPEG)
    if not capture.isOpened():
        capture.release()
        raise FrameError(f"{where}: is not a video OpenCV's FFmpeg backend can read (a different format, or a damaged "
                         "file); convert it to H.264 in an .mp4 (for example with ffmpeg) and try again.")
    fps = float(capture.get(cv2.CAP_PROP_FPS) or 0.0)
    width, height = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)), int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
    n_frames = max(int(capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0), 0)
    if width <= 0 or height <= 0:
        capture.release()
        raise FrameError(f"{where}: has no video stream (an audio-only file?).")
    if width * height > max_pixels:
        capture.release()
        raise FrameError(f"{where}: frames of {width} x {height} pixels exceed the limit of {max_pixels:,} pixels "
                         "(max_pixels); scale the video down first, or raise max_pixels if you trust the file.")
    if not np.isfinite(fps) or fps <= 0 or fps > 1000:
        capture.release()
        raise FrameError(f"{where}: reports a frame rate of {fps!r}; re-encode it with a constant frame rate.")
    return capture, VideoInfo(str(where), fps, n_frames, width, height)


@dataclass
class Frame:
    """One decoded frame: its number, time, a small grey/colour copy for the detectors and,
    when sampled, the full picture (RGB)."""

    index: int
    time: float
    small: np.ndarray
    rgb: np.ndarray | None


def read_frames(capture: cv2.VideoCapture, info: VideoInfo, sampled: set[int] | int, *, start: int = 0,
                small_width: int = 160) -> Iterator[Frame]:
    """Every frame in order from ``start``; ``rgb`` is filled for frames whose number is a
    multiple of ``sampled`` (an int step, offset by half a step) or in the ``sampled`` set.

    Starting past 0 seeks: OpenCV's FFmpeg backend goes to the key frame before ``start`` and
    decodes forward, so the frames are those of a pass from the beginning; a container where
    the seek lands elsewhere raises :class:`FrameError`.
    """
    step = sampled if isinstance(sampled, int) else 0
    small_size = (small_width, max(2, int(round(small_width * info.height / info.width / 2)) * 2))
    stride = max(1, info.width // (2 * small_width))  # take every stride-th pixel first: area-averaging 1080p is slow
    picked = (info.width // stride, info.height // stride)  # nearest-neighbour resizing picks them, 4x faster than slicing
    index = start
    if start:
        capture.set(cv2.CAP_PROP_POS_FRAMES, start)
        if int(capture.get(cv2.CAP_PROP_POS_FRAMES)) != start:
            raise FrameError(f"{info.path}: cannot seek to frame {start} exactly; read it in one pass "
                             "(chunk_seconds=None).")
    while capture.grab():
        ok, bgr = capture.retrieve()
        if not ok or bgr is None:
            break
        keep = (index % step == step // 2) if step else index in sampled
        every = cv2.resize(bgr, picked, interpolation=cv2.INTER_NEAREST) if stride > 1 else bgr
        small = cv2.resize(every, small_size, interpolation=cv2.INTER_AREA)
        yield Frame(index, index / info.fps, small, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB) if keep else None)
        index += 1


#: A wanted frame at least this many frames past the reader is reached by seeking (to the key
#: frame before it, then decoding forward), not by decoding every frame in between.
SEEK_GAP = 96


def decode_at(path: str | os.PathLike[str], wanted: set[int], *,
              max_pixels: int = DEFAULT_MAX_PIXELS) -> Iterator[tuple[int, float, np.ndarray]]:
    """The ``wanted`` frames of a video again, as (number, seconds, RGB picture), in order.

    Frames between wanted ones are grabbed, not converted; across a gap of :data:`SEEK_GAP`
    frames or more the reader seeks. A seek is trusted only when the reader then stands
    exactly on the frame asked for; otherwise (a container whose seeks land elsewhere) the
    video is opened again and read in order from the start, with no more seeking. Stops at
    the first frame that does not decode.
    """
    capture, info = open_video(path, max_pixels=max_pixels)
    position, seeking = 0, True
    try:
        for target in sorted(wanted):
            if seeking and target - position >= SEEK_GAP:
                capture.set(cv2.CAP_PROP_POS_FRAMES, target)
                if int(capture.get(cv2.CAP_PROP_POS_FRAMES)) == target:
                    position = target
                else:
                    capture.release()
                    capture, info = open_video(path, max_pixels=max_pixels)
                    position, seeking = 0, False
            while position < target and capture.grab():
                position += 1
            ok, bgr = capture.read() if position == target else (False, None)
            if not ok or bgr is None:
                return
            position += 1
            yield target, target / info.fps, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    finally:
        capture.release()


__all__ = ["VideoInfo", "open_video", "read_frames", "decode_at", "Frame", "VIDEO_EXTENSIONS", "SEEK_GAP"]

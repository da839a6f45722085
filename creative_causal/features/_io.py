"""Safe image decoding: one decode per image, at a bounded working resolution, RGB uint8.

The header is read first (Pillow reads it without decoding pixels), so an image over
``max_pixels`` (a decompression bomb) is refused before any pixel is decoded. JPEGs much
larger than the working size are decoded at 1/2, 1/4 or 1/8 scale by libjpeg itself
(OpenCV's IMREAD_REDUCED_COLOR_*), which is several times faster than a full decode.

Native decoders (libjpeg, libpng, libwebp, libtiff) report damage by printing to the
process's standard error, not by failing: a JPEG corrupted mid-stream still decodes, with
wrong pixels. What they print while an image decodes is captured, so it never leaks to the
terminal, and damage makes the image an error row instead of a row of wrong values.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from ..exceptions import ImageReadError

#: Default ceiling on decoded pixels (width x height): 100 megapixels.
DEFAULT_MAX_PIXELS = 100_000_000
#: Images smaller than this on either side are refused: features would be noise.
MIN_SIDE = 16
IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif"})
#: Formats OpenCV does not decode: read with Pillow (the first frame of an animation).
_PILLOW_FORMATS = frozenset({"GIF"})
#: Decoder messages that are not damage: colour-profile notes (common in web PNGs) and
#: unknown TIFF tags. Anything else a decoder prints means the pixels may be wrong.
_HARMLESS = re.compile(r"iCCP|sRGB|cHRM|gAMA|known incorrect|Unknown field with tag|TIFFReadDirectory: Warning",
                       re.IGNORECASE)
_REDUCED = ((8, cv2.IMREAD_REDUCED_COLOR_8), (4, cv2.IMREAD_REDUCED_COLOR_4), (2, cv2.IMREAD_REDUCED_COLOR_2))


@dataclass(frozen=True)
class DecodedImage:
    """An image as every feature reads it.

    Attributes
    ----------
    rgb : ndarray, shape (H, W, 3), uint8
        Colour at the working resolution (longer side at most ``working_size``).
    gray : ndarray, shape (H, W), uint8
        Rec. 601 luma of ``rgb``.
    original_size : (int, int)
        (width, height) of the file.
    cache : dict
        Results that several features share (the face boxes, the text mask), computed once
        per image by whichever feature needs them first.
    """

    rgb: np.ndarray
    gray: np.ndarray
    original_size: tuple[int, int]
    cache: dict = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_array(cls, array: np.ndarray, working_size: int = 512, source: str = "array") -> DecodedImage:
        """Wrap an in-memory RGB/RGBA/gray array (uint8, uint16 or float in [0, 1])."""
        arr = np.asarray(array)
        if arr.ndim == 2:
            arr = np.repeat(arr[:, :, None], 3, axis=2)
        if arr.ndim != 3 or arr.shape[2] not in (3, 4):
            raise ImageReadError(f"{source}: expected an (H, W), (H, W, 3) or (H, W, 4) array, got shape {arr.shape}.")
        arr = arr[:, :, :3]
        if arr.dtype == np.uint16:
            arr = (arr / 257).round().astype(np.uint8)
        elif np.issubdtype(arr.dtype, np.floating):
            if not np.isfinite(arr).all() or arr.min() < 0 or arr.max() > 1:
                raise ImageReadError(f"{source}: float images must lie in [0, 1] without NaN; scale or convert to uint8.")
            arr = (arr * 255).round().astype(np.uint8)
        elif arr.dtype != np.uint8:
            raise ImageReadError(f"{source}: unsupported dtype {arr.dtype}; use uint8, uint16 or float in [0, 1].")
        h, w = arr.shape[:2]
        _check_side(w, h, source)
        rgb = shrink_to_working_size(np.ascontiguousarray(arr), working_size)
        if np.shares_memory(rgb, array):
            rgb = rgb.copy()  # the arrays are frozen below: never freeze the caller's
        return cls._finish(rgb, (w, h))

    @classmethod
    def _finish(cls, rgb: np.ndarray, original: tuple[int, int]) -> DecodedImage:
        gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        rgb.setflags(write=False)
        gray.setflags(write=False)
        return cls(rgb, gray, original)


def shrink_to_working_size(pixels: np.ndarray, working_size: int) -> np.ndarray:
    """Resize so the longer side is at most ``working_size``, as every decoded image is.

    Exact 2 x 2 area halvings while the image is at least twice too large (antialiased, and
    OpenCV's fast path), then bilinear for the last factor, which is below 2: every source
    pixel still contributes, at a fifth of the cost of a fractional area resize (3 ms from
    500 x 750 to 341 x 512 pixels). A 1000 x 1500 JPEG decoded at half scale and the same
    image as a 2000 x 3000 PNG go through the same last step.

    Parameters
    ----------
    pixels : ndarray, shape (H, W) or (H, W, C)
        Any dtype OpenCV resizes (uint8, float32, ...). Images already small enough are
        returned as they are (not copied).
    working_size : int

    Examples
    --------
    >>> import numpy as np
    >>> shrink_to_working_size(np.zeros((1500, 1000, 3), np.uint8), 512).shape
    (512, 341, 3)
    """
    while max(pixels.shape[:2]) >= 2 * working_size and min(pixels.shape[:2]) >= 2:
        pixels = halve(pixels)
    h, w = pixels.shape[:2]
    scale = working_size / max(h, w)
    if scale >= 1:
        return pixels
    return cv2.resize(pixels, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_LINEAR)


def halve(pixels: np.ndarray) -> np.ndarray:
    """Area-average 2 x 2 blocks (an odd last row or column is dropped). OpenCV's area
    resize takes a fast path for exact factors; 341 -> 170 is not one and costs 10x more."""
    h, w = pixels.shape[:2]
    if h < 2 or w < 2:
        return pixels
    return cv2.resize(pixels[:h - h % 2, :w - w % 2], (w // 2, h // 2), interpolation=cv2.INTER_AREA)


def _check_side(w: int, h: int, source: str) -> None:
    if min(w, h) < MIN_SIDE:
        raise ImageReadError(f"{source}: image is {w}x{h} pixels; at least {MIN_SIDE} pixels per side are needed "
                             "for meaningful features.")


def read_header(path: Path) -> tuple[int, int, str]:
    """(width, height, format) from the file header, without decoding pixels."""
    import warnings

    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            # Pillow has its own bomb threshold; ours (max_pixels) decides, with our message
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                return int(im.width), int(im.height), str(im.format or "")
    except Image.DecompressionBombError as exc:
        raise ImageReadError(f"{path}: the image is larger than Pillow will even open ({exc}); possible "
                             "decompression bomb, refused before decoding.") from exc
    except UnidentifiedImageError as exc:
        raise ImageReadError(f"{path}: not an image (unrecognised format). Remove it or convert it to JPEG/PNG.") from exc
    except OSError as exc:
        raise ImageReadError(f"{path}: cannot read the image header ({exc}).") from exc


def decode_file(path: str | os.PathLike[str], working_size: int = 512,
                max_pixels: int = DEFAULT_MAX_PIXELS) -> DecodedImage:
    """Decode an image file safely into a :class:`DecodedImage`.

    Raises
    ------
    ImageReadError
        Missing, unreadable, empty, non-image, truncated or corrupt files, images over
        ``max_pixels`` (refused before decoding) and images under 16 pixels per side, each
        with a message that names the file and what to do.
    """
    path = Path(path)
    if not path.exists():
        raise ImageReadError(f"{path}: file not found.")
    if not os.access(path, os.R_OK):
        raise ImageReadError(f"{path}: permission denied; make the file readable.")
    size = path.stat().st_size
    if size == 0:
        raise ImageReadError(f"{path}: file is empty (0 bytes); re-export it.")
    width, height, fmt = read_header(path)
    if width * height > max_pixels:
        raise ImageReadError(f"{path}: {width}x{height} = {width * height:,} pixels exceeds max_pixels={max_pixels:,} "
                             "(possible decompression bomb); refused before decoding. Raise max_pixels if it is genuine.")
    _check_side(width, height, str(path))
    if fmt in _PILLOW_FORMATS:
        return DecodedImage._finish(shrink_to_working_size(_pillow_rgb(path), working_size), (width, height))
    data = np.fromfile(path, dtype=np.uint8)  # works with unicode names on every platform
    flag = cv2.IMREAD_COLOR
    if fmt == "JPEG":
        for factor, reduced in _REDUCED:
            if max(width, height) / factor >= working_size:
                flag = reduced
                break
    with native_messages() as messages:
        bgr = cv2.imdecode(data, flag)
    damage = [m for m in messages if not _HARMLESS.search(m)]
    if bgr is None:
        said = f" (the decoder said: {damage[0]})" if damage else ""
        raise ImageReadError(f"{path}: the {fmt or 'image'} data could not be decoded (corrupt or truncated file)"
                             f"{said}; re-export it.")
    if damage:
        raise ImageReadError(f"{path}: the {fmt or 'image'} decoder reported damage ({'; '.join(damage[:2])}), so its "
                             "pixels may be wrong; re-export it.")
    # shrink first: colour conversion then touches only the working-size pixels
    return DecodedImage._finish(cv2.cvtColor(shrink_to_working_size(bgr, working_size), cv2.COLOR_BGR2RGB), (width, height))


def _pillow_rgb(path: Path) -> np.ndarray:
    from PIL import Image

    try:
        with Image.open(path) as im:
            im.seek(0)
            return np.ascontiguousarray(np.asarray(im.convert("RGB")))
    except (OSError, ValueError, SyntaxError) as exc:
        raise ImageReadError(f"{path}: the image data could not be decoded ({exc}); re-export it.") from exc


_NATIVE_LOCK = threading.Lock()
_CAPTURE: list[int] = []  # the file descriptor of one unlinked temporary file per process


@contextmanager
def native_messages() -> Iterator[list[str]]:
    """Lines that native code prints on the process's standard error (file descriptor 2)
    inside the block, captured instead of reaching the terminal.

    One block at a time per process (a lock): decoding is a small share of extraction.
    Where file descriptors cannot be redirected the block runs uncaptured.
    """
    found: list[str] = []
    with _NATIVE_LOCK:
        try:
            if not _CAPTURE:
                fd, name = tempfile.mkstemp(prefix="creative_causal_stderr_")
                os.unlink(name)  # nothing is left on disk; the descriptor lives as long as the process
                _CAPTURE.append(fd)
            capture = _CAPTURE[0]
            os.lseek(capture, 0, os.SEEK_SET)
            os.ftruncate(capture, 0)
            sys.stderr.flush()
            saved = os.dup(2)
        except (OSError, ValueError):  # no fd 2 (an embedded interpreter): nothing to capture
            yield found
            return
        try:
            os.dup2(capture, 2)
            yield found
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            size = os.lseek(capture, 0, os.SEEK_END)
            os.lseek(capture, 0, os.SEEK_SET)
            text = os.read(capture, min(size, 1 << 16)).decode("utf-8", errors="replace") if size else ""
            found.extend(line.strip() for line in text.splitlines() if line.strip())

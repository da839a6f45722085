"""Video signals of a sampled frame, beside the image catalog's features: motion, black and
letterboxed frames, and descriptors for near-duplicates and diversity."""

from __future__ import annotations

import cv2
import numpy as np

#: Rows darker than this grey level (0-255), nearly uniform, count as a letterbox bar.
BAR_LEVEL, BAR_SPREAD = 20.0, 6.0
#: Bars must cover at least this share of the height on each side to be cropped.
MIN_BAR = 0.04


def letterbox(rgb: np.ndarray) -> tuple[int, int]:
    """Rows of black bar at the top and at the bottom (0, 0 when there are none or the frame
    is black all over)."""
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)
    dark = (grey.mean(axis=1) < BAR_LEVEL) & (grey.std(axis=1) < BAR_SPREAD)
    if dark.all():
        return 0, 0
    top = int(np.argmin(dark)) if dark[0] else 0
    bottom = int(np.argmin(dark[::-1])) if dark[-1] else 0
    h = len(dark)
    if top < MIN_BAR * h or bottom < MIN_BAR * h:
        return 0, 0
    return top, bottom


def is_black(rgb: np.ndarray, level: float = 16.0) -> bool:
    """Mean grey level below ``level`` (0-255): a black frame or the depth of a fade."""
    return float(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).mean()) < level


def motion(previous_small: np.ndarray, small: np.ndarray) -> tuple[float, float, float, float]:
    """Dense optical flow (Farnebäck) between two consecutive small frames: the camera's
    movement (median flow, in frame widths per frame, horizontally and vertically), the
    zoom (mean radial flow per pixel of radius) and the subject's movement (mean flow
    magnitude apart from the camera's, in frame widths per frame)."""
    a = cv2.cvtColor(previous_small, cv2.COLOR_BGR2GRAY)
    b = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
    flow = cv2.calcOpticalFlowFarneback(a, b, None, 0.5, 3, 15, 3, 5, 1.2, 0)
    h, w = a.shape
    pan = np.median(flow.reshape(-1, 2), axis=0)
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    rx, ry = xs - (w - 1) / 2, ys - (h - 1) / 2
    radius2 = rx**2 + ry**2 + 1e-6
    residual = flow - pan
    zoom = float(((residual[..., 0] * rx + residual[..., 1] * ry) / radius2).mean())
    subject = float(np.linalg.norm(residual - zoom * np.dstack([rx, ry]), axis=2).mean())
    return float(pan[0] / w), float(pan[1] / w), zoom, subject / w


def edge_energy(rgb: np.ndarray) -> tuple[float, float]:
    """Log mean squared Sobel gradient across (x) and along (y) the rows. Motion blur wipes
    out the gradients along its direction, so a blurred frame falls far below its shot in one
    of the two, however sharp its other edges stay."""
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)
    gx = cv2.Sobel(grey, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(grey, cv2.CV_32F, 0, 1, ksize=3)
    return float(np.log1p((gx * gx).mean())), float(np.log1p((gy * gy).mean()))


def dhash(rgb: np.ndarray) -> int:
    """64-bit difference hash: near-duplicate frames differ in few bits."""
    grey = cv2.resize(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), (9, 8), interpolation=cv2.INTER_AREA)
    bits = (grey[:, 1:] > grey[:, :-1]).ravel()
    return int(np.packbits(bits).view(">u8")[0])


def hamming(a: int, b: int) -> int:
    return int(bin(a ^ b).count("1"))


def colour_layout(rgb: np.ndarray, side: int = 8) -> np.ndarray:
    """The frame's colour layout: Lab at ``side`` x ``side``, as a unit vector (cosine
    similarity compares layouts)."""
    lab = cv2.cvtColor(cv2.resize(rgb, (side, side), interpolation=cv2.INTER_AREA), cv2.COLOR_RGB2LAB)
    vector = lab.astype(np.float32).ravel() - 128.0
    return vector / (np.linalg.norm(vector) + 1e-9)


__all__ = ["letterbox", "is_black", "motion", "edge_energy", "dhash", "hamming", "colour_layout"]

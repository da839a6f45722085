"""How good is the face detector on your own art? Precision, recall and average precision."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .._display import ResultMixin, json_safe
from ..exceptions import FeatureError, ImageReadError
from ._extract import collect_images
from ._faces import FaceDetector
from ._io import DEFAULT_MAX_PIXELS, DecodedImage, decode_file


@dataclass(frozen=True)
class DetectorReport(ResultMixin):
    """Face-detection quality against labels.

    With box labels, detections are matched to labelled faces (IoU >= ``iou``, greedily by
    confidence) and precision, recall and average precision (area under the all-point
    interpolated precision-recall curve, as in PASCAL VOC) are over faces. With count
    labels, they are over images ("has a face"), ranked by the highest detection score, and
    ``count_accuracy`` is the share of images whose face count is exact.
    """

    precision: float
    recall: float
    average_precision: float
    count_accuracy: float
    n_images: int
    n_faces: int
    label_kind: str
    per_image: pd.DataFrame

    def to_frame(self) -> pd.DataFrame:
        """One row per image (a copy of ``per_image``)."""
        return self.per_image.copy()

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict of the summary figures and the per-image rows."""
        return json_safe({k: getattr(self, k) for k in ("precision", "recall", "average_precision", "count_accuracy",
                                                        "n_images", "n_faces", "label_kind", "per_image")})

    def _card_title(self) -> str:
        return "Face detector"

    def plot(self, ax: Any = None) -> Any:
        """The four quality figures as bars (0 to 1)."""
        if ax is None:
            import matplotlib.pyplot as plt

            ax = plt.subplots(figsize=(5, 2.4), layout="constrained")[1]
        names = ["precision", "recall", "average precision", "exact counts"]
        values = [self.precision, self.recall, self.average_precision, self.count_accuracy]
        ax.barh(names[::-1], values[::-1], color="#1b6ca8")
        ax.set_xlim(0, 1)
        ax.set_title(f"Face detector on {self.n_images} images", fontsize=9)
        return ax

    def summary(self) -> str:
        return (f"Face detector on {self.n_images} images ({self.n_faces} labelled faces, {self.label_kind} labels): "
                f"precision {self.precision:.3f}, recall {self.recall:.3f}, average precision "
                f"{self.average_precision:.3f}, exact counts {self.count_accuracy:.0%}")


def _iou(a: Sequence[float], b: Sequence[float]) -> float:
    ax1, ay1, ax2, ay2 = a[0], a[1], a[0] + a[2], a[1] + a[3]
    bx1, by1, bx2, by2 = b[0], b[1], b[0] + b[2], b[1] + b[3]
    inter = max(0.0, min(ax2, bx2) - max(ax1, bx1)) * max(0.0, min(ay2, by2) - max(ay1, by1))
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


def average_precision(scores: np.ndarray, hits: np.ndarray, n_positive: int) -> float:
    """All-point interpolated average precision of ranked detections."""
    if n_positive == 0:
        return float("nan")
    order = np.argsort(-scores, kind="stable")
    hits = hits[order].astype(float)
    tp = np.cumsum(hits)
    precision = tp / np.arange(1, len(hits) + 1)
    recall = tp / n_positive
    precision = np.maximum.accumulate(precision[::-1])[::-1] if len(precision) else precision
    steps = np.diff(np.concatenate([[0.0], recall]))
    return float(np.sum(steps * precision))


def evaluate_detector(
    images: Any,
    labels: Mapping[str, int | Sequence[Sequence[float]]],
    *,
    face_detector: Any = "ssd",
    face_threshold: float = 0.5,
    face_model_path: str | None = None,
    iou: float = 0.5,
    working_size: int = 512,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> DetectorReport:
    """Precision, recall and average precision of face detection against your labels.

    Parameters
    ----------
    images : as for :func:`extract_features`
    labels : mapping of image id to a face count, or to a list of face boxes
        ``(x, y, width, height)`` in the original image's pixels. All labels must be of one
        kind. Images without a label are an error (label them 0 if they have no face).
    face_detector, face_threshold, face_model_path : as for :func:`extract_features`
        Detections below the threshold are not counted as faces, but the average precision
        uses every detection the backend returns above a 0.05 floor.
    iou : float, default=0.5
        Overlap needed for a detection to match a labelled box.

    Examples
    --------
    >>> import numpy as np
    >>> fake = lambda rgb: [(10, 10, 40, 40, 0.9)]
    >>> report = evaluate_detector({"a": np.zeros((100, 100, 3), np.uint8)}, {"a": [(10, 10, 40, 40)]},
    ...                            face_detector=fake)
    >>> report.precision, report.recall, report.average_precision
    (1.0, 1.0, 1.0)
    """
    items = collect_images(images)
    kinds = {"count" if isinstance(v, (int, np.integer)) else "boxes" for v in labels.values()}
    if len(kinds) != 1:
        raise FeatureError("labels must all be counts or all be lists of boxes, not a mix.")
    kind = kinds.pop()
    missing = [i for i, _ in items if i not in labels]
    if missing:
        raise FeatureError(f"no label for {len(missing)} images (e.g. {missing[:3]}); label images without a face 0 or [].")
    detector = FaceDetector(face_detector, min(face_threshold, 0.05), face_model_path)
    scores, hits, rows = [], [], []
    n_faces = 0
    for ident, source in items:
        try:
            img = (DecodedImage.from_array(source, working_size, ident) if isinstance(source, np.ndarray)
                   else decode_file(source, working_size, max_pixels))
        except ImageReadError as exc:
            raise FeatureError(f"cannot evaluate on {ident!r}: {exc}") from exc
        boxes = detector(img)
        kept = [b for b in boxes if b[4] >= face_threshold]
        label = labels[ident]
        if kind == "count":
            truth = int(label)
            n_faces += truth
            scores.append(max((b[4] for b in boxes), default=0.0))
            hits.append(truth > 0)
            rows.append((ident, truth, len(kept), (len(kept) > 0) == (truth > 0)))
        else:
            ow, oh = img.original_size
            h, w = img.gray.shape
            sx, sy = w / ow, h / oh
            truth_boxes = [(x * sx, y * sy, bw * sx, bh * sy) for x, y, bw, bh in label]
            n_faces += len(truth_boxes)
            used = set()
            for b in sorted(boxes, key=lambda b: -b[4]):
                best, best_iou = None, iou
                for k, t in enumerate(truth_boxes):
                    overlap = _iou(b, t)
                    if k not in used and overlap >= best_iou:
                        best, best_iou = k, overlap
                if best is not None:
                    used.add(best)
                scores.append(b[4])
                hits.append(best is not None)
            matched = sum(1 for b in kept for t in truth_boxes if _iou(b, t) >= iou)
            rows.append((ident, len(truth_boxes), len(kept), min(matched, len(truth_boxes)) == len(truth_boxes) == len(kept)))
    scores_arr, hits_arr = np.array(scores, dtype=float), np.array(hits, dtype=bool)
    per_image = pd.DataFrame(rows, columns=["artwork_id", "labelled", "detected", "correct"])
    above = scores_arr >= face_threshold
    if kind == "count":
        predicted = per_image["detected"] > 0
        actual = per_image["labelled"] > 0
        tp = int((predicted & actual).sum())
        precision = tp / int(predicted.sum()) if predicted.any() else float("nan")
        recall = tp / int(actual.sum()) if actual.any() else float("nan")
        ap = average_precision(scores_arr, hits_arr, int(actual.sum()))
        count_accuracy = float((per_image["labelled"] == per_image["detected"]).mean())
    else:
        tp = int((hits_arr & above).sum())
        precision = tp / int(above.sum()) if above.any() else float("nan")
        recall = tp / n_faces if n_faces else float("nan")
        ap = average_precision(scores_arr, hits_arr, n_faces)
        count_accuracy = float((per_image["labelled"] == per_image["detected"]).mean())
    return DetectorReport(float(precision), float(recall), ap, count_accuracy, len(items), n_faces, kind, per_image)

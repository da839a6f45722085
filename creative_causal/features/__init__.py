"""Image features: safe decoding, the feature catalog, face detectors, batch extraction.

Knows nothing of graphs or estimators.
"""

from ._evaluate import DetectorReport, average_precision, evaluate_detector
from ._extract import FeatureExtractor, FeatureTable, cluster_artworks, collect_images, extract_features
from ._faces import FaceDetector, detect_faces, face_features, smile_strength, ssd_weight_files
from ._io import DEFAULT_MAX_PIXELS, IMAGE_EXTENSIONS, DecodedImage, decode_file, shrink_to_working_size
from ._landmarks import EYES_OPEN_MIN, TURNED, eye_openness, face_landmarks, face_turn, pose_features
from ._pixels import background_mask, color_features, composition_features, quality_features, spectral_residual_saliency
from ._registry import DEFAULT_GROUPS, GROUPS, FeatureSpec, catalog, register_feature, resolve_features
from ._text import text_features, text_mask

__all__ = ["evaluate_detector", "DetectorReport", "average_precision", "extract_features", "FeatureExtractor",
           "FeatureTable", "cluster_artworks", "collect_images", "FaceDetector", "detect_faces", "face_features",
           "smile_strength", "ssd_weight_files", "face_landmarks", "face_turn", "eye_openness", "pose_features",
           "EYES_OPEN_MIN", "TURNED",
           "text_features", "text_mask", "background_mask", "DecodedImage",
           "decode_file",
           "shrink_to_working_size", "DEFAULT_MAX_PIXELS", "IMAGE_EXTENSIONS", "color_features", "composition_features",
           "quality_features", "spectral_residual_saliency", "register_feature", "resolve_features", "catalog",
           "FeatureSpec", "GROUPS", "DEFAULT_GROUPS"]

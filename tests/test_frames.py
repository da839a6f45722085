"""Frame discovery on rendered films whose every cut, fade, dissolve, blurred, black and
letterboxed frame is known (``datasets.render_video``)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from creative_causal import FrameError, InvalidParameterError
from creative_causal.datasets import render_video
from creative_causal.frames import FrameCandidates, discover_frames

SIZE = (320, 180)


@pytest.fixture(scope="module")
def films(tmp_path_factory):
    folder = tmp_path_factory.mktemp("films")
    return [render_video(folder / f"film{i}.mp4", seconds=10, fps=24, size=SIZE, random_state=200 + i)
            for i in range(4)]


def _cut_scores(found: FrameCandidates, truth) -> tuple[int, int, int]:
    shots = found.shots
    cuts = shots.loc[(shots["begins_with"] == "cut") & (shots["first_frame"] > 0), "first_frame"].to_numpy()
    unmatched = list(truth.cuts)
    hits = 0
    for cut in cuts:
        match = next((t for t in unmatched if abs(t - cut) <= 1), None)
        if match is not None:
            unmatched.remove(match)
            hits += 1
    return hits, len(cuts) - hits, len(unmatched)


def _who(truth, faces: pd.DataFrame) -> list[str | None]:
    """The true character of each detected face (the rendered face holding the detected box's
    centre); None in letterboxed frames, whose boxes are measured inside the bars."""
    return [None if truth.frames.at[f.frame, "letterbox"] else truth.character_at(f.frame, f.x + f.w / 2, f.y + f.h / 2)
            for f in faces.itertuples()]


def test_shots_and_lead_characters_are_found(films):
    """Hard cuts within one frame (F1 at least 0.95 over four films), every fade, and at
    least 80% of dissolves; each shot gets a camera motion and a type. The faces' identity
    clusters are at least 90% pure in every film, and the character with the most screen
    time is ``character_1`` wherever the truth has a lead (a margin of a second or more)."""
    hits = false = missed = 0
    fades = dissolves = found_fades = found_dissolves = 0
    decisive = 0
    for truth in films:
        found = discover_frames(truth.path, sample_fps=2, top=3, progress=False, random_state=0)
        faces = found.faces[found.faces["character"].str.startswith("character_")].copy()
        faces["truth"] = _who(truth, faces)
        faces = faces[faces["truth"].notna()]
        counts = pd.crosstab(faces["character"], faces["truth"])
        assert counts.max(axis=1).sum() / counts.to_numpy().sum() >= 0.9, counts
        seconds = truth.screen_time
        if len(seconds) == 1 or seconds.iloc[0] - seconds.iloc[1] >= 1.0:
            decisive += 1
            assert counts.loc["character_1"].idxmax() == seconds.index[0], (counts, seconds)
        cast = found.characters
        assert cast["character"].tolist() == [f"character_{k}" for k in range(1, len(cast) + 1)]
        assert cast["screen_time"].is_monotonic_decreasing
        frames = found.frames
        assert (frames["n_characters"] == frames["characters"].str.split(",").map(lambda c: len([x for x in c if x]))).all()
        assert frames.loc[frames["lead_character"] != "", "lead_character"].isin(cast["character"]).all()
        h, f, m = _cut_scores(found, truth)
        hits, false, missed = hits + h, false + f, missed + m
        tr = found.transitions
        for (first, last) in truth.fades:
            fades += 1
            found_fades += bool(((tr["kind"] == "fade") & (tr["first_frame"] <= last) & (tr["last_frame"] >= first)).any())
        for (first, last) in truth.dissolves:
            dissolves += 1
            found_dissolves += bool(((tr["first_frame"] <= last) & (tr["last_frame"] >= first)).any())
        assert set(found.shots["camera"]) <= {"static", "pan", "zoom", "unknown (not sampled)"}
        assert set(found.shots["shot_type"]) <= {"close-up", "medium", "wide", "unknown (not sampled)"}
    assert decisive >= 2
    f1 = 2 * hits / (2 * hits + false + missed)
    assert f1 >= 0.95, (hits, false, missed)
    assert found_fades == fades > 0
    assert dissolves == 0 or found_dissolves >= 0.8 * dissolves, (found_dissolves, dissolves)


def _precision_recall(flagged: np.ndarray, actual: np.ndarray) -> tuple[int, int, int]:
    return int((flagged & actual).sum()), int((flagged & ~actual).sum()), int((~flagged & actual).sum())


def test_the_gate_catches_blur_black_and_transitions_and_the_choice_is_clean(films):
    """Every third frame of two films: the blur gate's precision and recall at least 0.9
    (outside transitions and black frames); closed eyes and heads turned away found with
    precision and recall at least 0.9 (sharp frames whose faces are all in view and judged);
    no chosen frame is blurred, black, in a transition, with eyes closed, letterboxed without
    its bars cropped, or a near-duplicate of another."""
    tp = fp = fn = 0
    eyes, turned = np.zeros(3, int), np.zeros(3, int)
    for truth in films[:2]:
        found = discover_frames(truth.path, sample_fps=8, top=6, progress=False)
        frames = found.frames.set_index("frame")
        known = truth.frames
        usable = np.intersect1d(frames.index.to_numpy(),
                                np.flatnonzero(~known["transition"].to_numpy() & ~known["black"].to_numpy()))
        flagged = frames.loc[usable, "reasons"].str.contains("blurred").to_numpy()
        actual = known["blurred"].to_numpy()[usable]
        tp, fp, fn = np.add((tp, fp, fn), _precision_recall(flagged, actual))
        seen = known.loc[frames.index]
        judged = (frames["eye_openness"].notna() & ~seen["blurred"] & ~seen["transition"]
                  & (seen["faces"].map(len) == frames["n_faces"])).to_numpy()
        eyes += _precision_recall(frames["eyes_closed"].to_numpy()[judged], seen["eyes_closed"].to_numpy()[judged])
        turned += _precision_recall(frames["turned_away"].to_numpy()[judged], seen["turned_away"].to_numpy()[judged])
        assert (frames["reasons"].str.contains("eyes closed") == frames["eyes_closed"]).all()
        chosen = found.selected
        assert len(chosen) == 6 and chosen["rank"].tolist() == [1, 2, 3, 4, 5, 6]
        rows = known.loc[chosen["frame"]]
        assert not rows["blurred"].any() and not rows["black"].any() and not rows["transition"].any()
        assert not rows["eyes_closed"].any()
        assert (chosen.groupby("shot").size() <= 2).all()
        codes = chosen["dhash"].to_numpy()
        assert all(bin(int(a) ^ int(b)).count("1") > 6 for i, a in enumerate(codes) for b in codes[i + 1:])
        black = frames[known["black"].to_numpy()[frames.index.to_numpy()]]
        assert black["reasons"].str.contains("black").all()
    assert tp / (tp + fp) >= 0.9 and tp / (tp + fn) >= 0.9, (tp, fp, fn)
    for name, (hit, false, miss) in {"eyes closed": eyes, "turned away": turned}.items():
        assert hit >= 10 and hit / (hit + false) >= 0.9 and hit / (hit + miss) >= 0.9, (name, hit, false, miss)


def test_result_views_and_saved_frames(films, tmp_path):
    truth = films[0]
    found = discover_frames([truth.path, films[1].path], top=5, progress=False)
    assert len(found.videos) == 2 and set(found.frames["video"]) == {"film0", "film1"}
    table = found.to_frame()
    assert {"video", "frame", "time", "shot", "has_face", "sharpness", "reasons", "score", "selected"} <= set(table)
    assert "layout" not in table
    text = found.summary()
    assert "2 video(s)" in text and "#1:" in text
    written = found.save_frames(tmp_path / "stills")
    assert len(written) == 5 and all(p.suffix == ".jpg" and p.stat().st_size > 0 for p in written)
    assert written[0].name.startswith(found.selected["video"].iloc[0] + "_")
    import cv2

    assert cv2.imread(str(written[0])).shape[:2] == (SIZE[1], SIZE[0])  # full resolution, decoded again
    from matplotlib.figure import Figure

    assert found.plot(Figure().add_subplot()).get_title() == "Frame candidates along the video"
    assert found.to_dict()["settings"]["top"] == 5


def test_a_study_lifts_frames_with_the_features_it_found_positive(films):
    """expected_lift = sum of reliable effects x (feature - the video's mean over passing
    frames), with an interval from their standard errors; discoveries that failed a
    refutation and non-discoveries do not count; a frame with a positive feature ranks above
    an otherwise equal frame without it."""
    from types import SimpleNamespace

    effects = pd.DataFrame(dict(feature=["closeup", "smile", "brightness"], effect=[0.01, 0.02, 0.05],
                                std_error=[0.002, 0.001, 0.01], discovery=[True, True, False],
                                refutation=["passed", "failed: placebo", "passed"]))
    study = SimpleNamespace(insights=effects, level=0.9, artworks=pd.DataFrame({"closeup": [0, 0]}))
    found = discover_frames(films[1].path, sample_fps=2, top=4, study=study, progress=False)
    assert found.settings["study"] == {"features": ["closeup"], "level": 0.9, "lacking": []}
    frames = found.frames
    gated = frames["reasons"].str.startswith("near-duplicate") | (frames["reasons"] == "")  # the mean is before duplicates
    passed = frames[gated]
    centred = passed["closeup"] - passed["closeup"].mean()
    np.testing.assert_allclose(passed["expected_lift"], 0.01 * centred, atol=1e-12)
    half = 1.6448536269514722 * 0.002 * centred.abs()
    np.testing.assert_allclose(passed["lift_high"] - passed["expected_lift"], half, atol=1e-12)
    assert frames.loc[~gated, "expected_lift"].isna().all()
    assert (passed.loc[passed["closeup"] == 1, "extrapolated"] == 1).all()  # the study saw no close-up
    assert "expected lift" in found.summary() and "extrapolates" in found.summary()

    from creative_causal.frames._lift import expected_lift
    from creative_causal.frames._rank import check_weights, score

    twins = pd.DataFrame(dict(video="v", sharpness=[0.5, 0.5, 0.2], closeup=[1, 0, 0]))
    lift, _ = expected_lift(twins, np.ones(3, bool), effects)
    table = pd.concat([twins, lift], axis=1)
    scores = score(table, np.ones(3, bool), check_weights({"sharpness": 1.0, "expected_lift": 1.0}, table.columns))
    assert scores[0] > scores[1] > scores[2]
    with pytest.raises(InvalidParameterError, match="effects table lacks"):
        discover_frames(films[1].path, study=pd.DataFrame({"feature": ["closeup"]}), progress=False)


def test_the_contact_sheet_renders_in_headless_chromium(films, tmp_path, screenshot, capsys):
    found = discover_frames([films[0].path, films[1].path], sample_fps=2, top=4, progress=False)
    page = found.to_html(tmp_path / "sheet.html")
    html = page.read_text(encoding="utf-8")
    for section in ("chosen", "shots", "characters", "looks", "rejected", "timeline"):
        assert f'id="{section}"' in html
    assert html.count("data:image/jpeg;base64,") >= 4 + len(found.shots) and "<script" not in html
    assert all(reason.split(";")[0] in html for reason in found.frames["reasons"] if reason.startswith("black"))
    shot, console, version = screenshot(page, (1300, 3000))
    assert console == []
    from PIL import Image

    with Image.open(shot) as im:
        assert len(im.convert("RGB").resize((130, 300)).getcolors(maxcolors=100_000) or []) > 500
    with capsys.disabled():
        print(f"\n[browser test] the contact sheet rendered in {version} without console errors")


def test_chunks_on_a_local_dask_cluster_give_the_one_pass_result(films):
    """Two films cut into chunks of 2.9 s, one task per chunk on a local Dask cluster, merged:
    every frame, shot, transition and character equals a single pass's (a shot that spans a
    chunk boundary comes out whole)."""
    import warnings

    distributed = pytest.importorskip("distributed")
    from creative_causal.frames import FrameDiscoverer

    paths = [films[2].path, films[3].path]
    discoverer = FrameDiscoverer(sample_fps=2, top=3, progress=False, random_state=0)
    one_pass = discoverer.discover(paths)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # distributed's own deprecation and resource warnings
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                      dashboard_address=None) as cluster, distributed.Client(cluster) as client:
            chunked = FrameDiscoverer(sample_fps=2, top=3, chunk_seconds=2.9, executor=client, progress=False,
                                      random_state=0).discover(paths)
    spanning = [(s.video, s.shot) for s in one_pass.shots.itertuples()
                if s.first_frame // 72 != s.last_frame // 72]  # 2.9 s at 24 fps, in whole sampling steps: 72 frames
    assert spanning  # the check below covers shots cut by a chunk boundary
    pd.testing.assert_frame_equal(one_pass.to_frame(), chunked.to_frame())
    pd.testing.assert_frame_equal(one_pass.shots, chunked.shots)
    pd.testing.assert_frame_equal(one_pass.transitions, chunked.transitions)
    pd.testing.assert_frame_equal(one_pass.characters, chunked.characters)
    assert repr(discoverer) == "FrameDiscoverer(top=3, random_state=0, progress=False)"  # the settings that differ
    with pytest.raises(InvalidParameterError):
        FrameDiscoverer(identity="faces")


def test_weights_are_checked_and_change_the_ranking(films):
    truth = films[2]
    faces = discover_frames(truth.path, sample_fps=1, top=3, weights={"has_face": 1.0}, progress=False)
    text = discover_frames(truth.path, sample_fps=1, top=3, weights={"has_face": -1.0}, progress=False)
    assert faces.selected["has_face"].mean() >= text.selected["has_face"].mean()
    with pytest.raises(InvalidParameterError, match="no frame has"):
        discover_frames(truth.path, weights={"beauty": 1.0}, progress=False)


def test_bad_videos_each_say_what_is_wrong_and_a_batch_goes_on(films, tmp_path):
    missing = tmp_path / "missing.mp4"
    text = tmp_path / "notes.mp4"
    text.write_text("not a video at all\n" * 100)
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    for path, message in ((missing, "no such file"), (text, "not a video"), (empty, "empty")):
        with pytest.raises(FrameError, match=message):
            discover_frames(path, progress=False)
    with pytest.raises(FrameError, match="exceed the limit"):
        discover_frames(films[0].path, max_pixels=1000, progress=False)
    batch = discover_frames([missing, films[0].path, text], top=2, progress=False)
    assert len(batch.videos) == 1 and len(batch.errors) == 2
    assert set(batch.errors["kind"]) == {"unreadable video"} and "missing.mp4" in batch.errors["message"].iloc[0]


def test_a_stream_that_breaks_part_way_keeps_what_came_before(tmp_path):
    """An AVI (Motion JPEG) cut off at 60%: the frames before the break are kept and the break
    is reported with where it happened."""
    full = tmp_path / "full.avi"
    import cv2

    writer = cv2.VideoWriter(str(full), cv2.VideoWriter_fourcc(*"MJPG"), 24.0, SIZE)
    rng = np.random.default_rng(0)
    for i in range(96):
        writer.write(np.full((SIZE[1], SIZE[0], 3), (i * 2) % 255, np.uint8) + rng.integers(0, 40, (SIZE[1], SIZE[0], 3),
                                                                                             dtype=np.uint8))
    writer.release()
    broken = tmp_path / "broken.avi"
    data = full.read_bytes()
    broken.write_bytes(data[: int(len(data) * 0.6)])
    found = discover_frames(broken, top=2, progress=False)
    assert 40 <= found.frames["frame"].max() < 90
    if len(found.errors):  # the container may not say how long it was meant to be
        assert found.errors["kind"].iloc[0] == "broken stream" and "decoding stopped at frame" in found.errors[
            "message"].iloc[0]
    # in chunks: the ones past the break fail or stop early, and the frames before it are the same
    chunked = discover_frames(broken, top=2, progress=False, chunk_seconds=1.0)
    pd.testing.assert_frame_equal(chunked.frames[["frame", "reasons"]], found.frames[["frame", "reasons"]])
    assert set(chunked.errors["kind"]) <= {"broken stream"}


def test_render_video_is_reproducible_and_checks_its_arguments(tmp_path):
    a = render_video(tmp_path / "a.mp4", seconds=3, fps=12, size=(160, 96), random_state=5)
    b = render_video(tmp_path / "b.mp4", seconds=3, fps=12, size=(160, 96), random_state=5)
    pd.testing.assert_frame_equal(a.frames, b.frames)
    assert a.cuts == b.cuts and a.n_frames == 36
    with pytest.raises(InvalidParameterError, match="even pixels"):
        render_video(tmp_path / "c.mp4", size=(161, 96))
    with pytest.raises(InvalidParameterError, match="shots"):
        render_video(tmp_path / "d.mp4", seconds=1, fps=10, shots=4)


def test_the_guide_runs_as_written(tmp_path, monkeypatch):
    import re
    from pathlib import Path

    import matplotlib

    matplotlib.use("Agg")
    page = Path(__file__).resolve().parents[1] / "docs" / "frames.md"
    blocks = re.findall(r"```python\n(.*?)```", page.read_text(encoding="utf-8"), re.S)[:2]  # the others need files
    monkeypatch.chdir(tmp_path)
    names = {"__name__": "guide"}
    for block in blocks:  # the walk-through, then the questions asked of its table
        exec(compile(block, "frames guide", "exec"), names)  # noqa: S102
    assert (tmp_path / "sheet.html").stat().st_size > 10_000
    chosen = len(names["found"].selected)
    assert 0 < chosen <= 6 and len(list((tmp_path / "stills").glob("*.jpg"))) == chosen


def test_the_frames_command(films, tmp_path, capsys):
    import json

    from creative_causal.cli import main

    out = tmp_path / "found"
    code = main(["frames", str(films[3].path), str(tmp_path / "missing.mp4"), "-o", str(out), "--top", "3",
                 "--sample-fps", "1", "--json"])
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert len(data["selected"]) == 3 and len(data["errors"]) == 1
    assert (out / "frames.csv").is_file() and (out / "shots.csv").is_file() and len(list((out / "stills").glob("*.jpg"))) == 3
    assert (out / "contact_sheet.html").is_file() and (out / "characters.csv").is_file()
    assert main(["frames", str(tmp_path / "missing.mp4"), "-o", str(tmp_path / "none")]) == 1
    assert "FrameError" in capsys.readouterr().err


def test_closed_eyes_are_judged_against_each_characters_usual_openness():
    """Below the absolute floor always; below half the character's median openness (capped)
    when the character has enough judged frames; the video's median for frames without a
    character; never where the eyes were not judged."""
    from creative_causal.features import EYES_OPEN_MIN
    from creative_causal.frames._signals import MIN_REFERENCE, RELATIVE_CAP, closed_eyes

    wide = [2.0] * MIN_REFERENCE  # a character whose open eyes score high
    frames = pd.DataFrame({
        "video": ["few"] * 3 + ["many"] * (2 * MIN_REFERENCE + 6),
        "lead_character": [""] * 3 + ["character_1"] * (MIN_REFERENCE + 2) + ["character_2"] * (MIN_REFERENCE + 2)
        + ["", ""],
        "eye_openness": [EYES_OPEN_MIN - 0.01, EYES_OPEN_MIN + 0.2, np.nan]
        + wide + [0.8, RELATIVE_CAP + 0.05]  # half of 2.0 is 1.0, capped at RELATIVE_CAP
        + [0.7] * MIN_REFERENCE + [0.3, 0.5]  # below the floor, whatever the character's median
        + [0.6, np.nan]})
    got = closed_eyes(frames).tolist()
    assert got[:3] == [True, False, False]  # too few judged frames: the absolute floor alone
    assert got[3:3 + MIN_REFERENCE] == [False] * MIN_REFERENCE and got[3 + MIN_REFERENCE:5 + MIN_REFERENCE] == [True, False]
    character_2 = got[5 + MIN_REFERENCE:7 + 2 * MIN_REFERENCE]
    assert character_2 == [False] * MIN_REFERENCE + [True, True]
    assert got[-2:] == [False, False]  # the video's median (0.7 and up) halves to below the floor; NaN is never closed


def test_frames_decoded_again_by_seeking_equal_a_pass_in_order(films, monkeypatch):
    """``decode_at`` (the contact sheet's and ``save_frames``' reader) seeks across long gaps
    and still returns exactly the pictures of a pass in order; where a seek lands elsewhere
    it reads from the start instead."""
    from creative_causal.frames import _video

    truth = films[0]
    wanted = {3, 40, 41, 150, truth.n_frames - 1}
    capture, info = _video.open_video(truth.path)
    in_order = {f.index: f.rgb for f in _video.read_frames(capture, info, wanted) if f.rgb is not None}
    capture.release()
    monkeypatch.setattr(_video, "SEEK_GAP", 8)
    sought = {index: rgb for index, _, rgb in _video.decode_at(truth.path, wanted)}
    assert sought.keys() == wanted and all(np.array_equal(sought[i], in_order[i]) for i in wanted)

    class Drifting:
        """A reader whose seeks land one frame late."""

        def __init__(self, capture):
            self.capture = capture

        def set(self, prop, value):
            return self.capture.set(prop, value + 1)

        def __getattr__(self, name):
            return getattr(self.capture, name)

    opened, open_video = [], _video.open_video

    def open_drifting(path, max_pixels):
        capture, info = open_video(path, max_pixels=max_pixels)
        opened.append(Drifting(capture))
        return opened[-1], info

    monkeypatch.setattr(_video, "open_video", open_drifting)
    again = {index: rgb for index, _, rgb in _video.decode_at(truth.path, wanted)}
    assert len(opened) == 2  # the seek was caught and the video read again in order
    assert again.keys() == wanted and all(np.array_equal(again[i], in_order[i]) for i in wanted)

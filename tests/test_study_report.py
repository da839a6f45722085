"""CreativeStudy, StudyResult files, and the HTML/Markdown reports (rendered in Chromium)."""

from __future__ import annotations

import re
from dataclasses import replace

import pandas as pd
import pytest

from creative_causal.datasets import render_posters, simulate_program
from creative_causal.exceptions import OverlapWarning, StudyFileError
from creative_causal.study import CreativeStudy, StudyResult

HOSTILE = "<script>alert('x')</script><img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def program():
    return simulate_program(60, random_state=2)


@pytest.fixture(scope="module")
def result(program, tmp_path_factory):
    posters = tmp_path_factory.mktemp("posters")
    render_posters(program.artworks, posters, size=(100, 150), random_state=0)
    # a warning raised while the study runs is issued once to the caller and kept in the result
    with pytest.warns(OverlapWarning, match="no overlap for 'has_face'"):
        return CreativeStudy(program.ab_results(), program.artworks, treatments=["has_face", "n_faces", "face_area",
                             "brightness", "symmetry"], images=posters, random_state=0).run()


def test_run_collects_every_part(result, program):
    assert list(result.insights["feature"])[:1] == ["has_face"]
    assert {"placebo", "bootstrap"} <= set(result.refutations["test"])
    assert set(result.sensitivity["feature"]) == set(result.insights["feature"])
    assert set(result.mediation["effect"]) >= {"total", "direct", "indirect"}
    # 60 titles: one more face lowers take rate (the interval excludes 0); the share that flows
    # through face size (46% in the simulator) is inside its wide interval, and the verdict follows
    # the intervals: "none" exactly when the indirect effect's interval reaches zero
    # (tests/test_mediation.py pins the partial mediation the simulator put in, at 300 titles)
    effects = result.mediation.set_index("effect")
    assert effects.loc["total", "ci_high"] < 0
    truth = program.truth.mediation["proportion_mediated"].iloc[0]
    assert effects.loc["proportion_mediated", "ci_low"] < truth < effects.loc["proportion_mediated", "ci_high"]
    indirect_is_zero = effects.loc["indirect", "ci_low"] <= 0 <= effects.loc["indirect", "ci_high"]
    assert (result.mediation["verdict"].iloc[0] == "none") == indirect_is_zero
    quality = result.data_quality
    warned = quality[(quality["kind"] == "warning") & (quality["id"] == "OverlapWarning")]
    assert len(warned) == 1 and "has_face" in warned["detail"].iloc[0]
    assert set(result.overlap["feature"]) == {"has_face"}  # overlap is for binary features
    assert result.graph_dot.startswith("digraph")
    assert result.artworks["image"].notna().all()
    assert result.config["treatments"] == list(result.insights["feature"])
    assert "Caveats:" in result.summary()


def test_save_and_load_are_plain_files_and_round_trip(result, tmp_path):
    out = result.save(tmp_path / "study")
    names = {p.name for p in out.iterdir()}
    assert {"insights.csv", "refutations.csv", "graph.dot", "config.json"} <= names
    assert not any(n.endswith((".pkl", ".pickle")) for n in names)
    back = StudyResult.load(out)
    assert back == result
    assert back.insight_table is None
    with pytest.raises(StudyFileError, match="config.json"):
        StudyResult.load(tmp_path)


def test_html_is_self_contained_and_complete(result, tmp_path):
    path = result.to_html(tmp_path / "report.html")
    text = path.read_text(encoding="utf-8")
    assert "<script" not in text and "<link" not in text
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", text)
    assert text.count("data:image/png;base64,") >= 4  # forest, segments, graph, overlap (and mediation)
    assert "data:image/jpeg;base64," in text  # thumbnails
    for heading in ("Executive summary", "Ranked insights", "Examples from the tests", "The causal graph",
                    "Refutation checks", "Sensitivity to unobserved confounding", "Mediation", "Data quality",
                    "Images that failed feature extraction", "If the tests had split adaptively",
                    "The 10 tests where adaptive splitting would have gained most"):
        assert heading in text, heading
    assert "95%" in text
    # a saved and reloaded study gives the same report
    again = StudyResult.load(result.save(tmp_path / "s")).to_html(tmp_path / "again.html").read_text(encoding="utf-8")
    assert _strip_images(again) == _strip_images(text)


def _strip_images(text: str) -> str:
    return re.sub(r"base64,[A-Za-z0-9+/=]+", "base64,", text)


def test_every_string_from_the_data_is_escaped(result, tmp_path):
    insights = result.insights.copy()
    insights.loc[0, "feature"] = HOSTILE
    insights.loc[0, "sentence"] = HOSTILE
    quality = pd.DataFrame([dict(kind=HOSTILE, id=HOSTILE, detail=HOSTILE, excluded_from="analysis")])
    errors = pd.DataFrame([dict(artwork_id=HOSTILE, path=HOSTILE, error="ImageReadError", message=HOSTILE)])
    artworks = result.artworks.copy()
    artworks["artwork_id"] = HOSTILE
    hostile = replace(result, insights=insights, data_quality=quality, feature_errors=errors, artworks=artworks)
    text = hostile.to_html(tmp_path / "hostile.html").read_text(encoding="utf-8")
    assert "<script" not in text and "onerror=alert" not in text.replace("onerror=alert(1)&gt;", "")
    assert re.search(r"&lt;script&gt;alert\((&#39;|&#x27;)x(&#39;|&#x27;)\)&lt;/script&gt;", text)
    md = hostile.to_markdown(tmp_path / "hostile.md").read_text(encoding="utf-8")
    assert "<script" not in md and "&lt;script&gt;" in md


def test_markdown_report_writes_its_figures(result, tmp_path):
    path = result.to_markdown(tmp_path / "report.md")
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# What in the artwork")
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert len(images) >= 4 and all((tmp_path / name).is_file() for name in images)
    assert "| rank | feature |" in text


@pytest.mark.slow
def test_report_renders_in_headless_chromium_without_console_errors(result, tmp_path, capsys, screenshot):
    page = result.to_html(tmp_path / "report.html")
    shot, console, version = screenshot(page, (1200, 3000))
    assert console == []
    assert shot.is_file() and shot.stat().st_size > 50_000
    from PIL import Image

    with Image.open(shot) as im:
        assert im.size == (1200, 3000)
        # the page is drawn: many colours, not a blank or error page
        assert len(im.convert("RGB").resize((120, 300)).getcolors(maxcolors=100_000) or []) > 500
    with capsys.disabled():  # in CI's log, whatever the capture: the browser test ran, and with what
        print(f"\n[browser test] the report rendered in {version} without console errors ({shot.stat().st_size:,} "
              "byte screenshot)")

"""The creative-causal command end to end (in process, and once as a real subprocess)."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd

from creative_causal.cli import main


def test_demo_runs_the_whole_pipeline_and_prints_truth_beside_estimates(tmp_path, capsys):
    """A small fresh programme (the bundled one takes about 2 minutes: see the issue note)."""
    out = tmp_path / "demo"
    assert main(["demo", "-o", str(out), "--titles", "40", "--random-state", "3"]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("Report: ") and "report.html" in captured.out
    assert "beside the simulator's truth" in captured.out and "truth in CI" in captured.out
    for step in ("[1/4]", "[2/4]", "[3/4]", "[4/4]"):
        assert step in captured.err
    for name in ("report.html", "features.parquet", "study/insights.csv", "data/cells.csv", "data/truth.json"):
        assert (out / name).is_file(), name
    assert len(list((out / "posters").glob("*.jpg"))) == len(pd.read_csv(out / "data" / "artworks.csv"))
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "data:image/jpeg;base64," in html  # thumbnails of the rendered posters


def test_demo_json_is_machine_readable(tmp_path, capsys):
    assert main(["demo", "-o", str(tmp_path / "d"), "--titles", "30", "--random-state", "5", "--json", "--n-jobs", "1"]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""  # --json: no progress lines
    data = json.loads(captured.out)
    face = next(r for r in data["effects"] if r["feature"] == "has_face")
    assert face["ci_low"] < face["estimate"] < face["ci_high"] and face["estimate"] > 0
    assert {r["feature"] for r in data["effects"]} >= {"has_face", "brightness", "text_area"}


def test_simulate_with_posters(tmp_path, capsys):
    assert main(["simulate", "-o", str(tmp_path), "--titles", "3", "--random-state", "2", "--posters",
                 "--poster-size", "120", "180", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    posters = sorted((tmp_path / "posters").glob("*.jpg"))
    assert data["files"]["posters"] == str(tmp_path / "posters")
    assert len(posters) == len(pd.read_csv(tmp_path / "artworks.csv"))


def test_simulate_then_validate(tmp_path, capsys):
    assert main(["simulate", "-o", str(tmp_path), "--titles", "40", "--random-state", "3", "--quiet"]) == 0
    assert capsys.readouterr().out == ""
    cells = pd.read_csv(tmp_path / "cells.csv")
    assert cells["test_id"].nunique() == 40
    assert main(["validate", str(tmp_path / "cells.csv")]) == 0
    assert "OK: the file is valid." in capsys.readouterr().out


def test_validate_bad_file_prints_one_line_and_exits_1(tmp_path, capsys):
    bad = pd.DataFrame({"test_id": ["t", "t"], "cell_id": [1, 2], "artwork_id": ["a", "b"],
                        "impressions": [10, 10], "plays": [3, 30]})
    bad.to_csv(tmp_path / "ab.csv", index=False)
    assert main(["validate", str(tmp_path / "ab.csv")]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("ExperimentDataError: ") and "in line 3." in err and "\n" not in err


def test_validate_maps_columns(tmp_path, capsys):
    df = pd.DataFrame({"exp": ["t", "t"], "cell_id": [1, 2], "artwork_id": ["a", "b"], "imps": [10, 10], "plays": [3, 4]})
    df.to_csv(tmp_path / "ab.csv", index=False)
    assert main(["validate", str(tmp_path / "ab.csv"), "--test", "exp", "--impressions", "imps", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["n_cells"] == 2


def test_installed_console_script_runs():
    done = subprocess.run([sys.executable, "-m", "creative_causal.cli", "--version"], capture_output=True, text=True)
    assert done.returncode == 0 and "creative-causal" in done.stdout


def test_extract_analyze_report_from_files(tmp_path, capsys):
    """The shell workflow: images -> features file -> study directory -> reports."""
    from creative_causal.datasets import render_posters, simulate_program

    program = simulate_program(40, seed=4)
    posters = tmp_path / "posters"
    render_posters(program.artworks, posters, size=(160, 240), random_state=0)
    (posters / "broken.jpg").write_bytes(b"not an image")
    ab = tmp_path / "ab.csv"
    program.cells.to_csv(ab, index=False)
    features = tmp_path / "features.parquet"
    assert main(["extract", str(posters), "-o", str(features), "--quiet"]) == 0
    extracted = pd.read_parquet(features)
    assert len(extracted) == len(program.artworks) and "artwork_id" in extracted
    errors = pd.read_csv(tmp_path / "features_errors.csv")
    assert list(errors["artwork_id"]) == ["broken"]
    capsys.readouterr()
    out = tmp_path / "study"
    assert main(["analyze", "--ab", str(ab), "--features", str(features), "--treatment", "has_face", "--treatment",
                 "brightness", "--images", str(posters), "-o", str(out), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert {r["feature"] for r in data["insights"]} == {"has_face", "brightness"}
    assert data["report"].endswith("report.html")
    assert (out / "report.html").is_file() and (out / "insights.csv").is_file()
    assert main(["report", str(out), "--format", "md"]) == 0
    assert (out / "report.md").read_text(encoding="utf-8").startswith("# What in the artwork")
    assert "wrote" in capsys.readouterr().out


def test_analyze_and_report_errors_are_one_line(tmp_path, capsys):
    program_dir = tmp_path / "prog"
    assert main(["simulate", "-o", str(program_dir), "--titles", "20", "--random-state", "1", "--quiet"]) == 0
    assert main(["analyze", "--ab", str(program_dir / "cells.csv"), "--features", str(tmp_path / "nope.parquet"),
                 "-o", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("ExperimentDataError:") and "nope.parquet" in err[0]
    assert main(["analyze", "--ab", str(program_dir / "cells.csv"), "--features", str(program_dir / "artworks.csv"),
                 "--treatment", "has_facee", "-o", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Did you mean 'has_face'" in err[0]
    assert main(["report", str(tmp_path)]) == 1
    assert "config.json" in capsys.readouterr().err

"""The creative-causal command end to end (in process, and once as a real subprocess)."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd

from creative_causal.cli import main


def test_demo_prints_truth_beside_estimates(capsys):
    assert main(["demo"]) == 0
    out = capsys.readouterr()
    assert "has_face" in out.out and "truth" in out.out and "double ML within test" in out.out
    assert out.out.count("covers truth") >= 4
    assert "SampleRatioMismatchWarning" in out.err  # the bundled programme carries injected mismatches


def test_demo_json(capsys):
    assert main(["demo", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    face = next(r for r in data["effects"] if r["feature"] == "has_face")
    assert face["dml_low"] <= face["truth"] <= face["dml_high"]
    assert abs(face["dml"] - face["truth"]) < abs(face["naive"] - face["truth"])
    assert any("SampleRatioMismatchWarning" in w for w in data["warnings"])


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

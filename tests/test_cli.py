"""The creative-causal command end to end (in process, and once as a real subprocess)."""

from __future__ import annotations

import json
import subprocess

import pandas as pd
import pytest

from creative_causal.cli import main


def test_demo_runs_the_whole_pipeline_and_reports_truth_beside_estimates(tmp_path, capsys, monkeypatch):
    """A small fresh programme (the bundled one takes about 2 minutes: see the issue note), run
    once: with --json the command prints one JSON document and no progress; the text it prints
    without --json (the result's summary) and the progress steps are checked on the same run."""
    import creative_causal.demo

    real_run_demo, runs = creative_causal.demo.run_demo, []

    def run_and_keep(output, *, progress, **kwargs):  # the CLI's own call, with the steps recorded
        steps: list[str] = []
        runs.append((real_run_demo(output, progress=steps.append, **kwargs), steps, progress))
        return runs[-1][0]

    monkeypatch.setattr(creative_causal.demo, "run_demo", run_and_keep)
    out = tmp_path / "demo"
    assert main(["demo", "-o", str(out), "--titles", "24", "--random-state", "5", "--json"]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""  # --json: no progress lines
    data = json.loads(captured.out)
    face = next(r for r in data["effects"] if r["feature"] == "has_face")
    assert face["ci_low"] < face["estimate"] < face["ci_high"] and face["estimate"] > 0
    assert {r["feature"] for r in data["effects"]} >= {"has_face", "brightness", "text_area"}

    (result, steps, cli_progress), = runs
    cli_progress("not shown")  # what --json gave the demo: a progress that prints nothing
    assert capsys.readouterr() == ("", "")
    text = result.summary()
    assert text.startswith("Report: ") and "report.html" in text
    assert "beside the simulator's truth" in text and "truth in CI" in text
    for step in ("[1/4]", "[2/4]", "[3/4]", "[4/4]"):
        assert any(line.startswith(step) for line in steps), step
    for name in ("report.html", "features.parquet", "study/insights.csv", "data/cells.csv", "data/truth.json"):
        assert (out / name).is_file(), name
    assert len(list((out / "posters").glob("*.jpg"))) == len(pd.read_csv(out / "data" / "artworks.csv"))
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "data:image/jpeg;base64," in html  # thumbnails of the rendered posters


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


def _console_script() -> str:
    """The installed ``creative-causal`` entry point of this environment (not ``python -m``)."""
    import shutil
    import sysconfig

    script = shutil.which("creative-causal", path=sysconfig.get_path("scripts")) or shutil.which("creative-causal")
    assert script is not None, "the console script is not installed: pip install -e ."
    return script


def test_installed_console_script_runs(tmp_path):
    script = _console_script()
    done = subprocess.run([script, "--version"], capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.startswith("creative-causal ")
    bad = subprocess.run([script, "simulate", "-o", str(tmp_path / "p"), "--titles", "0"], capture_output=True, text=True)
    assert bad.returncode == 1 and bad.stdout == ""
    assert bad.stderr.strip() == "InvalidParameterError: n_titles must be a whole number at least 1; got 0."
    usage = subprocess.run([script, "simulate", "--no-such-option"], capture_output=True, text=True)
    assert usage.returncode == 2 and len(usage.stderr.strip().splitlines()) == 1


def test_extract_analyze_report_from_files(tmp_path, capsys):
    """The shell workflow: images -> features file -> study directory -> reports."""
    from creative_causal.datasets import render_posters, simulate_program

    program = simulate_program(40, random_state=4)
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
    # the saved study ranks the frames of a film: each candidate gets the lift its effects predict
    from creative_causal.datasets import render_video

    film = render_video(tmp_path / "film.mp4", seconds=4, fps=12, size=(192, 108), random_state=1)
    assert main(["frames", str(film.path), "-o", str(tmp_path / "found"), "--study", str(out), "--top", "2", "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert found["contact_sheet"].endswith("contact_sheet.html") and (tmp_path / "found" / "characters.csv").is_file()
    assert {"expected_lift", "lift_low", "lift_high"} <= set(pd.read_csv(tmp_path / "found" / "frames.csv"))


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


def test_bad_argument_values_are_one_line_errors(tmp_path, capsys):
    cases = [
        (["simulate", "-o", str(tmp_path / "a"), "--titles", "-5"], "n_titles must be a whole number at least 1"),
        (["simulate", "-o", str(tmp_path / "a"), "--titles", "3", "--random-state", "-1"], "non-negative"),
        (["simulate", "-o", str(tmp_path / "a"), "--titles", "3", "--posters", "--poster-size", "0", "0"],
         "size must be (width, height)"),
        (["simulate", "-o", str(tmp_path / "a"), "--titles", "3", "--posters", "--n-jobs", "0"], "n_jobs must be"),
        (["demo", "-o", str(tmp_path / "d"), "--titles", "-5"], "at least 20"),
        (["demo", "-o", str(tmp_path / "d"), "--titles", "0"], "at least 20"),  # not a silent 300
        (["demo", "-o", str(tmp_path / "d"), "--n-jobs", "0"], "n_jobs must be"),
    ]
    for argv, fragment in cases:
        assert main(argv) == 1, argv
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("InvalidParameterError: ") and fragment in err[0], (argv, err)


def test_output_paths_are_checked_before_any_work(tmp_path, capsys):
    afile = tmp_path / "a_file"
    afile.write_text("x")
    adir = tmp_path / "a_dir"
    adir.mkdir()
    cases = [
        (["simulate", "-o", str(afile), "--titles", "3"], "is a file"),
        (["demo", "-o", str(afile)], "is a file"),
        (["extract", str(tmp_path), "-o", str(adir)], "is a directory"),
        (["extract", str(tmp_path), "-o", str(afile / "features.parquet")], "is a file"),
        # analyze checks -o before it reads anything: the inputs here do not even exist
        (["analyze", "--ab", "missing.csv", "--features", "missing.parquet", "-o", str(afile)], "is a file"),
        (["report", str(tmp_path), "-o", str(adir)], "is a directory"),
    ]
    for argv, fragment in cases:
        assert main(argv) == 1, argv
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("OutputPathError: ") and fragment in err[0], (argv, err)


def test_an_unexpected_error_is_one_line_that_says_it_is_a_bug(tmp_path, capsys, monkeypatch):
    from creative_causal import cli

    def broken(args):
        from joblib import Parallel, delayed

        # the bug happens in a worker process: its traceback must not reach the terminal either
        return Parallel(n_jobs=2)(delayed(_divide)(x) for x in (1, 0))

    monkeypatch.setitem(cli._COMMANDS, "simulate", broken)
    assert main(["simulate", "-o", str(tmp_path / "x")]) == cli.EXIT_BUG
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "unexpected error, a bug in creative_causal (ZeroDivisionError" in err[0]
    assert "--verbose" in err[0] and "Traceback" not in err[0]
    with pytest.raises(ZeroDivisionError):
        main(["simulate", "-o", str(tmp_path / "x"), "--verbose"])


def _divide(x: int) -> float:
    return 1 / x


def test_analyze_surfaces_what_could_not_be_estimated(tmp_path, capsys):
    """A treatment missing from the graph is refused before the analysis (it used to exit 0 and say
    nothing); a study where nothing can be estimated fails with each reason (it used to crash
    inside the report)."""
    program_dir = tmp_path / "prog"
    assert main(["simulate", "-o", str(program_dir), "--titles", "30", "--random-state", "1", "--quiet"]) == 0
    graph = tmp_path / "graph.dot"
    graph.write_text("digraph { genre -> has_face; has_face -> log_take_rate_ratio; genre -> log_take_rate_ratio }")
    args = ["analyze", "--ab", str(program_dir / "cells.csv"), "--features", str(program_dir / "artworks.csv"),
            "--graph", str(graph), "-o", str(tmp_path / "out")]
    assert main([*args, "--treatment", "brightness"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("GraphError: treatment 'brightness' is not a node of the causal graph")
    typo = tmp_path / "typo.dot"
    typo.write_text("digraph { genre -> has_face; has_face -> log_take_rate_ratoi; genre -> log_take_rate_ratoi }")
    assert main(["analyze", "--ab", str(program_dir / "cells.csv"), "--features", str(program_dir / "artworks.csv"),
                 "--graph", str(typo), "--treatment", "has_face", "-o", str(tmp_path / "out2")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("EstimationError: no feature could be estimated: has_face: not estimated")
    assert "log_take_rate_ratoi" in err[0] and not (tmp_path / "out2" / "report.html").exists()


def test_the_sample_ratio_warning_prints_once(tmp_path, capsys):
    from creative_causal.datasets import simulate_program, write_program

    program = simulate_program(40, srm_share=0.2, srm_size=0.5, random_state=5)
    write_program(program, tmp_path / "prog")
    assert main(["analyze", "--ab", str(tmp_path / "prog" / "cells.csv"), "--features",
                 str(tmp_path / "prog" / "artworks.csv"), "--treatment", "has_face", "--n-simulations", "20",
                 "-o", str(tmp_path / "out")]) == 0
    err = capsys.readouterr().err
    assert err.count("SampleRatioMismatchWarning") == 1, err

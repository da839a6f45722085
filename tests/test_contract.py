"""The argument and result contract, checked across the public API.

- A bad argument value is an InvalidParameterError (a ValueError and a TypeError) whose
  message names the allowed values.
- Names mean one thing everywhere: ``random_state`` (default None), ``level`` (no ``alpha``
  beside it), options keyword-only after the data and the treatment, no ``**kwargs``.
- Every result is a frozen value with to_frame, to_dict, summary, _repr_html_ and plot, and
  prints the interval level it was computed at.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import os
import warnings

import matplotlib
import numpy as np
import pandas as pd
import pytest

import creative_causal as cc
from creative_causal import datasets, estimation, experiments, features, graph, insights, refutation, report, study
from creative_causal.exceptions import CreativeCausalError, InvalidParameterError, UnknownNameError

matplotlib.use("Agg")

PACKAGES = (datasets, experiments, features, graph, estimation, refutation, insights, study, report, cc.demo,
            cc.plotting)


def _public_callables():
    seen = {}
    for module in PACKAGES:
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.isclass(obj):
                for method_name, method in inspect.getmembers(obj, inspect.isfunction):
                    if not method_name.startswith("_") or method_name == "__init__":
                        seen[f"{obj.__module__}.{obj.__qualname__}.{method_name}"] = method
                for method_name, method in inspect.getmembers(obj, inspect.ismethod):  # classmethods
                    if not method_name.startswith("_"):
                        seen[f"{obj.__module__}.{obj.__qualname__}.{method_name}"] = method
            elif callable(obj):
                seen[f"{obj.__module__}.{name}"] = obj
    return seen


PUBLIC = _public_callables()
#: pandas' DataFrame methods come with FeatureTable (a DataFrame subclass): not ours to judge.
OURS = {k: v for k, v in PUBLIC.items() if k.startswith("creative_causal") and not k.startswith(
    "creative_causal.features._extract.FeatureTable.") or k.endswith(("FeatureTable.to_file", "FeatureTable.summary"))}


def test_the_walk_finds_the_api():
    assert len(OURS) > 120
    assert "creative_causal.estimation._estimate.estimate_effect" in OURS


@pytest.mark.parametrize("name", sorted(OURS))
def test_no_kwargs_pass_through_and_random_state_defaults_to_none(name):
    sig = inspect.signature(OURS[name])
    kinds = {p.kind for p in sig.parameters.values()}
    if not name.endswith(".set_params"):  # scikit-learn's estimator contract: set_params(**params)
        assert inspect.Parameter.VAR_KEYWORD not in kinds, f"{name} takes **kwargs"
    params = sig.parameters
    if "random_state" in params:
        assert params["random_state"].default is None or params["random_state"].default is inspect.Parameter.empty, name
    if "level" in params:
        assert "alpha" not in params, f"{name} takes both level and alpha"


#: (function, leading positional parameters): every other option is keyword-only.
KEYWORD_ONLY_AFTER = {
    cc.estimate_effect: 2, cc.estimate_cate: 2, cc.mediation: 3, cc.moderation: 2, cc.overlap: 2, cc.refute: 2,
    cc.sensitivity: 1, cc.discover_insights: 2, cc.extract_features: 1, cc.simulate_program: 1,
    cc.creative_graph: 2, cc.read_ab_results: 1, datasets.render_posters: 2, cc.run_demo: 1,
    experiments.aggregate_impressions: 1, estimation.difference_in_means: 2, cc.ABResults.lifts: 1,
    cc.ABResults.winners: 1, cc.ABResults.take_rates: 1, cc.ABResults.srm: 1,
}


@pytest.mark.parametrize("function, leading", list(KEYWORD_ONLY_AFTER.items()), ids=lambda v: getattr(v, "__name__", ""))
def test_options_are_keyword_only(function, leading):
    params = list(inspect.signature(function).parameters.values())
    positional = [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    assert len(positional) == leading, positional


def test_seed_is_a_deprecated_alias_of_random_state():
    with pytest.warns(FutureWarning, match="random_state"):
        old = cc.simulate_program(20, seed=4)
    new = cc.simulate_program(20, random_state=4)
    pd.testing.assert_frame_equal(old.cells, new.cells)
    with pytest.raises(InvalidParameterError, match="not both"):
        cc.simulate_program(20, seed=4, random_state=4)


@pytest.fixture(scope="module")
def data():
    return cc.simulate_program(80, random_state=3).study_data(check_srm=False)


@pytest.fixture(scope="module")
def estimate(data):
    from sklearn.linear_model import LinearRegression, LogisticRegression

    return cc.estimate_effect(data, "has_face", model_y=LinearRegression(), model_t=LogisticRegression(), level=0.9,
                              random_state=0)


def _bad_calls(data, estimate):
    """(call, message fragment) for bad argument values across the API."""
    program = cc.simulate_program(20, random_state=1)
    return [
        (lambda: cc.estimate_effect(data, "has_face", level=95), "Did you mean 0.95"),
        (lambda: cc.estimate_effect(data, "has_face", level=0), "between 0 and 1"),
        (lambda: cc.estimate_effect(data, "has_face", method="DML"), "method must be one of"),
        (lambda: cc.estimate_effect(data, "has_face", cv=1), "cv must be a whole number at least 2"),
        (lambda: cc.estimate_effect(data, "has_face", random_state=-1), "non-negative"),
        (lambda: cc.estimate_effect(data, "has_face", random_state="zero"), "random_state must be"),
        (lambda: cc.estimate_effect([1, 2], "has_face"), "StudyData"),
        (lambda: cc.estimate_cate(data, "has_face"), "by=[segment columns]"),
        (lambda: cc.estimate_cate(data, "has_face", by="genre", min_tests=0), "min_tests"),
        (lambda: cc.mediation(data, "n_faces", "face_area", n_bootstrap=5), "n_bootstrap"),
        (lambda: cc.overlap(data, "has_face", extreme=2), "extreme"),
        (lambda: cc.overlap(data, "has_face", extreme=0.7), "extreme must be below 0.5"),
        (lambda: cc.refute(estimate, data, tests=[]), "tests is empty"),
        (lambda: cc.discover_insights(data, []), "treatments is empty"),
        (lambda: cc.extract_features({"a": np.zeros((32, 32, 3), np.uint8)}, face_threshold=2), "face_threshold"),
        (lambda: cc.extract_features({"a": np.zeros((32, 32, 3), np.uint8)}, working_size=8), "working_size"),
        (lambda: cc.refute(estimate, data, subset_fraction=1.5), "subset_fraction"),
        (lambda: cc.refute(estimate, data, n_jobs=0), "n_jobs"),
        (lambda: cc.sensitivity(estimate, kd=-1), "kd"),
        (lambda: cc.discover_insights(data, ["has_face"], fdr=2), "fdr"),
        (lambda: cc.discover_insights(data, ["has_face"], correction="bonferroni"), "correction must be one of"),
        (lambda: cc.discover_insights(data, ["has_face"], n_jobs=0), "n_jobs"),
        (lambda: cc.simulate_program(0), "n_titles must be a whole number at least 1"),
        (lambda: cc.simulate_program(-5), "n_titles"),
        (lambda: cc.simulate_program(10, cells_per_test=(3, 2)), "cells_per_test"),
        (lambda: cc.simulate_program(10, srm_share=2), "srm_share"),
        (lambda: cc.simulate_program(10, confounding=-1), "confounding"),
        (lambda: cc.simulate_program(10, effects={"has_face": float("nan")}), "finite"),
        (lambda: cc.simulate_program(10, random_state=-1), "non-negative"),
        (lambda: datasets.render_posters(program.artworks.head(1), "unused", size=(0, 0)), "size must be"),
        (lambda: datasets.render_posters(program.artworks.head(1), "unused", n_jobs=0), "n_jobs"),
        (lambda: cc.extract_features({"a": None}, n_jobs=0), "n_jobs"),
        (lambda: cc.ABResults.from_frame(program.cells, srm_alpha=2), "srm_alpha"),
        (lambda: cc.ABResults.from_frame(program.cells).lifts(level=95), "level"),
        (lambda: cc.ABResults.from_frame("cells.csv"), "DataFrame"),
        (lambda: experiments.aggregate_impressions(pd.DataFrame(), chunk_rows=0), "chunk_rows"),
        (lambda: cc.CreativeStudy(program.ab_results(), program.artworks, fdr=5).run(), "fdr"),
        (lambda: cc.CreativeStudy(program.ab_results(), program.artworks, mediation="yes").run(), "mediation must be"),
        (lambda: cc.run_demo("unused", n_titles=0), "at least 20"),
        (lambda: cc.run_demo("unused", n_titles=-5), "at least 20"),
        (lambda: cc.set_config(native_threads=0), "native_threads"),
        (lambda: experiments.holm([0.1, 0.2], groups=["a"]), "groups"),
        (lambda: experiments.adjust_p_values([0.1], "bonferroni"), "correction must be one of"),
        (lambda: graph.creative_graph(data, "has_face").testable_implications(data, alpha=0), "alpha"),
    ]


def test_bad_arguments_raise_invalid_parameter_errors_that_say_what_is_allowed(data, estimate):
    for call, fragment in _bad_calls(data, estimate):
        with pytest.raises(InvalidParameterError) as info:
            call()
        assert isinstance(info.value, ValueError) and isinstance(info.value, TypeError)
        assert fragment in str(info.value), (fragment, str(info.value))


def test_unknown_names_are_key_errors_with_a_did_you_mean(data):
    program = cc.simulate_program(20, random_state=1)
    for call, fragment in [
        (lambda: program.truth.effect("has_faces"), "Did you mean 'has_face'"),
        (lambda: program.truth.effect("has_face", genre="dramma"), "Did you mean 'drama'"),
        (lambda: cc.estimate_effect(data, "brigthness"), "Did you mean 'brightness'"),
        (lambda: cc.simulate_program(10, effects={"has_faces": 1.0}), "Did you mean 'has_face'"),
        (lambda: data.column("genra"), "Did you mean 'genre'"),
    ]:
        with pytest.raises(UnknownNameError) as info:
            call()
        assert isinstance(info.value, KeyError) and fragment in str(info.value)


def test_everything_raised_on_purpose_is_in_the_tree(data, estimate):
    for call, _ in _bad_calls(data, estimate):
        with pytest.raises(CreativeCausalError):
            call()


@pytest.fixture(scope="module")
def results(data, estimate):
    """One instance of every result class."""
    from sklearn.linear_model import LinearRegression

    fast = dict(model_y=LinearRegression(), model_t=LinearRegression(), random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cc.OverlapWarning)
        # one linear model_t serves a binary and a continuous feature: the partially linear estimand
        found = cc.discover_insights(data, ["has_face", "brightness"], by="genre", n_simulations=20, level=0.9,
                                     estimand="plr", **fast)
        out = {
            "EffectEstimate": estimate,
            "RefutationReport": cc.refute(estimate, data, n_simulations=20, level=0.9, random_state=0),
            "SensitivityResult": cc.sensitivity(estimate),
            "MediationResult": cc.mediation(data, "n_faces", "face_area", n_bootstrap=50, level=0.9, **fast),
            "CATEResult": cc.estimate_cate(data, "has_face", by="genre", level=0.9, estimand="plr", **fast),
            "OverlapDiagnostics": cc.overlap(data, "has_face", model_t=None, random_state=0),
            "InsightTable": found,
            "StudyResult": cc.StudyResult.from_insights(found),
            "ProgramTruth": cc.simulate_program(20, random_state=1).truth,
            "Difference": estimation.difference_in_means([1.0, 2.0, 3.0, 5.0], [0, 1, 0, 1], clusters=[1, 1, 2, 2],
                                                         within=True, level=0.9),
            "AdjustmentSet": graph.creative_graph(data, "has_face").adjustment_set("has_face", data.outcome),
            "DetectorReport": features.evaluate_detector({"a": np.zeros((100, 100, 3), np.uint8)},
                                                         {"a": [(10, 10, 40, 40)]},
                                                         face_detector=lambda rgb: [(10, 10, 40, 40, 0.9)]),
        }
    out["RefutationResult"] = out["RefutationReport"]["placebo"]
    return out


@pytest.mark.parametrize("kind", ["EffectEstimate", "RefutationReport", "RefutationResult", "SensitivityResult",
                                  "MediationResult", "CATEResult", "OverlapDiagnostics", "InsightTable", "StudyResult",
                                  "ProgramTruth", "Difference", "AdjustmentSet", "DetectorReport"])
def test_every_result_is_a_value_with_the_five_views(results, kind):
    import matplotlib.axes
    import matplotlib.pyplot as plt

    result = results[kind]
    assert dataclasses.is_dataclass(result) and result.__dataclass_params__.frozen
    field = dataclasses.fields(result)[0].name
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(result, field, None)
    assert isinstance(result.to_frame(), pd.DataFrame) and len(result.to_frame())
    json.dumps(result.to_dict(), allow_nan=False)  # JSON-safe: no NaN, no numpy scalars
    assert isinstance(result.summary(), str) and str(result) == result.summary()
    html = result._repr_html_()
    assert html.startswith("<p><b>") and "<table" in html
    ax = result.plot()
    assert isinstance(ax, matplotlib.axes.Axes)
    plt.close("all")
    if kind not in ("OverlapDiagnostics", "ProgramTruth", "AdjustmentSet", "DetectorReport"):  # no intervals there
        assert "90%" in result.summary(), result.summary()  # the level asked for, never a hard-coded 95%
        assert "95%" not in result.summary()


def test_report_renders_every_result_and_lists_of_them(results, tmp_path):
    for kind, result in results.items():
        path = cc.report.to_html(result, tmp_path / f"{kind}.html")
        text = path.read_text(encoding="utf-8")
        assert "<script" not in text and "data:image/png;base64," in text, kind
    page = cc.report.to_html([results["EffectEstimate"], results["RefutationReport"]], tmp_path / "both.html")
    text = page.read_text(encoding="utf-8")
    assert "Effect of has_face" in text and "Refutation of has_face" in text and "<details" in text
    with pytest.raises(InvalidParameterError, match="cannot report"):
        cc.report.to_html(object(), tmp_path / "x.html")
    md = cc.report.to_markdown(results["InsightTable"], tmp_path / "insights.md").read_text(encoding="utf-8")
    assert md.startswith("# What in the artwork")


def test_native_thread_pools_are_capped_inside_fits(data):
    """threadpoolctl caps OpenMP (gradient boosting) inside fits: one thread by default, as configured."""
    from threadpoolctl import threadpool_info

    from creative_causal._config import limit_native_threads

    def openmp_threads() -> list[int]:
        return [i["num_threads"] for i in threadpool_info() if i.get("user_api") == "openmp"]

    cc.estimate_effect(data, "has_face", random_state=0)  # loads scikit-learn's OpenMP runtime
    with limit_native_threads():
        assert set(openmp_threads()) == {1}
    with cc.config_context(native_threads=2), limit_native_threads():
        assert set(openmp_threads()) == {2}
    assert cc.get_config() == {"native_threads": 1}


CAPPED = [cc.estimate_effect, cc.estimate_cate, cc.overlap, cc.refute, cc.sensitivity, cc.mediation, cc.moderation,
          cc.discover_insights, graph.testable_implications, cc.extract_features, cc.discover_frames]


@pytest.mark.parametrize("function", CAPPED, ids=lambda f: f.__name__)
def test_every_public_statistic_runs_under_the_thread_cap(function):
    """Each is wrapped by ``native_threads_capped`` (whose wrapper keeps the signature and the
    docstring); the test below checks the cap from inside three of them."""
    from creative_causal._config import native_threads_capped

    assert function.__code__ is native_threads_capped(len).__code__  # the decorator's wrapper
    assert function.__wrapped__.__name__ == function.__name__
    assert inspect.signature(function) == inspect.signature(function.__wrapped__) and function.__doc__


@pytest.mark.parametrize("inner, call", [
    ("creative_causal.graph._implications.partial_correlation", lambda d, e: cc.creative_graph(d).testable_implications(d)),
    ("creative_causal.refutation._sensitivity._partial_r2", lambda d, e: cc.sensitivity(e)),
    ("creative_causal.estimation._estimate.prepare", lambda d, e: cc.estimate_effect(d, "brightness", random_state=0)),
])
def test_blas_is_capped_inside_the_public_statistics(data, monkeypatch, inner, call):
    """BLAS threads on small least-squares fits save nothing and spin when a core is busy (the
    graph's implications ran 3.2x slower): the public functions cap them, not only the fits."""
    import importlib

    from threadpoolctl import threadpool_info

    module_name, name = inner.rsplit(".", 1)
    module = importlib.import_module(module_name)
    real, seen = getattr(module, name), []

    def spy(*args, **kwargs):
        seen.append({i["num_threads"] for i in threadpool_info() if i.get("user_api") == "blas"})
        return real(*args, **kwargs)

    estimate = cc.estimate_effect(data, "has_face", random_state=0)
    monkeypatch.setattr(module, name, spy)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        call(data, estimate)
    assert seen and all(threads == {1} for threads in seen)
    if (os.cpu_count() or 1) > 1:  # and restored afterwards
        assert any(i["num_threads"] > 1 for i in threadpool_info() if i.get("user_api") == "blas")

"""The public surface is under test: names change only on purpose."""

from __future__ import annotations

import subprocess
import sys

import creative_causal
from creative_causal import datasets, exceptions, experiments

TOP_LEVEL = {
    "__version__", "ABResults", "StudyData", "read_ab_results", "simulate_program", "load_demo_program",
    "CreativeCausalError", "ExperimentDataError", "FeatureError", "ImageReadError", "GraphError",
    "IdentificationError", "EstimationError", "NotFittedError", "CreativeCausalWarning",
    "SampleRatioMismatchWarning", "OverlapWarning", "LowPowerWarning", "DataQualityWarning", "GraphWarning",
    "NuisanceWarning", "OffPolicyWarning", "FrameError", "MissingDependencyError",
    "extract_features", "discover_frames", "FeatureExtractor", "CausalGraph", "creative_graph", "estimate_effect",
    "estimate_cate",
    "overlap", "EffectEstimate", "refute", "RefutationReport", "sensitivity", "SensitivityResult", "e_value",
    "mediation", "MediationResult", "moderation", "discover_insights", "InsightTable", "CreativeStudy", "StudyResult",
    "run_demo", "set_config", "get_config", "config_context", "InvalidParameterError", "UnknownNameError",
    "StudyFileError", "OutputPathError",
    "datasets", "experiments", "features", "graph", "estimation", "refutation", "insights", "study", "report",
    "demo", "allocation", "frames", "plotting", "exceptions",
}


def test_top_level_names_are_pinned():
    assert set(creative_causal.__all__) == TOP_LEVEL
    for name in creative_causal.__all__:
        assert getattr(creative_causal, name) is not None


def test_subpackage_names_are_pinned():
    assert set(experiments.__all__) == {"ABResults", "StudyData", "as_study_data", "read_ab_results", "read_table",
                                        "aggregate_impressions", "wilson_interval", "log_take_rate", "log_rate_ratio",
                                        "two_proportion_test", "holm", "adjust_p_values", "CONTINUITY", "LOG_RATIO",
                                        "LOG_RATE", "DIFF_PP", "LOG_OUTCOMES", "iter_log_chunks"}
    assert set(datasets.__all__) == {"simulate_program", "SimulatedProgram", "ProgramTruth", "load_demo_program",
                                     "write_program", "DEMO_ARGS", "DEFAULT_EFFECTS", "FEATURES", "GENRES",
                                     "TRUE_EDGES", "render_poster", "render_posters", "rendered_unit",
                                     "check_poster_size", "render_video", "VideoTruth", "PORTRAITS",
                                     "TURNED_PORTRAITS", "shut_eyes", "observational_sample",
                                     "BenchmarkData", "load_ihdp", "load_acic2016", "load_lalonde",
                                     "load_village_experiment", "load_doubleml_design", "DOUBLEML_DESIGNS"}


def test_graph_and_estimation_names_are_pinned():
    from creative_causal import estimation, features, graph

    assert {"extract_features", "FeatureExtractor", "FeatureTable", "cluster_artworks", "register_feature",
            "FaceDetector", "decode_file", "DecodedImage"} <= set(features.__all__)

    assert set(graph.__all__) == {"CausalGraph", "AdjustmentSet", "creative_graph", "testable_implications",
                                  "partial_correlation", "is_valid_backdoor", "CATALOG_PARENTS", "ARTWORK_STYLE"}
    # what refutation, insights and studies reuse is public here (issue 12: no private imports across packages)
    assert set(estimation.__all__) == {"estimate_effect", "EffectEstimate", "FittedStage", "estimate_cate", "CATEResult",
                                       "segment_effects", "overlap", "OverlapDiagnostics", "mediation", "MediationResult",
                                       "moderation", "Difference", "difference_in_means", "LinearFit", "wls_cluster",
                                       "demean", "group_means", "residualize", "ClusterSums", "bootstrap_counts",
                                       "subset_counts", "fit_dml", "DMLFit", "group_folds", "default_model", "prepare",
                                       "Prepared",
                                       # issue 13: estimands and the nuisance library
                                       "ESTIMANDS", "ESTIMAND_TEXT", "DR_ESTIMANDS", "fit_aipw", "AIPWFit", "DRScores",
                                       "score_parts", "within_test_inputs", "NuisanceDiagnostics", "Nuisance",
                                       "fit_nuisance", "candidates", "PROPENSITY_FLOOR", "RACE_Z", "clustered_z", "is_binary",
                                       "resolve_confounders", "cell_loss"}


def test_trust_layer_names_are_pinned():
    from creative_causal import insights, refutation

    assert set(refutation.__all__) == {"refute", "RefutationReport", "RefutationResult", "TESTS", "QUESTIONS",
                                       "significance", "dowhy_refutations", "sensitivity", "SensitivityResult",
                                       "e_value", "robustness_value", "bias_bound", "benchmark_bounds"}
    from creative_causal import demo, plotting, report, study

    assert set(study.__all__) == {"CreativeStudy", "StudyResult", "DEFAULT_MEDIATION", "executive_summary",
                                  "discoveries", "not_estimated"}
    assert set(report.__all__) == {"to_html", "to_markdown", "render_html", "render_markdown", "markdown_text"}
    assert set(insights.__all__) == {"discover_insights", "InsightTable", "screen_features", "insight_sentence"}
    assert set(demo.__all__) == {"run_demo", "DemoResult", "DEMO_TREATMENTS", "DEMO_LAYOUT_EDGES"}
    assert set(plotting.__all__) == {"interval_plot", "forest_plot", "propensity_plot", "sensitivity_plot",
                                     "histogram_plot", "grouped_graph_plot", "regret_plot", "timeline_plot"}


def test_allocation_names_are_pinned():
    from creative_causal import allocation

    assert set(allocation.__all__) == {
        "Policy", "FixedSplit", "ExploreThenCommit", "EpsilonGreedy", "UCB1", "KLUCB", "Thompson", "TopTwoThompson",
        "POLICIES", "policy_from_dict", "AllocationState", "probability_best", "posterior_draws", "EXACT_BELOW",
        "prior_from_study", "simulate_allocation", "compare_policies", "AllocationResult", "PolicyComparison",
        "true_take_rates", "simulate_impression_log", "evaluate_policy", "PolicyValue", "OffPolicyWarning", "METHODS",
        "Contextual", "replay_tests", "SplitReplay", "pooled_prior_weight"}


def test_estimators_import_econml_lazily():
    code = ("import sys, creative_causal.estimation, creative_causal.graph, creative_causal.refutation, "
            "creative_causal.insights, creative_causal.study, creative_causal.report, creative_causal.demo; "
            "print(sorted(m for m in ('econml', 'dowhy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"


def test_identification_never_imports_dowhy():
    """Back-door sets come from d-separation: DoWhy's identifier (and its front-door search) is not needed."""
    code = ("import sys, creative_causal as cc; g = cc.CausalGraph.from_edges([('z', 't'), ('z', 'y'), ('t', 'y')]); "
            "assert g.adjustment_set('t', 'y').variables == ('z',); print('dowhy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "False"


def test_error_tree_is_rooted_and_matches_builtins():
    for name in exceptions.__all__:
        cls = getattr(exceptions, name)
        root = exceptions.CreativeCausalWarning if name.endswith("Warning") else exceptions.CreativeCausalError
        assert issubclass(cls, root)
    assert issubclass(exceptions.ExperimentDataError, ValueError)
    assert issubclass(exceptions.ImageReadError, OSError)
    assert issubclass(exceptions.NotFittedError, AttributeError)
    assert issubclass(exceptions.InvalidParameterError, ValueError) and issubclass(exceptions.InvalidParameterError,
                                                                                   TypeError)
    assert issubclass(exceptions.UnknownNameError, KeyError)
    assert str(exceptions.UnknownNameError("no such name")) == "no such name"  # not KeyError's quoted repr
    assert issubclass(exceptions.OutputPathError, OSError) and issubclass(exceptions.StudyFileError, ValueError)


def test_unknown_attribute():
    try:
        creative_causal.no_such_name  # noqa: B018
    except AttributeError as exc:
        assert "no_such_name" in str(exc)
    else:  # pragma: no cover
        raise AssertionError("expected AttributeError")


def test_import_is_light():
    """import creative_causal must not import econml, dowhy, cv2 or even pandas."""
    code = ("import sys, creative_causal; "
            "print(sorted(m for m in ('econml', 'dowhy', 'cv2', 'pandas') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"


def test_frames_names_are_pinned():
    from creative_causal import frames

    assert set(frames.__all__) == {"discover_frames", "FrameDiscoverer", "FrameCandidates", "VideoInfo", "open_video",
                                   "DEFAULT_WEIGHTS", "LIFT_WEIGHT", "VIDEO_EXTENSIONS", "time_code", "IdentityModel",
                                   "APPEARANCE", "appearance_descriptor"}

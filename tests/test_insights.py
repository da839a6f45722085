"""discover_insights: false discovery control and power on simulated programmes, engines,
sentences."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from creative_causal import InsightTable, NuisanceWarning, discover_insights, simulate_program
from creative_causal.exceptions import InvalidParameterError, OverlapWarning, UnknownNameError
from creative_causal.experiments import adjust_p_values
from creative_causal.insights import screen_features

REAL = ("has_face", "smile", "brightness", "colorfulness", "text_area")
NULL = ("contrast", "saturation", "warmth", "sharpness", "exposure_clip", "symmetry", "negative_space", "depth_of_field")
#: Five real effects; every other feature's effect is zero, so the eight nulls have no total effect.
EFFECTS = {"has_face": 0.08, "smile": 0.08, "brightness": 0.20, "colorfulness": 0.15, "text_area": -0.6,
           "n_faces": 0.0, "face_area": 0.0, "closeup": 0.0, "face_thirds": 0.0, "sharpness": 0.0, "thirds": 0.0,
           "has_text": 0.0}


def sweep(seed: int, **kwargs):
    program = simulate_program(300, effects=EFFECTS, random_state=seed)
    return program, discover_insights(program.study_data(check_srm=False), [*REAL, *NULL], random_state=seed, **kwargs)


@pytest.fixture(scope="module")
def first():
    return sweep(100, by="genre")


def test_finds_the_real_effects_and_says_so_plainly(first):
    program, found = first
    assert isinstance(found, InsightTable)
    table = found.table.set_index("feature")
    assert set(table.index) == {*REAL, *NULL}
    # text_area (zero for most artwork without text, a jump where has_text switches on) is the
    # feature whose estimate depends most on the treatment model (docs/estimation.md, known
    # limits): its interval must hold the truth; the four others must be found
    assert table.loc[[f for f in REAL if f != "text_area"], "discovery"].all()
    text = table.loc["text_area"]
    assert text["ci_low"] <= program.truth.effect("text_area") <= text["ci_high"]
    assert table["discovery"].iloc[: len(found.discoveries)].all()  # discoveries ranked first
    face = table.loc["has_face"]
    truth = program.truth.effect("has_face")
    assert abs(face["effect"] - truth) < 3 * face["std_error"]
    sentence = face["sentence"]
    assert sentence.startswith("Artwork with a face raises take rate by")
    assert "95% CI" in sentence and "compared with other artwork for the same title" in sentence
    assert "confounder" in sentence
    assert table.loc["brightness", "sentence"].startswith("Raising brightness by one within-test standard deviation")
    assert "raises take rate" in table.loc["brightness", "sentence"]
    null_rows = table.loc[list(NULL)]
    assert null_rows.loc[~null_rows["discovery"], "sentence"].str.contains("no reliable effect").all()
    assert (table["refutation"] == "passed").mean() > 0.8
    assert table["q_value"].between(0, 1).all() and (table["q_value"] >= table["p_value"] - 1e-12).all()


def test_per_segment_breakdown_and_screening(first):
    _, found = first
    seg = found.segments
    assert {"feature", "modifier", "segment", "value", "ci_low", "ci_high"} <= set(seg.columns)
    drama = seg[(seg.feature == "has_face") & (seg.segment == "drama")]["value"].iloc[0]
    documentary = seg[(seg.feature == "has_face") & (seg.segment.str.contains("documentary"))]["value"].iloc[0]
    assert drama > documentary  # the simulator's genre heterogeneity
    screening = found.screening
    assert set(screening["feature"]) == {*REAL, *NULL}
    assert sorted(screening["screen_rank"]) == list(range(1, len(screening) + 1))
    assert screening.set_index("feature").loc["has_face", "screen_rank"] <= 3


@pytest.mark.slow
def test_false_discovery_proportion_and_power_over_replications():
    """Across replications: mean false discovery proportion <= 0.1 and power >= 0.8.

    Linear nuisance models (one linear model_t for binary and continuous features, so the
    partially linear estimand) keep this at 2 s per programme; benchmarks/validate_trust.py
    runs 20 programmes with the default estimands and nuisance library and reports both
    figures.
    """
    from sklearn.linear_model import LinearRegression

    fdp, power = [], []
    for seed in range(201, 209):
        with warnings.catch_warnings():
            # LinearRegression on the ~30 confounders of a feature they do not predict (colorfulness
            # varies within tests by its own noise) does worse than a constant out of fold, and says so
            # with a NuisanceWarning; not what this test measures
            warnings.simplefilter("ignore", NuisanceWarning)
            _, found = sweep(seed, refute=False, estimand="plr", model_y=LinearRegression(), model_t=LinearRegression())
        hits = set(found.discoveries["feature"])
        fdp.append(len(hits & set(NULL)) / max(len(hits), 1))
        power.append(len(hits & set(REAL)) / len(REAL))
    assert np.mean(fdp) <= 0.1, fdp
    assert np.mean(power) >= 0.8, power


def test_holm_is_stricter_than_bh():
    p = np.array([0.001, 0.01, 0.02, 0.04, 0.3])
    bh, holm = adjust_p_values(p, "bh"), adjust_p_values(p, "holm")
    np.testing.assert_allclose(bh, [0.005, 0.025, 1 / 30, 0.05, 0.3])
    np.testing.assert_allclose(holm, [0.005, 0.04, 0.06, 0.08, 0.3])
    from statsmodels.stats.multitest import multipletests

    np.testing.assert_allclose(bh, multipletests(p, method="fdr_bh")[1])
    np.testing.assert_allclose(holm, multipletests(p, method="holm")[1])


def test_features_that_cannot_be_estimated_keep_a_row(first):
    program, _ = first
    frame = program.study_data(check_srm=False).frame
    frame["title_level"] = frame.groupby("test_id")["popularity"].transform("mean")
    from creative_causal import StudyData

    study = StudyData.from_frame(frame, outcome="log_take_rate_ratio", weight="impressions", cluster="test_id",
                                 features=["has_face", "title_level"], covariates=["popularity"], segments=["genre"])
    with pytest.warns(OverlapWarning, match="title_level"):  # raised in the worker, issued once here
        found = discover_insights(study, ["has_face", "title_level"], refute=False, random_state=0)
    row = found.table.set_index("feature").loc["title_level"]
    assert not row["discovery"] and "not estimated" in row["sentence"] and "never varies" in row["sentence"]
    assert found.table.set_index("feature").loc["has_face", "discovery"]


def test_parallel_and_serial_give_the_same_table():
    program = simulate_program(120, effects=EFFECTS, random_state=7)
    data = program.study_data(check_srm=False)
    features = ["has_face", "brightness", "symmetry"]
    serial = discover_insights(data, features, random_state=1, n_simulations=30)
    parallel = discover_insights(data, features, random_state=1, n_simulations=30, n_jobs=2)
    cols = ["feature", "effect", "std_error", "q_value", "refutation", "robustness_value"]
    pd.testing.assert_frame_equal(serial.table[cols], parallel.table[cols])
    # a feature's result does not depend on which other features are tested
    alone = discover_insights(data, ["brightness"], random_state=1, n_simulations=30)
    assert alone.table["effect"].iloc[0] == serial.table.set_index("feature").loc["brightness", "effect"]


@pytest.mark.slow
def test_dask_cluster_gives_the_same_table():
    distributed = pytest.importorskip("distributed")
    program = simulate_program(120, effects=EFFECTS, random_state=7)
    data = program.study_data(check_srm=False)
    features = ["has_face", "symmetry"]
    serial = discover_insights(data, features, random_state=1, n_simulations=30)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        remote = discover_insights(data, features, random_state=1, n_simulations=30, executor=client)
    cols = ["feature", "effect", "std_error", "q_value", "refutation"]
    pd.testing.assert_frame_equal(serial.table[cols], remote.table[cols])


def test_renderings_and_errors(first):
    import matplotlib

    matplotlib.use("Agg")
    program, found = first
    ax = found.plot(truth={f: program.truth.effect(f) for f in (*REAL, *NULL)})
    assert len(ax.get_yticklabels()) == len(REAL) + len(NULL)
    text = found.summary(top=3)
    assert text.splitlines()[0].startswith(f"{len(found.discoveries)} of 13 features")
    assert found.to_dict()["insights"][0]["feature"] == found.table["feature"].iloc[0]
    assert "<table" in found._repr_html_()
    data = program.study_data(check_srm=False)
    with pytest.raises(UnknownNameError, match="Did you mean"):
        discover_insights(data, ["has_facee"])
    with pytest.raises(InvalidParameterError, match="fdr must be a number between 0 and 1"):
        discover_insights(data, ["has_face"], fdr=2)
    assert screen_features(data, ["has_face", "symmetry"], "log_take_rate_ratio").shape[0] == 2

"""estimate_effect, estimate_cate and overlap: references, designs, errors and result objects."""

from __future__ import annotations

import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from sklearn.linear_model import LinearRegression, LogisticRegression

from creative_causal.datasets import simulate_program
from creative_causal.estimation import (
    EffectEstimate,
    estimate_cate,
    estimate_effect,
    overlap,
    wls_cluster,
)
from creative_causal.exceptions import (
    EstimationError,
    IdentificationError,
    InvalidParameterError,
    OverlapWarning,
    UnknownNameError,
)
from creative_causal.graph import creative_graph


@pytest.fixture(scope="module")
def program():
    return simulate_program(300, random_state=31)


@pytest.fixture(scope="module")
def study(program):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return program.study_data()


def test_cluster_robust_errors_match_statsmodels(rng):
    n, g = 600, 60
    groups = rng.integers(0, g, n)
    x = rng.normal(size=(n, 2)) + rng.normal(size=(g, 2))[groups]
    y = x @ [1.0, -0.5] + rng.normal(size=g)[groups] + rng.normal(size=n)
    w = rng.uniform(1, 3, n)
    z = sm.add_constant(x)
    ours = wls_cluster(y, z, w, groups)
    ref = sm.WLS(y, z, weights=w).fit(cov_type="cluster", cov_kwds={"groups": groups})
    np.testing.assert_allclose(ours.coef, ref.params)
    np.testing.assert_allclose(np.sqrt(np.diag(ours.cov)), ref.bse, rtol=1e-10)
    hc1 = sm.WLS(y, z, weights=w).fit(cov_type="HC1")
    np.testing.assert_allclose(np.sqrt(np.diag(ours.cov_unclustered)), hc1.bse, rtol=1e-10)


def test_dml_matches_cross_fitting_written_out_by_hand(study):
    """The reference is double ML written out with scikit-learn and statsmodels, no econml: fit the
    nuisance models on the other folds, predict the held-out fold, regress residual on residual
    with errors clustered by test. Same folds and learners: the same estimate and standard error."""
    from creative_causal.estimation import fit_dml, prepare

    confounders = creative_graph(study, "has_face").adjustment_set("has_face", study.outcome).variables
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OverlapWarning)
        prep = prepare(study, "has_face", study.outcome, confounders, "within_test", "test_id", "impressions")
    ours = fit_dml(prep, model_y=LinearRegression(), model_t=LinearRegression(), cv=4, random_state=5)
    assert all(len(set(prep.codes[train]) & set(prep.codes[test])) == 0 for train, test in ours.folds)
    y_res, t_res = np.empty(prep.n_cells), np.empty(prep.n_cells)
    for train, test in ours.folds:
        for target, out in ((prep.y, y_res), (prep.t, t_res)):
            out[test] = target[test] - LinearRegression().fit(prep.features[train], target[train]).predict(
                prep.features[test])
    reference = sm.WLS(y_res, t_res, weights=prep.weights).fit(cov_type="cluster", cov_kwds={"groups": prep.codes})
    assert float(ours.final.coef[0]) == pytest.approx(float(reference.params[0]), rel=1e-8)
    assert float(np.sqrt(ours.final.cov[0, 0])) == pytest.approx(float(reference.bse[0]), rel=1e-8)


def test_weighted_within_ols_matches_statsmodels_fixed_effects(study):
    est = estimate_effect(study, "has_face", method="ols", confounders=["brightness", "text_area"])
    f = study.frame
    f = f[f.groupby("test_id")["has_face"].transform("nunique") > 1]
    dummies = pd.get_dummies(f["test_id"], dtype=float)
    x = pd.concat([f[["has_face", "brightness", "text_area"]], dummies], axis=1)
    ref = sm.WLS(f["log_take_rate_ratio"], x, weights=f["impressions"]).fit(
        cov_type="cluster", cov_kwds={"groups": f["test_id"].factorize()[0]})
    assert est.value == pytest.approx(ref.params["has_face"], rel=1e-8)
    # statsmodels counts the absorbed test dummies in K of the (N - 1) / (N - K) factor; with fixed
    # effects nested in the clusters we do not (as Stata's xtreg and fixest): the only difference
    n, k_ref, k_ours = len(f), x.shape[1], 3
    assert est.std_error == pytest.approx(ref.bse["has_face"] * np.sqrt((n - k_ref) / (n - k_ours)), rel=1e-8)


def test_naive_pooled_is_the_difference_of_weighted_means(study):
    est = estimate_effect(study, "has_face", method="naive", design="pooled")
    f = study.frame
    w, y, t = f["impressions"], f["log_take_rate"], f["has_face"]
    expected = np.average(y[t == 1], weights=w[t == 1]) - np.average(y[t == 0], weights=w[t == 0])
    assert est.value == pytest.approx(expected)
    assert est.adjustment_set == ()


def test_descendant_is_refused_and_forcing_it_shows_the_bias(program, study):
    """Adjusting for the face's size, a mediator, is refused; forced, it blocks the part of the
    effect that runs through the size, and because a size above zero means a face, the arms no
    longer overlap: the estimate says so (few effective cells) and its standard error grows."""
    g = creative_graph(study, "has_face")
    base = list(g.adjustment_set("has_face", study.outcome).variables)
    with pytest.raises(IdentificationError, match=r"\['face_area'\] is a descendant of 'has_face'.*mediator"):
        estimate_effect(study, "has_face", graph=g, confounders=[*base, "face_area"])
    forced = estimate_effect(study, "has_face", confounders=[*base, "face_area"], random_state=0)
    right = estimate_effect(study, "has_face", graph=g, random_state=0)
    truth = program.truth.effect("has_face")
    assert abs(right.value - truth) < 3 * right.std_error
    assert truth - forced.value > 2 * forced.std_error  # the part through the face's size is blocked
    assert forced.std_error > 2 * right.std_error
    assert any("effective treated cells" in note for note in forced.notes)


def test_plain_tabular_data_without_tests_or_weights(rng):
    n = 2000
    z = rng.normal(size=n)
    t = (z + rng.normal(size=n) > 0).astype(float)
    y = 0.5 * t + np.sin(2 * z) + rng.normal(scale=0.5, size=n)
    df = pd.DataFrame({"y": y, "t": t, "z": z})
    for design in ("pooled",):
        est = estimate_effect(df, "t", outcome="y", design=design, random_state=1)
        assert abs(est.value - 0.5) < 3 * est.std_error
        assert est.n_tests == n and np.isnan(est.pct_change)
    naive = estimate_effect(df, "t", outcome="y", design="pooled", method="naive")
    assert naive.value - 0.5 > 3 * naive.std_error  # z confounds
    with pytest.raises(EstimationError, match="needs a test"):
        estimate_effect(df, "t", outcome="y")


def test_continuous_treatment(program, study):
    est = estimate_effect(study, "brightness", random_state=0)
    assert est.scale == "per unit"
    assert abs(est.value - program.truth.effect("brightness")) < 3.5 * est.std_error


def test_same_seed_same_estimate(study):
    a = estimate_effect(study, "has_face", random_state=3)
    b = estimate_effect(study, "has_face", random_state=3)
    assert a == b


def test_bad_arguments(study):
    """A bad argument is an InvalidParameterError (a ValueError and a TypeError) naming what is allowed."""
    with pytest.raises(InvalidParameterError, match=r"method must be one of \['dml', 'ols', 'naive'\].*Did you mean 'dml'"):
        estimate_effect(study, "has_face", method="dmll")
    with pytest.raises(InvalidParameterError, match="design must be one of"):
        estimate_effect(study, "has_face", design="within")
    with pytest.raises(UnknownNameError, match="Did you mean 'brightness'"):
        estimate_effect(study, "has_face", confounders=["brightnes"])
    with pytest.raises(InvalidParameterError, match="cv must be a whole number at least 2"):
        estimate_effect(study, "has_face", cv=1)
    with pytest.raises(ValueError, match="level must be a number between 0 and 1.*Did you mean 0.95"):
        estimate_effect(study, "has_face", level=95)
    with pytest.raises(UnknownNameError, match="treatment 'has_facee'.*Did you mean 'has_face'"):
        estimate_effect(study, "has_facee")
    with pytest.raises(UnknownNameError, match="segment column"):
        estimate_effect(study, "has_face", by=["genree"])


def test_result_object(study):
    est = estimate_effect(study, "has_face", random_state=0)
    assert isinstance(est, EffectEstimate)
    frame = est.to_frame()
    assert frame.shape[0] == 1 and frame.loc[0, "level"] == 0.95
    assert est.ci_low < est.value < est.ci_high and est.pct_ci_low < est.pct_change < est.pct_ci_high
    text = est.summary()
    assert "95% CI" in text and "clustered by test" in text and "estimand: ate (the average effect" in text
    assert "Nuisance models: outcome model" in text and frame.loc[0, "estimand"] == "ate"
    assert {"outcome_model", "outcome_r2", "propensity_auc", "share_clipped"} <= set(frame.columns)
    plr = estimate_effect(study, "has_face", estimand="plr", random_state=0).summary()
    assert "estimand: plr (the partially linear coefficient" in plr and "tests where has_face does not vary" in plr
    assert "<table" in est._repr_html_() and "Effect of has_face" in est._repr_html_()
    assert est.to_dict()["treatment"] == "has_face"
    ax = est.plot(truth=0.1)
    assert ax.get_xlabel().startswith("effect on")
    plt.close(ax.figure)
    from dataclasses import FrozenInstanceError

    with pytest.raises(FrozenInstanceError):
        est.value = 1.0  # type: ignore[misc]


def test_overlap_trimming_names_the_stratum(program):
    features = program.artworks.copy()
    cells = program.cells.set_index("artwork_id")
    documentary = cells.loc[features.index, "genre"].to_numpy() == "documentary"
    features.loc[documentary, "has_face"] = 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        study = program.ab_results().join(features)
    with pytest.warns(OverlapWarning, match="genre=documentary"):
        est = estimate_effect(study, "has_face", design="pooled", method="ols")
    assert "genre=documentary" in est.population
    with pytest.warns(OverlapWarning, match="genre=documentary"):
        est = estimate_effect(study, "has_face", method="ols")
    assert "excluding genre=documentary" in est.population


def test_overlap_diagnostics(study):
    diag = overlap(study, "has_face", model_t=LogisticRegression(max_iter=500), random_state=0)
    assert diag.cells["propensity"].between(0, 1).all()
    assert set(diag.by_segment["segment"]) == {"genre", "country"}
    assert diag.by_segment["overlap"].all()
    assert diag.ess_treated > 0 and "effective sample size" in diag.summary()
    ax = diag.plot()
    plt.close(ax.figure)
    with pytest.raises(EstimationError, match="binary"):
        overlap(study, "brightness")


def test_cate_by_genre_and_moderation(program, study):
    cate = estimate_cate(study, "has_face", by=["genre"], random_state=0)
    truth = program.truth.by_genre.query("feature == 'has_face'").set_index("genre")["effect"]
    table = cate.table.set_index("segment")
    assert table.loc["drama", "value"] > 0.1 and table.loc["documentary", "value"] < 0.07
    covered = [(table.loc[g, "ci_low"] <= truth[g] <= table.loc[g, "ci_high"]) for g in table.index if g in truth]
    assert np.mean(covered) >= 5 / 7
    mod = cate.moderation.set_index("modifier").loc["genre"]
    assert mod["p_value"] < 0.01 and "moderates" in mod["verdict"]
    ax = cate.plot(truth=truth.to_dict())
    plt.close(ax.figure)


def test_cate_merges_small_segments_and_tests_continuous_modifiers(study):
    cate = estimate_cate(study, "has_face", by=["country"], modifiers=["popularity"], min_tests=25, random_state=0)
    merged = cate.table[cate.table["segment"].str.startswith("other: ")]
    assert len(merged) == 1 and "merged" in merged["flagged"].iloc[0]
    # nothing silently dropped: the country segments (small ones merged) hold every cell the estimate uses
    country = cate.table[cate.table["modifier"] == "country"]
    assert country["n_cells"].sum() == estimate_effect(study, "has_face", random_state=0).n_cells
    assert set(country["segment"]) - {merged["segment"].iloc[0]} <= set(study.frame["country"])
    assert set(cate.moderation["modifier"]) == {"country", "popularity"}
    assert "per SD" in set(cate.table["segment"])


def test_cate_forest_option(study):
    cate = estimate_cate(study, "has_face", modifiers=["popularity"], method="forest", random_state=0)
    assert len(cate.table) == 4 and cate.method == "econml CausalForestDML"
    assert (cate.table["ci_low"] < cate.table["value"]).all()

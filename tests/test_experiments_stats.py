"""Take rates, intervals, lifts, winners, sample-ratio checks, impression logs and the join."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportion_confint, proportions_ztest

from creative_causal import ABResults, DataQualityWarning, ExperimentDataError, SampleRatioMismatchWarning
from creative_causal.datasets import simulate_program
from creative_causal.experiments import holm, log_take_rate, wilson_interval


@pytest.mark.parametrize("level", [0.8, 0.95, 0.99])
def test_wilson_matches_statsmodels(rng, level):
    n = rng.integers(1, 100_000, size=200)
    x = rng.binomial(n, rng.uniform(0, 1, size=200))
    x[:3], n[:3] = [0, 5, 7], [10, 5, 7]  # edge cases: zero and all successes
    low, high = wilson_interval(x, n, level=level)
    ref_low, ref_high = proportion_confint(x, n, alpha=1 - level, method="wilson")
    np.testing.assert_allclose(low, ref_low, atol=1e-12)
    np.testing.assert_allclose(high, ref_high, atol=1e-12)


def test_holm_matches_statsmodels(rng):
    p = rng.uniform(size=30) ** 4
    np.testing.assert_allclose(holm(p), multipletests(p, method="holm")[1])


def test_take_rates_and_title_adjusted_outcomes(cells):
    rates = ABResults.from_frame(cells).take_rates()
    t1 = cells.iloc[:3]
    pooled = (t1.plays.sum() + 0.5) / (t1.impressions.sum() + 1)
    expected = np.log((t1.plays + 0.5) / (t1.impressions + 1)) - np.log(pooled)
    np.testing.assert_allclose(rates["log_take_rate_ratio"].iloc[:3], expected)
    np.testing.assert_allclose(rates["take_rate_diff_pp"].iloc[:3],
                               100 * (t1.plays / t1.impressions - t1.plays.sum() / t1.impressions.sum()))
    assert rates.loc[5, "log_take_rate_ratio"] == pytest.approx(0.0)  # a single-cell test is its own mean
    assert (rates["level"] == 0.95).all() and (rates["ci_low"] < rates["take_rate"]).all()


def test_continuity_correction_keeps_zero_plays_finite():
    assert np.isfinite(log_take_rate(0, 10))


def test_lifts_against_rest_of_test_match_statsmodels(cells):
    lifts = ABResults.from_frame(cells).lifts()
    row = lifts.iloc[1]  # cell 2 of t1 against cells 1 and 3 pooled
    rest_x, rest_n = 500 + 480, 10_000 + 9_950
    assert row["baseline"] == "rest of test"
    assert row["lift"] == pytest.approx((560.5 / 10_101) / ((rest_x + 0.5) / (rest_n + 1)) - 1)
    _, p = proportions_ztest([560, rest_x], [10_100, rest_n])
    assert row["p_value"] == pytest.approx(p)
    t1 = lifts.iloc[:3]
    np.testing.assert_allclose(t1["p_holm"], multipletests(t1["p_value"], method="holm")[1])
    single = lifts.iloc[5]
    assert single["baseline"] == "single-cell test" and np.isnan(single["lift"])
    assert (lifts["lift_low"].dropna() < lifts["lift"].dropna()).all()


def test_lifts_against_control(cells):
    ab = ABResults.from_frame(cells.assign(is_control=[1, 0, 0, 1, 0, 1]))
    lifts = ab.lifts()
    assert lifts.loc[0, "baseline"] == "is the control" and np.isnan(lifts.loc[0, "lift"])
    assert lifts.loc[1, "lift"] == pytest.approx((560.5 / 10_101) / (500.5 / 10_001) - 1)
    _, p = proportions_ztest([260, 200], [5_050, 5_000])
    assert lifts.loc[4, "p_value"] == pytest.approx(p)
    winners = ab.winners()
    assert winners["winner_cell"].tolist() == ["2", "2", "1"]
    assert winners.set_index("test_id").loc["t2", "confident"]  # 5.1% vs 4.0% on 5 000 impressions each
    assert not winners.set_index("test_id").loc["t3", "confident"]


def test_srm_flags_injected_mismatch_and_not_clean_tests():
    program = simulate_program(200, srm_share=0.1, srm_size=0.15, random_state=3)
    with pytest.warns(SampleRatioMismatchWarning, match="sample-ratio mismatch: AB-") as record:
        ab = program.ab_results()
    table = ab.srm(warn=False).set_index("test_id")
    injected = program.titles.set_index("test_id")["injected_srm"]
    flagged = table["mismatch"]
    assert flagged[injected].mean() >= 0.9  # power on a 15% under-allocation
    assert not flagged[~injected].any()  # no false alarm among clean tests
    assert str(record[0].message).count("AB-") >= int(flagged.sum()) or "more" in str(record[0].message)


def test_srm_false_alarm_rate_on_clean_programmes():
    """Holm across tests keeps the programme-wide false-alarm rate under srm_alpha (1%)."""
    alarms = 0
    for seed in range(30):
        with warnings.catch_warnings():
            warnings.simplefilter("error", SampleRatioMismatchWarning)
            try:
                simulate_program(150, random_state=seed).ab_results()
            except SampleRatioMismatchWarning:
                alarms += 1
    assert alarms <= 2  # expected 0.3 alarms at 1%; 3 or more has probability < 0.4%


def test_srm_uses_planned_allocation(cells):
    skewed = cells.copy()
    skewed.loc[:2, "impressions"] = [20_000, 5_000, 5_000]
    skewed.loc[:2, "plays"] = [900, 250, 250]
    with pytest.warns(SampleRatioMismatchWarning, match="t1"):
        ABResults.from_frame(skewed)
    planned = skewed.assign(planned_share=[4, 1, 1, 1, 1, 1])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        table = ABResults.from_frame(planned).srm()
    assert table.set_index("test_id").loc["t1", "allocation"] == "planned"


def test_from_impressions_matches_cell_counts(tmp_path, rng):
    cells = pd.DataFrame({"test_id": ["t1"] * 3 + ["t2"] * 2, "cell_id": [1, 2, 3, 1, 2],
                          "artwork_id": list("abcde"), "impressions": [500, 520, 480, 300, 310],
                          "genre": ["drama"] * 3 + ["kids"] * 2})
    cells["plays"] = rng.binomial(cells["impressions"], 0.1)
    log = cells.loc[cells.index.repeat(cells["impressions"])].reset_index(drop=True)
    played = np.concatenate([np.r_[np.ones(p), np.zeros(n - p)] for p, n in zip(cells.plays, cells.impressions)])
    log = log.drop(columns=["impressions", "plays"]).assign(played=played.astype(int))
    log["member_id"] = rng.integers(0, 1_000, size=len(log))
    log = log.sample(frac=1.0, random_state=0).reset_index(drop=True)
    log.to_parquet(tmp_path / "log.parquet", row_group_size=200)
    from_log = ABResults.from_impressions(tmp_path / "log.parquet", chunk_rows=97, member="member_id",
                                          covariates=["genre"])
    direct = ABResults.from_frame(cells)
    got = from_log.to_frame().sort_values(["test_id", "cell_id"]).reset_index(drop=True)
    want = direct.to_frame().sort_values(["test_id", "cell_id"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(got[want.columns], want)
    crossover = from_log.report().query("kind == 'members_in_several_cells'")
    assert len(crossover) == 1  # random member ids repeat across cells: contamination is reported


def test_from_impressions_bad_played_flag():
    log = pd.DataFrame({"test_id": ["t"] * 3, "cell_id": [1, 2, 2], "artwork_id": list("abb"), "played": [0, 2, 1]})
    with pytest.raises(ExperimentDataError, match=r"'played' is not a 0/1 played flag in row 1 "):
        ABResults.from_impressions(log)


def test_join_counts_every_exclusion(cells):
    ab = ABResults.from_frame(cells)
    features = pd.DataFrame({"has_face": [1, 0, 1, 0, np.nan, 1, 1], "brightness": [.2, .3, .4, .5, .6, .7, .8],
                             "style": list("xyzxyzx")}, index=list("abcdefz"))
    with pytest.warns(DataQualityWarning, match="left out"):
        study = ab.join(features)
    kinds = study.exclusions.groupby("kind")["id"].apply(list).to_dict()
    assert kinds["missing_feature_values"] == ["e"]
    assert kinds["features_without_cells"] == ["z"]
    assert kinds["non_numeric_feature"] == ["style"]
    assert sorted(kinds["single_cell_test"]) == ["t2", "t3"]  # t2 lost artwork e
    assert study.features == ("has_face", "brightness")
    assert study.n_units == 5 and study.frame["in_within_test"].sum() == 3
    assert list(study.informative_clusters("has_face")) == ["t1"]


def test_join_rejects_duplicate_and_clashing_features(cells):
    ab = ABResults.from_frame(cells)
    with pytest.raises(ExperimentDataError, match="repeat an artwork id"):
        ab.join(pd.DataFrame({"x": [1, 2]}, index=["a", "a"]))
    with pytest.raises(ExperimentDataError, match=r"\['genre'\] also exist"):
        ab.join(pd.DataFrame({"genre": [1.0]}, index=["a"]))


def test_join_accepts_an_artwork_column(cells):
    feats = pd.DataFrame({"artwork_id": list("abcdef"), "has_face": [1, 0, 1, 0, 1, 1]})
    study = ABResults.from_frame(cells).join(feats)
    assert study.n_units == 6 and study.outcome == "log_take_rate_ratio" and study.cluster == "test_id"

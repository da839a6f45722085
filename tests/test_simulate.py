"""The simulator: determinism, realism, knobs, ground truth and the bundled data."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from creative_causal import ABResults, InvalidParameterError, UnknownNameError
from creative_causal.datasets import (
    DEFAULT_EFFECTS,
    FEATURES,
    GENRES,
    load_demo_program,
    observational_sample,
    simulate_program,
    write_program,
)
from creative_causal.estimation import difference_in_means

ROOT = Path(__file__).resolve().parents[1]


def test_same_seed_same_data_and_global_rng_untouched():
    np.random.seed(123)
    before = np.random.random()
    np.random.seed(123)
    a = simulate_program(80, random_state=5)
    assert np.random.random() == before  # the global RNG was not consumed
    b = simulate_program(80, random_state=5)
    pd.testing.assert_frame_equal(a.cells, b.cells)
    pd.testing.assert_frame_equal(a.artworks, b.artworks)
    pd.testing.assert_frame_equal(a.truth.effects, b.truth.effects)
    assert not simulate_program(80, random_state=6).cells.equals(a.cells)


def test_seed_is_recorded_when_not_given():
    p = simulate_program(20)
    again = simulate_program(20, random_state=p.config["random_state"])
    pd.testing.assert_frame_equal(p.cells, again.cells)


def test_cells_load_without_error_and_features_follow_the_catalog(program):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ab = ABResults.from_frame(program.cells)
    assert ab.n_tests == 300 and ab.has_control and set(ab.covariates) == {"genre", "country", "popularity"}
    art = program.artworks
    assert tuple(art.columns) == FEATURES and art.index.name == "artwork_id"
    assert set(program.cells["genre"]) == set(GENRES)
    sizes = program.cells.groupby("test_id").size()
    assert sizes.min() == 2 and sizes.max() == 6
    for col in ("has_face", "closeup", "has_text"):
        assert set(art[col].unique()) <= {0, 1}
    assert (art["n_faces"] >= 0).all() and (art["n_faces"] == art["n_faces"].round()).all()
    assert art.drop(columns=["n_faces", "warmth"]).apply(lambda c: c.between(0, 1).all()).all()
    assert art["warmth"].between(-1, 1).all()
    faceless = art["has_face"] == 0
    assert (art.loc[faceless, ["n_faces", "face_area", "closeup", "face_thirds", "smile"]] == 0).all().all()
    assert ((art["face_area"] >= 0.05) == (art["closeup"] == 1)).all()
    assert ((art["text_area"] >= 0.01) == (art["has_text"] == 1)).all()
    rates = program.cells["plays"] / program.cells["impressions"]
    assert 0.01 < rates.median() < 0.15  # realistic take rates


def test_realistic_dependence(program):
    art = program.artworks.join(program.cells.set_index("artwork_id")[["genre", "test_id"]])
    by_genre = art.groupby("genre")["has_face"].mean()
    assert by_genre["documentary"] < by_genre["drama"] - 0.2  # genre drives faces
    assert art.groupby("genre")["brightness"].mean().idxmin() == "horror"  # and darkness
    faces = art[art["has_face"] == 1]
    assert faces.groupby("n_faces")["face_area"].median().is_monotonic_decreasing  # more faces, smaller faces
    # artworks of one title share a style: most brightness variance lies between titles
    within = art.groupby("test_id")["brightness"].var().mean()
    assert within < 0.6 * art["brightness"].var()
    # within a title, art with faces is brighter and carries less text
    cols = ["has_face", "brightness", "text_area"]
    demeaned = art[cols] - art.groupby("test_id")[cols].transform("mean")
    assert demeaned["has_face"].corr(demeaned["brightness"]) > 0.05
    assert demeaned["has_face"].corr(demeaned["text_area"]) < -0.05


def test_truth_matches_structural_coefficients_where_no_descendant_intervenes():
    p = simulate_program(100, random_state=2, heterogeneity=0.0)
    eff = p.truth.effects.set_index("feature")
    for name in ("brightness", "colorfulness", "smile", "sharpness", "symmetry"):
        assert eff.loc[name, "effect"] == pytest.approx(DEFAULT_EFFECTS[name], abs=1e-9)
    assert eff.loc["closeup", "effect"] == pytest.approx(DEFAULT_EFFECTS["closeup"])
    # the face effect is the direct effect plus what flows through the face features
    face = p.artworks["has_face"] == 1
    through = sum(DEFAULT_EFFECTS[f] * p.artworks.loc[face, f].mean() for f in ("n_faces", "face_thirds", "smile"))
    assert eff.loc["has_face", "effect"] > DEFAULT_EFFECTS["has_face"] + through  # plus face_area and closeup


def test_effects_can_be_set_to_zero_and_heterogeneity_off():
    p = simulate_program(100, random_state=4, effects={name: 0.0 for name in DEFAULT_EFFECTS})
    assert np.allclose(p.truth.effects["effect"], 0.0)
    flat = simulate_program(100, random_state=4, heterogeneity=0.0, effects={"n_faces": 0, "face_area": 0, "closeup": 0,
                                                                       "face_thirds": 0, "smile": 0})
    assert np.allclose(flat.truth.by_genre.query("feature == 'has_face'")["effect"], DEFAULT_EFFECTS["has_face"])


def test_heterogeneity_puts_face_effect_positive_in_drama_and_not_in_documentary(program):
    drama = program.truth.effect("has_face", genre="drama")
    documentary = program.truth.effect("has_face", genre="documentary")
    assert drama > 0.1 and documentary < 0.02


def test_mediation_truth_has_direct_and_indirect_parts(program):
    row = program.truth.mediation.iloc[0]
    # the total is the effect of one more face, computed by a separate intervention for the effects table
    assert row["total"] == pytest.approx(program.truth.effect("n_faces"), rel=1e-12)
    # holding the face's size (and so closeup) fixed leaves only the structural coefficient of n_faces
    assert row["direct"] == pytest.approx(DEFAULT_EFFECTS["n_faces"], abs=1e-12)
    assert row["direct"] < 0 and row["indirect"] < 0  # more faces hurt, partly because faces get smaller
    assert 0.1 < row["proportion_mediated"] < 0.9  # partial mediation, as in the source work


def test_confounding_knobs_change_the_confounding():
    clean = simulate_program(300, random_state=9, confounding=0.0)
    by_genre = clean.artworks["has_face"].groupby(clean.cells.set_index("artwork_id")["genre"]).mean()
    assert by_genre.max() - by_genre.min() < 0.25  # genre no longer drives faces


def test_unobserved_confounder_is_hidden_and_drives_faces():
    p = simulate_program(300, random_state=1, unobserved_confounding=2.0)
    assert "U" not in p.artworks and "U" in p.latent
    assert p.latent["U"].corr(p.artworks["has_face"]) > 0.3


def test_sample_ratio_mismatch_and_single_cells_can_be_injected():
    p = simulate_program(100, random_state=1, srm_share=0.2, single_cell_share=0.1)
    assert p.titles["injected_srm"].sum() > 5 and (p.titles["n_cells"] == 1).sum() > 3


@pytest.mark.parametrize("kwargs, match", [
    (dict(effects={"has_faces": 1.0}), "Did you mean 'has_face'"),
    (dict(cells_per_test=(3, 2)), "cells_per_test"),
    (dict(srm_share=1.5), "srm_share"),
    (dict(n_titles=0), "n_titles"),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        simulate_program(**kwargs)


def _face_contrasts(seed: int, **kwargs):
    p = simulate_program(300, random_state=seed, **kwargs)
    study = p.study_data()
    f = study.frame
    within = difference_in_means(f[study.outcome], f["has_face"], weights=f["impressions"], clusters=f["test_id"],
                                 within=True)
    pooled = difference_in_means(np.log(f["take_rate"]), f["has_face"], weights=f["impressions"], clusters=f["test_id"])
    return p.truth.effect("has_face"), within, pooled


def test_within_test_comparison_recovers_face_effect_without_confounding():
    truth, within, _ = _face_contrasts(11, confounding=0.0)
    assert abs(within.value - truth) < 2 * within.std_error


def test_pooled_difference_is_biased_with_confounding():
    truth, _, pooled = _face_contrasts(11)
    assert (pooled.value - truth) / pooled.std_error > 3


def test_bundled_data_regenerates_exactly(tmp_path):
    """data/synthetic/ is what regenerate.py writes, and what load_demo_program() returns."""
    write_program(load_demo_program(), tmp_path)
    committed = ROOT / "data" / "synthetic"
    for name in ("cells.csv", "artworks.csv", "titles.csv"):
        pd.testing.assert_frame_equal(pd.read_csv(committed / name), pd.read_csv(tmp_path / name), rtol=1e-7)
    assert _json_close(json.loads((committed / "truth.json").read_text()), json.loads((tmp_path / "truth.json").read_text()))
    # floats are written to 8 significant digits, so the files are the same on every platform
    import re

    numbers = re.findall(r"-?\d+\.\d+(?:e[-+]\d+)?", (committed / "artworks.csv").read_text())
    digits = [len(re.sub(r"e.*|[-.]", "", n).lstrip("0")) for n in numbers]
    assert numbers and max(digits) <= 8 and max(digits) >= 7


def _json_close(a, b) -> bool:
    if isinstance(a, dict):
        assert a.keys() == b.keys()
        return all(_json_close(a[k], b[k]) for k in a)
    if isinstance(a, list):
        assert len(a) == len(b)
        return all(_json_close(x, y) for x, y in zip(a, b))
    if isinstance(a, float):
        assert a == pytest.approx(b, rel=1e-7, abs=1e-12)
        return True
    assert a == b
    return True


# ---------------------------------------------------------------------------- observational samples of an experiment
def test_observational_sample_keeps_matching_rows_and_confounds_by_the_preference():
    rng = np.random.default_rng(0)
    trial = pd.DataFrame({"age": rng.normal(size=20_000), "t": rng.integers(0, 2, 20_000)})
    before = trial.copy()
    preference = 1 / (1 + np.exp(-trial["age"].to_numpy()))
    kept = observational_sample(trial, "t", preference, random_state=1)
    pd.testing.assert_frame_equal(trial, before)  # the caller's data is not touched
    assert kept.index.isin(trial.index).all() and 0.45 < len(kept) / len(trial) < 0.55
    # a kept treated row had preferred treatment: P(kept | t=1, age) = preference(age)
    treated = trial["t"] == 1
    share_kept = trial.loc[treated].index.isin(kept.index).mean()
    assert share_kept == pytest.approx(preference[treated].mean(), abs=0.02)
    assert kept.loc[kept["t"] == 1, "age"].mean() > 0.3 > -0.3 > kept.loc[kept["t"] == 0, "age"].mean()
    again = observational_sample(trial, "t", preference, random_state=1)
    pd.testing.assert_frame_equal(kept, again)  # seeded


@pytest.mark.parametrize(("treatment", "preference", "error", "message"), [
    ("treated", [0.5] * 4, UnknownNameError, "no column 'treated'"),
    ("t", [0.5] * 3, InvalidParameterError, "3 values for 4 rows"),
    ("t", [0.5, 0.5, 1.5, 0.5], InvalidParameterError, "the first at row 2: 1.5"),
    ("t", [0.5, np.nan, 0.5, 0.5], InvalidParameterError, "in \\[0, 1\\]"),
    ("dose", [0.5] * 4, InvalidParameterError, "row 1, value 2\\)"),
])
def test_observational_sample_bad_input_says_what_to_do(treatment, preference, error, message):
    trial = pd.DataFrame({"t": [0, 1, 0, 1], "dose": [0, 2, 1, 0]})
    with pytest.raises(error, match=message):
        observational_sample(trial, treatment, preference, random_state=0)

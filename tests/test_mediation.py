"""Mediation against the simulator's true direct and indirect effects; moderation."""

from __future__ import annotations

import numpy as np
import pytest

from creative_causal import estimate_cate, mediation, moderation, simulate_program
from creative_causal.estimation import CATEResult
from creative_causal.exceptions import GraphError, InvalidParameterError, UnknownNameError


@pytest.fixture(scope="module")
def program():
    return simulate_program(300, random_state=1)


@pytest.fixture(scope="module")
def result(program):
    return mediation(program.study_data(check_srm=False), "n_faces", "face_area", random_state=0)


def test_face_size_partly_explains_the_face_count_effect(program, result):
    truth = program.truth.mediation.iloc[0]
    assert result.mediator_block == ("face_area", "closeup")  # closeup sits below face_area
    steps = result.steps.set_index("step")
    for name, step in (("total", 1), ("direct", 4)):
        se = steps.loc[step, "std_error"]
        assert abs(result.value(name) - truth[name]) < 2.5 * se, (name, result.value(name), truth[name], se)
    # the indirect effect's cluster-bootstrap interval covers the truth
    low, high = result.effects.loc["indirect", ["ci_low", "ci_high"]]
    assert low < truth["indirect"] < high
    assert result.verdict == "partial"
    assert 0 < result.value("proportion_mediated") < 1
    assert "face_area carries" in result.sentence and "95% CI" in result.sentence


def test_indirect_effect_is_the_product_of_the_paths(program):
    """With one mediator, the difference of the total and direct coefficients (how the code
    computes the indirect effect) equals the product a * b of the Baron-Kenny paths, each from a
    regression of its own: an identity of least squares that a wrong residual, weight or
    mediator block would break."""
    from creative_causal import creative_graph

    data = program.study_data(check_srm=False)
    graph = creative_graph(data, remove_edges=[("face_area", "closeup")])  # face_area alone on the path
    single = mediation(data, "n_faces", "face_area", graph=graph, n_bootstrap=50, random_state=0)
    assert single.mediator_block == ("face_area",)
    steps = single.steps.set_index("step")["value"]
    a, b = steps.loc[2], steps.loc[3]
    assert single.value("indirect") == pytest.approx(a * b, rel=1e-9)
    assert single.value("total") == pytest.approx(steps.loc[1], rel=1e-12)
    assert single.value("direct") == pytest.approx(steps.loc[4], rel=1e-12)


def test_baron_kenny_steps_are_reported(result):
    assert list(result.steps["step"]) == [1, 2, 3, 4]
    assert result.steps["significant"].all()
    text = result.summary()
    assert "Baron-Kenny" in text and "partial mediation" in text and "95%" in text


def test_no_mediation_when_the_mediator_does_not_carry_the_effect():
    # smile is a child of has_face, but with its effect set to zero it carries nothing
    program = simulate_program(300, effects={"smile": 0.0}, random_state=2)
    res = mediation(program.study_data(check_srm=False), "has_face", "smile", random_state=0)
    assert res.verdict == "none"
    assert res.effects.loc["indirect", "ci_low"] < 0 < res.effects.loc["indirect", "ci_high"]
    assert res.sentence.startswith("no evidence")


def test_same_seed_same_intervals(program):
    a = mediation(program.study_data(check_srm=False), "n_faces", "face_area", random_state=3, n_bootstrap=200)
    b = mediation(program.study_data(check_srm=False), "n_faces", "face_area", random_state=3, n_bootstrap=200)
    np.testing.assert_array_equal(a.effects.to_numpy(), b.effects.to_numpy())


def test_bad_mediators_are_refused(program):
    data = program.study_data(check_srm=False)
    with pytest.raises(InvalidParameterError, match="differ"):
        mediation(data, "n_faces", "n_faces")
    with pytest.raises(UnknownNameError, match="mediator 'face_areaa' is not a column.*Did you mean 'face_area'"):
        mediation(data, "n_faces", "face_areaa")
    from creative_causal import creative_graph

    graph = creative_graph(data, "brightness")
    with pytest.raises(GraphError, match="not a descendant"):
        mediation(data, "brightness", "face_area", graph=graph)


def test_renderings(result):
    import matplotlib

    matplotlib.use("Agg")
    frame = result.to_frame()
    assert list(frame["effect"]) == ["total", "direct", "indirect", "proportion_mediated"]
    ax = result.plot(truth={"total": -0.03, "direct": -0.02, "indirect": -0.01})
    assert "partial mediation" in ax.get_title()
    assert result.to_dict()["verdict"] == "partial"


def test_moderation_is_the_estimation_moderation_test(program):
    data = program.study_data(check_srm=False)
    mod = moderation(data, "has_face", by=["genre"], random_state=0)
    direct = estimate_cate(data, "has_face", by=["genre"], random_state=0)
    assert isinstance(mod, CATEResult)
    assert mod.moderation.equals(direct.moderation) and mod.table.equals(direct.table)
    assert "moderates" in mod.moderation["verdict"].iloc[0]

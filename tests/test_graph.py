"""Causal graphs: construction, formats, validation, identification, implications, plot."""

from __future__ import annotations

import warnings

import matplotlib.pyplot as plt
import networkx as nx
import numpy as np
import pandas as pd
import pytest

from creative_causal.exceptions import GraphError, GraphWarning, IdentificationError
from creative_causal.graph import ARTWORK_STYLE, CausalGraph, creative_graph, is_valid_backdoor

FACE_DESCENDANTS = {"n_faces", "face_area", "closeup", "face_thirds", "smile"}


@pytest.fixture(scope="module")
def study():
    from creative_causal.datasets import simulate_program

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return simulate_program(300, random_state=21).study_data()


def test_dot_reader_handles_the_common_subset():
    dot = """
    // a comment
    digraph G {
      rankdir=LR; node [shape=box];
      "title genre" -> has_face -> y;   /* a chain */
      "title genre" -> {y brightness};
      brightness -> y [weight=2];
      U [observed="no"]; U -> has_face; U -> brightness
    }"""
    g = CausalGraph.from_dot(dot)
    assert set(g.edges) == {("title genre", "has_face"), ("has_face", "y"), ("title genre", "y"),
                            ("title genre", "brightness"), ("brightness", "y"), ("U", "has_face"), ("U", "brightness")}
    assert g.latent == ("U",)


def test_round_trips(tmp_path, study):
    g = creative_graph(study, "has_face")
    assert CausalGraph.from_dot(g.to_dot()) == g
    assert CausalGraph.from_gml(g.to_gml()) == g
    (tmp_path / "g.dot").write_text(g.to_dot())
    assert CausalGraph.from_dot(tmp_path / "g.dot") == g
    assert CausalGraph.from_networkx(g.to_networkx()) == g


def test_cycle_is_named():
    with pytest.raises(GraphError, match=r"cycle: (a -> b -> c -> a|b -> c -> a -> b|c -> a -> b -> c)"):
        CausalGraph.from_edges([("a", "b"), ("b", "c"), ("c", "a")])


def test_bad_formats():
    with pytest.raises(GraphError, match="undirected"):
        CausalGraph.from_dot("graph { a -- b }")
    with pytest.raises(GraphError, match="not found"):
        CausalGraph.from_dot("missing.dot")
    with pytest.raises(GraphError, match="GML"):
        CausalGraph.from_gml("graph [ this is not gml")


def test_node_missing_from_data_has_did_you_mean():
    g = CausalGraph.from_edges([("genre", "has_fase"), ("has_fase", "y"), ("genre", "y")])
    with pytest.raises(GraphError, match=r"'has_fase' is not a column.*Did you mean 'has_face'"):
        g.check_data(["genre", "has_face", "y"])


def test_no_path_is_allowed_but_warned():
    g = CausalGraph.from_edges([("genre", "has_face"), ("genre", "y")])
    with pytest.warns(GraphWarning, match="no directed path"):
        g.adjustment_set("has_face", "y")


def test_template_adjustment_set_never_contains_descendants(study):
    g = creative_graph(study, "has_face")
    adj = g.adjustment_set("has_face", study.outcome)
    assert not set(adj.variables) & FACE_DESCENDANTS
    assert {"genre", "popularity", "country", "brightness", "text_area"} <= set(adj.variables)
    roles = adj.explanation.set_index("variable")["role"]
    assert set(roles[list(FACE_DESCENDANTS)]) == {"mediator"}
    assert roles["brightness"] == "confounder" and roles["genre"] == "confounder"
    assert is_valid_backdoor(g.to_networkx(), "has_face", study.outcome, set(adj.variables))
    assert "+ brightness" in adj.summary()


def _backdoor_by_networkx(g: nx.DiGraph, t: str, y: str, z: set[str]) -> bool:
    """The back-door criterion written out with networkx alone (independent of our code)."""
    cut = g.copy()
    cut.remove_edges_from(list(g.out_edges(t)))
    return not (z & nx.descendants(g, t)) and nx.is_d_separator(cut, {t}, {y}, z)


def test_template_sets_block_every_back_door_path_by_networkx(study):
    g = creative_graph(study)
    nxg = g.to_networkx()
    for treatment in study.features:
        found = set(g.adjustment_set(treatment, study.outcome).variables)
        assert _backdoor_by_networkx(nxg, treatment, study.outcome, found), treatment
        # and it is the maximal set: every observed non-descendant of the treatment
        expected = set(g.observed) - nx.descendants(nxg, treatment) - {treatment, study.outcome}
        assert found == expected, treatment
    assert "has_face" in g.adjustment_set("n_faces", study.outcome).variables
    assert "face_area" not in g.adjustment_set("n_faces", study.outcome).variables  # the mediation


def test_identification_agrees_with_brute_force_on_random_small_graphs():
    """On 300 random 7-node graphs with hidden nodes, a back-door set exists exactly when a
    search over every subset of the observed nodes finds one, and the set returned is valid
    (and never smaller than the smallest valid one: it is the maximal set when that is valid)."""
    import itertools

    rng = np.random.default_rng(0)
    found_any = found_none = 0
    for _ in range(300):
        names = [f"x{i}" for i in range(7)]
        order = rng.permutation(names)
        g = nx.DiGraph()
        g.add_nodes_from(names)
        g.add_edges_from((a, b) for i, a in enumerate(order) for b in order[i + 1:] if rng.random() < 0.35)
        t, y = order[2], order[-1]
        if not nx.has_path(g, t, y):
            g.add_edge(t, y)
        latent = [n for n in names if n not in (t, y) and rng.random() < 0.3]
        graph = CausalGraph(g, latent=latent)
        observed = [n for n in graph.observed if n not in (t, y)]
        valid = [set(c) for k in range(len(observed) + 1) for c in itertools.combinations(observed, k)
                 if _backdoor_by_networkx(g, t, y, set(c))]
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", GraphWarning)
                ours = set(graph.adjustment_set(t, y).variables)
        except IdentificationError:
            assert valid == [], (list(g.edges), latent, t, y, valid)
            found_none += 1
            continue
        assert ours in valid
        assert len(ours) >= min(len(v) for v in valid)
        found_any += 1
    assert found_any > 100 and found_none > 20  # both branches were exercised


def test_unidentified_effect_names_the_open_path():
    g = CausalGraph.from_edges([("U", "t"), ("U", "y"), ("t", "y")], latent=["U"])
    with pytest.raises(IdentificationError, match=r"t <- U -> y.*latent \['U'\]"):
        g.adjustment_set("t", "y")


def test_m_bias_collider_is_left_out():
    edges = [("a", "t"), ("a", "m"), ("b", "m"), ("b", "y"), ("t", "y")]
    g = CausalGraph.from_edges(edges, latent=["a", "b"])
    adj = g.adjustment_set("t", "y")
    assert adj.variables == ()
    assert adj.explanation.set_index("variable").loc["m", "role"] == "collider"


def test_template_customisation(study):
    frame = study.frame.assign(my_logo=lambda d: d["text_area"] * 0.5)
    from creative_causal.experiments import StudyData

    data = StudyData.from_frame(frame, outcome=study.outcome, features=[*study.features, "my_logo"],
                                weight="impressions", cluster="test_id", covariates=list(study.covariates),
                                segments=list(study.segments))
    g = creative_graph(data, "has_face")
    assert (ARTWORK_STYLE, "my_logo") in g.edges  # unknown features enter as confounders
    assert "my_logo" in g.adjustment_set("has_face", data.outcome).variables
    g2 = creative_graph(data, "has_face", extra_edges=[("has_face", "my_logo")])
    assert "my_logo" not in g2.adjustment_set("has_face", data.outcome).variables
    g3 = creative_graph(data, "has_face", remove_edges=[("n_faces", "face_area")])
    assert ("n_faces", "face_area") not in g3.edges
    with pytest.raises(GraphError, match="Did you mean 'has_face'"):
        creative_graph(data, "has_faces")


def test_testable_implications_accept_the_true_graph_and_reject_a_wrong_one(study):
    g = creative_graph(study)
    table = g.testable_implications(study)
    assert len(table) > 50
    assert (table["verdict"] == "violated").sum() <= 2  # spurious rejections are rare (q-values, BH)
    wrong = g.with_edges(remove=[("has_face", "smile")])  # claims smile does not depend on faces
    bad = wrong.testable_implications(study).set_index(["x", "y"])
    assert bad.loc[("has_face", "smile"), "verdict"] == "violated"


def test_plot_draws_every_node(study):
    g = creative_graph(study, "has_face")
    ax = g.plot(treatment="has_face")
    labels = {t.get_text().replace("\n", "_") for t in ax.texts}
    assert "has_face" in labels and len(ax.texts) == len(g.nodes)
    plt.close(ax.figure)


def test_graph_from_plain_frame():
    df = pd.DataFrame({"x": [0, 1, 0, 1], "z": [1, 2, 3, 4], "y": [1.0, 2.0, 3.0, 5.0]})
    g = creative_graph(df, "x", outcome="y", features=["x", "z"])
    assert g.adjustment_set("x", "y").variables == ("z",)
    with pytest.raises(GraphError, match="features="):
        creative_graph(df, "x")
    assert nx.is_directed_acyclic_graph(g.to_networkx())

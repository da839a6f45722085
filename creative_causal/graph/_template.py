"""The default causal graph for artwork studies."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import networkx as nx
import pandas as pd

from .._validation import did_you_mean
from ..exceptions import GraphError
from ._graph import CausalGraph

#: Derived features and their parents (features.md), plus the source work's mediation:
#: the number of faces changes the size of the largest face.
CATALOG_PARENTS: dict[str, tuple[str, ...]] = {
    "n_faces": ("has_face",),
    "face_area": ("has_face", "n_faces"),
    "closeup": ("face_area",),
    "face_thirds": ("has_face",),
    "smile": ("has_face",),
    "has_text": ("text_area",),
    "saturation": ("colorfulness",),
    "exposure_clip": ("brightness",),
}
#: The latent common cause of an artwork's root features (an artist's choices travel together).
ARTWORK_STYLE = "artwork_style"


def creative_graph(
    data: Any,
    treatment: str | None = None,
    *,
    outcome: str | None = None,
    title_covariates: Sequence[str] | None = None,
    features: Sequence[str] | None = None,
    extra_edges: Iterable[tuple[str, str]] = (),
    remove_edges: Iterable[tuple[str, str]] = (),
) -> CausalGraph:
    """The default causal graph of an artwork study.

    - title covariates (genre, popularity, country, ...) -> every feature and -> the outcome;
    - every feature -> the outcome;
    - derived features are children of their parents (:data:`CATALOG_PARENTS`):
      ``has_face`` -> ``n_faces``, ``face_area``, ``face_thirds``, ``smile``;
      ``n_faces`` -> ``face_area`` -> ``closeup``; ``text_area`` -> ``has_text``;
      ``colorfulness`` -> ``saturation``; ``brightness`` -> ``exposure_clip`` (a colourful
      palette is saturated; dark art clips its shadows);
    - a latent ``artwork_style`` -> every root feature: choices an artist makes together (a
      face, a brighter palette, less text) are confounded within a title. So when one
      feature is the treatment, the other root features are confounders, and features of
      your own table without catalog metadata enter the same way unless ``extra_edges``
      make them descendants of something.

    Parameters
    ----------
    data : StudyData or DataFrame
        Provides the outcome, feature and covariate names (a DataFrame needs ``features``,
        ``title_covariates`` and ``outcome``).
    treatment : str, optional
        Checked to be a feature (with a did-you-mean).
    outcome : str, optional
        Defaults to the StudyData's outcome.
    title_covariates, features : list of str, optional
        Default to the StudyData's covariates and features.
    extra_edges, remove_edges : iterable of (str, str)
        Edges to add or remove after the template is built.

    Examples
    --------
    >>> from creative_causal.datasets import load_demo_program
    >>> g = creative_graph(load_demo_program().study_data(check_srm=False), "has_face")
    >>> "brightness" in g.adjustment_set("has_face", "log_take_rate_ratio").variables
    True
    >>> "face_area" in g.adjustment_set("has_face", "log_take_rate_ratio").variables
    False
    """
    if isinstance(data, pd.DataFrame):
        if features is None or outcome is None:
            raise GraphError("with a plain DataFrame, pass features=[...] and outcome=...; "
                             "or pass a StudyData, which knows its roles.")
        columns = list(data.columns)
        covariates = list(title_covariates or [])
    else:
        columns = list(data.frame.columns) if hasattr(data, "frame") else []
        outcome = outcome or data.outcome
        features = list(features) if features is not None else list(data.features)
        covariates = list(title_covariates) if title_covariates is not None else list(data.covariates)
    features = list(features)
    for name in [*features, *covariates, outcome]:
        if columns and name not in columns:
            raise GraphError(f"{name!r} is not a column of the data.{did_you_mean(str(name), columns)}")
    if treatment is not None and treatment not in features:
        raise GraphError(f"treatment {treatment!r} is not one of the features.{did_you_mean(treatment, features)} "
                         f"Features: {features}.")
    g = nx.DiGraph()
    g.add_node(outcome, role="outcome", observed=True)
    for c in covariates:
        g.add_node(c, role="title", observed=True)
        g.add_edge(c, outcome)
    for f in features:
        g.add_node(f, role="feature", observed=True)
        g.add_edge(f, outcome)
        for c in covariates:
            g.add_edge(c, f)
    extra_edges, remove_edges = list(extra_edges), list(remove_edges)
    feature_set = set(features)
    roots = []
    for f in features:
        catalog = [p for p in CATALOG_PARENTS.get(f, ()) if p in feature_set]
        g.add_edges_from((p, f) for p in catalog)
        # after the user's edits, a feature with a parent among the features is a descendant, not a root
        parents = {p for p in catalog if (p, f) not in remove_edges} | {a for a, b in extra_edges if b == f and a in feature_set}
        if not parents:
            roots.append(f)
    if len(roots) > 1:
        g.add_node(ARTWORK_STYLE, role="latent", observed=False)
        g.add_edges_from((ARTWORK_STYLE, f) for f in roots)
    graph = CausalGraph(g)
    if extra_edges or remove_edges:
        graph = graph.with_edges(add=extra_edges, remove=remove_edges)
    return graph

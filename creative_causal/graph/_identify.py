"""Back-door identification: DoWhy finds the set, d-separation checks it, and every other
observed variable gets a role and a reason."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING

import networkx as nx
import pandas as pd

from ..exceptions import IdentificationError

if TYPE_CHECKING:
    from ._graph import CausalGraph


@dataclass(frozen=True)
class AdjustmentSet:
    """A valid back-door adjustment set and why each observed variable is in or out.

    Attributes
    ----------
    treatment, outcome : str
    variables : tuple of str
        Adjust for these (never a descendant of the treatment).
    explanation : DataFrame
        One row per other observed variable: ``variable``, ``role`` (confounder, precision,
        mediator, descendant, collider, irrelevant), ``adjust`` (bool), ``reason``.
    method : str
        How the set was found.
    """

    treatment: str
    outcome: str
    variables: tuple[str, ...]
    explanation: pd.DataFrame
    method: str

    def to_frame(self) -> pd.DataFrame:
        """The explanation table (a copy)."""
        return self.explanation.copy()

    def summary(self) -> str:
        lines = [f"Adjustment set for the effect of {self.treatment!r} on {self.outcome!r} ({self.method}):",
                 f"  adjust for: {list(self.variables) or 'nothing'}"]
        for row in self.explanation.itertuples(index=False):
            lines.append(f"  {'+' if row.adjust else '-'} {row.variable:<18} {row.role:<11} {row.reason}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


def is_valid_backdoor(g: nx.DiGraph, treatment: str, outcome: str, z: set[str]) -> bool:
    """Back-door criterion: no descendant of the treatment in z, and z d-separates treatment and
    outcome once the treatment's outgoing edges are removed."""
    if z & nx.descendants(g, treatment):
        return False
    cut = g.copy()
    cut.remove_edges_from(list(g.out_edges(treatment)))
    return nx.is_d_separator(cut, {treatment}, {outcome}, z)


def _open_backdoor_path(g: nx.DiGraph, treatment: str, outcome: str, z: set[str], cutoff: int = 8) -> list[str] | None:
    """An open back-door path given z (for error messages), or None."""
    cut = g.copy()
    cut.remove_edges_from(list(g.out_edges(treatment)))
    undirected = cut.to_undirected(as_view=True)
    for path in nx.all_simple_paths(undirected, treatment, outcome, cutoff=cutoff):
        if _path_open(cut, path, z):
            return path
    return None


def _path_open(g: nx.DiGraph, path: list[str], z: set[str]) -> bool:
    for prev, node, nxt in zip(path, path[1:], path[2:]):
        collider = g.has_edge(prev, node) and g.has_edge(nxt, node)
        if collider:
            if node not in z and not (nx.descendants(g, node) & z):
                return False
        elif node in z:
            return False
    return True


def _format_path(g: nx.DiGraph, path: list[str]) -> str:
    out = str(path[0])
    for a, b in zip(path, path[1:]):
        out += f" -> {b}" if g.has_edge(a, b) else f" <- {b}"
    return out


def _dowhy_maximal_set(g: nx.DiGraph, treatment: str, outcome: str, observed: list[str]) -> list[str] | None:
    from dowhy.causal_identifier import BackdoorAdjustment, EstimandType, identify_effect_auto

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # DoWhy logs/warns about unobserved nodes; we check the result ourselves
        estimand = identify_effect_auto(
            nx.DiGraph(g.subgraph(g.nodes)), [treatment], [outcome], observed,
            EstimandType.NONPARAMETRIC_ATE, backdoor_adjustment=BackdoorAdjustment.BACKDOOR_MAX,
        )
    found = estimand.get_backdoor_variables()
    return None if found is None else [str(v) for v in found]


def find_adjustment_set(graph: CausalGraph, treatment: str, outcome: str) -> AdjustmentSet:
    """Implementation of :meth:`CausalGraph.adjustment_set`."""
    graph.check_effect(treatment, outcome)
    g = graph.to_networkx()
    observed = list(graph.observed)
    descendants = nx.descendants(g, treatment)
    method = "DoWhy maximal back-door adjustment, checked by d-separation"
    candidate = _dowhy_maximal_set(g, treatment, outcome, observed)
    if candidate is None or not is_valid_backdoor(g, treatment, outcome, set(candidate)):
        # DoWhy's maximal set can fail with latent colliders; fall back to the observed
        # non-descendant ancestors of treatment or outcome (Pearl's "parents/ancestors" set).
        ancestors = (nx.ancestors(g, treatment) | nx.ancestors(g, outcome)) - descendants - {treatment, outcome}
        candidate = [n for n in observed if n in ancestors]
        method = "observed non-descendant ancestors of treatment and outcome, checked by d-separation"
    z = set(candidate)
    if not is_valid_backdoor(g, treatment, outcome, z):
        path = _open_backdoor_path(g, treatment, outcome, z)
        where = f" The path {_format_path(g, path)} stays open" if path else ""
        latent = [n for n in (path or []) if n in set(graph.latent)]
        why = f" through the latent {latent}" if latent else ""
        raise IdentificationError(
            f"no valid back-door adjustment set exists for the effect of {treatment!r} on {outcome!r}.{where}{why}. "
            "Measure a variable that blocks this path and add it to the data and the graph, or drop the "
            "edge if you are sure it does not exist; otherwise the effect is not identified from these data."
        )
    assert not z & descendants  # the criterion above guarantees it
    variables = tuple(n for n in observed if n in z)
    return AdjustmentSet(treatment, outcome, variables, _explain(g, graph, treatment, outcome, z), method)


def _explain(g: nx.DiGraph, graph: CausalGraph, treatment: str, outcome: str, z: set[str]) -> pd.DataFrame:
    descendants = nx.descendants(g, treatment)
    outcome_ancestors = nx.ancestors(g, outcome)
    cut = g.copy()
    cut.remove_edges_from(list(g.out_edges(treatment)))
    rows = []
    for v in graph.observed:
        if v in (treatment, outcome):
            continue
        if v in descendants:
            if v in outcome_ancestors:
                role, reason = "mediator", (f"on a causal path from {treatment} to {outcome}: adjusting would remove "
                                            "part of the effect")
            else:
                role, reason = "descendant", f"caused by {treatment}: adjusting could bias the estimate"
        elif v in z:
            needed = not is_valid_backdoor(g, treatment, outcome, z - {v})
            common = nx.ancestors(g, v) & nx.ancestors(g, treatment)
            if v in nx.ancestors(g, treatment) and v in outcome_ancestors:
                role, reason = "confounder", f"a common cause of {treatment} and {outcome}"
            elif needed and common & set(graph.latent):
                hidden = sorted(common & set(graph.latent))
                role, reason = "confounder", (f"shares a hidden cause ({', '.join(hidden)}) with {treatment} and affects "
                                              f"{outcome}: blocks that back-door path")
            elif needed:
                role, reason = "confounder", "needed to block a back-door path"
            else:
                role, reason = "precision", (f"affects {outcome}; not needed to block a back-door path once the rest "
                                             "is adjusted for, but sharpens the estimate")
        elif not is_valid_backdoor(g, treatment, outcome, z | {v}):
            role, reason = "collider", "adjusting would open a non-causal path (collider bias)"
        elif not (v in outcome_ancestors or v in nx.ancestors(g, treatment)):
            role, reason = "irrelevant", f"neither causes {treatment} nor {outcome}"
        else:
            role, reason = "irrelevant", "not needed: the set already blocks every back-door path"
        rows.append((v, role, v in z, reason))
    return pd.DataFrame(rows, columns=["variable", "role", "adjust", "reason"])

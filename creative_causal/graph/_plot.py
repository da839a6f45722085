"""Layered drawing of a causal graph with matplotlib (no graphviz)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import networkx as nx

if TYPE_CHECKING:
    import matplotlib.axes

    from ._graph import CausalGraph

_COLOURS = {"title": "#dbe9f6", "feature": "#eeeeee", "outcome": "#c7e9c0", "latent": "#ffffff", "other": "#eeeeee"}


def _layers(graph: CausalGraph, outcome: str | None) -> dict[str, int]:
    g = graph.to_networkx()
    feature_graph = g.subgraph([n for n in g if graph.role(n) in {"feature", "other"}])
    depth = {}
    for node in nx.topological_sort(feature_graph):
        preds = list(feature_graph.predecessors(node))
        depth[node] = 1 + max((depth[p] for p in preds), default=0)
    layers = {}
    for n in g:
        role = graph.role(n)
        if role in {"title", "latent"}:
            layers[n] = 0
        elif role == "outcome" or n == outcome:
            layers[n] = -1
        else:
            layers[n] = depth.get(n, 1)
    last = max(layers.values(), default=0) + 1
    return {n: (last if v == -1 else v) for n, v in layers.items()}


def plot_graph(graph: CausalGraph, ax: matplotlib.axes.Axes | None = None, *, treatment: str | None = None,
               outcome: str | None = None) -> matplotlib.axes.Axes:
    import matplotlib.pyplot as plt

    layers = _layers(graph, outcome)
    by_layer: dict[int, list[str]] = {}
    for n, k in layers.items():
        by_layer.setdefault(k, []).append(n)
    pos = {}
    for k, names in by_layer.items():
        names.sort(key=lambda n: (graph.role(n) != "latent", str(n)))
        for i, n in enumerate(names):
            pos[n] = ((i + 0.5) / len(names), -k)
    if ax is None:
        width = max(6.0, 1.3 * max(len(v) for v in by_layer.values()))
        _, ax = plt.subplots(figsize=(width, 1.6 * (len(by_layer) + 1)))
    g = graph.to_networkx()
    latent = set(graph.latent)
    solid = [(a, b) for a, b in g.edges if a not in latent]
    dashed = [(a, b) for a, b in g.edges if a in latent]
    highlight = [(a, b) for a, b in solid if a == treatment]
    nx.draw_networkx_edges(g, pos, edgelist=[e for e in solid if e not in highlight], ax=ax, edge_color="#9a9a9a",
                           arrows=True, arrowsize=10, width=0.8, node_size=1800)
    nx.draw_networkx_edges(g, pos, edgelist=dashed, ax=ax, edge_color="#bbbbbb", style="dashed", arrows=True,
                           arrowsize=8, width=0.6, node_size=1800)
    nx.draw_networkx_edges(g, pos, edgelist=highlight, ax=ax, edge_color="#d95f02", arrows=True, arrowsize=12,
                           width=1.8, node_size=1800)
    colours = ["#fdd0a2" if n == treatment else _COLOURS.get(graph.role(n), "#eeeeee") for n in g]
    edges = ["#d95f02" if n == treatment else ("#999999" if n in latent else "#555555") for n in g]
    nx.draw_networkx_nodes(g, pos, ax=ax, node_color=colours, edgecolors=edges, node_size=1800,
                           linewidths=[2.0 if n == treatment else 0.8 for n in g])
    nx.draw_networkx_labels(g, pos, ax=ax, font_size=7,
                            labels={n: str(n).replace("_", "\n", 1) if len(str(n)) > 10 else str(n) for n in g})
    ax.set_title("Causal graph" + (f": effect of {treatment}" if treatment else ""), fontsize=10)
    ax.set_axis_off()
    ax.margins(0.05, 0.15)
    return ax

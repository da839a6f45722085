"""CausalGraph: a validated DAG over networkx with observed and latent nodes."""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import networkx as nx

from .._validation import did_you_mean
from ..exceptions import GraphError, GraphWarning
from ._dot import parse_dot, write_dot

if TYPE_CHECKING:
    import matplotlib.axes
    import pandas as pd

    from ._identify import AdjustmentSet

#: How graph text starts (DOT or GML); any other one-line string is a file path.
_TEXT_START = re.compile(r"^\s*(strict\b|digraph\b|graph\b|\{|creator\b|/[/*]|#)", re.IGNORECASE)


def _text_or_file(source: str | os.PathLike[str], kind: str) -> str:
    """The graph text itself, or the text of the file it names."""
    if isinstance(source, str) and ("\n" in source or _TEXT_START.match(source)):
        return source
    if not isinstance(source, (str, os.PathLike)):
        raise GraphError(f"a {kind} graph must be text or a file path, got {type(source).__name__}.")
    return _read_text(Path(source), kind)


def _read_text(path: Path, kind: str) -> str:
    if path.is_dir():
        raise GraphError(f"{path}: is a directory; pass the {kind} file of the graph.")
    if not path.exists():
        raise GraphError(f"graph file {str(path)!r} not found (pass the {kind} text itself, or a path that exists).")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise GraphError(f"{path}: is not a text file (byte {exc.object[exc.start:exc.start + 1]!r} at position "
                         f"{exc.start}); a {kind} graph is UTF-8 text.") from exc
    except OSError as exc:
        raise GraphError(f"{path}: cannot be read ({exc.strerror or exc}).") from exc


class CausalGraph:
    """A directed acyclic causal graph over the study's variables.

    Nodes are observed variables (columns of the data) or latent ones (``observed=False``:
    hidden common causes that cannot be adjusted for). The graph is immutable: methods that
    change it return a new graph.

    Parameters
    ----------
    graph : networkx.DiGraph
        Copied. Node attributes ``observed`` (bool or "no") and ``role`` are honoured.
    latent : iterable of str, optional
        Nodes that are not observed (added to those marked in ``graph``).

    Raises
    ------
    GraphError
        If the graph has a cycle (the cycle is named) or is not directed.

    Examples
    --------
    >>> g = CausalGraph.from_edges([("genre", "has_face"), ("genre", "y"), ("has_face", "y")])
    >>> g.adjustment_set("has_face", "y").variables
    ('genre',)
    >>> print(g.to_dot())
    digraph creative {
      genre;
      has_face;
      y;
      genre -> has_face;
      genre -> y;
      has_face -> y;
    }
    <BLANKLINE>
    """

    __slots__ = ("_g",)

    def __init__(self, graph: nx.DiGraph, *, latent: Iterable[str] = ()) -> None:
        if not isinstance(graph, nx.DiGraph):
            raise GraphError(f"expected a networkx DiGraph, got {type(graph).__name__}. Causal graphs are directed.")
        g = nx.DiGraph(graph)
        for node in latent:
            if node not in g:
                raise GraphError(f"latent node {node!r} is not in the graph.{did_you_mean(str(node), map(str, g.nodes))}")
            g.nodes[node]["observed"] = False
        for _, data in g.nodes(data=True):
            observed = data.get("observed", True)
            data["observed"] = not (observed is False or str(observed).lower() in {"no", "false", "0"})
        try:
            cycle = nx.find_cycle(g)
        except nx.NetworkXNoCycle:
            cycle = None
        if cycle:
            path = " -> ".join(str(a) for a, _ in cycle) + f" -> {cycle[0][0]}"
            raise GraphError(f"the graph has a cycle: {path}. A causal graph must be acyclic: remove one of these edges.")
        self._g = g

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_edges(cls, edges: Iterable[tuple[str, str]], *, nodes: Iterable[str] = (),
                   latent: Iterable[str] = ()) -> CausalGraph:
        """Build from ``(cause, effect)`` pairs, plus isolated ``nodes`` and ``latent`` nodes."""
        g = nx.DiGraph()
        g.add_nodes_from(nodes)
        g.add_nodes_from(latent)
        for edge in edges:
            if len(edge) != 2:
                raise GraphError(f"an edge must be a (cause, effect) pair, got {edge!r}.")
            g.add_edge(*edge)
        return cls(g, latent=latent)

    @classmethod
    def from_dot(cls, source: str | os.PathLike[str]) -> CausalGraph:
        """Build from DOT text or a .dot file (``u [observed="no"]`` marks a latent node;
        ``role=title`` and the like are kept). Anything the reader cannot follow is a
        :class:`GraphError` naming the line and column."""
        nodes, edges, attrs = parse_dot(_text_or_file(source, "DOT"))
        g = nx.DiGraph()
        for n in nodes:
            g.add_node(n, **{k: v for k, v in attrs.get(n, {}).items() if k in ("observed", "role")})
        g.add_edges_from(edges)
        return cls(g)

    @classmethod
    def from_gml(cls, source: str | os.PathLike[str]) -> CausalGraph:
        """Build from GML text or a .gml file (networkx's parser; ``directed 1`` required)."""
        text = _text_or_file(source, "GML")
        try:
            g = nx.parse_gml(text, label="label")
        except Exception as exc:  # noqa: BLE001 - networkx raises NetworkXError, ValueError, KeyError, TypeError ...
            raise GraphError(f"could not parse GML ({type(exc).__name__}: {exc}). "
                             "Expected 'graph [ directed 1 node [ id 0 label \"x\" ] ... ]'.") from exc
        if not g.is_directed():
            raise GraphError("the GML graph is undirected; add 'directed 1' to make it a causal graph.")
        return cls(nx.relabel_nodes(nx.DiGraph(g), str))

    @classmethod
    def read(cls, path: str | os.PathLike[str]) -> CausalGraph:
        """Read a graph file: GML for ``.gml``, DOT otherwise (``.dot``, ``.gv``).

        Raises
        ------
        GraphError
            A missing file, a directory, a binary file, or text that is not a valid graph.
        """
        if not isinstance(path, (str, os.PathLike)):
            raise GraphError(f"a graph file path is needed, got {type(path).__name__}.")
        path = Path(path)
        kind = "GML" if path.suffix.lower() == ".gml" else "DOT"
        text = _read_text(path, kind)
        try:
            return cls.from_gml(text) if kind == "GML" else cls.from_dot(text)
        except GraphError as exc:
            raise GraphError(f"{path}: {exc}") from exc

    @classmethod
    def from_networkx(cls, graph: nx.DiGraph, *, latent: Iterable[str] = ()) -> CausalGraph:
        """Build from a networkx DiGraph (copied)."""
        return cls(graph, latent=latent)

    # ------------------------------------------------------------------ export
    def to_networkx(self) -> nx.DiGraph:
        """A copy of the underlying networkx DiGraph (node attributes ``observed`` and ``role``)."""
        return self._g.copy()

    def to_dot(self) -> str:
        """DOT text; latent nodes carry ``observed="no"`` and nodes with a role their ``role``."""
        roles = {str(n): str(d["role"]) for n, d in self._g.nodes(data=True) if d.get("role")}
        return write_dot([str(n) for n in self._g.nodes], [(str(a), str(b)) for a, b in self._g.edges], set(self.latent),
                         roles=roles)

    def to_gml(self) -> str:
        """GML text (networkx's writer)."""
        g = nx.DiGraph()
        for n, d in self._g.nodes(data=True):
            g.add_node(str(n), observed="yes" if d["observed"] else "no", **({"role": d["role"]} if "role" in d else {}))
        g.add_edges_from((str(a), str(b)) for a, b in self._g.edges)
        return "\n".join(nx.generate_gml(g)) + "\n"

    # ------------------------------------------------------------------ structure
    @property
    def nodes(self) -> tuple[str, ...]:
        return tuple(self._g.nodes)

    @property
    def edges(self) -> tuple[tuple[str, str], ...]:
        return tuple(self._g.edges)

    @property
    def latent(self) -> tuple[str, ...]:
        return tuple(n for n, d in self._g.nodes(data=True) if not d["observed"])

    @property
    def observed(self) -> tuple[str, ...]:
        return tuple(n for n, d in self._g.nodes(data=True) if d["observed"])

    def role(self, node: str) -> str:
        self._check_node(node)
        return self._g.nodes[node].get("role", "latent" if not self._g.nodes[node]["observed"] else "other")

    def parents(self, node: str) -> tuple[str, ...]:
        self._check_node(node)
        return tuple(self._g.predecessors(node))

    def children(self, node: str) -> tuple[str, ...]:
        self._check_node(node)
        return tuple(self._g.successors(node))

    def descendants(self, node: str) -> frozenset[str]:
        self._check_node(node)
        return frozenset(nx.descendants(self._g, node))

    def ancestors(self, node: str) -> frozenset[str]:
        self._check_node(node)
        return frozenset(nx.ancestors(self._g, node))

    def with_edges(self, add: Iterable[tuple[str, str]] = (), remove: Iterable[tuple[str, str]] = ()) -> CausalGraph:
        """A new graph with edges added and removed (removing a missing edge is an error)."""
        g = self._g.copy()
        for a, b in remove:
            if not g.has_edge(a, b):
                raise GraphError(f"cannot remove edge {a!r} -> {b!r}: it is not in the graph.")
            g.remove_edge(a, b)
        for a, b in add:
            g.add_edge(a, b)
            for n in (a, b):
                g.nodes[n].setdefault("observed", True)
        return CausalGraph(g)

    def _check_node(self, node: str) -> None:
        if node not in self._g:
            raise GraphError(f"node {node!r} is not in the graph.{did_you_mean(str(node), map(str, self._g.nodes))} "
                             f"Nodes: {sorted(map(str, self._g.nodes))}.")

    # ------------------------------------------------------------------ validation
    def check_data(self, columns: Iterable[str], *, where: str = "data") -> None:
        """Raise GraphError if an observed node is not a column of the data (with a did-you-mean)."""
        available = [str(c) for c in columns]
        have = set(available)
        for node in self.observed:
            if node not in have:
                raise GraphError(
                    f"graph node {node!r} is not a column of the {where}.{did_you_mean(str(node), available)} "
                    f"Rename the node or the column, or mark the node latent (observed=\"no\") if it is not measured."
                )

    def check_effect(self, treatment: str, outcome: str) -> None:
        """Check that treatment and outcome are observed nodes; warn if no directed path joins them."""
        for name, node in (("treatment", treatment), ("outcome", outcome)):
            self._check_node(node)
            if not self._g.nodes[node]["observed"]:
                raise GraphError(f"the {name} {node!r} is a latent node; effects are estimated between observed variables.")
        if not nx.has_path(self._g, treatment, outcome):
            warnings.warn(f"the graph has no directed path from {treatment!r} to {outcome!r}: it says the effect is zero. "
                          f"Add an edge {treatment!r} -> {outcome!r} if you want to estimate it.", GraphWarning, stacklevel=3)

    # ------------------------------------------------------------------ analysis
    def adjustment_set(self, treatment: str, outcome: str) -> AdjustmentSet:
        """A valid back-door adjustment set, with the role of every other observed variable.

        The set is every observed non-descendant of the treatment when that blocks every
        back-door path (checked by d-separation), else the observed ancestors of treatment and
        outcome that are not descendants of the treatment; if that fails too, no back-door set
        exists (the ancestral set is valid whenever any set is). It never contains a descendant
        of the treatment. Linear in the size of the graph: no front-door or instrument search.

        Raises
        ------
        IdentificationError
            If no valid back-door set exists (e.g. a latent common cause of treatment and
            outcome), with the open path named.
        """
        from ._identify import find_adjustment_set

        return find_adjustment_set(self, treatment, outcome)

    def testable_implications(self, data: Any, *, alpha: float = 0.05, max_conditioning: int = 12) -> pd.DataFrame:
        """Conditional independences the graph implies, each tested on the data.

        See :func:`creative_causal.graph.testable_implications`.
        """
        from ._implications import testable_implications

        return testable_implications(self, data, alpha=alpha, max_conditioning=max_conditioning)

    def plot(self, ax: matplotlib.axes.Axes | None = None, *, treatment: str | None = None,
             outcome: str | None = None) -> matplotlib.axes.Axes:
        """Draw the graph in layers (title covariates, features by depth, outcome) with matplotlib.

        The treatment is highlighted; latent nodes and their edges are dashed.
        """
        from ._plot import plot_graph

        return plot_graph(self, ax=ax, treatment=treatment, outcome=outcome)

    def __repr__(self) -> str:
        return (f"CausalGraph({len(self.observed)} observed nodes, {len(self.latent)} latent, "
                f"{self._g.number_of_edges()} edges)")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CausalGraph):
            return NotImplemented
        return (set(map(str, self.nodes)) == set(map(str, other.nodes)) and set(self.edges) == set(other.edges)
                and set(self.latent) == set(other.latent))

    __hash__ = None  # type: ignore[assignment]

"""A small reader and writer for the DOT subset that causal graphs use.

Reads ``digraph { a -> b -> c; "x y" -> z; a -> {b c}; u [observed="no"]; }`` with
comments, quoted ids, attribute lists and edge chains; no graphviz or pydot needed (going
through pydot logs errors and pyparsing deprecation warnings, see dependencies.md).
"""

from __future__ import annotations

import re

from ..exceptions import GraphError

_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|->|--|[{}\[\];=,]|[A-Za-z_0-9.\-]+', re.S)


def _strip_comments(text: str) -> str:
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    return re.sub(r"(^|\n)\s*(//|#)[^\n]*", "\n", text)


def _unquote(token: str) -> str:
    return token[1:-1].replace('\\"', '"') if token.startswith('"') else token


def parse_dot(text: str) -> tuple[list[str], list[tuple[str, str]], dict[str, dict[str, str]]]:
    """Parse a DOT digraph into (nodes, edges, node attributes)."""
    tokens = _TOKEN.findall(_strip_comments(text))
    if not tokens:
        raise GraphError("DOT text is empty. Expected something like 'digraph { genre -> has_face; has_face -> y }'.")
    i = 0
    while i < len(tokens) and tokens[i].lower() in {"strict", "digraph", "graph"}:
        if tokens[i].lower() == "graph":
            raise GraphError("DOT 'graph' is undirected; a causal graph must be a 'digraph' with '->' edges.")
        i += 1
    if i < len(tokens) and tokens[i] != "{":
        i += 1  # graph name
    if i >= len(tokens) or tokens[i] != "{" or tokens[-1] != "}":
        raise GraphError("DOT text must be 'digraph { ... }' with balanced braces.")
    body = tokens[i + 1:-1]
    nodes: list[str] = []
    edges: list[tuple[str, str]] = []
    attrs: dict[str, dict[str, str]] = {}
    j = 0

    def read_group(k: int) -> tuple[list[str], int]:
        if body[k] == "{":
            names = []
            k += 1
            while k < len(body) and body[k] != "}":
                if body[k] not in {";", ","}:
                    names.append(_unquote(body[k]))
                k += 1
            return names, k + 1
        return [_unquote(body[k])], k + 1

    def read_attrs(k: int) -> tuple[dict[str, str], int]:
        found: dict[str, str] = {}
        k += 1
        while k < len(body) and body[k] != "]":
            if k + 2 < len(body) and body[k + 1] == "=":
                found[_unquote(body[k])] = _unquote(body[k + 2])
                k += 3
            else:
                k += 1
        return found, k + 1

    while j < len(body):
        tok = body[j]
        if tok in {";", ","}:
            j += 1
            continue
        if tok.lower() in {"node", "edge", "graph"} and j + 1 < len(body) and body[j + 1] == "[":
            _, j = read_attrs(j + 1)
            continue
        if j + 1 < len(body) and body[j + 1] == "=":  # graph attribute a=b
            j += 3
            continue
        group, j = read_group(j)
        chain = [group]
        while j < len(body) and body[j] in {"->", "--"}:
            if body[j] == "--":
                raise GraphError("DOT edge '--' is undirected; use '->' for causal edges.")
            nxt, j = read_group(j + 1)
            chain.append(nxt)
        found: dict[str, str] = {}
        if j < len(body) and body[j] == "[":
            found, j = read_attrs(j)
        for names in chain:
            for n in names:
                if n not in nodes:
                    nodes.append(n)
        if len(chain) == 1:
            for n in group:
                attrs.setdefault(n, {}).update(found)
        for left, right in zip(chain, chain[1:]):
            edges.extend((a, b) for a in left for b in right)
    return nodes, edges, attrs


def _quote(name: str) -> str:
    return name if re.fullmatch(r"[A-Za-z_][A-Za-z_0-9]*", name) else '"' + name.replace('"', '\\"') + '"'


def write_dot(nodes: list[str], edges: list[tuple[str, str]], latent: set[str], name: str = "creative") -> str:
    """Write a DOT digraph; latent nodes carry ``observed="no"`` (DoWhy's convention)."""
    lines = [f"digraph {name} {{"]
    for n in nodes:
        lines.append(f'  {_quote(n)} [observed="no"];' if n in latent else f"  {_quote(n)};")
    lines += [f"  {_quote(a)} -> {_quote(b)};" for a, b in edges]
    lines.append("}")
    return "\n".join(lines) + "\n"

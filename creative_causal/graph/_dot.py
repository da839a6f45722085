"""A reader and writer for the DOT language, strict about what it accepts.

The reader follows Graphviz's grammar (https://graphviz.org/doc/info/lang.html): comments,
quoted and HTML ids, non-ASCII names, attribute lists, edge chains, ports, and subgraphs
(flattened: a subgraph groups nodes, it is not a node). What it cannot read is an error
naming the line and column, never a silent guess: an edge without a target, an unterminated
string, an undirected graph. No graphviz or pydot is needed (going through pydot logs errors
and pyparsing deprecation warnings, see dependencies.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..exceptions import GraphError

_KEYWORDS = {"strict", "graph", "digraph", "subgraph", "node", "edge"}
_PUNCTUATION = {"{", "}", "[", "]", ";", ",", "=", ":"}
_ID = re.compile(r"[A-Za-z_\u0080-\U0010FFFF][A-Za-z_0-9\u0080-\U0010FFFF]*")
_NUMERAL = re.compile(r"-?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)")
_COMPASS = {"n", "ne", "e", "se", "s", "sw", "w", "nw", "c", "_"}


@dataclass(frozen=True)
class _Token:
    kind: str  # "id", "keyword", "edgeop" or the punctuation character itself
    text: str
    line: int
    column: int


def _fail(message: str, line: int, column: int) -> GraphError:
    return GraphError(f"DOT, line {line}, column {column}: {message}.")


def tokenize(text: str) -> list[_Token]:
    """Tokens of DOT text; comments dropped, strings unquoted (escaped quotes kept as quotes)."""
    tokens: list[_Token] = []
    i, line, line_start = 0, 1, 0
    n = len(text)

    def here() -> tuple[int, int]:
        return line, i - line_start + 1

    while i < n:
        ch = text[i]
        if ch == "\n":
            line, line_start = line + 1, i + 1
            i += 1
        elif ch.isspace():
            i += 1
        elif text.startswith("//", i) or (ch == "#" and text[line_start:i].strip() == ""):
            end = text.find("\n", i)
            i = n if end < 0 else end
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            if end < 0:
                raise _fail("a /* comment is never closed with */", *here())
            line += text.count("\n", i, end)
            if "\n" in text[i:end]:
                line_start = text.rfind("\n", i, end) + 1
            i = end + 2
        elif ch == '"':
            start = here()
            j, parts = i + 1, []
            while j < n and text[j] != '"':
                if text[j] == "\\" and j + 1 < n:
                    if text[j + 1] == "\n":  # a line continuation inside a string
                        j += 2
                        continue
                    # \" and \\ are escapes; other backslash pairs (label escapes) stay as written
                    parts.append(text[j + 1] if text[j + 1] in '"\\' else text[j:j + 2])
                    j += 2
                    continue
                parts.append(text[j])
                j += 1
            if j >= n:
                raise _fail("a quoted name is never closed with a double quote", *start)
            segment = text[i:j + 1]
            line += segment.count("\n")
            if "\n" in segment:
                line_start = i + segment.rfind("\n") + 1
            tokens.append(_Token("id", "".join(parts), *start))
            i = j + 1
        elif ch == "<":
            start = here()
            depth, j = 0, i
            while j < n:
                depth += {"<": 1, ">": -1}.get(text[j], 0)
                if depth == 0:
                    break
                j += 1
            if depth:
                raise _fail("an HTML-like <...> name is never closed", *start)
            tokens.append(_Token("id", text[i + 1:j], *start))
            line += text.count("\n", i, j)
            i = j + 1
        elif text.startswith("->", i) or text.startswith("--", i):
            tokens.append(_Token("edgeop", text[i:i + 2], *here()))
            i += 2
        elif ch in _PUNCTUATION:
            tokens.append(_Token(ch, ch, *here()))
            i += 1
        else:
            match = _ID.match(text, i) or _NUMERAL.match(text, i)
            if match is None:
                raise _fail(f"unexpected character {ch!r}; names with spaces or punctuation need double quotes",
                            *here())
            word = match.group(0)
            if match.re is _NUMERAL and match.end() < n and _ID.match(text, match.end()):
                raise _fail(f"{text[i:_ID.match(text, match.end()).end()]!r} is a badly delimited number (a name may "
                            "not start with a digit); quote it", *here())
            kind = "keyword" if word.lower() in _KEYWORDS else "id"
            tokens.append(_Token(kind, word.lower() if kind == "keyword" else word, *here()))
            i = match.end()
    return tokens


class _Parser:
    """Recursive descent over the token list, building nodes, edges and node attributes."""

    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens = tokens
        self.pos = 0
        self.nodes: dict[str, None] = {}
        self.edges: list[tuple[str, str]] = []
        self.attrs: dict[str, dict[str, str]] = {}

    # ---------------------------------------------------------------- helpers
    def peek(self, offset: int = 0) -> _Token | None:
        k = self.pos + offset
        return self.tokens[k] if k < len(self.tokens) else None

    def take(self, kind: str, what: str) -> _Token:
        tok = self.peek()
        if tok is None:
            last = self.tokens[-1] if self.tokens else _Token("", "", 1, 1)
            raise _fail(f"the text ends where {what} was expected", last.line, last.column)
        if tok.kind != kind:
            raise _fail(f"expected {what}, found {tok.text!r}", tok.line, tok.column)
        self.pos += 1
        return tok

    def at(self, kind: str) -> bool:
        tok = self.peek()
        return tok is not None and tok.kind == kind

    # ---------------------------------------------------------------- grammar
    def graph(self) -> None:
        if self.at("keyword") and self.peek().text == "strict":  # type: ignore[union-attr]
            self.pos += 1
        head = self.take("keyword", "'digraph'")
        if head.text == "graph":
            raise _fail("'graph' is undirected; a causal graph must be a 'digraph' with '->' edges", head.line,
                        head.column)
        if head.text != "digraph":
            raise _fail(f"expected 'digraph', found {head.text!r}", head.line, head.column)
        if self.at("id"):
            self.pos += 1
        self.take("{", "'{' opening the graph")
        self.statements({})
        self.take("}", "'}' closing the graph")
        if self.peek() is not None:
            tok = self.peek()
            raise _fail(f"unexpected {tok.text!r} after the graph's closing brace", tok.line, tok.column)  # type: ignore

    def statements(self, defaults: dict[str, str]) -> list[str]:
        """Statements up to a closing brace; returns every node mentioned (for subgraphs)."""
        members: dict[str, None] = {}
        defaults = dict(defaults)
        while self.peek() is not None and not self.at("}"):
            if self.at(";") or self.at(","):
                self.pos += 1
                continue
            tok = self.peek()
            assert tok is not None
            if tok.kind == "keyword" and tok.text in ("graph", "node", "edge"):
                self.pos += 1
                found = self.attr_lists(required=True)
                if tok.text == "node":
                    defaults.update(found)
                continue
            if tok.kind == "id" and self.peek(1) is not None and self.peek(1).kind == "=":  # type: ignore[union-attr]
                self.pos += 2
                self.take("id", f"a value after {tok.text!r} =")
                continue
            left = self.operand(defaults)
            if not self.at("edgeop"):
                found = self.attr_lists(required=False)
                for name in left:
                    self.attrs.setdefault(name, {}).update(found)
                members.update(dict.fromkeys(left))
                continue
            chain = [left]
            while self.at("edgeop"):
                op = self.take("edgeop", "'->'")
                if op.text == "--":
                    raise _fail("'--' is an undirected edge; use '->' for causal edges", op.line, op.column)
                nxt = self.peek()
                if nxt is None or not (nxt.kind == "id" or nxt.kind == "{" or (nxt.kind == "keyword"
                                                                              and nxt.text == "subgraph")):
                    where = nxt or op
                    raise _fail(f"an edge needs a node (or a {{...}} group) after '->', found "
                                f"{nxt.text if nxt else 'the end'!r}", where.line, where.column)
                chain.append(self.operand(defaults))
            self.attr_lists(required=False)  # edge attributes carry nothing causal
            for a_side, b_side in zip(chain, chain[1:]):
                self.edges.extend((a, b) for a in a_side for b in b_side)
            for side in chain:
                members.update(dict.fromkeys(side))
        return list(members)

    def operand(self, defaults: dict[str, str]) -> list[str]:
        """A node id (with an optional port) or a subgraph: the nodes it stands for."""
        tok = self.peek()
        assert tok is not None
        if (tok.kind == "keyword" and tok.text == "subgraph") or tok.kind == "{":
            if tok.kind == "keyword":
                self.pos += 1
                if self.at("id"):
                    self.pos += 1
            self.take("{", "'{' opening a subgraph")
            inner = self.statements(defaults)
            self.take("}", "'}' closing a subgraph")
            return inner
        if tok.kind != "id":
            raise _fail(f"expected a node name, found {tok.text!r}", tok.line, tok.column)
        self.pos += 1
        name = tok.text
        if self.at(":"):  # a port: a:n, a:port:sw
            self.pos += 1
            self.take("id", "a port name after ':'")
            if self.at(":"):
                self.pos += 1
                compass = self.take("id", "a compass point after ':'")
                if compass.text not in _COMPASS:
                    raise _fail(f"{compass.text!r} is not a compass point ({sorted(_COMPASS)})", compass.line,
                                compass.column)
        if not name.strip():
            raise _fail("a node name is empty", tok.line, tok.column)
        if name not in self.nodes:
            self.nodes[name] = None
            if defaults:
                self.attrs.setdefault(name, {}).update(defaults)
        return [name]

    def attr_lists(self, *, required: bool) -> dict[str, str]:
        found: dict[str, str] = {}
        if required and not self.at("["):
            tok = self.peek()
            where = tok or self.tokens[-1]
            raise _fail(f"expected '[' after 'node', 'edge' or 'graph', found {tok.text if tok else 'the end'!r}",
                        where.line, where.column)
        while self.at("["):
            self.pos += 1
            while not self.at("]"):
                if self.peek() is None:
                    last = self.tokens[-1]
                    raise _fail("an attribute list '[' is never closed with ']'", last.line, last.column)
                if self.at(";") or self.at(","):
                    self.pos += 1
                    continue
                key = self.take("id", "an attribute name")
                self.take("=", f"'=' after the attribute {key.text!r}")
                found[key.text] = self.take("id", f"a value for the attribute {key.text!r}").text
            self.pos += 1
        return found


def parse_dot(text: str) -> tuple[list[str], list[tuple[str, str]], dict[str, dict[str, str]]]:
    """Parse a DOT digraph into (nodes, edges, node attributes).

    Examples
    --------
    >>> parse_dot('digraph { "title genre" -> {has_face smile}; u [observed="no"] }')[1]
    [('title genre', 'has_face'), ('title genre', 'smile')]
    """
    if not isinstance(text, str):
        raise GraphError(f"DOT must be text, got {type(text).__name__}.")
    tokens = tokenize(text)
    if not tokens:
        raise GraphError("DOT text is empty. Expected something like 'digraph { genre -> has_face; has_face -> y }'.")
    parser = _Parser(tokens)
    parser.graph()
    return list(parser.nodes), parser.edges, parser.attrs


def _quote(name: str) -> str:
    if re.fullmatch(r"[A-Za-z_][A-Za-z_0-9]*", name) and name.lower() not in _KEYWORDS:
        return name
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_dot(nodes: list[str], edges: list[tuple[str, str]], latent: set[str], name: str = "creative",
              roles: dict[str, str] | None = None) -> str:
    """Write a DOT digraph; latent nodes carry ``observed="no"`` (DoWhy's convention) and
    nodes with a role (title, feature, outcome) carry ``role``."""
    lines = [f"digraph {name} {{"]
    roles = roles or {}
    for n in nodes:
        attrs = (['observed="no"'] if n in latent else []) + ([f"role={_quote(roles[n])}"] if n in roles else [])
        lines.append(f"  {_quote(n)}" + (f" [{', '.join(attrs)}];" if attrs else ";"))
    lines += [f"  {_quote(a)} -> {_quote(b)};" for a, b in edges]
    lines.append("}")
    return "\n".join(lines) + "\n"

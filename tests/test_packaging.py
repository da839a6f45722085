"""What a fresh machine needs: every module the package imports is a declared dependency,
and packages use each other's public names only.

The first test would have caught the renderer that imported scikit-image while only the
test extra declared it (the README's demo crashed on every plain install).
"""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "creative_causal"

try:
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    tomllib = None


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement_name(spec: str) -> str:
    return _normalise(re.match(r"\s*([A-Za-z0-9_.\-]+)", spec).group(1))


def _declared() -> tuple[set[str], dict[str, set[str]]]:
    """(core dependencies, extra -> dependencies) from pyproject.toml."""
    if tomllib is None:
        pytest.skip("tomllib needs Python 3.11")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    core = {_requirement_name(s) for s in project["dependencies"]}
    extras = {k: {_requirement_name(s) for s in v} for k, v in project.get("optional-dependencies", {}).items()}
    return core, extras


def _imports(path: Path) -> list[tuple[str, ast.AST, list[ast.AST]]]:
    """(top-level module name, import node, enclosing nodes) of every absolute import in a file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: list[tuple[str, ast.AST, list[ast.AST]]] = []

    def visit(node: ast.AST, parents: list[ast.AST]) -> None:
        if isinstance(node, ast.Import):
            found.extend((a.name.split(".")[0], node, parents) for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.module.split(".")[0], node, parents))
        for child in ast.iter_child_nodes(node):
            visit(child, [*parents, node])

    visit(tree, [])
    return found


def _guarded_with_extra(node: ast.AST, parents: list[ast.AST], extra: str) -> bool:
    """The import sits in a ``try`` whose ``except ImportError`` raises an error naming the extra."""
    for parent in reversed(parents):
        if isinstance(parent, ast.Try) and any(node is n or node in ast.walk(n) for n in parent.body):
            for handler in parent.handlers:
                names = ast.unparse(handler.type) if handler.type is not None else ""
                if "ImportError" in names or "ModuleNotFoundError" in names:
                    text = ast.unparse(handler)
                    if "raise" in text and f"[{extra}]" in text:
                        return True
    return False


def test_every_imported_module_is_a_declared_dependency():
    core, extras = _declared()
    distributions = importlib.metadata.packages_distributions()
    undeclared, unguarded = [], []
    for path in sorted(PACKAGE.rglob("*.py")):
        for module, node, parents in _imports(path):
            if module in sys.stdlib_module_names or module == "creative_causal" or module == "__future__":
                continue
            if any(isinstance(p, ast.If) and "TYPE_CHECKING" in ast.unparse(p.test) for p in parents):
                continue  # annotations only, never imported at run time
            names = {_normalise(d) for d in distributions.get(module, [module])}
            if names & core:
                continue
            extra = next((e for e, deps in extras.items() if names & deps), None)
            where = f"{path.relative_to(ROOT)}:{node.lineno} imports {module}"
            if extra is None:
                undeclared.append(where)
            elif not _guarded_with_extra(node, parents, extra):
                unguarded.append(f"{where} (extra [{extra}]) without a guarded import naming the extra")
    assert undeclared == [], "declare these in [project.dependencies]: " + "; ".join(undeclared)
    assert unguarded == [], "; ".join(unguarded)


def test_the_checker_sees_an_undeclared_import(tmp_path):
    """The walk above can fail: an import of a package nobody declared is reported."""
    fake = tmp_path / "mod.py"
    fake.write_text("def f():\n    import skimage_not_declared\n")
    assert [m for m, _, _ in _imports(fake)] == ["skimage_not_declared"]
    guarded = tmp_path / "guarded.py"
    guarded.write_text("try:\n    import dask\nexcept ImportError as exc:\n"
                       "    raise RuntimeError(\"pip install 'creative-causal[dask]'\") from exc\n")
    (module, node, parents), = _imports(guarded)
    assert _guarded_with_extra(node, parents, "dask") and not _guarded_with_extra(node, parents, "docs")


#: Subpackages of creative_causal; root-level modules (_validation, exceptions, plotting ...)
#: are the shared base every package may use.
_SUBPACKAGES = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}


def _private_cross_package_imports(path: Path) -> list[str]:
    """Imports of another subpackage's private module or name, e.g. ``from ..estimation._dml import x``."""
    rel = path.relative_to(PACKAGE)
    own = rel.parts[0] if len(rel.parts) > 1 else None
    out = []
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if not isinstance(node, ast.ImportFrom):
            continue
        if node.level:
            base = list(rel.parts[:-1])[: len(rel.parts) - 1 - (node.level - 1)]
            target = [*base, *(node.module.split(".") if node.module else [])]
        elif node.module and node.module.startswith("creative_causal"):
            target = node.module.split(".")[1:]
        else:
            continue
        if not target or target[0] not in _SUBPACKAGES or target[0] == own:
            continue
        private_module = any(part.startswith("_") for part in target[1:])
        private_name = any(a.name.startswith("_") for a in node.names)
        if private_module or private_name:
            out.append(f"{rel}:{node.lineno} from {'.' * node.level}{node.module or ''} import "
                       f"{', '.join(a.name for a in node.names)}")
    return out


def test_packages_use_each_others_public_names_only():
    offenders = [line for path in sorted(PACKAGE.rglob("*.py")) for line in _private_cross_package_imports(path)]
    assert offenders == []


def test_the_seam_checker_sees_a_private_import(tmp_path):
    package = tmp_path / "creative_causal"
    (package / "insights").mkdir(parents=True)
    (package / "estimation").mkdir()
    for p in (package / "insights", package / "estimation"):
        (p / "__init__.py").write_text("")
    bad = package / "insights" / "x.py"
    bad.write_text("from ..estimation._dml import fit_dml\nfrom ..estimation import estimate_effect\n")
    global PACKAGE, _SUBPACKAGES
    saved = PACKAGE, _SUBPACKAGES
    PACKAGE, _SUBPACKAGES = package, {"insights", "estimation"}
    try:
        assert _private_cross_package_imports(bad) == ["insights/x.py:1 from ..estimation._dml import fit_dml"]
    finally:
        PACKAGE, _SUBPACKAGES = saved


#: Imports that point upwards against the architecture's direction (lower -> higher).
_LAYERS = ["datasets", "experiments", "features", "frames", "graph", "estimation", "refutation", "insights", "study", "report",
           "demo", "cli"]
_ALLOWED_UP = {("datasets", "experiments"), ("datasets", "features")}


def _layer(parts: list[str]) -> str | None:
    return parts[0].removesuffix(".py") if parts and parts[0].removesuffix(".py") in _LAYERS else None


def test_imports_flow_one_way():
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE)
        own = _layer(list(rel.parts))
        if own is None:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level:
                base = list(rel.parts[:-1])[: len(rel.parts) - 1 - (node.level - 1)]
                target = [*base, *(node.module.split(".") if node.module else [])]
                names = [target] if target else [[a.name] for a in node.names]
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("creative_causal."):
                names = [node.module.split(".")[1:]]
            else:
                continue
            for target in names:
                other = _layer(target)
                if other and other != own and _LAYERS.index(other) > _LAYERS.index(own) and (own, other) not in _ALLOWED_UP:
                    offenders.append(f"{rel}:{node.lineno} ({own} imports {other})")
    assert offenders == []


def test_allocation_reads_data_never_the_estimators():
    """architecture.md: allocation uses experiments and datasets; it reads the study's effects
    as a plain table and never imports estimation, refutation, insights or study."""
    forbidden = {"graph", "estimation", "refutation", "insights", "study", "report", "features", "demo", "cli"}
    offenders = []
    for path in sorted((PACKAGE / "allocation").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                module = node.module or ""
                parts = module.split(".")
                top = parts[1] if module.startswith("creative_causal.") else (parts[0] if node.level == 2 else None)
                if top in forbidden:
                    offenders.append(f"{path.name}:{node.lineno} imports {top}")
    assert offenders == []

"""The layering of ``src/marketwire`` (docs/architecture.md): lower floors never import higher ones, sibling folders of
one floor only where this file says why, verticals never import each other, and no import cycle between modules.

Every import of a marketwire module counts, wherever it is written: at module level, inside a function, under
``if TYPE_CHECKING:``, and ``"marketwire.x.y:Attr"`` strings (the targets ``importlib`` loads by name). A function-level
import defers loading; it never hides a dependency or a cycle. ``from marketwire import X`` is an import of
``marketwire.X`` when ``X`` is a module, of the root package otherwise.
"""

from __future__ import annotations

import ast
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

SRC = Path(__file__).resolve().parents[2] / "src"
PKG = SRC / "marketwire"
ROOT = "marketwire"  # the root package, marketwire/__init__.py

#: floors, lowest first: a module may import its own floor's folder and lower floors, never a higher floor
LAYERS: list[tuple[str, ...]] = [
    ("errors", "config", "timeparse", "refdata"),
    ("datasets", "store"),
    ("sources", "verify"),
    ("engine",),
    ("identity",),
    ("prices", "news", "stream", "fundamentals", "esg"),  # the verticals
    ("serve", "cli", "output", ROOT),
]
VERTICALS = LAYERS[5]

#: the only imports between different folders of one floor: (importer folder, imported folder or module) -> why.
#: One direction each (a test below checks it), so two folders of a floor can never form a cycle. A vertical never
#: imports another vertical: no entry may name two of them.
SAME_FLOOR: dict[tuple[str, str], str] = {
    ("config", "errors"): "errors is the floor of the floor: everything may raise the one error tree",
    ("timeparse", "errors"): "errors is the floor of the floor: a bad time is an InvalidInput",
    ("refdata", "errors"): "errors is the floor of the floor: a malformed shipped table is a ParseError",
    ("store", "datasets"): "the lake reads the dataset declarations (schema, key, partitioning, encodings)",
    ("verify", "sources.base"): "a verifier returns the Refusal type of the source seam; verify never imports the "
                                "source registry or a source, and sources never import verify",
    (ROOT, "serve.facade"): "marketwire.open() returns the facade",
    ("cli", ROOT): "the CLI opens the platform with marketwire.open()",
    ("cli", "serve"): "`marketwire serve` starts the REST app",
    ("cli", "output"): "the CLI renders tables, CSV and JSON with output",
}


@dataclass(frozen=True)
class Imp:
    importer: str  # dotted module name
    target: str  # dotted module name
    line: int
    kind: str  # "module", "function", "type-only" (under TYPE_CHECKING), "dynamic" ("module:attr" string)
    text: str  # the statement as written

    def where(self) -> str:
        return f"{path_of(self.importer)}:{self.line}"


def path_of(module: str) -> str:
    return str(MODULES[module].relative_to(SRC.parent))


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES: dict[str, Path] = {module_name(p): p for p in sorted(PKG.rglob("*.py"))}


def folder(module: str) -> str:
    """``marketwire.engine.core`` -> ``engine``; ``marketwire.cli`` -> ``cli``; ``marketwire`` -> ``marketwire``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ROOT


def floor(module: str) -> int | None:
    f = folder(module)
    return next((i for i, names in enumerate(LAYERS) if f in names), None)


def resolve(base: str, names: list[str]) -> list[str]:
    """The modules ``from base import names`` loads: ``base.name`` where that is a module, else ``base``."""
    out = [f"{base}.{n}" for n in names if f"{base}.{n}" in MODULES]
    if len(out) < len(names):
        out.append(base)
    return out


def known(dotted: str) -> str:
    """The longest prefix of ``dotted`` that is a module of the package (``import marketwire.a.b`` loads a.b)."""
    parts = dotted.split(".")
    while parts and ".".join(parts) not in MODULES:
        parts.pop()
    return ".".join(parts) or dotted


_DYNAMIC = re.compile(r"^(marketwire(?:\.\w+)+):\w+(?:\.\w+)*$")


def _type_checking(node: ast.If) -> bool:
    t = node.test
    return (isinstance(t, ast.Name) and t.id == "TYPE_CHECKING") or \
        (isinstance(t, ast.Attribute) and t.attr == "TYPE_CHECKING")


def imports_of(module: str) -> list[Imp]:
    path = MODULES[module]
    return imports_in(module, path.read_text(encoding="utf-8"), path.name == "__init__.py")


def imports_in(module: str, source: str, is_package: bool = False) -> list[Imp]:
    """Every import of a marketwire module in ``source`` (the text of ``module``)."""
    tree = ast.parse(source, module)
    lines = source.splitlines()
    out: list[Imp] = []

    def visit(node: ast.AST, kind: str) -> None:
        for child in ast.iter_child_nodes(node):
            k = kind
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                k = "function" if kind == "module" else kind
            elif isinstance(child, ast.If) and _type_checking(child):
                # the body is type-only; the else branch (if any) runs
                for n in child.body:
                    visit_one(n, "type-only")
                for n in child.orelse:
                    visit_one(n, kind)
                continue
            visit_one(child, k)

    def visit_one(node: ast.AST, kind: str) -> None:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            text = lines[node.lineno - 1].strip()
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name == ROOT or a.name.startswith(ROOT + "."):
                    out.append(Imp(module, known(a.name), node.lineno, kind, text))
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against this module's package
                pkg = module.split(".") if is_package else module.split(".")[:-1]
                pkg = pkg[: len(pkg) - (node.level - 1)]
                base = ".".join(pkg + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            if base == ROOT or base.startswith(ROOT + "."):
                for t in resolve(known(base), [a.name for a in node.names]):
                    out.append(Imp(module, t, node.lineno, kind, text))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            m = _DYNAMIC.match(node.value)
            if m:
                out.append(Imp(module, known(m.group(1)), node.lineno, "dynamic", repr(node.value)))
        visit(node, kind)

    visit(tree, "module")
    return [i for i in out if i.target != module]


IMPORTS: list[Imp] = [i for m in MODULES for i in imports_of(m)]


def _rule_for(i: Imp) -> str | None:
    """Why ``i`` breaks the layering, or None."""
    a, b = floor(i.importer), floor(i.target)
    if a is None or b is None:
        return None  # reported by test_every_module_is_on_a_floor
    fa, fb = folder(i.importer), folder(i.target)
    if fa == fb or b < a:
        return None
    if b > a:
        return (f"upward import: {fa} (floor {a}) imports {fb} (floor {b}); a floor only imports its own folder and "
                "lower floors")
    if fa in VERTICALS and fb in VERTICALS:
        return f"vertical imports vertical: {fa} imports {fb}; a vertical asks identity, and the facade composes"
    sub = i.target.removeprefix(ROOT + ".") if i.target != ROOT else ROOT
    for (imp, tgt) in SAME_FLOOR:
        if imp == fa and (sub == tgt or sub.startswith(tgt + ".")):
            return None
    return (f"sibling folders of floor {a}: {fa} imports {i.target}, which SAME_FLOOR in tests/unit/test_architecture.py "
            "does not allow (add it there with the reason, in one direction only, or move the code)")


def _show(i: Imp) -> str:
    return f"  {i.where()} [{i.kind}] {i.text.splitlines()[0] if i.text else ''}  ->  {i.target}"


# -- the tests ------------------------------------------------------------------------------------------------------

def test_the_scan_sees_every_kind_of_import():
    """The scan finds what it is meant to see (so an empty scan cannot pass the other tests)."""
    src = """
from typing import TYPE_CHECKING
from marketwire import datasets, open
import marketwire.engine.core
from .base import Refusal
from . import iso
if TYPE_CHECKING:
    from marketwire.serve.facade import Marketwire
else:
    from marketwire.errors import InvalidInput
TARGET = "marketwire.sources.sp500:Sp500Constituents"
DOC = "see marketwire.engine for the engine"
def f():
    import marketwire
    class C:
        def g(self):
            from marketwire.identity import service
"""
    found = {(i.target, i.kind, i.line) for i in imports_in("marketwire.sources.x", src)}
    assert found == {
        ("marketwire.datasets", "module", 3), (ROOT, "module", 3),  # a module, and a name of the root package
        ("marketwire.engine.core", "module", 4),
        ("marketwire.sources.base", "module", 5), ("marketwire.sources.iso", "module", 6),  # relative
        ("marketwire.serve.facade", "type-only", 8), ("marketwire.errors", "module", 10),
        ("marketwire.sources.sp500", "dynamic", 11),
        (ROOT, "function", 14), ("marketwire.identity.service", "function", 17),
    }
    assert len(MODULES) > 50
    seen = {(i.importer, i.target) for i in IMPORTS}
    assert ("marketwire.store.lake", "marketwire.datasets") in seen
    assert ("marketwire.sources", "marketwire.sources.nasdaqtrader") in seen  # BUILTIN "module:attr" strings


def test_every_module_is_on_a_floor():
    homeless = sorted({folder(m) for m in MODULES if floor(m) is None})
    assert not homeless, (f"folders or modules on no floor: {', '.join(homeless)}. Place each in LAYERS in "
                          "tests/unit/test_architecture.py and in docs/architecture.md")


def test_same_floor_allowances_are_one_way_and_never_between_verticals():
    pairs = {(a, b.split(".")[0]) for a, b in SAME_FLOOR}
    both = sorted((a, b) for a, b in pairs if (b, a) in pairs)
    assert not both, f"SAME_FLOOR allows both directions between {both}"
    for a, b in pairs:
        assert not (a in VERTICALS and b in VERTICALS), f"SAME_FLOOR may not let vertical {a} import vertical {b}"
        fa = next(i for i, names in enumerate(LAYERS) if a in names)
        fb = next(i for i, names in enumerate(LAYERS) if b in names)
        assert fa == fb, f"SAME_FLOOR entry {a} -> {b} is not within one floor"


def test_no_import_breaks_the_layering():
    broken = defaultdict(list)
    for i in IMPORTS:
        why = _rule_for(i)
        if why:
            broken[why].append(i)
    lines = []
    for why, imps in sorted(broken.items()):
        lines.append(why)
        lines += [_show(i) for i in sorted(imps, key=lambda x: (x.importer, x.line))]
    assert not broken, "imports that break the layering (docs/architecture.md):\n" + "\n".join(lines)


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected component of more than one module (Tarjan), as a closed path."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    comps: list[list[str]] = []
    counter = [0]

    def strong(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                comps.append(sorted(comp))

    import sys

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10_000))
    try:
        for v in sorted(edges):
            if v not in index:
                strong(v)
    finally:
        sys.setrecursionlimit(limit)

    out = []
    for comp in comps:  # a shortest cycle through the component's first module, by breadth-first search
        members, start = set(comp), comp[0]
        prev: dict[str, str] = {}
        queue, found = [start], None
        while queue and found is None:
            nxt = []
            for v in queue:
                for w in sorted(edges.get(v, ())):
                    if w not in members:
                        continue
                    if w == start:
                        found = v
                        break
                    if w not in prev:
                        prev[w] = v
                        nxt.append(w)
                if found:
                    break
            queue = nxt
        path = [found]
        while path[-1] != start:
            path.append(prev[path[-1]])
        out.append([start, *reversed(path[:-1]), start] if len(path) > 1 else [start, found, start])
    return out


def test_no_import_cycle_between_modules():
    edges: dict[str, set[str]] = defaultdict(set)
    by_edge: dict[tuple[str, str], Imp] = {}
    for i in IMPORTS:
        edges[i.importer].add(i.target)
        by_edge.setdefault((i.importer, i.target), i)
    cycles = _cycles(edges)
    lines = []
    for c in cycles:
        lines.append(" -> ".join(c))
        lines += [_show(by_edge[(a, b)]) for a, b in zip(c, c[1:])]
    assert not cycles, "import cycles (every import counts, function-level and type-only too):\n" + "\n".join(lines)


def test_cycle_finder_finds_a_cycle():
    """The cycle check can fail: a known three-module cycle and a self-contained chain."""
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]
    assert _cycles({"a": {"b"}, "b": {"c"}}) == []


def test_rule_check_catches_each_kind_of_break():
    """The layering rule refuses what it is meant to refuse (so test_no_import_breaks_the_layering can fail)."""
    def imp(a: str, b: str) -> Imp:
        return Imp(a, b, 1, "module", "")

    assert "upward" in _rule_for(imp("marketwire.sources.base", "marketwire.engine.core"))
    assert "upward" in _rule_for(imp("marketwire.prices.evaluate", ROOT))
    assert "vertical imports vertical" in _rule_for(imp("marketwire.prices.read", "marketwire.news.service"))
    assert "vertical imports vertical" in _rule_for(imp("marketwire.news.service", "marketwire.prices.read"))
    assert "sibling" in _rule_for(imp("marketwire.sources.base", "marketwire.verify.rules"))
    assert "sibling" in _rule_for(imp("marketwire.verify.rules", "marketwire.sources.nasdaqtrader"))
    assert "sibling" in _rule_for(imp("marketwire.datasets.base", "marketwire.store.lake"))
    assert _rule_for(imp("marketwire.verify.registry", "marketwire.sources.base")) is None
    assert _rule_for(imp("marketwire.prices.service", "marketwire.identity.service")) is None
    assert _rule_for(imp("marketwire.serve.facade", "marketwire.news.service")) is None


def test_function_level_imports_defer_something():
    """A function-level import of a module its importer already imports at module level defers nothing: write it
    at the top. The others are listed (docs/architecture.md says why they remain)."""
    top = {(i.importer, i.target) for i in IMPORTS if i.kind == "module"}
    fn = [i for i in IMPORTS if i.kind == "function"]
    pointless = [i for i in fn if (i.importer, i.target) in top]
    by_pair = Counter((i.importer, i.target) for i in fn)
    print(f"\n{len(fn)} function-level imports of marketwire modules ({len(by_pair)} importer -> module pairs):")
    for (a, b), n in sorted(by_pair.items()):
        print(f"  {path_of(a)} -> {b}" + (f" (x{n})" if n > 1 else ""))
    assert not pointless, ("function-level imports of a module already imported at module level (move them up):\n"
                           + "\n".join(_show(i) for i in pointless))


def test_the_light_identity_modules_name_the_tables_the_datasets_declare() -> None:
    """identity/state.py and identity/point.py spell table and frame names out (they load without the data
    stack); they must stay those of the dataset declarations and of the hot index."""
    from marketwire.datasets import reference as R
    from marketwire.identity import hot, index, master, point, state

    assert state.MASTER_OUTPUTS == tuple(ds.name for ds in R.MASTER_DATASETS)
    assert master.MASTER_OUTPUTS is state.MASTER_OUTPUTS
    assert state.INDEX_TABLES == {k: ds.name for k, ds in index.TABLES.items()}
    assert point.FRAMES == tuple(hot.FRAMES)
    assert hot.PATHS is point.PATHS

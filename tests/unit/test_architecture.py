"""The package's shape: no import cycle in src/, no module over 500 lines, no test module
importing another, and the dependency lists of pyproject.toml and environment.yml in step."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "vaxstudy"
MAX_LINES = 500
#: modules still over the limit, each with why; this list may only shrink
OVER_LIMIT: dict[str, str] = {}


def _module_name(path: Path) -> str:
    rel = path.relative_to(SRC.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def import_graph() -> dict[str, set[str]]:
    """module -> the vaxstudy modules it imports (at any level, function bodies included)."""
    files = {_module_name(p): p for p in SRC.rglob("*.py")}
    graph: dict[str, set[str]] = {m: set() for m in files}
    for mod, path in files.items():
        pkg = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = pkg.split(".")[: len(pkg.split(".")) - node.level + 1]
                    base = ".".join(up + ([base] if base else []))
                names = [base] + [f"{base}.{a.name}" for a in node.names]
            for n in names:
                if n in files and n != mod:
                    graph[mod].add(n)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
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
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def _package_parents(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """The graph without the edges a package's __init__ has to its own submodules (re-exports
    are not cycles: `vaxstudy.link` importing `vaxstudy.link.core`)."""
    return {m: {d for d in deps if not d.startswith(m + ".")} for m, deps in graph.items()}


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle_in_src():
    graph = import_graph()
    assert "vaxstudy.study" in graph and graph["vaxstudy.study"]  # the walk sees the imports
    cycles = _cycles(_package_parents(graph))
    assert not cycles, f"import cycles: {cycles}"


def test_no_module_over_500_lines():
    for name in OVER_LIMIT:  # an entry goes once its module is short enough
        assert len((SRC / name).read_text(encoding="utf-8").splitlines()) > MAX_LINES, name
    long = {str(p.relative_to(SRC)): n for p in SRC.rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
            and str(p.relative_to(SRC)) not in OVER_LIMIT}
    assert not long, f"modules over {MAX_LINES} lines: {long}"


def test_no_test_module_imports_another():
    tests = ROOT / "tests"
    names = {p.stem for p in tests.rglob("test_*.py")}
    bad = []
    for p in tests.rglob("*.py"):
        for node in ast.walk(ast.parse(p.read_text(encoding="utf-8"))):
            mods = ([a.name for a in node.names] if isinstance(node, ast.Import)
                    else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            bad += [f"{p.relative_to(tests)} imports {m}" for m in mods if m.split(".")[-1] in names]
    assert not bad, bad


#: private attributes of Splink's objects that code has reached for (any object)
SPLINK_PRIVATE = {"_settings_obj", "_db_api", "_intermediate_table_cache", "_input_tables_dict",
                  "_em_training_sessions", "_comparison_levels_excluding_null", "_fix_m_probability",
                  "_fix_u_probability", "_m_probability", "_u_probability", "_probability_two_random_records_match"}


def splink_private_uses(source: str) -> list[str]:
    """``obj._name`` where ``_name`` is a known Splink private attribute, or any ``._name``
    (not a dunder) taken on something called a linker."""
    out = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Attribute) or not node.attr.startswith("_") or node.attr.startswith("__"):
            continue
        owner = ast.unparse(node.value)
        if node.attr in SPLINK_PRIVATE or "linker" in owner.rpartition(".")[2].lower():
            out.append((node.lineno, f"line {node.lineno}: {owner}.{node.attr}"))
    return [text for _, text in sorted(out)]


def test_the_splink_private_check_finds_one():
    assert splink_private_uses("linker._settings_obj.x = 1\nself.linker._cache\nx._db_api\nself._own = 1\n") == [
        "line 1: linker._settings_obj", "line 2: self.linker._cache", "line 3: x._db_api"]


def test_no_module_uses_a_splink_private_attribute():
    """Splink 5's public API only (Linker components, the database API we made, chart records),
    so an upgrade of Splink cannot silently change what a private attribute means."""
    bad = {str(p.relative_to(SRC)): uses for p in SRC.rglob("*.py")
           if (uses := splink_private_uses(p.read_text(encoding="utf-8")))}
    assert not bad, f"Splink private attributes used: {bad}"

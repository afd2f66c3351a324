"""The layers docs/design.md describes, read from the source's imports: data flows request → http →
scim → wordpress (SQL); only wordpress/ knows PyMySQL, only its driver module PyMySQL's private
names; no module imports itself back through others."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "wpscim"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}
TREES = {name: ast.parse(path.read_text(encoding="utf-8"), str(path)) for name, path in MODULES.items()}


def _under_type_checking(node: ast.AST, parents: dict) -> bool:
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            return True
    return False


def _imports(name: str, top_level_only: bool = False) -> set[str]:
    """Every module `name` imports (absolute names; `from a import b` gives a.b when that is a module)."""
    tree = TREES[name]
    parents = {child: parent for parent in ast.walk(tree) for child in ast.iter_child_nodes(parent)}
    found = set()
    for node in ast.walk(tree):
        if not isinstance(node, (ast.Import, ast.ImportFrom)):
            continue
        if top_level_only and (
            _under_type_checking(node, parents)
            or any(isinstance(p, (ast.FunctionDef, ast.AsyncFunctionDef)) for p in _ancestors(node, parents))
        ):
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
            continue
        base = node.module or ""
        if node.level:  # relative: resolved against this module's package
            package = name.split(".") if MODULES[name].name == "__init__.py" else name.split(".")[:-1]
            base = ".".join(package[: len(package) - node.level + 1] + ([node.module] if node.module else []))
        for alias in node.names:
            found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base)
    return found


def _ancestors(node: ast.AST, parents: dict):
    while node in parents:
        node = parents[node]
        yield node


def _in(module: str, *prefixes: str) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


@pytest.mark.parametrize("name", sorted(MODULES))
def test_each_module_imports_only_what_its_layer_may(name):
    imports = _imports(name)
    wrong = set()
    if _in(name, "wpscim.scim"):
        wrong |= {m for m in imports if _in(m, "wpscim") and not _in(m, "wpscim.scim")}
        wrong |= {m for m in imports if _in(m, "falcon", "pymysql")}
    if _in(name, "wpscim.wordpress"):
        wrong |= {m for m in imports if _in(m, "falcon", "jinja2", "wpscim.http", "wpscim.admin", "wpscim.app", "wpscim.cli")}
    if not _in(name, "wpscim.wordpress"):
        wrong |= {m for m in imports if _in(m, "pymysql")}
    if _in(name, "wpscim.http", "wpscim.admin"):
        wrong |= {m for m in imports if _in(m, "wpscim.cli", "wpscim.serving")}
    assert not wrong, f"{name} imports {sorted(wrong)} across its layer (docs/design.md, Layers)"


def _private_names_of_wpscim() -> set[str]:
    """Every _name wpscim itself defines (functions, classes, attributes, module globals)."""
    names = set()
    for tree in TREES.values():
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(node.name)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                names.add(node.attr)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
            elif isinstance(node, ast.arg):
                names.add(node.arg)
    return {n for n in names if n.startswith("_")}


PUBLIC_UNDERSCORED = {"_exit"}  # os._exit: the standard library's documented way out of a process


def test_only_the_driver_module_touches_private_names_of_other_libraries():
    own = _private_names_of_wpscim() | PUBLIC_UNDERSCORED
    users = {}
    for name, tree in TREES.items():
        foreign = sorted(
            {
                node.attr
                for node in ast.walk(tree)
                if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__") and node.attr not in own
            }
        )
        if foreign:
            users[name] = foreign
    assert set(users) <= {"wpscim.wordpress.driver"}, users
    assert users, "the driver's fast path uses PyMySQL's internals: the check found none, so it checks nothing"


def test_no_module_imports_itself_back():
    graph = {name: {m for m in _imports(name, top_level_only=True) if m in MODULES and m != name} for name in MODULES}
    # A package's __init__ importing its own submodules is how packages are built, not a cycle.
    graph = {name: {m for m in deps if not (MODULES[m].name == "__init__.py" and _in(name, m))} for name, deps in graph.items()}
    cycles = []

    def visit(node, stack, on_stack, done):
        stack.append(node)
        on_stack.add(node)
        for dep in sorted(graph[node]):
            if dep in on_stack:
                cycles.append(stack[stack.index(dep) :] + [dep])
            elif dep not in done:
                visit(dep, stack, on_stack, done)
        on_stack.discard(node)
        stack.pop()
        done.add(node)

    done: set = set()
    for name in sorted(graph):
        if name not in done:
            visit(name, [], set(), done)
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


def test_the_layer_table_names_every_module():
    """docs/design.md's layer table names every module of wpscim (by file name or its folder)."""
    design = (ROOT / "docs" / "design.md").read_text(encoding="utf-8")
    table = "\n".join(line for line in design.splitlines() if line.startswith("| `"))
    missing = []
    for path in MODULES.values():
        relative = path.relative_to(PACKAGE)
        if path.name == "__init__.py" or path.name == "__main__.py":
            continue
        folder = relative.parts[0] + "/" if len(relative.parts) > 1 else None
        if (
            f"`{path.name}`" not in table
            and f"{path.name}" not in table
            and not (folder and f"`{folder}`" in table and f"{path.name}" in design)
        ):
            missing.append(str(relative))
    assert not missing, f"docs/design.md's layer table does not name: {missing}"

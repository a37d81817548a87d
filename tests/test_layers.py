"""Dependencies point one way: web/api/cli -> services -> storage (STYLE.md rule 1).

The checks read the source (AST), so an import inside a function counts as much as one
at the top of a module, and a relative import as much as an absolute one. Imports under
`if TYPE_CHECKING:` are for annotations only and do not run: they are left out.
"""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "kartoteka"
SERVICES = [
    "access",
    "auth",
    "catalogs",
    "comments",
    "duplicates",
    "exporter",
    "fields",
    "files",
    "importer",
    "notices",
    "records",
    "scenarios",
    "search",
    "security",
    "users",
    "views",
    "webhooks",
    "workers",
    "workspaces",
]
#: The HTTP/UI/CLI side: services must not import these.
OUTER = (
    "kartoteka.api",
    "kartoteka.web",
    "kartoteka.edge",
    "kartoteka.server",
    "kartoteka.cli",
    "fastapi",
    "starlette",
    "jinja2",
    "typer",
    "uvicorn",
)
#: Edge modules that live beside a service but belong to the outer layer, and why.
EDGE_MODULES = {
    "importer/cli.py": "the `kartoteka import` command (Typer) kept beside the importer",
    "exporter/cli.py": "the `kartoteka export` command (Typer) kept beside the exporter",
    "duplicates/cli.py": "the `kartoteka duplicates` commands (Typer) kept beside the service",
    "security/ratelimit.py": "the ASGI middleware that applies the limits",
    "scenarios/templates.py": "step values use Jinja2's sandbox as an expression engine, "
    "not the web layer's HTML templates",
}
#: Libraries a function may import lazily (heavy or optional), each with its reason
#: written beside the import.
LAZY_LIBRARIES = {
    "anyio",
    "certifi",
    "fastapi",
    "openpyxl",
    "phonenumbers",
    "psycopg",
    "pyarrow",
    "pypdf",
    "redis",
    "uvicorn",
    "uvloop",
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(inner) for inner in ast.walk(node))
    return skipped


def _absolute(path: Path, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package.pop()
    base = package[: len(package) - node.level + 1]
    return ".".join(base + ([node.module] if node.module else []))


@cache
def imports_of(path: Path) -> frozenset[tuple[str, int]]:
    """(module, line) for every import that runs; `from a import b` gives a and a.b."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped = _type_checking_nodes(tree)
    found: set[tuple[str, int]] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found.update((alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(path, node)
            found.add((base, node.lineno))
            found.update((f"{base}.{alias.name}", node.lineno) for alias in node.names)
    return frozenset(found)


def names_of(path: Path) -> set[str]:
    return {name for name, _ in imports_of(path)}


def service_modules() -> list[Path]:
    return [p for pkg in SERVICES for p in sorted((ROOT / pkg).rglob("*.py"))]


def all_modules() -> list[Path]:
    return [p for p in sorted(ROOT.rglob("*.py")) if "migrations" not in p.parts]


def _within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == o or name.startswith(o + ".") for o in prefixes)


@pytest.mark.parametrize("path", service_modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_services_do_not_import_the_web_layer(path: Path) -> None:
    if str(path.relative_to(ROOT)) in EDGE_MODULES:
        return
    bad = sorted(n for n in names_of(path) if _within(n, OUTER))
    assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


@pytest.mark.parametrize(
    "path", sorted((ROOT / "storage").rglob("*.py")), ids=lambda p: str(p.relative_to(ROOT))
)
def test_storage_imports_no_service(path: Path) -> None:
    bad = sorted(
        n
        for n in names_of(path)
        if n.startswith("kartoteka.") and not _within(n, ("kartoteka.storage", "kartoteka.config"))
    )
    assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


def test_relative_imports_are_resolved() -> None:
    """The checks see `from .read import x` inside records as kartoteka.records.read."""
    names = names_of(ROOT / "catalogs" / "service.py")
    assert "kartoteka.catalogs.naming" in names


@pytest.mark.parametrize(
    "path", sorted((ROOT / "web").rglob("*.py")), ids=lambda p: str(p.relative_to(ROOT))
)
def test_web_never_imports_the_api(path: Path) -> None:
    """Pages share cookies, workspaces and the error table with the API through `edge`."""
    bad = sorted(n for n in names_of(path) if _within(n, ("kartoteka.api",)))
    assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


@pytest.mark.parametrize(
    "path", sorted((ROOT / "api").rglob("*.py")), ids=lambda p: str(p.relative_to(ROOT))
)
def test_api_never_imports_the_web(path: Path) -> None:
    """Both front ends are put on one app by `kartoteka.server`, not by each other."""
    bad = sorted(n for n in names_of(path) if _within(n, ("kartoteka.web", "kartoteka.server")))
    assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


# ----- the package graph ------------------------------------------------------------------
def unit_of(name: str) -> str | None:
    """The graph node of a module: its top package (`records`), or a top module (`cli`)."""
    parts = name.split(".")
    if parts[0] != "kartoteka" or len(parts) < 2:
        return None
    if (ROOT / parts[1]).is_dir() or (ROOT / f"{parts[1]}.py").is_file():
        return parts[1]
    return None  # a name defined in kartoteka/__init__.py (`__version__`)


def package_graph() -> dict[tuple[str, str], list[str]]:
    """(from, to) -> the `file:line`s that make the edge."""
    edges: dict[tuple[str, str], list[str]] = {}
    for path in all_modules():
        source = unit_of(module_name(path)) or "kartoteka"
        for name, line in sorted(imports_of(path)):
            target = unit_of(name)
            if target is not None and target != source:
                where = f"{path.relative_to(ROOT)}:{line}"
                edges.setdefault((source, target), []).append(where)
    return edges


def cycles(edges: set[tuple[str, str]]) -> list[list[str]]:
    """Strongly connected components with more than one node (Tarjan)."""
    nodes = sorted({n for edge in edges for n in edge})
    out: dict[str, list[str]] = {n: sorted(b for a, b in edges if a == n) for n in nodes}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in out[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in nodes:
        if node not in index:
            visit(node)
    return found


def test_no_cycles_between_packages() -> None:
    graph = package_graph()
    live = set(graph)
    found = cycles(live)
    detail = [
        f"{a} -> {b}: {graph[(a, b)][:3]}" for c in found for a in c for b in c if (a, b) in live
    ]
    assert not found, "import cycles between packages:\n" + "\n".join(detail)


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert cycles({("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")}) == [["a", "b", "c"]]


@pytest.mark.parametrize("path", all_modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_function_level_imports_of_our_own_modules(path: Path) -> None:
    """An import inside a function hides a cycle; only lazy heavy libraries may do it."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped = _type_checking_nodes(tree)
    lines = path.read_text(encoding="utf-8").splitlines()
    bad = []
    for func in ast.walk(tree):
        if not isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for node in ast.walk(func):
            if id(node) in skipped or not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            name = _absolute(path, node) if isinstance(node, ast.ImportFrom) else node.names[0].name
            said_why = "#" in lines[node.lineno - 1] or lines[node.lineno - 2].strip().startswith(
                "#"
            )
            if name.split(".")[0] not in LAZY_LIBRARIES or not said_why:
                bad.append(f"{node.lineno}: {lines[node.lineno - 1].strip()}")
    assert not bad, f"{path.relative_to(ROOT)}: imports inside functions: {bad}"


#: Arrows docs/architecture.md promises never exist, (from, to) with the reason.
FORBIDDEN_ARROWS = {
    ("context", "catalogs"): "the Workspace is handed its metadata loader",
    ("filters", "access"): "the compiler receives the reader's rights as a parameter",
    ("filters", "records"): "records build on the compiler, not the other way",
    ("access", "catalogs"): "rights are decided below catalog management",
    ("access", "records"): "visibility helpers live in access; reveal and pickers in records",
    ("catalogs", "records"): "catalog structure knows nothing of reading records",
    ("views", "records"): "saved views validate with the filter compiler",
    ("webhooks", "workers"): "services ring the doorbell in webhooks.wakeup",
    ("security", "auth"): "auth builds on security, never the reverse",
    ("fields", "records"): "a field type gets what it needs passed in",
    ("fields", "catalogs"): "field types see fields only through annotations",
}


@pytest.mark.parametrize("arrow", sorted(FORBIDDEN_ARROWS), ids="->".join)
def test_documented_arrows_point_one_way(arrow: tuple[str, str]) -> None:
    where = package_graph().get(arrow, [])
    assert not where, f"{arrow[0]} imports {arrow[1]} ({FORBIDDEN_ARROWS[arrow]}): {where}"


#: Calls that fill a plugin registry (`x.add_before_write(...)`, `system.register(...)`...).
REGISTRAR_CALLS = {
    "add_before_write",
    "add_after_commit",
    "add_in_transaction",
    "register_field_type",
    "register_system_catalog",
}
#: The registries themselves (their own functions fill them).
REGISTRY_MODULES = {"records/hooks.py", "fields/registry.py", "catalogs/system.py"}
HOOK_LISTS = {"before_write", "after_commit", "in_transaction", "searcher", "search_syntax"}


def registry_calls(path: Path) -> list[int]:
    """Lines of `path` that put something into a plugin registry."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        owner = func.value if isinstance(func, ast.Attribute) else None
        owner_name = getattr(owner, "id", getattr(owner, "attr", ""))
        if (
            name in REGISTRAR_CALLS
            or (name == "register" and owner_name in ("system", "fields"))
            or (name == "append" and owner_name in HOOK_LISTS)
        ):
            found.append(node.lineno)
    return found


def test_plugins_are_installed_only_by_the_plugin_list() -> None:
    """Registries are filled by `plugins.install()`, never by importing a module."""
    callers = {
        str(p.relative_to(ROOT))
        for p in all_modules()
        if registry_calls(p) and str(p.relative_to(ROOT)) not in REGISTRY_MODULES
    }
    assert callers == {"plugins.py"}, callers


MAX_MODULE_LINES = 500
#: Long modules whose owners are splitting them now (issue 15); take one off when it is.
SPLIT_PENDING = {
    "scenarios/engine.py": "new with the scenarios issue",
    "storage/fulltext.py": "grew past the mark with Russian search (helper search)",
}


@pytest.mark.parametrize("path", all_modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_long_modules_say_why(path: Path) -> None:
    """A module past ~500 lines is asking to be split, or says at its top why not."""
    text = path.read_text(encoding="utf-8")
    if text.count("\n") <= MAX_MODULE_LINES:
        return
    docstring = ast.get_docstring(ast.parse(text)) or ""
    name = str(path.relative_to(ROOT))
    said = "500" in docstring or name in SPLIT_PENDING
    assert said, f"{name}: {text.count(chr(10))} lines and no reason at its top"


#: Packages docs/architecture.md says never ask a field for its type name: everything
#: outside `fields/` asks the type (`f.ftype.cell`, `f.ftype.view_roles`...) instead.
TYPE_BLIND = (
    "records",
    "catalogs",
    "access",
    "filters",
    "rights",
    "exporter",
    "views",
    "scenarios",
    "importer",
    "web",
)


@cache
def field_type_names() -> frozenset[str]:
    """Every `type = "..."` a module of `fields/` declares (the registered names)."""
    found = set()
    for path in (ROOT / "fields").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            target = node.targets[0] if isinstance(node, ast.Assign) else None
            if isinstance(node, ast.AnnAssign):
                target = node.target
            value = getattr(node, "value", None)
            if getattr(target, "id", None) == "type" and isinstance(value, ast.Constant):
                found.add(value.value)
    return frozenset(found - {""})


def _strings(node: ast.AST) -> set[str]:
    return {
        c.value for c in ast.walk(node) if isinstance(c, ast.Constant) and isinstance(c.value, str)
    }


def type_name_branches(source: str) -> list[str]:
    """Comparisons of a `.type` with field type names, written out or through a module-level
    set of them (`f.type in INLINE_TYPES`)."""
    tree = ast.parse(source)
    names = field_type_names()
    name_sets = {
        target.id
        for node in tree.body
        if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None
        for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
        if isinstance(target, ast.Name) and _strings(node.value) & names
    }
    bad = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Compare):
            continue
        sides = [node.left, *node.comparators]
        asks_type = any(isinstance(s, ast.Attribute) and s.attr == "type" for s in sides)
        via_set = any(isinstance(s, ast.Name) and s.id in name_sets for s in sides)
        if asks_type and (via_set or any(_strings(s) & names for s in sides)):
            bad.append(f"{node.lineno}: {ast.unparse(node)}")
    return bad


@pytest.mark.parametrize(
    "path",
    [p for pkg in TYPE_BLIND for p in sorted((ROOT / pkg).rglob("*.py"))],
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_type_blind_packages_do_not_branch_on_a_type_name(path: Path) -> None:
    """`x.type == "link"` outside `fields/` asks for a hook (field types own behaviour)."""
    bad = type_name_branches(path.read_text(encoding="utf-8"))
    assert not bad, f"{path.relative_to(ROOT)} branches on field type names: {bad}"


#: `f.type == "select"`, `f.type in ("date", ...)` inside a Jinja tag of a template.
TEMPLATE_BRANCH = re.compile(r"\.type\s*(?:==|!=|\bin\b|\bnot in\b)\s*\(?\s*['\"](\w+)['\"]")


@pytest.mark.parametrize(
    "path",
    sorted((ROOT / "web" / "templates").rglob("*.html")),
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_templates_do_not_branch_on_a_type_name(path: Path) -> None:
    """Templates ask `f.ftype.cell` (or another descriptor), never the type's name."""
    text = path.read_text(encoding="utf-8")
    bad = [m.group(0) for m in TEMPLATE_BRANCH.finditer(text) if m.group(1) in field_type_names()]
    assert not bad, f"{path.relative_to(ROOT)} branches on field type names: {bad}"


def test_the_type_name_rule_sees_sets_and_literals() -> None:
    assert field_type_names() >= {"link", "select", "date", "created_by", "money"}
    source = (
        'KINDS = frozenset({"link", "file"})\n'
        "a = f.type in KINDS\n"
        'b = f.type == "select"\n'
        'c = f.ftype.cell == "chips"\n'
        'd = view.type == "kanban"\n'
    )
    assert [b.split(":")[0] for b in type_name_branches(source)] == ["2", "3"]
    assert TEMPLATE_BRANCH.search('{% if f.type == "select" %}')
    assert not TEMPLATE_BRANCH.search('data-type="{{ f.type }}"')


def test_no_test_module_imports_another() -> None:
    """Shared test helpers live in tests/support; a test module never imports a test module."""
    tests = Path(__file__).parent
    offenders = []
    for path in sorted(tests.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            offenders += [
                f"{path.relative_to(tests)}:{node.lineno} imports {name}"
                for name in names
                if name.split(".")[0].startswith("test_")
            ]
    assert offenders == []


# ----- docs/architecture.md is kept true ---------------------------------------------------
ARCHITECTURE = ROOT.parent / "docs" / "architecture.md"
ARROW = "──►"


def doc_section(title: str) -> str:
    """The text of one `## title` section of docs/architecture.md."""
    text = ARCHITECTURE.read_text(encoding="utf-8")
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end > 0 else len(text)]


def doc_table(section: str, header: str) -> list[list[str]]:
    """The rows (cells stripped) of the markdown table whose header row starts `| header |`."""
    lines = section.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"| {header} |"))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    return rows


def code_names(cell: str) -> list[str]:
    """`a`, `b/` and `c.py` in a table cell, as package names."""
    return [n.rstrip("/").removesuffix(".py") for n in re.findall(r"`([^`]+)`", cell)]


def documented_tiers() -> dict[str, int]:
    """package -> its tier's position in the tier table (0 = top)."""
    rows = doc_table(doc_section("Layers"), "tier")
    tiers: dict[str, int] = {}
    for level, (_, packages) in enumerate(rows):
        for name in code_names(packages):
            assert name not in tiers, f"{name} is in two tiers"
            tiers[name] = level
    return tiers


def documented_arrows() -> list[tuple[str, str]]:
    """(from, to) for every `a, b ──► c ──► d` chain in the Layers diagram."""
    section = doc_section("Layers")
    block = section.split("```")[1]
    arrows = []
    for line in block.splitlines():
        for chain in line.split(";"):
            groups = [[n.strip() for n in g.split(",") if n.strip()] for g in chain.split(ARROW)]
            for left, right in zip(groups, groups[1:], strict=False):
                arrows += [(a, b) for a in left for b in right]
    return arrows


def our_packages() -> set[str]:
    """Every top package and top module of kartoteka (graph nodes)."""
    return {
        p.stem if p.is_file() else p.name
        for p in ROOT.iterdir()
        if (p.is_dir() and (p / "__init__.py").is_file())
        or (p.suffix == ".py" and p.name != "__init__.py")
    }


def test_every_package_has_a_documented_tier() -> None:
    assert set(documented_tiers()) == our_packages()


def test_no_package_imports_a_tier_above_its_own() -> None:
    tiers = documented_tiers()
    upward = [
        f"{a} ({tiers[a]}) -> {b} ({tiers[b]}): {where[:2]}"
        for (a, b), where in package_graph().items()
        if a in tiers and b in tiers and tiers[b] < tiers[a]
    ]
    assert not upward, "imports pointing up the documented tiers:\n" + "\n".join(upward)


def test_the_documented_arrows_exist() -> None:
    graph = package_graph()
    arrows = documented_arrows()
    assert len(arrows) > 40, arrows  # the diagram was read
    assert not [arrow for arrow in arrows if arrow not in graph]


def test_the_package_table_names_every_package() -> None:
    rows = doc_table(doc_section("Packages"), "package")
    named = {name for row in rows for name in code_names(row[0])}
    missing = our_packages() - named - {"kartoteka"}
    assert not missing, f"docs/architecture.md's package table lacks {sorted(missing)}"


def test_the_plugin_table_is_the_plugin_list() -> None:
    from kartoteka import plugins

    rows = doc_table(doc_section("Plugins"), "plugin")
    documented = {code_names(row[0])[0]: row[1] for row in rows}
    assert set(documented) == {p.name for p in plugins.DEFAULT_PLUGINS}
    for plugin in plugins.DEFAULT_PLUGINS:
        types = [t.type for t in plugin.field_types]
        assert code_names(documented[plugin.name]) == types or not types, plugin.name


def test_one_loopback_receiver_for_every_test() -> None:
    """HTTP receivers in tests are `support.receiver.Receiver`, not one more hand-made server."""
    tests = Path(__file__).parent
    servers = {"BaseHTTPRequestHandler", "HTTPServer", "ThreadingHTTPServer"}
    offenders = []
    for path in sorted(tests.rglob("*.py")):
        if path == tests / "support" / "receiver.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            name = ""
            if isinstance(node, ast.Name | ast.Attribute):
                name = node.id if isinstance(node, ast.Name) else node.attr
            if name in servers:
                offenders.append(f"{path.relative_to(tests)}:{node.lineno} uses {name}")
    assert offenders == []

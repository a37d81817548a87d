"""Dependencies point one way: web/api/cli -> services -> storage (STYLE.md rule 1)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "kartoteka"
SERVICES = [
    "access",
    "auth",
    "catalogs",
    "comments",
    "exporter",
    "fields",
    "files",
    "importer",
    "notices",
    "records",
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
    "security/ratelimit.py": "the ASGI middleware that applies the limits",
}


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def service_modules() -> list[Path]:
    return [p for pkg in SERVICES for p in sorted((ROOT / pkg).rglob("*.py"))]


@pytest.mark.parametrize("path", service_modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_services_do_not_import_the_web_layer(path: Path) -> None:
    if str(path.relative_to(ROOT)) in EDGE_MODULES:
        return
    bad = sorted(n for n in imports_of(path) if any(n == o or n.startswith(o + ".") for o in OUTER))
    assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


@pytest.mark.parametrize(
    "path", sorted((ROOT / "storage").rglob("*.py")), ids=lambda p: str(p.relative_to(ROOT))
)
def test_storage_imports_no_service(path: Path) -> None:
    bad = sorted(
        n
        for n in imports_of(path)
        if n.startswith("kartoteka.")
        and not n.startswith(("kartoteka.storage", "kartoteka.config"))
    )
    assert not bad, f"{path.relative_to(ROOT)} imports {bad}"

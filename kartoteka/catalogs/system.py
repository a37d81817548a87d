"""System catalogs: platform tables shown as read-only catalogs (e.g. `webhooks`).

A system catalog is a row in `catalogs` whose `options.system` names a builder. The
builder turns that row into a `Catalog` whose fields map onto the platform table's
columns, so the records read path (filters, sorts, cursors, rendering) serves it
unchanged. Built-in builders register themselves the way a plugin would; their
modules are imported the first time metadata is loaded.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from .models import Catalog

#: (the catalog row as loaded, every catalog of the workspace) -> the system catalog.
Builder = Callable[[Catalog, list[Catalog]], Catalog]

#: Modules that register the built-in system catalogs.
BUILTIN_MODULES = ("kartoteka.webhooks.system_catalog",)

_builders: dict[str, Builder] = {}
_loaded = False


def register(name: str) -> Callable[[Builder], Builder]:
    """Register the builder of the system catalog named `name` (its `options.system`)."""

    def decorate(builder: Builder) -> Builder:
        _builders[name] = builder
        return builder

    return decorate


def builders() -> dict[str, Builder]:
    """Every registered builder (built-in modules imported on first use)."""
    global _loaded
    if not _loaded:
        for module in BUILTIN_MODULES:
            importlib.import_module(module)
        _loaded = True
    return _builders


def apply(catalogs: list[Catalog]) -> list[Catalog]:
    """Replace system catalog rows by their built catalogs (unknown builders stay empty)."""
    found = builders()
    out = []
    for catalog in catalogs:
        builder = found.get(str(catalog.options.get("system") or ""))
        out.append(builder(catalog, catalogs) if builder is not None else catalog)
    return out

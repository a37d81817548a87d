"""System catalogs: platform tables shown as read-only catalogs (e.g. `webhooks`).

A system catalog is a row in `catalogs` whose `options.system` names a builder. The
builder turns that row into a `Catalog` whose fields map onto the platform table's
columns, so the records read path (filters, sorts, cursors, rendering) serves it
unchanged. Builders are registered the way a plugin would be: the built-in one is
listed in `kartoteka.plugins.DEFAULT_PLUGINS` and put here by `plugins.install()`.
"""

from __future__ import annotations

from collections.abc import Callable

from .models import Catalog

#: (the catalog row as loaded, every catalog of the workspace) -> the system catalog.
Builder = Callable[[Catalog, list[Catalog]], Catalog]

_builders: dict[str, Builder] = {}


def register(name: str, builder: Builder) -> None:
    """Register the builder of the system catalog named `name` (its `options.system`)."""
    _builders[name] = builder


def builders() -> dict[str, Builder]:
    """Every registered builder by name."""
    return dict(_builders)


def apply(catalogs: list[Catalog]) -> list[Catalog]:
    """Replace system catalog rows by their built catalogs (unknown builders stay empty)."""
    out = []
    for catalog in catalogs:
        builder = _builders.get(str(catalog.options.get("system") or ""))
        out.append(builder(catalog, catalogs) if builder is not None else catalog)
    return out

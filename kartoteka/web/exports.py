"""The export menu of a catalog's page: one link per format the exporter writes.

The formats come from `exporter.service.FORMATS`, so a new format (Parquet) shows up
in the menu by being added there. Each link carries the page's view, filter and sort;
`frontend/exports.js` refreshes them from the address bar when the grid has changed it.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from kartoteka.exporter.service import FORMATS

#: What the menu calls each format (its name in capitals when absent).
LABELS = {"csv": "CSV", "xlsx": "Excel (XLSX)", "jsonl": "JSON Lines", "parquet": "Parquet"}


def links(
    base: str, catalog: str, view: dict[str, Any] | None, filter_text: str, sort: str | None
) -> list[tuple[str, str, str]]:
    """(format, label, URL) for every export format, with the page's state."""
    state = {"view": view["id"] if view else None, "filter": filter_text or None, "sort": sort}
    query = urlencode({k: v for k, v in state.items() if v})
    url = f"{base}/api/v1/catalogs/{quote(catalog, safe='')}/export?format="
    return [
        (fmt, LABELS.get(fmt, fmt.upper()), url + fmt + ("&" + query if query else ""))
        for fmt in FORMATS
    ]

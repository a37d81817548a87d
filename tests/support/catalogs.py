"""Catalogs several test modules build the same way."""

from __future__ import annotations

from typing import Any

from kartoteka.catalogs import service as catalogs
from kartoteka.catalogs.models import Catalog


def deals_linking_clients(admin: Any) -> Catalog:
    """Create Deals (Name, and `client`: a link to the existing `clients` catalog)."""
    return catalogs.create_catalog(
        admin,
        {
            "name": "Deals",
            "fields": [
                {"name": "Name", "type": "text"},
                {"name": "Client", "api_name": "client", "type": "link",
                 "options": {"catalog": "clients"}},
            ],
        },
    )  # fmt: skip

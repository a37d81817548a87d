"""The UI's routes, one list per area; `ROUTES` is all of them, without the workspace prefix."""

from __future__ import annotations

from starlette.routing import BaseRoute

from . import (
    account,
    admin,
    apidoc,
    auth,
    catalogs,
    designer,
    designer_duplicates,
    designer_fields,
    designer_process,
    designer_views,
    duplicates,
    integrations,
    notices,
    people,
    records,
    rights,
    scenario_runs,
    scenarios,
    settings,
    views,
    workspaces,
)

ROUTES: list[BaseRoute] = [
    *auth.routes,
    *catalogs.routes,
    *apidoc.routes,
    *views.routes,
    *records.routes,
    *admin.routes,
    *notices.routes,
    *integrations.routes,
    *scenarios.routes,
    *scenario_runs.routes,
    *people.routes,
    *rights.routes,
    *settings.routes,
    *workspaces.routes,
    *account.routes,
    *designer.routes,
    *designer_fields.routes,
    *designer_views.routes,
    *designer_process.routes,
    *designer_duplicates.routes,
    *duplicates.routes,
]

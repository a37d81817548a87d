"""The ASGI application: API under /api/v1 and /w/{workspace}/api/v1, UI at /."""

from __future__ import annotations

import importlib
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from kartoteka.errors import DomainError
from kartoteka.security.ratelimit import RateLimitMiddleware

from . import errors, openapi_shapes, schemas
from .direct import install_hot_lane
from .guard import EdgeGuardMiddleware
from .routes import auth, catalogs, openapi, records, search, settings, users, views

API_DESCRIPTION = """Kartoteka REST API. Every path also exists under `/w/{workspace}` for a
named workspace (`/w/acme/api/v1/catalogs`); plain `/api/v1` is the default workspace.
Errors are `{"error": CODE, "message": ...}`; see docs/api.md for the codes."""

#: Tag descriptions shown in the OpenAPI document (one tag per route module).
OPENAPI_TAGS = [
    {"name": "auth", "description": "Log in and out, who am I, API tokens."},
    {"name": "catalogs", "description": "Catalogs (real tables) and their typed fields."},
    {
        "name": "records",
        "description": "Records: CRUD, list with filters and cursors, batch, "
        "history, comments, related records.",
    },
    {"name": "views", "description": "Saved views: table, kanban, calendar, gantt, gallery."},
    {"name": "settings", "description": "Workspace settings: time zone, default language."},
    {
        "name": "search",
        "description": "Full-text search across every catalog the caller may see (docs/search.md).",
    },
    {"name": "users", "description": "Users and groups of the workspace."},
    {"name": "files", "description": "Uploaded files and thumbnails."},
    {"name": "webhooks", "description": "Notify, request and action webhooks and deliveries."},
    {"name": "events", "description": "The workspace event feed."},
    {"name": "imports", "description": "CSV/XLSX imports and exports."},
    {
        "name": "duplicates",
        "description": "Duplicate rules, the duplicate scan and merging records.",
    },
    {"name": "rights", "description": "Catalog rights per group."},
    {"name": "scenarios", "description": "Automation scenarios and their runs."},
    {"name": "security", "description": "Security log, request limits, two-factor login."},
    {"name": "notices", "description": "Notices to administrators (e.g. a webhook disabled)."},
]

#: Every way to authenticate; any one of them is enough (login itself needs none).
SECURITY_SCHEMES = {
    "bearer": {
        "type": "http",
        "scheme": "bearer",
        "description": "A login token or an API token (`POST /api/v1/auth/tokens`).",
    },
    "basic": {"type": "http", "scheme": "basic", "description": "Email and password."},
    "session": {
        "type": "apiKey",
        "in": "cookie",
        "name": "kartoteka_session",
        "description": "Browser session; unsafe methods also need the `X-CSRF-Token` "
        "header equal to the `kartoteka_csrf` cookie.",
    },
}

# Routes are matched in order, one by one: the busiest (records) go first.
ROUTERS = [
    records.router,
    catalogs.router,
    auth.router,
    views.router,
    users.router,
    settings.router,
    search.router,
    openapi.router,
]


def optional_routers() -> list[APIRouter]:
    """Routers of packages that may not be present in every build (files, webhooks...)."""
    found = []
    names: tuple[str, ...] = ("files", "webhooks", "editing", "events", "imports", "rights")
    names += ("scenarios", "notices", "duplicates")
    for name in (*names, "security"):
        try:
            module = importlib.import_module(f"kartoteka.api.routes.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"kartoteka.api.routes.{name}":
                raise
            continue
        found.append(module.router)
    return found


def api_router() -> APIRouter:
    """All API routes without a prefix."""
    router = APIRouter()
    for r in ROUTERS + optional_routers():
        router.include_router(r)
    return router


def install(app: FastAPI) -> None:
    """Put the API on `app`: its routes (twice, see below), limits, edge guard, error
    handlers and the OpenAPI document. `kartoteka.server` calls it."""
    # Each router is included on the app itself rather than through one combined router:
    # FastAPI re-checks the route tables under every inclusion on every request (issue
    # 16: matching a GET through the nested inclusion was a tenth of its cost).
    routers = ROUTERS + optional_routers()
    for r in routers:
        app.include_router(r, prefix="/api/v1")
    for r in routers:
        app.include_router(r, prefix="/w/{workspace}/api/v1", include_in_schema=False)
    install_hot_lane(app.router, [route for r in routers for route in r.routes])
    app.add_middleware(RateLimitMiddleware)
    # Added last, so it runs first: hostile request lines and bodies never reach the rest.
    app.add_middleware(EdgeGuardMiddleware)
    app.add_exception_handler(DomainError, errors.domain_error_handler)
    app.add_exception_handler(RequestValidationError, errors.request_validation_handler)
    app.add_exception_handler(StarletteHTTPException, errors.http_error_handler)
    app.add_exception_handler(sa.exc.IntegrityError, errors.integrity_error_handler)
    app.add_exception_handler(Exception, errors.unexpected_error_handler)
    app.openapi = lambda: _openapi_document(app)  # type: ignore[method-assign]


def _openapi_document(app: FastAPI) -> dict[str, Any]:
    """FastAPI's generated document plus security schemes, built once per app."""
    if app.openapi_schema is None:
        from fastapi.openapi.utils import get_openapi  # lazy: only when the document is asked for

        schemas.fill_field_types()
        doc = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
            tags=OPENAPI_TAGS,
        )
        doc.setdefault("components", {})["securitySchemes"] = SECURITY_SCHEMES
        doc["security"] = [{name: []} for name in SECURITY_SCHEMES]
        login = doc["paths"].get("/api/v1/auth/login", {}).get("post")
        if login is not None:
            login["security"] = []
        openapi_shapes.decorate(doc)  # the real answers: records, pages, errors, 429
        app.openapi_schema = doc
    return app.openapi_schema

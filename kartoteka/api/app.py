"""The ASGI application: API under /api/v1 and /w/{workspace}/api/v1, UI at /."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from kartoteka import __version__
from kartoteka.config import Settings
from kartoteka.errors import DomainError

from . import errors
from .responses import JSONResponse
from .routes import auth, catalogs, records, users, views

API_DESCRIPTION = """Kartoteka REST API. Every path also exists under `/w/{workspace}` for a
named workspace (`/w/acme/api/v1/catalogs`); plain `/api/v1` is the default workspace.
Errors are `{"error": CODE, "message": ...}`; see docs/api.md for the codes."""

ROUTERS = [auth.router, catalogs.router, records.router, views.router, users.router]


def optional_routers() -> list[APIRouter]:
    """Routers of packages that may not be present in every build (files, webhooks...)."""
    import importlib

    found = []
    for name in ("files", "webhooks", "events", "imports", "rights", "scenarios"):
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


def create_app(settings: Settings | None = None, instance: Any = None) -> FastAPI:
    """Build the application (uvicorn calls this as a factory)."""
    from kartoteka.workspaces.service import Instance

    settings = settings or Settings.from_env()
    app = FastAPI(
        title="Kartoteka",
        version=__version__,
        description=API_DESCRIPTION,
        default_response_class=JSONResponse,
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/v1/docs",
        redoc_url=None,
        lifespan=_lifespan,
    )
    app.state.instance = instance or Instance(settings)
    app.state.owns_instance = instance is None
    router = api_router()
    app.include_router(router, prefix="/api/v1")
    app.include_router(router, prefix="/w/{workspace}/api/v1", include_in_schema=False)
    app.add_exception_handler(DomainError, errors.domain_error_handler)
    app.add_exception_handler(RequestValidationError, errors.request_validation_handler)
    app.add_exception_handler(StarletteHTTPException, errors.http_error_handler)
    app.add_exception_handler(Exception, errors.unexpected_error_handler)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> JSONResponse:
        try:
            with app.state.instance.dbs.control.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
        except sa.exc.SQLAlchemyError:
            return JSONResponse({"status": "unavailable"}, status_code=503)
        return JSONResponse({"status": "ok"})

    _mount_web(app)
    return app


def _mount_web(app: FastAPI) -> None:
    try:
        from kartoteka.web.app import mount
    except ModuleNotFoundError:
        return
    mount(app)


@contextlib.asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    yield
    if app.state.owns_instance:
        app.state.instance.close()

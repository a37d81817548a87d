"""The application: the REST API and the HTML UI on one FastAPI app.

Both front ends are built here and nowhere else, so `api/` and `web/` never import
each other (what they share lives in `kartoteka.edge`). uvicorn calls `create_app`
as a factory (`kartoteka serve` does).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import anyio.to_thread
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.telemetry import TelemetryConfig

from kartoteka import __version__
from kartoteka.api import app as api
from kartoteka.api.responses import JSONResponse
from kartoteka.config import Settings
from kartoteka.observability import asgi as observability
from kartoteka.storage.engine import POOL_SIZE
from kartoteka.web import app as web
from kartoteka.web import warmup
from kartoteka.workers import start_in_process
from kartoteka.workspaces.service import Instance

#: FastAPI's built-in OpenTelemetry spans, metrics and logs, all off (issue 16: asking
#: whether they are configured was ~5% of a single GET).
NO_TELEMETRY: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}
#: Requests run in threads at once (anyio's default is 40): no more than a database pool
#: keeps, so concurrent requests reuse pooled connections instead of opening and closing
#: overflow ones (issue 16). More threads would not run Python faster under one GIL.
REQUEST_THREADS = POOL_SIZE


def create_app(settings: Settings | None = None, instance: Any = None) -> FastAPI:
    """Build the application (uvicorn calls this as a factory)."""
    settings = settings or Settings.from_env()
    app = FastAPI(
        title="Kartoteka",
        version=__version__,
        description=api.API_DESCRIPTION,
        default_response_class=JSONResponse,
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/v1/docs",
        redoc_url=None,
        lifespan=_lifespan,
        # Metrics and request logs are Kartoteka's own (observability/); FastAPI's
        # OpenTelemetry hooks, off, skip asking the providers on every request.
        telemetry=NO_TELEMETRY,
    )
    app.state.instance = instance or Instance(settings)
    app.state.owns_instance = instance is None
    api.install(app)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> JSONResponse:
        try:
            with app.state.instance.dbs.control.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
        except sa.exc.SQLAlchemyError:
            return JSONResponse({"status": "unavailable"}, status_code=503)
        return JSONResponse({"status": "ok"})

    observability.install(app, settings)  # outermost middleware, /metrics, /readyz
    web.mount(app)
    return app


@contextlib.asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Start the in-process outbox worker (embedded mode) unless told not to, and compile
    the web templates in the background (`web.warmup`)."""
    stop_worker = None
    instance = app.state.instance
    anyio.to_thread.current_default_thread_limiter().total_tokens = REQUEST_THREADS
    warmup.start()
    if app.state.owns_instance and instance.settings.run_worker:
        stop_worker = start_in_process(instance)
    yield
    if stop_worker is not None:
        stop_worker()
    if app.state.owns_instance:
        instance.close()

"""Wiring into the FastAPI app: the middleware, `/metrics` and `/readyz`."""

from __future__ import annotations

import threading
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from kartoteka.config import Settings

from . import exposition, logs
from .collectors import start_pool_sampler
from .middleware import ObservabilityMiddleware
from .readiness import readiness


def install(app: FastAPI, settings: Settings) -> None:
    """Add the observability middleware, `/metrics` and `/readyz` to the app."""
    logs.stamp_request_ids()
    if settings.log_format:
        logs.configure(settings.log_format)
    app.add_middleware(ObservabilityMiddleware, default_workspace=settings.default_workspace)
    registry = exposition.scrape_registry(app.state.instance)

    async def metrics_endpoint(request: Request) -> Response:
        if not exposition.token_accepted(
            settings.metrics_token, request.headers.get("authorization")
        ):
            # Without a token the endpoint does not exist on the public port at all.
            status = 401 if settings.metrics_token else 404
            return Response(status_code=status)
        body = await run_in_threadpool(exposition.render, registry)
        return Response(body, media_type=exposition.CONTENT_TYPE)

    def readyz_endpoint() -> Response:
        ready, results = readiness(app.state.instance)
        payload = {"status": "ok" if ready else "unavailable", "checks": results}
        return JSONResponse(payload, status_code=200 if ready else 503)

    app.add_api_route("/metrics", metrics_endpoint, methods=["GET"], include_in_schema=False)
    app.add_api_route("/readyz", readyz_endpoint, methods=["GET"], include_in_schema=False)
    if settings.metrics_port:
        exposition.start_metrics_port(
            app.state.instance, settings.metrics_address, settings.metrics_port
        )
    elif exposition.multiprocess():
        start_pool_sampler(app.state.instance, threading.Event())


def start_worker_metrics(instance: Any, settings: Settings) -> None:
    """Log setup and the metrics port for a `kartoteka worker` process."""
    if settings.log_format:
        logs.configure(settings.log_format)
    if settings.metrics_port:
        exposition.start_metrics_port(instance, settings.metrics_address, settings.metrics_port)

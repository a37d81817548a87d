"""The HTML UI: server-rendered Jinja2 pages with htmx and a few bundled widgets.

Pages live at `/` (default workspace) and `/w/{workspace}/`; the route lists are in
`routes/`, one module per area, and every handler is a `@page` (see `pages.py`).
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.routing import Mount
from starlette.types import Message, Receive, Scope, Send

from .pages import HERE
from .routes import ROUTES


class CachedStatic(StaticFiles):
    """Static files; the fingerprinted bundles may be cached for a year."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        immutable = scope["path"].startswith("/dist/") or "/dist/" in scope["path"]

        async def send_with_cache(message: Message) -> None:
            if immutable and message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"cache-control", b"public, max-age=31536000, immutable"))
                message["headers"] = headers
            await send(message)

        await super().__call__(scope, receive, send_with_cache)


def mount(app: FastAPI) -> None:
    """Add the UI pages (at / and /w/{workspace}/) and the static files to the app."""
    app.router.routes.extend(ROUTES)
    app.router.routes.append(Mount("/w/{workspace}", routes=ROUTES))
    app.mount("/static", CachedStatic(directory=HERE / "static"), name="static")

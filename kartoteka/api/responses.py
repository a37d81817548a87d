"""Fast JSON responses with orjson, and a router that returns them without re-encoding."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import orjson
from fastapi import APIRouter
from starlette.responses import Response

from .direct import PARSE_ATTRIBUTE, DirectRoute


class JSONResponse(Response):
    """JSON rendered by orjson (dates, UUIDs and non-str keys handled)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS)


class Router(APIRouter):
    """An APIRouter whose endpoints return plain dicts that go straight to orjson.

    FastAPI would otherwise walk every value with `jsonable_encoder` (or validate a
    response model), which costs more than the database query for a page of records.
    """

    def add_api_route(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        status = kwargs.get("status_code") or 200

        @functools.wraps(endpoint)
        def wrapper(*args: Any, **kw: Any) -> Any:
            result = endpoint(*args, **kw)
            if isinstance(result, Response):
                return result
            return JSONResponse(result, status_code=status)

        kwargs["response_model"] = None
        kwargs.setdefault("response_class", JSONResponse)
        if hasattr(endpoint, PARSE_ATTRIBUTE):
            kwargs["route_class_override"] = DirectRoute
        super().add_api_route(path, wrapper, **kwargs)

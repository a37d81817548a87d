"""Domain errors as JSON responses (the status and code come from `kartoteka.edge`)."""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from kartoteka import errors
from kartoteka.edge import status_and_code
from kartoteka.messages import from_accept_language, message

from .param_errors import param_error
from .responses import JSONResponse


def error_body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    """The JSON shape of every error."""
    return {"error": code, "message": message, **extra}


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return str(value)


def item_error_json(error: errors.ItemError, lang: str = "en") -> dict[str, Any]:
    """One typed error as JSON: where, index, field, code, params and the message."""
    return {
        "where": error.where,
        "index": error.index,
        "field": error.field,
        "code": error.code,
        "params": {k: _jsonable(v) for k, v in error.params.items()},
        "message": error.text(lang),
    }


def request_lang(request: Request) -> str:
    """The language of a client's error messages: its Accept-Language, else English."""
    return from_accept_language(request.headers.get("accept-language")) or "en"


def domain_error_json(exc: errors.DomainError, lang: str = "en") -> tuple[int, dict[str, Any]]:
    """Status and JSON body of a domain error, its texts in `lang` (typed errors add
    `errors`, `where`, `index`)."""
    status, code = status_and_code(exc)
    body = error_body(code, exc.text(lang))
    if isinstance(exc, errors.ValidationFailed):
        body["fields"] = exc.fields_in(lang)
    first = exc.first
    if first is not None:
        for key, value in (("where", first.where), ("index", first.index)):
            if value is not None:
                body[key] = value
        body["errors"] = [item_error_json(e, lang) for e in exc.errors]
    for key in ("index", "where", "report", "field", "duplicates"):
        if exc.extra.get(key) is not None:
            body[key] = exc.extra[key]
    if isinstance(exc, errors.PreconditionFailed):
        body["current"] = exc.current
    return status, body


async def domain_error_handler(request: Request, exc: Exception) -> JSONResponse:
    """Render a DomainError."""
    assert isinstance(exc, errors.DomainError)
    status, body = domain_error_json(exc, request_lang(request))
    headers = {}
    if isinstance(exc, errors.RateLimited):
        headers["Retry-After"] = str(exc.retry_after)
    if isinstance(exc, errors.Unauthenticated):
        headers["WWW-Authenticate"] = 'Bearer, Basic realm="kartoteka"'
    if isinstance(exc, errors.PreconditionFailed) and "version" in exc.current:
        headers["ETag"] = f'"{exc.current["version"]}"'
    return JSONResponse(body, status_code=status, headers=headers)


async def request_validation_handler(request: Request, exc: Exception) -> JSONResponse:
    """Parameter errors caught by FastAPI, in our VALIDATION shape."""
    assert isinstance(exc, RequestValidationError)
    refused = errors.ValidationFailed(errors=[param_error(err) for err in exc.errors()])
    status, body = domain_error_json(refused, request_lang(request))
    return JSONResponse(body, status_code=status)


async def http_error_handler(request: Request, exc: Exception) -> JSONResponse:
    """404/405 from routing, in our error shape."""
    assert isinstance(exc, StarletteHTTPException)
    code = {
        404: "NOT_FOUND",
        405: "METHOD_NOT_ALLOWED",
        401: "UNAUTHENTICATED",
        403: "FORBIDDEN",
        413: "TOO_LARGE",
        415: "UNSUPPORTED_MEDIA_TYPE",
    }.get(exc.status_code, "BAD_REQUEST")
    # Routing's own answers are coded; any other detail is shown as given.
    reason = {404: "path_not_found", 405: "method_not_allowed"}.get(exc.status_code)
    text = str(exc.detail)
    if reason is not None:
        text = message(reason, {"method": request.method}, request_lang(request))
    return JSONResponse(
        error_body(code, text),
        status_code=exc.status_code,
        headers=getattr(exc, "headers", None),
    )


#: A catalog column named in a unique-violation message or constraint (`ix_c2_f7`,
#: `c2.f7_3`): both dialects name the table and column of the index.
UNIQUE_COLUMN = re.compile(r"(?:^|[^a-z0-9])c(\d+)[._](f\d+(?:_\d+)?)\b")


def _unique_field(request: Request, exc: Exception) -> str | None:
    """The api_name of the unique field a constraint violation is about, if it is one."""
    orig = getattr(exc, "orig", None)
    diag = getattr(orig, "diag", None)
    text = f"{getattr(diag, 'constraint_name', '') or ''} {orig}"
    match = UNIQUE_COLUMN.search(text)
    actor = getattr(request.state, "actor", None)
    if match is None or actor is None:
        return None
    catalog = actor.workspace.meta().catalog(int(match.group(1)))
    if catalog is None:
        return None
    field = next((f for f in catalog.fields if f.column == match.group(2)), None)
    return field.api_name if field is not None else None


async def integrity_error_handler(request: Request, exc: Exception) -> JSONResponse:
    """A constraint the services checked first but a concurrent writer won the race for
    (two creates of one unique value on PostgreSQL): a 422 naming the field, never a 500."""
    field = _unique_field(request, exc)
    lang = request_lang(request)
    if field is not None:
        taken = message("unique_taken", {}, lang)
        body = error_body("VALIDATION", f"{field}: {taken}", fields={field: taken})
        return JSONResponse(body, status_code=422)
    body = error_body("CONFLICT", message("concurrent_change", {}, lang))
    return JSONResponse(body, status_code=409)


async def unexpected_error_handler(request: Request, exc: Exception) -> JSONResponse:
    """Last resort: a bug. Logged with the traceback; the client gets a stable shape."""
    logging.getLogger("kartoteka").exception("unhandled error on %s", request.url.path)
    text = message("internal_error", {}, request_lang(request))
    return JSONResponse(error_body("INTERNAL", text), status_code=500)

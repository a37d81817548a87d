"""Every JSON answer the tests' `client` receives is checked against the OpenAPI document.

The generic document (`/api/v1/openapi.json`) states each operation's success schema;
tests exercise nearly every operation in many states, so checking their answers keeps
the document true without a second set of examples. Answers to operations whose success
is documented only as a bare JSON object are not checked (nothing to check against).
With `KARTOTEKA_TEST_OPENAPI_SAMPLES=<file>` answers are appended there as JSON lines
instead (to write a schema from real answers).
"""

from __future__ import annotations

import os
import re
from functools import cache
from typing import Any

import httpx
import jsonschema
import orjson

SAMPLES = os.environ.get("KARTOTEKA_TEST_OPENAPI_SAMPLES")
_PREFIX = re.compile(r"^/w/[^/]+")


_DOCUMENT: dict[str, Any] = {}


def _document() -> dict[str, Any]:
    return _DOCUMENT


@cache
def _operations() -> list[tuple[re.Pattern[str], str, str, dict[str, Any]]]:
    doc = _document()
    found = []
    for path, item in doc["paths"].items():
        pattern = re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", path) + "$")
        for method, operation in item.items():
            found.append((pattern, method, path, operation))
    # Literal segments before parameters: /records/batch must win over /records/{id}.
    found.sort(key=lambda o: o[2].count("{"))
    return found


@cache
def _validator(path: str, method: str, status: str) -> jsonschema.Draft202012Validator | None:
    doc = _document()
    answer = doc["paths"][path][method]["responses"].get(status, {})
    schema = answer.get("content", {}).get("application/json", {}).get("schema")
    if not schema or schema in ({"type": "object"}, {"type": "string"}, {}):
        return None
    return jsonschema.Draft202012Validator({**schema, "components": doc["components"]})


def _template(method: str, path: str) -> str | None:
    """The documented path template `method path` is an operation of, if any."""
    for pattern, op_method, template, _operation in _operations():
        if op_method == method and pattern.match(path):
            return template
    return None


def answer_checker(app: Any) -> Any:
    """An httpx response hook checking answers of `app` (its document is the same for all)."""
    if not _DOCUMENT:
        from fastapi.testclient import TestClient

        _DOCUMENT.update(TestClient(app).get("/api/v1/openapi.json").json())
    return check_answer


def check_answer(response: httpx.Response) -> None:
    """Fail when a 2xx JSON answer does not match its operation's documented schema."""
    if not 200 <= response.status_code < 300:
        return
    if not response.headers.get("content-type", "").startswith("application/json"):
        return
    path = _PREFIX.sub("", response.request.url.path)
    if not path.startswith("/api/v1/"):
        return
    method = response.request.method.lower()
    template = _template(method, path)
    if template is None:
        return
    response.read()
    body = orjson.loads(response.content) if response.content else None
    if SAMPLES:
        with open(SAMPLES, "ab") as out:
            sample = {"op": f"{method} {template}", "status": response.status_code, "body": body}
            out.write(orjson.dumps(sample) + b"\n")
        return
    validator = _validator(template, method, str(response.status_code))
    if validator is None:
        return
    errors = sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
    assert not errors, (
        f"{method.upper()} {template} answered {response.status_code} outside its documented "
        f"schema: {errors[0].message} at {list(errors[0].absolute_path)}"
    )

"""The OpenAPI document: valid, complete, summarised, and the API survives fuzzing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from kartoteka.fields import all_types

HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


@pytest.fixture
def document(client: TestClient) -> dict[str, Any]:
    """The served OpenAPI document (no credentials needed to read it)."""
    r = client.get("/api/v1/openapi.json")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/json")
    return r.json()


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(path, method, operation) for every operation in the document."""
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                yield path, method, operation


def test_document_is_valid_openapi_3(document: dict[str, Any]) -> None:
    # The OpenAPI 3.0/3.1 meta-schemas that schemathesis ships (and validates with).
    from schemathesis.specs.openapi import definitions

    assert document["info"]["title"] == "Kartoteka"
    version = document["openapi"]
    assert version.startswith(("3.0.", "3.1."))
    validator = (
        definitions.OPENAPI_31_VALIDATOR
        if version.startswith("3.1.")
        else (definitions.OPENAPI_30_VALIDATOR)
    )
    errors = [str(e) for e in validator.iter_errors(document)]
    assert errors == []


def served_routes(routes: list[Any], prefix: str = "") -> Iterator[tuple[str, str]]:
    """(path, method) of every APIRoute, walking into included routers.

    FastAPI includes routers lazily (the app holds the included router, not copies of
    its routes), so the walk follows `original_router` with the include prefix.
    """
    for route in routes:
        if isinstance(route, APIRoute):
            for method in route.methods:
                yield prefix + route.path, method.lower()
        elif hasattr(route, "original_router"):
            context = getattr(route, "include_context", None)
            sub = prefix + (getattr(context, "prefix", "") or "")
            yield from served_routes(route.original_router.routes, sub)


def test_every_api_route_is_documented(app: Any, document: dict[str, Any]) -> None:
    from kartoteka.api.app import ROUTERS, optional_routers

    documented = {(path, method) for path, method, _ in operations(document)}
    served = {(p, m) for p, m in served_routes(app.routes) if p.startswith("/api/v1/")}
    declared = {
        ("/api/v1" + route.path, method.lower())
        for router in ROUTERS + optional_routers()
        for route in router.routes
        if isinstance(route, APIRoute)
        for method in route.methods
    }
    assert declared <= served, "the route walk missed routes"
    assert served - documented == set()


def test_every_operation_has_a_summary(document: dict[str, Any]) -> None:
    missing = [f"{m.upper()} {p}" for p, m, op in operations(document) if not op.get("summary")]
    assert missing == []


def test_operation_ids_are_unique(document: dict[str, Any]) -> None:
    ids = [op["operationId"] for _, _, op in operations(document)]
    assert len(ids) == len(set(ids))


def test_field_type_enum_equals_registered_types(document: dict[str, Any]) -> None:
    body = document["paths"]["/api/v1/catalogs/{catalog}/fields"]["post"]["requestBody"]
    schema = body["content"]["application/json"]["schema"]
    assert set(schema["properties"]["type"]["enum"]) == set(all_types())


def test_security_schemes_cover_bearer_basic_and_cookie(document: dict[str, Any]) -> None:
    schemes = document["components"]["securitySchemes"]
    kinds = {(s["type"], s.get("scheme") or s.get("in")) for s in schemes.values()}
    assert {("http", "bearer"), ("http", "basic"), ("apiKey", "cookie")} <= kinds
    login = document["paths"]["/api/v1/auth/login"]["post"]
    assert login["security"] == []


def test_every_tag_is_described(document: dict[str, Any]) -> None:
    described = {t["name"] for t in document.get("tags", []) if t.get("description")}
    used = {tag for _, _, op in operations(document) for tag in op.get("tags", [])}
    assert used - described == set()


@pytest.mark.parametrize(
    "path",
    [
        "/catalogs/things/records/{big}",
        "/catalogs/things/records/{big}/history",
        "/catalogs/things/views/{big}",
        "/users/{big}",
        "/groups/{big}",
    ],
)
def test_huge_ids_are_a_validation_error(api: Any, path: str) -> None:
    api.catalog("Things", [{"name": "Name", "type": "text"}])
    r = api.get(path.format(big=2**70))
    assert r.status_code == 422, r.text
    assert r.json()["error"] == "VALIDATION"


# ----- fuzzing ----------------------------------------------------------------------------
def _admin_token(client: TestClient) -> str:
    r = client.post("/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    assert r.status_code == 200, r.text
    return r.json()["token"]


@pytest.mark.slow
def test_fuzzed_requests_never_get_a_5xx(app: Any, client: TestClient) -> None:
    """Schemathesis sends schema-shaped (and broken) requests to every operation."""
    import schemathesis
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    token = _admin_token(client)
    client.cookies.clear()
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    # Deleting the administrator would only turn every later call into a 401.
    cases = [
        op.as_strategy()
        for op in (result.ok() for result in schema.get_all_operations())
        if not (op.method.upper() == "DELETE" and op.path == "/api/v1/users/{user_id}")
    ]
    failures: list[str] = []

    @settings(
        max_examples=len(cases) * 4,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=st.one_of(cases))
    def run(case: schemathesis.Case) -> None:
        try:
            response = case.call(headers={"Authorization": f"Bearer {token}"})
        except Exception as exc:  # the in-process client re-raises what would be a 500
            failures.append(f"{case.method} {case.formatted_path} raised {exc!r}")
            return
        if response.status_code >= 500:
            failures.append(
                f"{case.method} {case.formatted_path} -> {response.status_code}: "
                f"{response.text[:300]}\n  {case.as_curl_command()}"
            )

    run()
    assert failures == []

"""The generic OpenAPI document states the real answers: records, pages, errors, 429."""

from __future__ import annotations

from typing import Any

import jsonschema
from conftest import Api
from openapi_spec_validator import validate

RECORDS = "/api/v1/catalogs/{catalog}/records"


def document(api: Api) -> dict[str, Any]:
    doc = api.client.get("/api/v1/openapi.json").json()
    validate(doc)
    return doc


def conforms(doc: dict[str, Any], name: str, value: Any) -> None:
    """`value` matches `components.schemas.<name>` (references resolved in the document)."""
    schema = {"$ref": f"#/components/schemas/{name}", "components": doc["components"]}
    jsonschema.Draft202012Validator(schema).validate(value)


def test_main_answers_are_typed_and_errors_have_the_real_shape(api: Api) -> None:
    doc = document(api)
    assert "HTTPValidationError" not in repr(doc)
    listing = doc["paths"][RECORDS]["get"]["responses"]
    assert listing["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/RecordPage"
    }
    assert listing["422"] == {"$ref": "#/components/responses/Invalid"}
    too_many = doc["components"]["responses"]["TooManyRequests"]
    assert {"Retry-After", "X-RateLimit-Remaining"} <= set(too_many["headers"])
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            assert operation["responses"]["429"] == {
                "$ref": "#/components/responses/TooManyRequests"
            }, (method, path)
            for status, answer in operation["responses"].items():
                schema = answer.get("content", {}).get("application/json", {}).get("schema")
                assert schema != {"type": "string"}, (method, path, status)
                # Every success answer names its schema (or is a file, or has no body);
                # tests/support/openapi.py checks each answer the suite gets against it.
                if status.startswith("2") and schema is not None:
                    assert set(schema) == {"$ref"}, (method, path, status, schema)
    login = doc["paths"]["/api/v1/auth/login"]["post"]
    assert login["security"] == [] and "401" not in login["responses"]


def test_real_answers_match_their_schemas(api: Api) -> None:
    doc = document(api)
    catalog = api.catalog("Deals", [{"name": "Title", "type": "text", "required": True}])
    conforms(doc, "Catalog", catalog)
    conforms(doc, "CatalogList", api.get("/catalogs").json())
    batch = api.post(
        f"/catalogs/{catalog['id']}/records/batch", {"create": [{"values": {"title": "a"}}]}
    ).json()
    conforms(doc, "BatchResult", batch)
    page = api.get(f"/catalogs/{catalog['id']}/records?limit=1&count=true").json()
    conforms(doc, "RecordPage", page)
    conforms(
        doc, "Record", api.get(f"/catalogs/{catalog['id']}/records/{batch['created'][0]}").json()
    )
    conforms(doc, "Error", api.get(f"/catalogs/{catalog['id']}/records/999999").json())
    invalid = api.post(f"/catalogs/{catalog['id']}/records", {"values": {"title": ""}})
    assert invalid.status_code == 422
    conforms(doc, "Error", invalid.json())
    conforms(doc, "Field", catalog["fields"][0])

"""The per-workspace OpenAPI document: each visible catalog as its own typed record schema."""

from __future__ import annotations

from typing import Any

import jsonschema
from conftest import Api
from fastapi.testclient import TestClient
from openapi_spec_validator import validate

DOC = "/openapi/catalogs.json"


def deals_and_companies(api: Api) -> tuple[dict[str, Any], dict[str, Any]]:
    companies = api.catalog("Companies", [{"name": "Name", "type": "text"}])
    deals = api.catalog(
        "Deals",
        [
            {"name": "Title", "type": "text", "required": True},
            {"name": "Amount", "type": "money", "options": {"decimals": 2}},
            {"name": "Stage", "type": "select",
             "options": {"choices": [{"label": "New"}, {"label": "Won"}, {"label": "Lost"}]}},
            {"name": "Company", "type": "link", "options": {"catalog": companies["id"]}},
            {"name": "Owner", "type": "user"},
            {"name": "Due", "type": "date"},
            {"name": "Count", "type": "number"},
            {"name": "Done", "type": "checkbox"},
            {"name": "Number", "type": "autonumber"},
        ],
    )  # fmt: skip
    return companies, deals


def record_validator(doc: dict[str, Any], name: str) -> jsonschema.Draft202012Validator:
    """A validator of `components.schemas.<name>` with the document's references resolved."""
    return jsonschema.Draft202012Validator(
        {"$ref": f"#/components/schemas/{name}", "components": doc["components"]}
    )


def test_each_catalog_is_a_typed_record_schema(api: Api) -> None:
    companies, deals = deals_and_companies(api)
    doc = api.get(DOC).json()
    validate(doc)  # a valid OpenAPI 3.1 document
    assert doc["servers"] == [{"url": "/api/v1"}]
    schemas = doc["components"]["schemas"]
    values = schemas["DealsValues"]["properties"]
    assert values["amount"]["type"] == ["string", "null"] and values["amount"]["pattern"]
    assert values["stage"]["oneOf"][0]["properties"]["label"]["enum"] == ["New", "Won", "Lost"]
    assert values["company"]["items"] == {"$ref": "#/components/schemas/CompaniesLink"}
    assert values["due"]["format"] == "date" and values["done"] == {
        "type": "boolean", "title": "Done", "x-kartoteka-type": "checkbox"
    }  # fmt: skip
    writes = schemas["DealsInput"]["properties"]["values"]
    assert writes["required"] == ["title"] and "number" not in writes["properties"]
    assert writes["properties"]["stage"]["oneOf"][0]["enum"] == ["New", "Won", "Lost"]
    assert doc["paths"]["/catalogs/deals/records"]["get"]["operationId"] == "list_deals"
    page = doc["paths"]["/catalogs/deals/records"]["get"]["responses"]["200"]
    assert page["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/DealsPage"
    }
    # Real answers of the API match their schemas.
    company = api.record(companies["id"], {"name": "Acme"})
    api.record(
        deals["id"],
        {"title": "Big", "amount": "1500.5", "stage": "won", "company": [company["id"]],
         "owner": "me", "due": "2026-12-31", "count": 3, "done": True},
    )  # fmt: skip
    listed = api.get(f"/catalogs/{deals['id']}/records").json()
    record_validator(doc, "DealsPage").validate(listed)
    record_validator(doc, "Deals").validate(listed["items"][0])
    bad = dict(listed["items"][0], values={**listed["items"][0]["values"], "stage": {"id": 1}})
    assert not record_validator(doc, "Deals").is_valid(bad)


def test_the_document_follows_schema_changes(api: Api) -> None:
    _, deals = deals_and_companies(api)
    first = api.get(DOC).json()
    assert api.get(DOC).json()["info"]["version"] == first["info"]["version"]
    r = api.post(f"/catalogs/{deals['id']}/fields", {"name": "Probability", "type": "number",
                                                     "options": {"decimals": 2}})  # fmt: skip
    assert r.status_code == 201, r.text
    second = api.get(DOC).json()
    assert second["info"]["version"] != first["info"]["version"]
    assert second["components"]["schemas"]["DealsValues"]["properties"]["probability"]["type"] == [
        "number", "null"
    ]  # fmt: skip


def test_a_reader_sees_only_their_catalogs_and_fields(api: Api, client: TestClient) -> None:
    companies, deals = deals_and_companies(api)
    group = api.post("/groups", {"name": "sales"}).json()["id"]
    rights = {"groups": {str(group): {"view": True, "fields": {"amount": "hidden",
                                                               "owner": "masked"}}}}  # fmt: skip
    assert api.put(f"/catalogs/{deals['id']}/rights", rights).status_code == 200
    body = {"email": "rita@example.com", "name": "Rita", "password": "password-rita-1",
            "groups": [group]}  # fmt: skip
    assert api.post("/users", body).status_code == 201
    with TestClient(client.app) as rita:
        rita.auth = ("rita@example.com", "password-rita-1")
        doc = rita.get("/api/v1" + DOC).json()
    validate(doc)
    schemas = doc["components"]["schemas"]
    assert "Companies" not in schemas and "/catalogs/companies/records" not in doc["paths"]
    values = schemas["DealsValues"]["properties"]
    assert "amount" not in values and values["owner"]["type"] == ["string", "null"]
    assert "$ref" not in values["company"]["items"]  # a catalog Rita cannot see: no reference
    assert "owner" not in schemas["DealsInput"]["properties"]["values"]["properties"]


def test_the_document_of_a_named_workspace_names_its_server(api: Api) -> None:
    ws = api.client.app.state.instance.settings.default_workspace
    doc = api.client.get(f"/w/{ws}/api/v1{DOC}").json()
    assert doc["servers"] == [{"url": f"/w/{ws}/api/v1"}]

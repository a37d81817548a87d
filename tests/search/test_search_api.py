"""Search over HTTP and from the shell: the records list's `search`, `/search`, the rebuild."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from typer.testing import CliRunner

from kartoteka.cli import app as cli_app
from kartoteka.storage import fulltext


def _clients(api) -> None:
    api.catalog("Clients", [{"name": "Name", "type": "text"}, {"name": "City", "type": "text"}])
    api.records(
        "clients",
        [
            {"name": "ООО Ромашка", "city": "Москва"},
            {"name": "Ромашковое поле", "city": "Тверь"},
            {"name": "Acme", "city": "Boston"},
        ],
    )


def test_settings_api_validates_fold_yo(api) -> None:
    assert api.get("/settings").json()["fold_yo"] is True
    bad = api.patch("/settings", {"fold_yo": "yes"})
    assert bad.status_code == 422 and bad.json()["error"] == "VALIDATION"
    assert api.patch("/settings", {"fold_yo": False}).json()["fold_yo"] is False


def test_records_list_search_and_query_body(api) -> None:
    _clients(api)
    r = api.get("/catalogs/clients/records", params={"search": "ромашк*", "count": "true"})
    assert r.status_code == 200, r.text
    assert r.json()["count"] == 2
    body = {"search": "москва", "fields": ["name"]}
    r = api.post("/catalogs/clients/records/query", body)
    assert [i["values"]["name"] for i in r.json()["items"]] == ["ООО Ромашка"]
    bad = api.get("/catalogs/clients/records", params={"search": "***"})
    assert bad.status_code == 422
    assert bad.json()["error"] == "VALIDATION" and "search" in bad.json()["fields"]


def test_workspace_search_endpoint(api) -> None:
    _clients(api)
    r = api.get("/search", params={"q": "ромаш*", "limit": 1})
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["counts"] == {"clients": 2}
    assert len(data["items"]) == 1 and "<mark>" in data["items"][0]["snippet"]
    assert api.get("/search", params={"q": ""}).status_code == 422
    no_catalog = api.get("/search", params={"q": "x", "cursor": "abc"})
    assert no_catalog.status_code == 422 and "catalog" in no_catalog.json()["fields"]
    assert "/api/v1/search" in api.get("/openapi.json").json()["paths"]


def test_search_errors_are_coded_in_english_and_russian(api) -> None:
    _clients(api)
    ru = {"Accept-Language": "ru"}
    cases = [
        ("/catalogs/clients/records", {"search": "***"}, "search", "нужно хотя бы одно слово"),
        ("/catalogs/clients/records", {"filter": '{"search": "***"}'}, "search", "хотя бы одно"),
        ("/search", {"q": "x" * 501}, "q", "длиннее 500 символов"),
        ("/search", {"q": "x", "cursor": "abc"}, "catalog", "укажите и catalog"),
        ("/search", {"q": "x", "catalog": "clients", "cursor": "abc"}, "cursor", "курсор"),
    ]
    for path, params, key, russian in cases:
        en, got = api.get(path, params=params), api.get(path, params=params, headers=ru)
        assert en.status_code == got.status_code == 422, (params, en.text)
        assert en.json()["error"] == got.json()["error"] == "VALIDATION"
        assert russian in got.json()["fields"][key], (params, got.text)
        assert en.json()["fields"][key] != got.json()["fields"][key]
    refused = api.get("/search", params={"q": "x", "catalog": "nope"}, headers=ru)
    assert refused.status_code == 403 and "нет доступа" in refused.json()["message"]


def test_rebuild_command(api, instance) -> None:
    _clients(api)
    ws = instance.workspace(instance.settings.default_workspace)
    with ws.engine.begin() as conn:
        catalog_id = ws.meta().catalog("clients").id
        fulltext.drop_index(conn, catalog_id)
        fulltext.create_index(conn, 999_999)  # an index left by a deleted catalog
    settings = instance.settings
    args = ["--data-dir", str(Path(settings.data_dir))]
    if settings.database_url:
        args += ["--database-url", settings.database_url]
    args += ["search", "rebuild", "-w", settings.default_workspace]
    result = CliRunner().invoke(cli_app, args, env={"KARTOTEKA_DATABASE_URL": None})
    assert result.exit_code == 0, result.output
    assert "Indexed 3 record(s) in 1 catalog(s)" in result.output
    with ws.engine.connect() as conn:
        assert fulltext.indexed_catalogs(conn) == [catalog_id]
        assert (
            conn.execute(
                sa.select(sa.func.count()).select_from(sa.table(fulltext.index_name(catalog_id)))
            ).scalar()
            == 3
        )
    found = api.get("/catalogs/clients/records", params={"search": "acme"}).json()["items"]
    assert [i["values"]["name"] for i in found] == ["Acme"]
    failed = CliRunner().invoke(cli_app, [*args, "--catalog", "nope"])
    assert failed.exit_code == 1 and "nope" in failed.output


def test_unique_compares_as_stored_and_duplicate_rules_fold(api) -> None:
    """docs/search.md: `unique` does not fold; a duplicate rule with `name` does."""
    api.catalog("Firms", [{"name": "Name", "type": "text", "unique": True}])
    assert (
        api.post("/catalogs/firms/records", {"values": {"name": "ООО Ромашка"}}).status_code == 201
    )
    assert (
        api.post("/catalogs/firms/records", {"values": {"name": "ООО РОМАШКА"}}).status_code == 201
    )
    same = api.post("/catalogs/firms/records", {"values": {"name": "ООО Ромашка"}})
    assert same.status_code == 422 and "name" in same.json()["fields"]
    api.catalog("Shops", [{"name": "Name", "type": "text", "unique": True}])
    rule = {"fields": [{"field": "name", "normalise": "name"}]}
    assert api.post("/catalogs/shops/duplicate-rules", rule).status_code == 201
    assert api.post("/catalogs/shops/records", {"values": {"name": "Ёлка"}}).status_code == 201
    folded = api.post("/catalogs/shops/records", {"values": {"name": "ЕЛКА"}})
    assert folded.status_code == 409 and folded.json()["error"] == "DUPLICATE"

"""The import wizard's look at a file (detected encoding and delimiter, first rows,
suggested mapping in Russian and English) and users named by e-mail in a file."""

from __future__ import annotations

from support.imports import csv_bytes, post_file, wait_job

from kartoteka.importer.preview import fold, suggest


def clients(api) -> dict:
    return api.catalog(
        "Clients",
        [
            {"name": "Name", "type": "text", "required": True},
            {"name": "Phone", "type": "phone"},
            {"name": "E-mail", "type": "email"},
            {"name": "Region", "type": "select", "options": {"choices": ["North", "South"]}},
            {"name": "Manager", "type": "user"},
            {"name": "Notes", "type": "long_text"},
        ],
    )


def test_preview_detects_cp1251_semicolons_and_suggests_fields_by_russian_headers(api):
    clients(api)
    rows = [["Наименование", "Телефон", "Эл. почта", "Регион", "Прочее"]]
    rows += [
        [f"ООО «Ромашка {i}»", f"+7 912 000-00-{i:02}", f"c{i}@x.ru", "North", "—"]
        for i in range(15)
    ]
    content = csv_bytes(rows, ";", "cp1251")
    r = post_file(api, "/catalogs/clients/imports/preview", content)
    assert r.status_code == 200, r.text
    found = r.json()
    assert (found["kind"], found["encoding"], found["delimiter"]) == ("csv", "cp1251", ";")
    assert found["headers"] == rows[0]
    assert len(found["rows"]) == 10 and found["rows"][0][0] == "ООО «Ромашка 0»"
    assert found["suggested"] == {
        "Наименование": "name",
        "Телефон": "phone",
        "Эл. почта": "e_mail",
        "Регион": "region",
    }
    names = [f["api_name"] for f in found["fields"]]
    assert names == ["name", "phone", "e_mail", "region", "manager", "notes"]
    region = next(f for f in found["fields"] if f["api_name"] == "region")
    assert region["choices"] == ["North", "South"]


def test_preview_overrides_and_file_errors_name_the_problem(api):
    clients(api)
    content = csv_bytes([["Name", "Notes"], ["a", "b"]], "\t")
    r = post_file(api, "/catalogs/clients/imports/preview", content, {"delimiter": "tab"})
    assert r.json()["delimiter"] == "\t" and r.json()["suggested"] == {
        "Name": "name",
        "Notes": "notes",
    }
    r = post_file(api, "/catalogs/clients/imports/preview", b"", None)
    assert r.status_code == 422 and "file" in r.json()["fields"]
    r = post_file(api, "/catalogs/clients/imports/preview", content, {"encoding": "nope"})
    assert r.status_code == 422 and "options.encoding" in r.json()["fields"]
    assert post_file(api, "/catalogs/nope/imports/preview", content).status_code == 404


def test_preview_is_for_those_who_may_import(api, client):
    clients(api)
    api.post("/users", {"email": "u@example.com", "name": "U", "password": "user-pass-123"})
    token = client.post(
        "/api/v1/auth/login", json={"email": "u@example.com", "password": "user-pass-123"}
    ).json()["token"]
    r = client.post(
        "/api/v1/catalogs/clients/imports/preview",
        files={"file": ("a.csv", b"Name\nx\n")},
        headers={"Authorization": f"Bearer {token}"},
    )
    # No right to create in the catalog: refused when posted (docs/api.md, imports).
    assert r.status_code == 403 and r.json()["error"] == "FORBIDDEN", r.text


def test_suggestions_prefer_exact_names_and_use_each_field_once():
    class F:
        def __init__(self, name, api_name):
            self.name, self.api_name = name, api_name

    fields = [F("Name", "name"), F("Телефон", "telefon"), F("Email", "email")]
    assert suggest(["name", "Название", "ТЕЛЕФОН", "mail"], fields) == {
        "name": "name",
        "ТЕЛЕФОН": "telefon",
        "mail": "email",
    }
    assert fold("  Ёлка_ПАЛКА! ") == "елка палка"


def test_a_user_column_may_hold_e_mail_addresses(api):
    clients(api)
    uid = api.post(
        "/users", {"email": "Ivan@Example.com", "name": "Ivan", "password": "user-pass-123"}
    ).json()["id"]
    content = csv_bytes([["Name", "Manager"], ["A", "ivan@example.COM"], ["B", "nobody@x.ru"]])
    r = post_file(api, "/catalogs/clients/imports", content)
    job = wait_job(api, r.json()["id"])
    assert job["created"] == 1 and job["errors"] == 1
    [error] = job["error_sample"]
    assert error["line"] == 3 and error["column"] == "Manager" and "nobody@x.ru" in error["message"]
    [record] = api.get("/catalogs/clients/records").json()["items"]
    assert record["values"]["manager"]["id"] == uid

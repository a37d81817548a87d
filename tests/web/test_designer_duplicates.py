"""The duplicate rules designer over plain HTTP: the catalog's rules, a rule's fields and
how each is compared (or the field type's default), refusals next to the row they name,
editing, deleting behind a confirmation, and who may do it."""

from __future__ import annotations

import re

import pytest
from support.web import sign_in

from kartoteka.context import Actor
from kartoteka.duplicates import rules

MANAGER = ("manager@example.com", "manager-pass-123")
READER = ("reader@example.com", "reader-pass-123")
URL = "/admin/catalogs/clients/duplicates"


def error_of(html: str, name: str) -> str:
    found = re.search(rf'id="{re.escape(name)}-error"[^>]*>([^<]*)<', html)
    return found.group(1) if found else ""


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", html)


@pytest.fixture
def clients(api):
    api.catalog(
        "Clients",
        [
            {"name": "Name", "api_name": "name", "type": "text"},
            {"name": "Phone", "api_name": "phone", "type": "phone"},
            {"name": "E-mail", "api_name": "email", "type": "email"},
            {"name": "INN", "api_name": "inn", "type": "text"},
            {"name": "Stage", "api_name": "stage", "type": "select",
             "options": {"choices": ["New", "Won"]}},
        ],
        api_name="clients",
    )  # fmt: skip
    return "clients"


@pytest.fixture
def stored(instance):
    """The catalog's rules as the service lists them."""
    actor = Actor.system(instance.workspace(instance.settings.default_workspace))
    return lambda: rules.list_rules(actor, "clients")


def test_the_empty_list_says_what_a_rule_does(web, clients):
    sign_in(web)
    page = web.get(f"{URL}?lang=en")
    assert page.status_code == 200, page.text
    html = text_of(page.text)
    assert "No duplicate rules yet" in html and "created, edited and imported" in html
    assert f'href="{URL}/new"' in html
    assert "/c/clients/duplicates" not in html  # nothing to find without a rule
    # The tab is there, current, between Views and Processes.
    assert f'<a href="{URL}" class="active" aria-current="page">Duplicates</a>' in html
    fields = web.get("/admin/catalogs/clients/fields?lang=en").text
    tabs = re.findall(r'href="/admin/catalogs/clients(/\w+)?" class', fields)
    assert tabs == ["/fields", "/views", "/duplicates", "/processes", ""]


def test_add_a_rule_with_two_fields_and_a_normalisation(web, clients, stored):
    csrf = sign_in(web)
    form = web.get(f"{URL}/new?lang=en").text
    # Only fields a rule may compare are offered; one row, and a button for another.
    assert 'value="phone"' in form and 'value="stage"' not in form
    assert form.count('name="field"') == 1 and 'name="more"' in form
    more = web.post(
        f"{URL}/new", data={"csrf": csrf, "field": "phone", "normalise": "", "more": "1"}
    )
    assert more.status_code == 200 and more.text.count('name="field"') == 2
    assert 'value="phone" selected' in more.text and stored() == []
    r = web.post(
        f"{URL}/new",
        data={"csrf": csrf, "name": "", "field": ["phone", "inn", ""],
              "normalise": ["", "digits", ""]},
    )  # fmt: skip
    assert r.status_code == 303, r.text
    assert r.headers["location"] == f"{URL}?saved=1"
    [rule] = stored()
    assert rule["name"] == "Phone + INN" and rule["valid"] is True
    assert rule["fields"] == [
        {"field": "phone", "normalise": "phone"},
        {"field": "inn", "normalise": "digits"},
    ]
    html = text_of(web.get(f"{URL}?saved=1&lang=en").text)
    assert "Saved." in html and "Phone + INN" in html
    assert "as a phone number, +7… in E.164" in html and "digits only" in html
    assert 'href="/c/clients/duplicates"' in html
    assert f'href="{URL}/{rule["id"]}"' in html and f'href="{URL}/{rule["id"]}/delete"' in html


def test_automatic_normalisation_is_the_field_types_default(web, clients, stored):
    csrf = sign_in(web)
    r = web.post(
        f"{URL}/new",
        data={"csrf": csrf, "name": "Person", "field": ["name", "email"],
              "normalise": ["", ""]},
    )  # fmt: skip
    assert r.status_code == 303, r.text
    assert stored()[0]["fields"] == [
        {"field": "name", "normalise": "name"},
        {"field": "email", "normalise": "email"},
    ]
    html = web.get(f"{URL}?lang=en").text
    assert "as a name, case and ё/е ignored" in html and "as an e-mail, in lower case" in html


def test_refusals_next_to_the_row_and_nothing_stored(web, clients, stored):
    csrf = sign_in(web)
    # The same field twice: the message under the second row (an empty row between counts).
    r = web.post(
        f"{URL}/new?lang=en",
        data={"csrf": csrf, "field": ["phone", "", "phone"], "normalise": ["", "", "digits"]},
    )
    assert r.status_code == 422
    assert "named twice" in error_of(r.text, "field-2") and not error_of(r.text, "field-0")
    assert 'id="f-field-2" name="field" aria-describedby="field-2-error"' in r.text
    # What was typed is shown again (the normalisation chosen too), with one empty row.
    assert 'value="digits" selected' in r.text and r.text.count('name="field"') == 4
    # A field of a type no rule may use, sent by a crafted form.
    r = web.post(f"{URL}/new?lang=ru", data={"csrf": csrf, "field": ["", "stage"]})
    assert r.status_code == 422
    assert "не может входить в правило дублей" in error_of(r.text, "field-1")
    r = web.post(f"{URL}/new?lang=en", data={"csrf": csrf, "field": "nope"})
    assert r.status_code == 422 and error_of(r.text, "field-0")
    r = web.post(f"{URL}/new?lang=en", data={"csrf": csrf, "field": "inn", "normalise": "soundex"})
    assert r.status_code == 422 and "normalise must be one of" in error_of(r.text, "field-0")
    r = web.post(f"{URL}/new?lang=en", data={"csrf": csrf, "name": "x" * 201, "field": "inn"})
    assert r.status_code == 422 and error_of(r.text, "name")
    r = web.post(f"{URL}/new?lang=en", data={"csrf": csrf, "field": ["", ""]})
    assert r.status_code == 422 and error_of(r.text, "fields") == "Choose at least one field."
    assert stored() == []


def test_edit_a_rule(web, api, clients, stored):
    csrf = sign_in(web)
    api.post("/catalogs/clients/duplicate-rules", {"name": "Contacts", "fields": ["phone"]})
    [rule] = stored()
    page = web.get(f"{URL}/{rule['id']}?lang=en")
    assert page.status_code == 200
    assert 'value="Contacts"' in page.text and page.text.count('name="field"') == 2
    assert 'value="phone" selected' in page.text
    r = web.post(
        f"{URL}/{rule['id']}",
        data={"csrf": csrf, "name": "Phone and mail", "field": ["phone", "email"],
              "normalise": ["digits", ""]},
    )  # fmt: skip
    assert r.status_code == 303, r.text
    [rule] = stored()
    assert rule["name"] == "Phone and mail"
    assert rule["fields"] == [
        {"field": "phone", "normalise": "digits"},
        {"field": "email", "normalise": "email"},
    ]
    # A cleared name: named after its fields again.
    r = web.post(f"{URL}/{rule['id']}", data={"csrf": csrf, "name": " ", "field": "inn"})
    assert r.status_code == 303 and stored()[0]["name"] == "INN"
    assert web.get(f"{URL}/999999").status_code == 404
    assert web.get(f"{URL}/abc").status_code == 404


def test_a_rule_that_lost_its_field_is_marked(web, api, clients, stored):
    sign_in(web)
    api.post("/catalogs/clients/duplicate-rules", {"fields": ["phone", "inn"]})
    assert api.delete("/catalogs/clients/fields/inn").status_code in (200, 204)
    [rule] = stored()
    assert rule["valid"] is False
    html = text_of(web.get(f"{URL}?lang=en").text)
    assert 'class="broken"' in html and "the rule checks nothing until you edit it" in html
    form = web.get(f"{URL}/{rule['id']}?lang=en").text
    assert "can no longer be used" in error_of(form, "field-1")


def test_delete_with_confirmation(web, api, clients, stored):
    csrf = sign_in(web)
    api.post("/catalogs/clients/duplicate-rules", {"name": "ИНН", "fields": ["inn"]})
    [rule] = stored()
    confirm = web.get(f"{URL}/{rule['id']}/delete?lang=en")
    assert confirm.status_code == 200 and "Delete the rule “ИНН”?" in confirm.text
    assert stored() != []  # the page alone deletes nothing
    r = web.post(f"{URL}/{rule['id']}/delete", data={"csrf": csrf})
    assert r.status_code == 303
    assert r.headers["location"] == f"{URL}?deleted=%D0%98%D0%9D%D0%9D"
    assert stored() == []
    assert "Rule “ИНН” deleted." in web.get(r.headers["location"] + "&lang=en").text
    assert web.post(f"{URL}/{rule['id']}/delete", data={"csrf": csrf}).status_code == 404


@pytest.fixture
def people(api, clients):
    group = api.post("/groups", {"name": "sales"}).json()["id"]
    readers = api.post("/groups", {"name": "readers"}).json()["id"]
    for (email, password), gid in ((MANAGER, group), (READER, readers)):
        r = api.post(
            "/users", {"email": email, "name": email, "password": password, "groups": [gid]}
        )
        assert r.status_code == 201, r.text
    rights = {
        str(group): {"view": True, "create": True, "edit": True, "manage": True},
        str(readers): {"view": True, "create": True, "edit": True},
    }
    r = api.put("/catalogs/clients/rights", {"groups": rights})
    assert r.status_code == 200, r.text


def test_a_catalog_manager_designs_rules(web, people, stored):
    csrf = sign_in(web, *MANAGER)
    page = web.get(f"{URL}?lang=en")
    assert page.status_code == 200 and 'class="admin-nav"' not in page.text
    r = web.post(f"{URL}/new", data={"csrf": csrf, "field": "email"})
    assert r.status_code == 303, r.text
    assert [r["name"] for r in stored()] == ["E-mail"]


def test_others_may_not(web, people, api, stored):
    api.post("/catalogs/clients/duplicate-rules", {"fields": ["inn"]})
    [rule] = stored()
    csrf = sign_in(web, *READER)
    for url in (URL, f"{URL}/new", f"{URL}/{rule['id']}", f"{URL}/{rule['id']}/delete"):
        assert web.get(url).status_code in (403, 404), url
    assert web.post(f"{URL}/new", data={"csrf": csrf, "field": "phone"}).status_code == 403
    r = web.post(f"{URL}/{rule['id']}", data={"csrf": csrf, "field": "phone"})
    assert r.status_code == 403
    assert web.post(f"{URL}/{rule['id']}/delete", data={"csrf": csrf}).status_code == 403
    assert [r["fields"] for r in stored()] == [[{"field": "inn", "normalise": "name"}]]


def test_a_form_without_the_csrf_token_changes_nothing(web, api, clients, stored):
    sign_in(web)
    assert web.post(f"{URL}/new", data={"field": "phone"}).status_code == 403
    api.post("/catalogs/clients/duplicate-rules", {"fields": ["inn"]})
    [rule] = stored()
    assert web.post(f"{URL}/{rule['id']}", data={"field": "phone"}).status_code == 403
    assert web.post(f"{URL}/{rule['id']}/delete", data={}).status_code == 403
    assert [r["fields"] for r in stored()] == [[{"field": "inn", "normalise": "name"}]]

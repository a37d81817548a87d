"""The field designer over plain HTTP: every type's options, order, type change with its
dry-run report, delete with what goes; refusals next to the input, never a 500."""

from __future__ import annotations

import re

import pytest
from support.web import sign_in

from kartoteka.fields import all_types


def error_of(html: str, name: str) -> str:
    found = re.search(rf'id="{name}-error"[^>]*>([^<]*)<', html)
    return found.group(1) if found else ""


@pytest.fixture
def deals(api):
    api.post(
        "/catalogs",
        {"name": "Deals", "api_name": "deals", "fields": [{"name": "Title", "type": "text"}]},
    )
    return "/admin/catalogs/deals"


def fields_of(api, catalog: str = "deals") -> dict[str, dict]:
    return {f["api_name"]: f for f in api.get(f"/catalogs/{catalog}").json()["fields"]}


def test_every_type_has_a_form_that_renders(web, deals):
    sign_in(web)
    for name in all_types():
        for lang in ("en", "ru"):
            page = web.get(f"{deals}/fields/new?type={name}&lang={lang}")
            assert page.status_code == 200, (name, lang)
            assert f'<option value="{name}" selected>' in page.text
            # A type without its own options form falls back to the JSON box, not to nothing.
            assert (
                "options_json" in page.text
                or "kind:" in page.text
                or "has no options" in page.text
                or "нет настроек" in page.text
            )


def test_add_fields_with_their_options(web, api, deals):
    csrf = sign_in(web)
    base = {"csrf": csrf, "required": "", "unique": "", "indexed": ""}
    r = web.post(
        f"{deals}/fields/new",
        data={
            **base,
            "name": "Stage",
            "type": "select",
            "kind:choices": "choices",
            "choice_label": ["Lead", "Won", "", "Lost"],
            "choice_color": ["blue", "green", "", ""],
            "choice_id": ["", "", "", ""],
            "kind:multiple": "flag",
        },
    )
    assert r.status_code == 303, r.text
    stage = fields_of(api)["stage"]
    assert [(c["label"], c["color"]) for c in stage["options"]["choices"]][:2] == [
        ("Lead", "blue"),
        ("Won", "green"),
    ]
    assert stage["options"]["multiple"] is False and len(stage["options"]["choices"]) == 3
    r = web.post(
        f"{deals}/fields/new",
        data={
            **base,
            "name": "Amount",
            "type": "money",
            "kind:currency": "text",
            "opt:currency": "usd",
            "kind:decimals": "int",
            "opt:decimals": "0",
            "required": "1",
        },
    )
    assert r.status_code == 303
    amount = fields_of(api)["amount"]
    assert amount["options"] == {"currency": "USD", "decimals": 0} and amount["required"]
    r = web.post(
        f"{deals}/fields/new",
        data={
            **base,
            "name": "No",
            "type": "autonumber",
            "kind:prefix": "text",
            "opt:prefix": "D-",
        },
    )
    assert r.status_code == 303 and fields_of(api)["no"]["options"]["prefix"] == "D-"
    r = web.post(
        f"{deals}/fields/new",
        data={
            **base,
            "name": "Phone",
            "type": "phone",
            "kind:region": "text",
            "opt:region": "kz",
            "unique": "1",
        },
    )
    assert r.status_code == 303
    assert (
        fields_of(api)["phone"]["options"]["region"] == "KZ" and fields_of(api)["phone"]["unique"]
    )
    view = api.post("/catalogs/deals/views", {"name": "Open", "type": "table"}).json()
    r = web.post(
        f"{deals}/fields/new",
        data={
            **base,
            "name": "Parent",
            "type": "link",
            "kind:catalog": "ref",
            "opt:catalog": str(api.get("/catalogs/deals").json()["id"]),
            "kind:multiple": "flag",
            "opt:multiple": "1",
            "kind:view": "ref",
            "opt:view": str(view["id"]),
            "kind:accessible_only": "flag",
            "opt:accessible_only": "1",
            "kind:title_public": "flag",
        },
    )
    assert r.status_code == 303, r.text
    parent = fields_of(api)["parent"]["options"]
    assert parent["multiple"] and parent["accessible_only"] and parent["view"] == view["id"]
    assert parent["title_public"] is False


def test_refusals_come_back_next_to_the_input(web, api, deals):
    csrf = sign_in(web)
    base = {"csrf": csrf}
    r = web.post(f"{deals}/fields/new?lang=en", data={**base, "name": "", "type": "text"})
    assert r.status_code == 422 and error_of(r.text, "name")
    r = web.post(
        f"{deals}/fields/new",
        data={
            **base,
            "name": "Money",
            "type": "money",
            "kind:currency": "text",
            "opt:currency": "rubles",
        },
    )
    assert r.status_code == 422 and error_of(r.text, "options")
    # What was typed stays in the form.
    assert 'value="rubles"' in r.text
    r = web.post(
        f"{deals}/fields/new",
        data={
            **base,
            "name": "S",
            "type": "select",
            "kind:choices": "choices",
            "choice_label": ["A", "a"],
        },
    )
    assert r.status_code == 422 and "listed twice" in error_of(r.text, "options")
    r = web.post(
        f"{deals}/fields/new", data={**base, "name": "L", "type": "link", "kind:catalog": "ref"}
    )
    assert r.status_code == 422 and error_of(r.text, "options")
    r = web.post(
        f"{deals}/fields/new", data={**base, "name": "Title", "type": "text", "api_name": "title"}
    )
    assert r.status_code == 422
    r = web.post(f"{deals}/fields/new", data={**base, "name": "T", "type": "no-such-type"})
    assert r.status_code == 422 and error_of(r.text, "type")
    r = web.post(
        f"{deals}/fields/new", data={**base, "name": "J", "type": "date", "options_json": "{"}
    )
    assert r.status_code == 422 and error_of(r.text, "options")
    assert list(fields_of(api)) == ["title"]


def test_insert_at_a_position_and_reorder(web, api, deals):
    csrf = sign_in(web)
    for name in ("B", "C"):
        web.post(f"{deals}/fields/new", data={"csrf": csrf, "name": name, "type": "text"})
    r = web.post(f"{deals}/fields/new", data={"csrf": csrf, "name": "A", "type": "text", "at": "1"})
    assert r.status_code == 303
    assert list(fields_of(api)) == ["title", "a", "b", "c"]
    ids = {k: f["id"] for k, f in fields_of(api).items()}
    web.post(f"{deals}/field-order", data={"csrf": csrf, "move": f"up:{ids['c']}"})
    assert list(fields_of(api)) == ["title", "a", "c", "b"]
    order = ",".join(str(ids[k]) for k in ("c", "b", "a", "title"))
    web.post(f"{deals}/field-order", data={"csrf": csrf, "order": order})
    assert list(fields_of(api)) == ["c", "b", "a", "title"]
    page = web.get(f"{deals}/fields?lang=en").text
    assert page.index('id="field-' + str(ids["c"])) < page.index('id="field-' + str(ids["title"]))


def test_change_type_shows_the_dry_run_then_applies(web, api, deals):
    csrf = sign_in(web)
    api.post("/catalogs/deals/fields", {"name": "Size", "type": "text"})
    for value in ("10", "12.5", "big", "7"):
        api.post("/catalogs/deals/records", {"values": {"title": value, "size": value}})
    size = fields_of(api)["size"]
    form = {
        "csrf": csrf,
        "name": "Size",
        "type": "number",
        "kind:decimals": "int",
        "opt:decimals": "0",
    }
    r = web.post(f"{deals}/fields/{size['id']}?lang=en", data=form)
    assert r.status_code == 200
    text = re.sub(r"\s+", " ", r.text)
    assert "2 values convert" in text
    assert "2 values cannot be converted and become empty" in text
    assert "big" in text and "12.5" in text
    # Nothing changed yet.
    assert fields_of(api)["size"]["type"] == "text"
    ru = re.sub(r"\s+", " ", web.post(f"{deals}/fields/{size['id']}?lang=ru", data=form).text)
    assert "2 значения преобразуются" in ru
    r = web.post(f"{deals}/fields/{size['id']}", data={**form, "confirm": "1"})
    assert r.status_code == 303
    assert fields_of(api)["size"]["type"] == "number"
    values = sorted(
        (x["values"]["title"], x["values"]["size"])
        for x in api.get("/catalogs/deals/records").json()["items"]
    )
    assert values == [("10", 10), ("12.5", None), ("7", 7), ("big", None)]


def test_a_required_field_that_would_be_empty_is_refused_with_the_report(web, api, deals):
    csrf = sign_in(web)
    api.post("/catalogs/deals/fields", {"name": "Size", "type": "text"})
    api.post("/catalogs/deals/records", {"values": {"title": "x", "size": "big"}})
    size = fields_of(api)["size"]
    form = {"csrf": csrf, "name": "Size", "type": "number", "required": "1"}
    r = web.post(f"{deals}/fields/{size['id']}?lang=en", data=form)
    assert r.status_code == 422
    assert 'name="confirm"' not in r.text and "big" in r.text
    r = web.post(f"{deals}/fields/{size['id']}", data={**form, "confirm": "1"})
    assert r.status_code == 422 and fields_of(api)["size"]["type"] == "text"


def test_rename_and_flags_without_a_type_change_save_at_once(web, api, deals):
    csrf = sign_in(web)
    title = fields_of(api)["title"]
    r = web.post(
        f"{deals}/fields/{title['id']}",
        data={
            "csrf": csrf,
            "name": "Deal",
            "type": "text",
            "required": "1",
            "kind:max_length": "int",
            "opt:max_length": "80",
        },
    )
    assert r.status_code == 303
    got = fields_of(api)["title"]
    assert got["name"] == "Deal" and got["required"] and got["options"]["max_length"] == 80
    api.post("/catalogs/deals/records", {"values": {"title": "one"}})
    api.post("/catalogs/deals/records", {"values": {"title": "one"}})
    r = web.post(
        f"{deals}/fields/{title['id']}?lang=en",
        data={"csrf": csrf, "name": "Deal", "type": "text", "unique": "1"},
    )
    assert r.status_code == 422 and "one" in error_of(r.text, "unique")


def test_delete_warns_with_counts(web, api, deals):
    csrf = sign_in(web)
    api.post("/catalogs/deals/fields", {"name": "Note", "type": "text"})
    api.post("/catalogs/deals/records", {"values": {"title": "a", "note": "n"}})
    api.post("/catalogs/deals/records", {"values": {"title": "b"}})
    api.post(
        "/catalogs/deals/views",
        {"name": "With notes", "type": "table", "fields": ["title", "note"]},
    )
    api.post("/catalogs/deals/views", {"name": "Plain", "type": "table", "sort": "-title"})
    note = fields_of(api)["note"]
    page = re.sub(r"\s+", " ", web.get(f"{deals}/fields/{note['id']}/delete?lang=en").text)
    assert "1 record loses its value" in page
    assert "Saved views that use it: With notes" in page and "Plain" not in page
    r = web.post(f"{deals}/fields/{note['id']}/delete", data={"csrf": csrf})
    assert r.status_code == 303 and "note" not in fields_of(api)
    assert web.get(f"{deals}/fields/{note['id']}").status_code == 404

"""The field designer's help text and default value (every type's own editor), clearing an
option, and the type change's dry-run report for several pairs of types."""

from __future__ import annotations

import re
from typing import Any

import pytest
from support.web import sign_in


@pytest.fixture
def deals(api):
    api.post(
        "/catalogs",
        {
            "name": "Deals",
            "api_name": "deals",
            "fields": [
                {"name": "Title", "type": "text"},
                {"name": "Stage", "type": "select", "options": {"choices": [{"label": "Lead"}]}},
            ],
        },
    )
    return "/admin/catalogs/deals"


def fields_of(api) -> dict[str, dict]:
    return {f["api_name"]: f for f in api.get("/catalogs/deals").json()["fields"]}


def error_of(html: str, name: str) -> str:
    found = re.search(rf'id="{name}-error"[^>]*>([^<]*)<', html)
    return found.group(1) if found else ""


def field_form(
    csrf: str,
    name: str,
    field_type: str,
    options: dict[str, tuple[str, str]] | None = None,
    *,
    help_text: str | None = None,
    default: str | None = None,
) -> dict[str, Any]:
    """The designer's form as the browser posts it for a field: its flags unticked, each
    option as (its kind, what was typed), the help, and the default typed for the type."""
    form: dict[str, Any] = {
        "csrf": csrf,
        "required": "",
        "unique": "",
        "indexed": "",
        "name": name,
        "type": field_type,
    }
    for option, (kind, typed) in (options or {}).items():
        form.update({f"kind:{option}": kind, f"opt:{option}": typed})
    if help_text is not None:
        form["opt:help"] = help_text
    if default is not None:
        form.update({"default_for": field_type, "default_value": default})
    return form


def test_help_and_default_through_the_designer(web, api, deals):
    csrf = sign_in(web)
    qty_form = field_form(
        csrf, "Qty", "number", {"decimals": ("int", "0")}, help_text="How many units", default="5"
    )
    r = web.post(f"{deals}/fields/new", data=qty_form)
    assert r.status_code == 303, r.text
    assert fields_of(api)["qty"]["options"] == {
        "decimals": 0,
        "help": "How many units",
        "default": 5,
    }
    qty = fields_of(api)["qty"]
    page = web.get(f"{deals}/fields/{qty['id']}?lang=en").text
    assert 'name="default_value" value="5"' in page and "How many units" in page
    # A select's default is picked among its saved choices, with the card's chips.
    stage = fields_of(api)["stage"]
    lead = stage["options"]["choices"][0]["id"]
    page = web.get(f"{deals}/fields/{stage['id']}?lang=en").text
    assert f'name="default_value" value="{lead}"' in page
    r = web.post(
        f"{deals}/fields/{stage['id']}",
        data={
            **field_form(csrf, "Stage", "select", default=str(lead)),
            "kind:choices": "choices",
            "choice_label": ["Lead", "Won"],
            "choice_color": ["", "green"],
            "choice_id": [str(lead), ""],
            "kind:multiple": "flag",
        },
    )
    assert r.status_code == 303, r.text
    assert fields_of(api)["stage"]["options"]["default"] == lead
    # A user field may default to the person creating the record.
    owner_form = {**field_form(csrf, "Owner", "user", default="me"), "kind:multiple": "flag"}
    r = web.post(f"{deals}/fields/new", data=owner_form)
    assert r.status_code == 303, r.text
    assert fields_of(api)["owner"]["options"]["default"] == "me"
    owner = fields_of(api)["owner"]
    page = web.get(f"{deals}/fields/{owner['id']}?lang=ru").text
    assert re.search(r'<option value="me" selected>', page)
    # The new record's form shows the defaults, the card shows the help under the input.
    page = web.get("/c/deals/new?lang=en").text
    assert 'name="qty" value="5"' in page and "How many units" in page
    assert re.search(rf'name="stage" value="{lead}" checked', page)
    # A default cleared in the form is no default: the record is created without it.
    r = web.post(
        "/c/deals/new",
        data={"csrf": csrf, "title": "x", "qty": "", "stage": ""},
        headers={"accept": "application/json"},
    )
    assert r.status_code == 201, r.text
    values = r.json()["record"]["values"]
    assert values["qty"] is None and values["stage"] is None and values["owner"]["id"]


def test_a_bad_default_comes_back_next_to_its_input(web, api, deals):
    csrf = sign_in(web)
    form = {
        "csrf": csrf,
        "name": "When",
        "type": "date",
        "default_for": "date",
        "default_value": "31.31.2026",
        "opt:help": "x" * 501,
    }
    r = web.post(f"{deals}/fields/new?lang=en", data=form)
    assert r.status_code == 422
    assert error_of(r.text, "help") or error_of(r.text, "default")
    form["opt:help"] = "Day of the deal"
    r = web.post(f"{deals}/fields/new?lang=ru", data=form)
    assert r.status_code == 422 and error_of(r.text, "default"), r.text
    assert "when" not in fields_of(api)
    # The posted help stays in the form after the refusal.
    assert "Day of the deal" in r.text


def test_a_cleared_option_is_removed(web, api, deals):
    csrf = sign_in(web)
    api.post(
        "/catalogs/deals/fields", {"name": "No", "type": "autonumber", "options": {"prefix": "D-"}}
    )
    api.post(
        "/catalogs/deals/fields",
        {"name": "Code", "type": "text", "options": {"max_length": 5, "help": "Short code"}},
    )
    fields = fields_of(api)
    r = web.post(
        f"{deals}/fields/{fields['no']['id']}",
        data={
            "csrf": csrf,
            "name": "No",
            "type": "autonumber",
            "kind:prefix": "text",
            "opt:prefix": "",
        },
    )
    assert r.status_code == 303, r.text
    assert not fields_of(api)["no"]["options"].get("prefix")
    r = web.post(
        f"{deals}/fields/{fields['code']['id']}",
        data={
            "csrf": csrf,
            "name": "Code",
            "type": "text",
            "kind:max_length": "int",
            "opt:max_length": "",
            "opt:help": "",
        },
    )
    assert r.status_code == 303, r.text
    assert fields_of(api)["code"]["options"] == {}


@pytest.mark.parametrize(
    ("old", "new", "values", "extra", "converted", "failed", "example"),
    [
        ("text", "date", ["2026-01-05", "next week", "2026-02-30"], {}, 1, 2, "next week"),
        ("text", "checkbox", ["yes", "maybe", "no"], {}, 2, 1, "maybe"),
        ("number", "text", [1, 2.5, None], {"decimals": 1}, 2, 0, None),
        ("text", "email", ["a@b.example", "nobody"], {}, 1, 1, "nobody"),
        ("select", "text", ["Lead", None], {"choices": [{"label": "Lead"}]}, 1, 0, None),
    ],
)
def test_change_type_shows_the_report_for_several_pairs(
    web, api, deals, old, new, values, extra, converted, failed, example
):
    csrf = sign_in(web)
    api.post("/catalogs/deals/fields", {"name": "V", "type": old, "options": extra})
    for i, value in enumerate(values):
        r = api.post("/catalogs/deals/records", {"values": {"title": f"r{i}", "v": value}})
        assert r.status_code == 201, r.text
    v = fields_of(api)["v"]
    form = {"csrf": csrf, "name": "V", "type": new}
    r = web.post(f"{deals}/fields/{v['id']}?lang=en", data=form)
    assert r.status_code == 200, r.text
    text = re.sub(r"\s+", " ", r.text)
    assert "Nothing has changed yet" in text
    assert re.search(rf"\b{converted} values? converts?\b", text), text
    assert re.search(rf"\b{failed} values? cannot be converted", text), text
    if example:
        assert example in text
    assert fields_of(api)["v"]["type"] == old  # nothing changed before "apply"
    r = web.post(f"{deals}/fields/{v['id']}", data={**form, "confirm": "1"})
    assert r.status_code == 303, r.text
    assert fields_of(api)["v"]["type"] == new


def test_every_option_of_every_type_has_an_input(web, deals):
    """Each option a type accepts (its `option_docs`) is editable in the designer, and the
    options every type takes (help; default where the type allows one) too."""
    from kartoteka.catalogs.common_options import may_default
    from kartoteka.fields import all_types

    sign_in(web)
    for name, ftype in all_types().items():
        page = web.get(f"{deals}/fields/new?type={name}&lang=en").text
        for option in ftype.option_docs:
            wanted = 'name="kind:choices"' if option == "choices" else f'name="opt:{option}"'
            assert wanted in page, (name, option)
        assert 'name="opt:help"' in page, name
        assert ('name="default_for"' in page) == may_default(ftype), name


def test_a_checkbox_default_is_set_only_when_ticked(web, api, deals):
    csrf = sign_in(web)
    form = {"csrf": csrf, "name": "Paid", "type": "checkbox", "default_for": "checkbox"}
    form["_checkbox"] = "default_value"
    r = web.post(f"{deals}/fields/new", data=form)
    assert r.status_code == 303, r.text
    assert "default" not in fields_of(api)["paid"]["options"]
    paid = fields_of(api)["paid"]["id"]
    r = web.post(f"{deals}/fields/{paid}", data={**form, "default_value": "1"})
    assert r.status_code == 303, r.text
    assert fields_of(api)["paid"]["options"]["default"] is True
    assert api.post("/catalogs/deals/records", {"values": {}}).json()["values"]["paid"] is True


def test_an_amount_default_is_typed_the_users_way(web, api, deals):
    csrf = sign_in(web)
    form = field_form(
        csrf, "Budget", "money", {"currency": ("text", "RUB")}, default="1\u00a0234,56"
    )
    r = web.post(f"{deals}/fields/new?lang=ru", data=form)
    assert r.status_code == 303, r.text
    budget = fields_of(api)["budget"]
    assert budget["options"]["default"] in ("1234.56", 1234.56)
    # Shown back as a Russian user types it, and as an English one does.
    page = web.get(f"{deals}/fields/{budget['id']}?lang=ru").text
    assert re.search(r'name="default_value" value="1[\s\u00a0]234,56"', page), page
    page = web.get(f"{deals}/fields/{budget['id']}?lang=en").text
    assert 'name="default_value" value="1,234.56"' in page
    # What is no number is refused next to the default, in the reader's language, and the
    # rest of the form (the help) is kept; nothing is saved.
    form.update({"default_value": "двенадцать", "opt:help": "План на квартал"})
    r = web.post(f"{deals}/fields/{budget['id']}?lang=ru", data=form)
    assert r.status_code == 422, r.text
    assert "не число" in error_of(r.text, "default"), r.text
    assert "План на квартал" in r.text
    assert fields_of(api)["budget"]["options"]["default"] in ("1234.56", 1234.56)
    # The same for a new field: nothing is created.
    form.update({"name": "Other", "default_value": "12 рублей"})
    r = web.post(f"{deals}/fields/new?lang=en", data=form)
    assert r.status_code == 422 and "not a number" in error_of(r.text, "default"), r.text
    assert "other" not in fields_of(api)

"""Options every field takes: `help` (a hint for the people filling it in) and `default`
(the value a new record gets when its write names none), checked as values are."""

from __future__ import annotations

from typing import Any

from support.imports import csv_bytes, run_import

FIELDS = [
    {"name": "Title", "api_name": "title", "type": "text"},
    {
        "name": "Stage",
        "api_name": "stage",
        "type": "select",
        "required": True,
        "options": {
            "choices": [{"label": "New"}, {"label": "Won", "color": "green"}],
            "default": "new",
            "help": "  Where the deal   stands  ",
        },
    },
    {"name": "Qty", "api_name": "qty", "type": "number", "options": {"default": "3"}},
    {"name": "Price", "api_name": "price", "type": "money", "options": {"default": 10}},
    {"name": "Paid", "api_name": "paid", "type": "checkbox", "options": {"default": False}},
    {"name": "Urgent", "api_name": "urgent", "type": "checkbox", "options": {"default": True}},
    {"name": "Owner", "api_name": "owner", "type": "user", "options": {"default": "me"}},
    {
        "name": "At",
        "api_name": "at",
        "type": "datetime",
        "options": {"default": "2026-01-02T03:04:00+03:00"},
    },
]


def deals(api: Any) -> dict[str, dict[str, Any]]:
    made = api.catalog("Deals", FIELDS, api_name="deals")
    return {f["api_name"]: f for f in made["fields"]}


def test_defaults_are_stored_canonical_and_fill_new_records(api: Any) -> None:
    fields = deals(api)
    stage = fields["stage"]["options"]
    new_id = stage["choices"][0]["id"]
    # A choice by label is kept by id (renaming the choice keeps the default); the help
    # text's spaces are folded; a number and an amount are kept as the API reads them.
    assert stage["default"] == new_id and stage["help"] == "Where the deal stands"
    assert fields["qty"]["options"]["default"] == 3
    assert fields["price"]["options"]["default"] == "10.00"
    assert fields["at"]["options"]["default"] == "2026-01-02T00:04:00Z"
    assert fields["owner"]["options"]["default"] == "me"
    assert "default" not in fields["paid"]["options"] or fields["paid"]["options"]["default"] in (
        False,
        None,
    )
    made = api.record("deals", {"title": "A"})["values"]
    assert made["stage"]["label"] == "New"  # a required field filled by its default
    assert made["qty"] == 3 and made["price"] == "10.00" and made["urgent"] is True
    assert made["owner"]["id"] is not None and made["at"] == "2026-01-02T00:04:00Z"
    # A value the write names wins, also an explicit empty one where the field allows it.
    named = api.record("deals", {"title": "B", "stage": "Won", "qty": None})["values"]
    assert named["stage"]["label"] == "Won" and named["qty"] is None
    # An update never fills defaults in.
    rid = api.record("deals", {"title": "C", "qty": 7})["id"]
    r = api.patch(f"/catalogs/deals/records/{rid}", {"values": {"qty": None}})
    assert r.status_code == 200 and r.json()["values"]["qty"] is None
    # Batches and upserts that create get them too.
    r = api.post("/catalogs/deals/records/batch", {"create": [{"values": {"title": "D"}}]}).json()
    got = api.get(f"/catalogs/deals/records/{r['created'][0]}").json()["values"]
    assert got["qty"] == 3 and got["stage"]["label"] == "New"


def test_imports_fill_defaults_too(api: Any) -> None:
    deals(api)
    job = run_import(api, "deals", csv_bytes([["title"], ["Imported"]]))
    assert job["status"] == "done", job
    items = api.get("/catalogs/deals/records").json()["items"]
    assert items[0]["values"]["stage"]["label"] == "New" and items[0]["values"]["qty"] == 3
    assert items[0]["values"]["owner"]["id"] is not None


def test_bad_defaults_and_help_are_refused_with_the_option_named(api: Any) -> None:
    deals(api)
    cases = [
        ({"name": "N", "type": "number", "options": {"default": "many"}}, "options.default"),
        ({"name": "S", "type": "select", "options": {"default": "Nope"}}, "options.default"),
        ({"name": "D", "type": "date", "options": {"default": "31.31.2026"}}, "options.default"),
        (
            {"name": "E", "type": "email", "options": {"default": "not an address"}},
            "options.default",
        ),
        ({"name": "T", "type": "text", "options": {"help": ["x"]}}, "options.help"),
        ({"name": "T2", "type": "text", "options": {"help": "x" * 501}}, "options.help"),
        ({"name": "F", "type": "file", "options": {"default": [1]}}, "options.default"),
        ({"name": "A", "type": "autonumber", "options": {"default": 5}}, "options.default"),
        (
            {
                "name": "L",
                "type": "link",
                "options": {"catalog": "deals", "default": 1},
            },
            "options.default",
        ),
    ]
    for spec, key in cases:
        r = api.post("/catalogs/deals/fields", spec)
        assert r.status_code == 422, (spec, r.text)
        assert key in r.json()["fields"], (spec, r.json())
    names = [f["api_name"] for f in api.get("/catalogs/deals").json()["fields"]]
    assert len(names) == len(FIELDS)  # nothing was half-added


def test_changing_options_rechecks_the_default(api: Any) -> None:
    fields = deals(api)
    stage = fields["stage"]["options"]["choices"]
    # Removing the choice that is the default is refused, naming the default.
    r = api.patch("/catalogs/deals/fields/stage", {"options": {"choices": [stage[1]]}})
    assert r.status_code == 422 and "options.default" in r.json()["fields"], r.text
    # Renaming it keeps the default (it is kept by id).
    renamed = [{**stage[0], "label": "Fresh"}, stage[1]]
    r = api.patch("/catalogs/deals/fields/stage", {"options": {"choices": renamed}})
    assert r.status_code == 200, r.text
    assert api.record("deals", {"title": "x"})["values"]["stage"]["label"] == "Fresh"
    # A default and help can be cleared with null / "".
    r = api.patch("/catalogs/deals/fields/qty", {"options": {"default": None, "help": ""}})
    assert r.status_code == 200 and "default" not in r.json()["options"], r.text
    assert api.record("deals", {"title": "y"})["values"]["qty"] is None
    # A type change without options drops the old type's default.
    r = api.patch("/catalogs/deals/fields/price", {"type": "text"})
    assert r.status_code == 200 and "default" not in r.json()["options"], r.text

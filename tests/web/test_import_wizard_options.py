"""The import wizard's page offers the importer's options it reads from the catalog and
the user: `duplicates` only with a duplicate rule, the stamp targets (`keep_stamps`)
only for administrators, `create_missing` only for links into catalogs the user may
create records in. The steps themselves run in the browser:
tests/web/test_browser_import_wizard_options.py."""

from __future__ import annotations

import json
import re
from html import unescape
from typing import Any

from support.web import sign_in

READER = ("clerk@example.com", "clerk-pass-123")


def catalogs(api) -> None:
    api.catalog(
        "Clients",
        [{"name": "Name", "type": "text", "required": True}, {"name": "INN", "type": "text"}],
    )
    api.catalog("Managers", [{"name": "Name", "type": "text"}])
    api.catalog(
        "Deals",
        [
            {"name": "Number", "type": "text"},
            {"name": "Client", "type": "link", "options": {"catalog": "clients"}},
            {"name": "Manager", "type": "link", "options": {"catalog": "managers"}},
        ],
    )


def config_of(text: str) -> dict[str, Any]:
    found = re.search(r'id="import-config">(.*?)</script>', text, re.S)
    assert found, text[:500]
    return json.loads(unescape(found.group(1)))


def clerk(api) -> None:
    """A user who may create deals and clients, and only see managers."""
    group = api.post("/groups", {"name": "clerks"}).json()["id"]
    full = {"view": True, "create": True, "edit": True}
    api.put("/catalogs/deals/rights", {"groups": {str(group): full}})
    api.put("/catalogs/clients/rights", {"groups": {str(group): full}})
    api.put("/catalogs/managers/rights", {"groups": {str(group): {"view": True}}})
    r = api.post(
        "/users",
        {"email": READER[0], "name": "Clerk", "password": READER[1], "groups": [group]},
    )
    assert r.status_code == 201, r.text


def test_the_duplicates_choice_appears_only_with_a_valid_rule(api, web):
    catalogs(api)
    sign_in(web)
    page = web.get("/c/clients/import?lang=en").text
    assert "data-duplicates-row" not in page and 'name="duplicates"' not in page
    assert config_of(page)["duplicate_rules"] == []
    r = api.post("/catalogs/clients/duplicate-rules", {"name": "Tax number", "fields": ["inn"]})
    assert r.status_code == 201, r.text
    page = web.get("/c/clients/import?lang=en").text
    assert "data-duplicates-row" in page
    values = re.findall(r'name="duplicates" value="(\w+)"', page)
    assert values == ["report", "skip", "merge", "allow"]
    assert re.search(r'value="report"[^>]*checked', page)
    assert "A row that duplicates an existing record" in page
    assert "Duplicate rule of this catalog: Tax number." in page
    assert config_of(page)["duplicate_rules"] == ["Tax number"]
    ru = web.get("/c/clients/import?lang=ru").text
    assert "<legend>" in ru and "Tax number" in ru
    # A rule whose field is gone checks nothing: no choice.
    assert api.delete("/catalogs/clients/fields/inn").status_code in (200, 204)
    page = web.get("/c/clients/import?lang=en").text
    assert "data-duplicates-row" not in page
    assert config_of(page)["duplicate_rules"] == []


def test_stamp_targets_are_for_administrators_only(api, web):
    catalogs(api)
    clerk(api)
    sign_in(web)
    page = web.get("/c/deals/import?lang=en").text
    config = config_of(page)
    assert [s["value"] for s in config["stamps"]] == [
        "created_at",
        "updated_at",
        "created_by",
        "updated_by",
    ]
    assert config["stamps"][0]["label"] == "Created at (from the file)"
    assert "data-stamps-hint" in page and 'data-option-error="keep_stamps"' in page
    web.cookies.clear()
    sign_in(web, *READER)
    page = web.get("/c/deals/import?lang=en").text
    assert config_of(page)["stamps"] == []
    assert "data-stamps-hint" not in page and "keep_stamps" not in page


def test_config_names_the_links_whose_missing_records_may_be_created(api, web):
    catalogs(api)
    clerk(api)
    sign_in(web)
    config = config_of(web.get("/c/deals/import?lang=ru").text)
    assert config["create_missing"] == ["client", "manager"]  # an administrator: every one
    strings = config["strings"]
    for key in ("create_missing", "list_separator_bad", "stamps_group", "stamp_user"):
        assert strings[key], key
    web.cookies.clear()
    sign_in(web, *READER)
    config = config_of(web.get("/c/deals/import?lang=en").text)
    assert config["create_missing"] == ["client"]  # managers: view only
    assert config["strings"]["create_missing"] == "create the missing ones"


def test_the_page_has_the_new_controls_labelled(api, web):
    catalogs(api)
    sign_in(web)
    page = web.get("/c/deals/import?lang=en").text
    # The separator: a labelled input with its hint and its error box.
    assert '<label for="im-list-sep">Several values in a cell separated by</label>' in page
    assert 'aria-describedby="im-list-sep-hint im-list-sep-error"' in page
    assert 'data-option-error="list_separator"' in page
    # History: collapsed, in a fieldset with a legend.
    more = re.search(r"<details class=\"imw-more\".*?</details>", page, re.S)
    assert more and " open" not in more.group(0).split(">")[0]
    assert "<legend>Historical data</legend>" in more.group(0)
    assert "Do not notify webhooks about these rows" in more.group(0)
    assert "Do not start scenarios for these rows" in more.group(0)
    assert "data-skip-webhooks" in more.group(0) and "data-skip-scenarios" in more.group(0)

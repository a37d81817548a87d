"""A number field's display format (grouped, plain, percent): an option checked like the
others, and how cards and lists show the value; the stored number never changes."""

from __future__ import annotations

from kartoteka.web import forms, i18n


def test_the_format_option_is_checked_and_kept(api):
    api.catalog(
        "Stats",
        [{"name": "Year", "api_name": "year", "type": "number", "options": {"format": "plain"}},
         {"name": "Share", "api_name": "share", "type": "number",
          "options": {"decimals": 1, "format": "percent"}}],
        api_name="stats",
    )  # fmt: skip
    assert api.get("/catalogs/stats/fields/year").json()["options"]["format"] == "plain"
    r = api.post("/catalogs/stats/records", {"values": {"year": 2026, "share": 12.5}})
    assert r.json()["values"] == {"year": 2026, "share": 12.5}  # the value is untouched
    bad = api.patch("/catalogs/stats/fields/year", {"options": {"format": "roman"}})
    assert bad.status_code == 422 and "format" in bad.json()["fields"]["options"], bad.text
    ru = api.patch(
        "/catalogs/stats/fields/year",
        {"options": {"format": "roman"}},
        headers={"Accept-Language": "ru"},
    )
    assert "допустимо" in ru.json()["fields"]["options"]
    cleared = api.patch("/catalogs/stats/fields/year", {"options": {"format": None}})
    assert "format" not in cleared.json()["options"]


def test_cards_show_numbers_in_the_language_and_format(instance, api):
    api.catalog(
        "Money",
        [{"name": "Amount", "api_name": "amount", "type": "money", "options": {"currency": "RUB"}},
         {"name": "Year", "api_name": "year", "type": "number", "options": {"format": "plain"}},
         {"name": "Count", "api_name": "count", "type": "number"},
         {"name": "Share", "api_name": "share", "type": "number",
          "options": {"decimals": 1, "format": "percent"}}],
        api_name="money",
    )  # fmt: skip
    catalog = instance.workspace(instance.settings.default_workspace).meta().catalog("money")
    f = catalog.by_api_name
    token = i18n.current_lang.set("ru")
    try:
        assert forms.value_text(f["amount"], "1234567.50") == "1\xa0234\xa0567,50 RUB"
        assert forms.value_text(f["year"], 2026) == "2026"
        assert forms.value_text(f["count"], 15000) == "15\xa0000"
        assert forms.value_text(f["share"], 12.5) == "12,5\xa0%"
        assert forms.value_text(f["count"], "•••") == "•••"  # a mask stays a mask
    finally:
        i18n.current_lang.reset(token)
    token = i18n.current_lang.set("en")
    try:
        assert forms.value_text(f["amount"], "1234567.50") == "1,234,567.50 RUB"
        assert forms.value_text(f["count"], 15000) == "15,000"
    finally:
        i18n.current_lang.reset(token)

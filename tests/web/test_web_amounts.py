"""The card reads numbers and amounts as the user types them in their language, and shows
stored ones that way when editing; what is no number is refused in their words."""

from __future__ import annotations

import re
from typing import Any

import pytest
from support.web import sign_in

from kartoteka.web import assets

JSON = {"Accept": "application/json"}


@pytest.fixture(scope="module", autouse=True)
def built_assets() -> None:
    """The bundled scripts and styles (built once in a checkout that never ran setup)."""
    assert assets.build_in_checkout(), "run `npm ci && npm run build`"


def invoices(api: Any) -> int:
    """A catalog with an amount of money, a decimal number and a year; one record."""
    api.catalog(
        "Invoices",
        [
            {"name": "Title", "type": "text", "required": True},
            {"name": "Sum", "type": "money"},
            {"name": "Rate", "type": "number", "options": {"decimals": 2}},
            {"name": "Year", "type": "number", "options": {"format": "plain"}},
        ],
    )
    [rid] = api.records("invoices", [{"title": "First", "sum": "1234.5", "year": 2026}])
    return int(rid)


def stored(api: Any, rid: int) -> dict[str, Any]:
    return dict(api.get(f"/catalogs/invoices/records/{rid}").json()["values"])


def test_a_russian_amount_is_saved(api, web):
    rid = invoices(api)
    csrf = sign_in(web)
    web.get("/?lang=ru")
    data = {"csrf": csrf, "sum": "1 234,56", "rate": "-0,5", "year": "2 027"}
    r = web.post(f"/c/invoices/r/{rid}/edit", data=data)
    assert r.status_code == 303, r.text
    values = stored(api, rid)
    assert (values["sum"], values["rate"], values["year"]) == ("1234.56", -0.5, 2027)
    # The no-break space the card itself shows between thousands reads the same.
    r = web.post(f"/c/invoices/r/{rid}/edit", data={"csrf": csrf, "sum": "12\u00a0345,6"})
    assert r.status_code == 303 and stored(api, rid)["sum"] == "12345.60"


def test_an_english_amount_is_saved_and_a_new_record_too(api, web):
    rid = invoices(api)
    csrf = sign_in(web)
    web.get("/?lang=en")
    r = web.post(f"/c/invoices/r/{rid}/edit", data={"csrf": csrf, "sum": "1,234.56"})
    assert r.status_code == 303 and stored(api, rid)["sum"] == "1234.56"
    r = web.post("/c/invoices/new", data={"csrf": csrf, "title": "Second", "sum": "2,000"})
    assert r.status_code == 303, r.text
    new_id = int(r.headers["location"].split("/r/")[1].split("?")[0])
    assert stored(api, new_id)["sum"] == "2000.00"


@pytest.mark.parametrize(
    ("lang", "sum_shown", "rate_shown"),
    [("ru", "1\u00a0234,50", "0,25"), ("en", "1,234.50", "0.25")],
)
def test_editing_shows_stored_amounts_in_the_users_language(api, web, lang, sum_shown, rate_shown):
    rid = invoices(api)
    api.patch(f"/catalogs/invoices/records/{rid}", {"values": {"rate": 0.25}})
    sign_in(web)
    card = web.get(f"/c/invoices/r/{rid}?lang={lang}").text
    assert f'name="sum" value="{sum_shown}"' in card
    assert f'name="rate" value="{rate_shown}"' in card
    assert 'name="year" value="2026"' in card  # a plain number keeps no thousands apart


@pytest.mark.parametrize(
    ("lang", "message"),
    [
        ("ru", "«Sum»: не число (введите, например, 1 234,56)"),
        ("en", "Sum: not a number (type it like 1,234.56)"),
    ],
)
def test_garbage_is_refused_in_the_users_words_and_kept_in_the_form(api, web, lang, message):
    rid = invoices(api)
    csrf = sign_in(web)
    web.get(f"/?lang={lang}")
    data = {"csrf": csrf, "title": "Renamed", "sum": "12 рублей", "rate": "1,5"}
    r = web.post(f"/c/invoices/r/{rid}/edit", data=data, headers=JSON)
    assert r.status_code == 422
    errors = r.json()["errors"]
    assert errors["sum"] == message
    # "1,5" is one and a half in Russian; in English it is no grouping of thousands.
    if lang == "en":
        assert errors["rate"] == "Rate: not a number (type it like 1,234.56)"
    else:
        assert "rate" not in errors
    # The plain form post shows the page again, with what was typed still in the inputs.
    r = web.post(f"/c/invoices/r/{rid}/edit", data=data)
    assert r.status_code == 422
    assert 'name="sum" value="12 рублей"' in r.text and 'name="title" value="Renamed"' in r.text
    assert re.search(r'id="err-sum">[^<]*(не число|not a number)', r.text)
    assert stored(api, rid)["title"] == "First"  # nothing was saved


def test_more_digits_than_the_money_keeps_are_refused(api, web):
    rid = invoices(api)
    csrf = sign_in(web)
    web.get("/?lang=ru")
    data = {"csrf": csrf, "sum": "10,005"}
    r = web.post(f"/c/invoices/r/{rid}/edit", data=data, headers=JSON)
    assert r.status_code == 422
    assert r.json()["errors"] == {"sum": "«Sum»: не более 2 знаков после запятой"}
    r = web.post("/c/invoices/new", data={**data, "title": "X"}, headers=JSON)
    assert r.status_code == 422 and "sum" in r.json()["errors"]
    assert stored(api, rid)["sum"] == "1234.50"

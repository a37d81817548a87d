"""Each field type through the REST API: what is accepted, how it is normalised and read."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from kartoteka.catalogs.service import set_setting
from kartoteka.context import Actor
from kartoteka.fields.relative import add_months

MOSCOW = ZoneInfo("Europe/Moscow")


def moscow(instance: Any) -> None:
    """Put the test workspace in the Europe/Moscow time zone."""
    actor = Actor.system(instance.workspace(instance.settings.default_workspace))
    set_setting(actor, "timezone", "Europe/Moscow")


def one(api: Any, fields: list[dict[str, Any]]) -> str:
    """A catalog named `things` with these fields; returns its api_name."""
    return api.catalog("Things", fields, api_name="things")["api_name"]


def write(api: Any, values: dict[str, Any]) -> Any:
    """POST one record to `things` and return the response."""
    return api.post("/catalogs/things/records", {"values": values})


def refused(response: Any, field: str) -> str:
    """Assert a 422 VALIDATION naming `field`; returns the reason."""
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"] == "VALIDATION"
    assert field in body["fields"], body
    return body["fields"][field]


def ids(api: Any, flt: dict[str, Any], catalog: str = "things") -> list[int]:
    """Ids of records matching a filter, in id order."""
    r = api.post(f"/catalogs/{catalog}/records/query", {"filter": flt, "limit": 1000})
    assert r.status_code == 200, r.text
    return [item["id"] for item in r.json()["items"]]


def count(api: Any, catalog: str = "things") -> int:
    """How many records `catalog` holds."""
    r = api.get(f"/catalogs/{catalog}/records", params={"count": "true", "limit": 1})
    assert r.status_code == 200, r.text
    return r.json()["count"]


def test_text_max_length_and_whitespace(api: Any) -> None:
    one(api, [{"name": "T", "api_name": "t", "type": "text", "options": {"max_length": 5}}])
    assert write(api, {"t": "  abcde  "}).json()["values"]["t"] == "abcde"
    assert refused(write(api, {"t": "abcdef"}), "t") == "at most 5 characters"
    refused(write(api, {"t": "a\x00b"}), "t")
    refused(write(api, {"t": {"x": 1}}), "t")
    assert count(api) == 1


def test_bad_text_options_are_refused(api: Any) -> None:
    r = api.post(
        "/catalogs",
        {"name": "X", "fields": [{"name": "T", "type": "text", "options": {"max_length": 0}}]},
    )
    assert r.status_code == 422
    assert r.json()["error"] == "VALIDATION"


def test_number_decimals_and_integers(api: Any) -> None:
    one(
        api,
        [
            {"name": "N", "api_name": "n", "type": "number"},
            {"name": "D", "api_name": "d", "type": "number", "options": {"decimals": 2}},
        ],
    )
    rec = write(api, {"n": "1 234", "d": "3,14159"}).json()
    assert rec["values"] == {"n": 1234, "d": 3.14}
    assert refused(write(api, {"n": 1.5}), "n") == "expected a whole number"
    refused(write(api, {"n": "NaN"}), "n")
    refused(write(api, {"n": "Infinity"}), "n")
    refused(write(api, {"n": True}), "n")
    refused(write(api, {"n": 10**20}), "n")
    assert ids(api, {"n": {"lt": 1234.5}}) == [rec["id"]]
    assert ids(api, {"d": {"between": [3, 3.2]}}) == [rec["id"]]


def test_money_is_exact(api: Any) -> None:
    one(api, [{"name": "M", "api_name": "m", "type": "money", "options": {"currency": "rub"}}])
    assert api.get("/catalogs/things").json()["fields"][0]["options"]["currency"] == "RUB"
    a = write(api, {"m": 0.1}).json()
    b = write(api, {"m": "0.2"}).json()
    c = write(api, {"m": "1234.50"}).json()
    assert [a["values"]["m"], b["values"]["m"], c["values"]["m"]] == ["0.10", "0.20", "1234.50"]
    assert ids(api, {"m": {"eq": "0.30"}}) == []
    assert ids(api, {"m": {"gt": 0.15}}) == [b["id"], c["id"]]
    assert refused(write(api, {"m": "1.005"}), "m") == "at most 2 digits after the point"
    refused(write(api, {"m": 0.001}), "m")
    r = api.patch(f"/catalogs/things/records/{c['id']}", {"values": {"m": 5}})
    assert r.json()["values"]["m"] == "5.00"


def test_date_and_datetime(api: Any, instance: Any) -> None:
    moscow(instance)
    one(
        api,
        [
            {"name": "D", "api_name": "d", "type": "date"},
            {"name": "T", "api_name": "t", "type": "datetime"},
        ],
    )
    rec = write(api, {"d": "2026-11-25", "t": "2026-11-25T10:00:00+05:00"}).json()
    assert rec["values"] == {"d": "2026-11-25", "t": "2026-11-25T05:00:00Z"}
    naive = write(api, {"t": "2026-11-25T10:00"}).json()
    assert naive["values"]["t"] == "2026-11-25T07:00:00Z"
    utc = write(api, {"t": "2026-11-25T23:30:00Z"}).json()
    assert utc["values"]["t"] == "2026-11-25T23:30:00Z"
    refused(write(api, {"d": "2026-02-30"}), "d")
    refused(write(api, {"d": 20261125}), "d")
    refused(write(api, {"t": "yesterday-ish"}), "t")
    # A date operand on a datetime field means that whole local day (Moscow).
    assert ids(api, {"t": {"eq": "2026-11-25"}}) == [rec["id"], naive["id"]]
    assert ids(api, {"t": {"eq": "2026-11-26"}}) == [utc["id"]]


def test_checkbox_strings(api: Any) -> None:
    one(
        api,
        [
            {"name": "T", "api_name": "t", "type": "text"},
            {"name": "C", "api_name": "c", "type": "checkbox"},
        ],
    )
    yes = write(api, {"c": "да"}).json()
    also = write(api, {"c": "true"}).json()
    no = write(api, {"c": "нет"}).json()
    unset = write(api, {"t": "x"}).json()
    assert [r["values"]["c"] for r in (yes, also, no, unset)] == [True, True, False, False]
    refused(write(api, {"c": "maybe"}), "c")
    refused(write(api, {"c": 2}), "c")
    assert ids(api, {"c": {"eq": True}}) == [yes["id"], also["id"]]
    assert ids(api, {"c": {"eq": False}}) == [no["id"], unset["id"]]
    assert ids(api, {"c": {"in": [False]}}) == [no["id"], unset["id"]]
    assert ids(api, {"c": {"nin": [False]}}) == [yes["id"], also["id"]]


def test_select_by_id_and_label(api: Any) -> None:
    cat = one(
        api,
        [
            {
                "name": "S",
                "api_name": "s",
                "type": "select",
                "options": {"choices": [{"label": "Lead"}, {"label": "Won", "color": "green"}]},
            }
        ],
    )
    won_id = api.get(f"/catalogs/{cat}").json()["fields"][0]["options"]["choices"][1]["id"]
    by_label = write(api, {"s": "won"}).json()
    by_id = write(api, {"s": won_id}).json()
    assert by_label["values"]["s"] == {"id": won_id, "label": "Won", "color": "green"}
    assert by_id["values"]["s"] == by_label["values"]["s"]
    assert refused(write(api, {"s": "Lost"}), "s").startswith("unknown choice")
    refused(write(api, {"s": ["Lead", "Won"]}), "s")
    assert ids(api, {"s": {"eq": "Won"}}) == [by_label["id"], by_id["id"]]
    assert ids(api, {"s": {"in": ["Lead"]}}) == []
    r = api.post("/catalogs/things/records/query", {"filter": {"s": {"eq": "Lost"}}})
    refused(r, "s")


def test_multiple_select(api: Any) -> None:
    one(
        api,
        [
            {
                "name": "S",
                "api_name": "s",
                "type": "select",
                "options": {"multiple": True, "choices": ["A", "B", "C"]},
            }
        ],
    )
    rec = write(api, {"s": ["c", "A", "a"]}).json()
    assert [v["label"] for v in rec["values"]["s"]] == ["C", "A"]
    other = write(api, {"s": "B"}).json()
    assert ids(api, {"s": {"eq": "A"}}) == [rec["id"]]
    assert ids(api, {"s": {"in": ["B", "C"]}}) == [rec["id"], other["id"]]
    assert ids(api, {"s": {"nin": ["A"]}}) == [other["id"]]


def test_user_by_id_me_and_unknown(api: Any) -> None:
    one(
        api,
        [
            {"name": "Owner", "api_name": "owner", "type": "user"},
            {"name": "Team", "api_name": "team", "type": "user", "options": {"multiple": True}},
        ],
    )
    bob = api.post("/users", {"email": "bob@example.com", "name": "Bob", "password": "pw-bob-123"})
    assert bob.status_code == 201, bob.text
    bob_id = bob.json()["id"]
    me = api.get("/auth/me").json() if api.get("/auth/me").status_code == 200 else None
    rec = write(api, {"owner": "me", "team": [bob_id, "me"]}).json()
    admin_id = rec["created_by"]["id"]
    if me is not None:
        assert admin_id == (me.get("user") or me).get("id")
    assert rec["values"]["owner"] == {"id": admin_id, "name": rec["created_by"]["name"]}
    assert [u["id"] for u in rec["values"]["team"]] == [bob_id, admin_id]
    assert rec["values"]["team"][0]["name"] == "Bob"
    by_bob = write(api, {"owner": bob_id}).json()
    assert refused(write(api, {"owner": 999_999}), "owner") == "user 999999 not found"
    refused(write(api, {"team": [bob_id, 999_999]}), "team")
    refused(write(api, {"owner": "bob"}), "owner")
    assert ids(api, {"owner": {"eq": "me"}}) == [rec["id"]]
    assert ids(api, {"owner": {"eq": bob_id}}) == [by_bob["id"]]
    assert ids(api, {"team": {"eq": bob_id}}) == [rec["id"]]
    assert count(api) == 2


def test_email_phone_url(api: Any) -> None:
    one(
        api,
        [
            {"name": "E", "api_name": "e", "type": "email"},
            {"name": "P", "api_name": "p", "type": "phone"},
            {"name": "U", "api_name": "u", "type": "url"},
        ],
    )
    rec = write(api, {"e": "Ann@Example.COM", "p": "8 (912) 345-67-89", "u": "example.com"}).json()
    assert rec["values"] == {
        "e": "Ann@example.com",
        "p": "+79123456789",
        "u": "https://example.com",
    }
    assert write(api, {"p": "+1 650 253 0000"}).json()["values"]["p"] == "+16502530000"
    refused(write(api, {"e": "not an address"}), "e")
    refused(write(api, {"p": "12"}), "p")
    refused(write(api, {"u": "ftp://example.com"}), "u")
    refused(write(api, {"u": "http://[::1"}), "u")
    assert ids(api, {"e": {"eq": "Ann@EXAMPLE.com"}}) == [rec["id"]]
    assert ids(api, {"p": {"eq": "+7 912 345 67 89"}}) == [rec["id"]]


def _linked(api: Any, **options: Any) -> tuple[list[int], str]:
    api.catalog("Clients", [{"name": "Name", "type": "text"}], api_name="clients")
    clients = api.records("clients", [{"name": "A"}, {"name": "B"}, {"name": "C"}])
    one(
        api,
        [
            {
                "name": "Client",
                "api_name": "client",
                "type": "link",
                "options": {"catalog": "clients", **options},
            }
        ],
    )
    return clients, "client"


def test_link_single_multiple_and_unknown(api: Any) -> None:
    clients, _ = _linked(api)
    rec = write(api, {"client": clients[1]}).json()
    assert rec["values"]["client"] == [{"id": clients[1], "title": "B"}]
    assert refused(write(api, {"client": clients}), "client") == "only one linked record allowed"
    why = refused(write(api, {"client": 999_999}), "client")
    assert "999999" in why
    refused(write(api, {"client": "abc"}), "client")
    assert ids(api, {"client": {"eq": clients[1]}}) == [rec["id"]]
    assert ids(api, {"client": {"in": [clients[0], clients[1]]}}) == [rec["id"]]
    assert ids(api, {"client": {"empty": True}}) == []
    refused(
        api.post("/catalogs/things/records/query", {"filter": {"client": {"eq": {}}}}), "client"
    )
    assert count(api) == 1


def test_link_multiple(api: Any) -> None:
    clients, _ = _linked(api, multiple=True)
    rec = write(api, {"client": [clients[2], clients[0], clients[2]]}).json()
    assert [v["id"] for v in rec["values"]["client"]] == [clients[2], clients[0]]
    refused(write(api, {"client": [clients[0], 999_999]}), "client")
    assert count(api) == 1


def test_link_restricted_to_a_view(api: Any) -> None:
    api.catalog(
        "Clients",
        [{"name": "Name", "type": "text"}, {"name": "Active", "type": "checkbox"}],
        api_name="clients",
    )
    active, idle = api.records("clients", [{"name": "A", "active": True}, {"name": "B"}])
    view = api.post(
        "/catalogs/clients/views",
        {"name": "Active", "type": "table", "filter": {"active": {"eq": True}}},
    )
    assert view.status_code == 201, view.text
    one(
        api,
        [
            {
                "name": "Client",
                "api_name": "client",
                "type": "link",
                "options": {"catalog": "clients", "view": view.json()["id"]},
            }
        ],
    )
    assert write(api, {"client": active}).status_code == 201
    why = refused(write(api, {"client": idle}), "client")
    assert "outside the allowed view" in why
    assert count(api) == 1


def test_autonumber_is_never_reused(api: Any) -> None:
    one(
        api,
        [
            {"name": "T", "api_name": "t", "type": "text"},
            {"name": "No", "api_name": "no", "type": "autonumber", "options": {"prefix": "D-"}},
        ],
    )
    first = api.records("things", [{"t": "a"}, {"t": "b"}, {"t": "c"}])
    assert api.delete(f"/catalogs/things/records/{first[2]}").status_code == 204
    rec = write(api, {"t": "d"}).json()
    assert rec["values"]["no"] == 4
    assert refused(write(api, {"no": 7}), "no") == "read-only field"
    assert ids(api, {"no": {"eq": "D-4"}}) == [rec["id"]]
    assert ids(api, {"no": {"gte": 2}}) == [first[1], rec["id"]]


def test_system_fields_read_and_filter(api: Any, instance: Any) -> None:
    moscow(instance)
    one(
        api,
        [
            {"name": "T", "api_name": "t", "type": "text"},
            {"name": "Created", "api_name": "created", "type": "created_at"},
            {"name": "Updated", "api_name": "updated", "type": "updated_at"},
            {"name": "Author", "api_name": "author", "type": "created_by"},
            {"name": "Editor", "api_name": "editor", "type": "updated_by"},
        ],
    )
    rec = write(api, {"t": "x"}).json()
    values = rec["values"]
    assert values["created"] == rec["created_at"] and values["created"].endswith("Z")
    assert values["updated"] == rec["updated_at"]
    assert values["author"] == rec["created_by"] and values["author"]["name"]
    assert values["editor"] == rec["updated_by"]
    refused(write(api, {"created": "2026-01-01T00:00:00Z"}), "created")
    assert ids(api, {"created": {"eq": "today"}}) == [rec["id"]]
    assert ids(api, {"created": {"between": ["-1d", None]}}) == [rec["id"]]
    assert ids(api, {"updated": {"lt": "2000-01-01T00:00:00Z"}}) == []
    assert ids(api, {"updated": {"between": ["2000-01-01T00:00:00Z", "+1d"]}}) == [rec["id"]]
    assert ids(api, {"author": {"eq": "me"}}) == [rec["id"]]
    assert ids(api, {"editor": {"ne": "me"}}) == []
    assert ids(api, {"created_at": {"gte": "-7d"}}) == [rec["id"]]


@pytest.fixture
def dated(api: Any, instance: Any) -> dict[str, int]:
    """Records due at -10, -3, 0, +20 and +40 days from today in Moscow."""
    moscow(instance)
    one(api, [{"name": "Due", "api_name": "due", "type": "date"}])
    today = datetime.now(MOSCOW).date()
    offsets = {"m10": -10, "m3": -3, "today": 0, "p20": 20, "p40": 40}
    rows = [{"due": (today + timedelta(days=d)).isoformat()} for d in offsets.values()]
    return dict(zip(offsets, api.records("things", rows), strict=True))


def test_relative_date_filters(api: Any, dated: dict[str, int]) -> None:
    d = dated
    assert ids(api, {"due": {"eq": "today"}}) == [d["today"]]
    assert ids(api, {"due": {"gte": "-7d"}}) == [d["m3"], d["today"], d["p20"], d["p40"]]
    assert ids(api, {"due": {"between": ["-7d", "+1m"]}}) == [d["m3"], d["today"], d["p20"]]
    assert ids(api, {"due": {"between": [None, "-7d"]}}) == [d["m10"]]
    assert ids(api, {"due": {"between": ["+1m", None]}}) == [d["p40"]]
    assert ids(api, {"due": {"between": [None, None]}}) == list(d.values())
    assert ids(api, {"due": {"lt": "-1w"}}) == [d["m10"]]
    r = api.post("/catalogs/things/records/query", {"filter": {"due": {"eq": "+99999y"}}})
    refused(r, "due")
    r = api.post("/catalogs/things/records/query", {"filter": {"due": {"between": ["-7d"]}}})
    refused(r, "due")


def test_add_months_clamps() -> None:
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2024, 3, 31), -1) == date(2024, 2, 29)
    assert add_months(date(2026, 11, 25), -12) == date(2025, 11, 25)

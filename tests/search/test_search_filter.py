"""The filter language's `search`: over the whole record or one field, in lists and views."""

from __future__ import annotations

import pytest
from conftest_support import *  # noqa: F403
from support.catalogs import deals_linking_clients

from kartoteka.catalogs import service as catalogs
from kartoteka.errors import Forbidden, RecordInvalid, ValidationFailed
from kartoteka.records import service as records
from kartoteka.records.requests import BatchRequest
from kartoteka.rights import service as manage
from kartoteka.users import service as users
from kartoteka.views import service as views

CLIENTS = [
    {"name": "ООО Ромашка", "note": "Договоры поставки цветов", "region": "North"},
    {"name": "ЗАО Василёк", "note": "договор аренды склада", "region": "South"},
    {"name": "Acme Corporation", "note": "Running contracts for flowers", "region": "North"},
    {"name": "Договор Ёлочка", "note": "Секретный контракт", "secret": "тайна ромашка",
     "region": "North"},
]  # fmt: skip


@pytest.fixture
def world(admin) -> None:
    catalogs.create_catalog(
        admin,
        {
            "name": "Clients",
            "fields": [
                {"name": "Name", "type": "text"},
                {"name": "Note", "api_name": "note", "type": "long_text"},
                {"name": "Secret", "api_name": "secret", "type": "text"},
                {"name": "Region", "api_name": "region", "type": "select",
                 "options": {"choices": ["North", "South"]}},
                {"name": "Amount", "api_name": "amount", "type": "number"},
            ],
        },
    )  # fmt: skip
    records.batch(admin, "clients", BatchRequest.creating(CLIENTS))


def _names(actor, flt, **kw) -> list[str]:
    items = records.list_records(actor, "clients", filter=flt, sort="id", **kw)["items"]
    return [r["values"]["name"] for r in items]


def test_search_over_the_record_and_one_field(admin, world) -> None:
    assert _names(admin, {"search": "договоры"}) == ["ООО Ромашка", "ЗАО Василёк", "Договор Ёлочка"]
    # On one field: "Договор Ёлочка" has the word in its name, not in its note.
    assert _names(admin, {"note": {"search": "договор"}}) == ["ООО Ромашка", "ЗАО Василёк"]
    assert _names(admin, {"name": {"search": "ромаш*"}}) == ["ООО Ромашка"]
    assert _names(admin, {"note": {"search": '"договор аренды"'}}) == ["ЗАО Василёк"]
    # Combined with other conditions, under OR and NOT, and with the list's own search.
    both = {"and": [{"search": "договор"}, {"region": {"eq": "North"}}]}
    assert _names(admin, both) == ["ООО Ромашка", "Договор Ёлочка"]
    either = {"or": [{"note": {"search": "contracts"}}, {"name": {"search": "василек"}}]}
    assert _names(admin, either) == ["ЗАО Василёк", "Acme Corporation"]
    assert _names(admin, {"not": {"search": "договор"}}) == ["Acme Corporation"]
    assert _names(admin, {"search": "договор"}, search="цветов") == ["ООО Ромашка"]
    # The index follows writes, so does the filter.
    records.create_record(admin, "clients", {"name": "Новый", "note": "договор подряда"})
    assert "Новый" in _names(admin, {"note": {"search": "договор"}})


def test_bad_search_in_a_filter_is_a_precise_422(admin, world) -> None:
    with pytest.raises(ValidationFailed) as caught:
        _names(admin, {"search": "***"})
    assert "search" in caught.value.fields
    with pytest.raises(ValidationFailed) as caught:
        _names(admin, {"note": {"search": 5}})
    assert "note" in caught.value.fields
    with pytest.raises(RecordInvalid) as caught:
        _names(admin, {"amount": {"search": "1"}})  # numbers are not searchable
    assert "amount" in caught.value.fields


def test_search_respects_rights_hidden_and_masked_fields(admin, world, make_user, as_user):
    group = users.create_group(admin, {"name": "north"})["id"]
    doc = {"view": {"region": {"eq": "North"}}, "fields": {"secret": "hidden", "note": "masked"}}
    manage.put_rights(admin, "clients", {"groups": {str(group): doc}})
    nina = as_user(make_user("nina", groups=[group]))
    assert _names(admin, {"search": "тайна"}) == ["Договор Ёлочка"]
    assert _names(nina, {"search": "тайна"}) == []  # only in a field hidden from her
    assert _names(nina, {"search": "договор"}) == ["Договор Ёлочка"]  # the name only, North only
    with pytest.raises(ValidationFailed):
        _names(nina, {"secret": {"search": "тайна"}})  # hidden: an unknown field
    with pytest.raises(Forbidden):
        _names(nina, {"note": {"search": "договор"}})  # masked: may not filter by it


def test_search_through_a_link_hop(admin, world) -> None:
    deals_linking_clients(admin)
    clients = {
        r["values"]["name"]: r["id"]
        for r in records.list_records(admin, "clients", sort="id")["items"]
    }
    for name, client in (("Поставка", "ООО Ромашка"), ("Аренда", "Acme Corporation")):
        records.create_record(admin, "deals", {"name": name, "client": [clients[client]]})
    items = records.list_records(admin, "deals", filter={"client.note": {"search": "поставка"}})
    assert [r["values"]["name"] for r in items["items"]] == ["Поставка"]


def test_saved_views_keep_a_search_and_rules_refuse_one(admin, world, make_user, as_user):
    spec = {"name": "Договоры", "filter": {"search": "договор"}}
    view = views.create_view(admin, "clients", spec)
    listed = records.list_records(admin, "clients", view=view["id"], sort="id")["items"]
    assert [r["values"]["name"] for r in listed] == ["ООО Ромашка", "ЗАО Василёк", "Договор Ёлочка"]
    with pytest.raises(ValidationFailed) as caught:
        views.create_view(admin, "clients", {"name": "bad", "filter": {"note": {"search": "%%"}}})
    assert "note" in caught.value.fields
    # A reader without a hidden field sees the view's filter: it names no field.
    group = users.create_group(admin, {"name": "all"})["id"]
    manage.put_rights(admin, "clients", {"groups": {str(group): {"view": True}}})
    olga = as_user(make_user("olga", groups=[group]))
    shown = views.list_views(olga, "clients")
    assert shown[0]["filter"] == {"search": "договор"}
    # Record rules run inside every write: no full-text search there.
    bad = {"groups": {str(group): {"view": {"search": "договор"}}}}
    with pytest.raises(ValidationFailed) as caught:
        manage.put_rights(admin, "clients", bad)
    assert "full-text" in str(caught.value)


def test_a_field_may_not_be_named_search(admin) -> None:
    with pytest.raises(ValidationFailed):
        catalogs.create_catalog(
            admin, {"name": "X", "fields": [{"name": "S", "api_name": "search", "type": "text"}]}
        )

"""The read path keeps compiled filters and page statements (issue 16); what it keeps must
never answer for another reader, another version of the catalog or another cursor."""

from __future__ import annotations

import base64
import sys
from typing import Any

import orjson


def _basic(email: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{email}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def _regional_readers(api: Any) -> dict[str, dict[str, str]]:
    """Deals in two regions; two users of one group who may read every deal, each with
    their own region in their profile."""
    api.catalog(
        "Deals",
        [
            {"name": "Name", "type": "text"},
            {"name": "Region", "api_name": "region", "type": "text"},
        ],
    )
    api.records("deals", [{"name": f"n{i}", "region": "North"} for i in range(3)])
    api.records("deals", [{"name": f"s{i}", "region": "South"} for i in range(2)])
    group = api.post("/groups", {"name": "sales"}).json()["id"]
    r = api.put("/catalogs/deals/rights", {"groups": {str(group): {"view": True}}})
    assert r.status_code == 200, r.text
    headers = {}
    for region in ("North", "South"):
        email = f"{region.lower()}@example.com"
        body = {
            "email": email,
            "name": region,
            "password": "long-password-1",
            "groups": [group],
            "profile": {"region": region},
        }
        assert api.post("/users", body).status_code == 201
        headers[region] = _basic(email, "long-password-1")
    return headers


def _names(api: Any, headers: dict[str, str] | None = None, **params: Any) -> list[str]:
    r = api.get("/catalogs/deals/records", params=params, headers=headers or {})
    assert r.status_code == 200, r.text
    return [item["values"]["name"] for item in r.json()["items"]]


def test_a_kept_filter_never_answers_for_another_reader(api: Any) -> None:
    readers = _regional_readers(api)
    mine = orjson.dumps({"region": {"eq": "$user.region"}}).decode()
    for _ in range(2):  # the second round reads what the first one kept
        assert _names(api, readers["North"], filter=mine, sort="name") == ["n0", "n1", "n2"]
        assert _names(api, readers["South"], filter=mine, sort="name") == ["s0", "s1"]


def test_a_kept_filter_follows_a_change_of_the_catalog(api: Any) -> None:
    readers = _regional_readers(api)
    north = orjson.dumps({"region": {"eq": "North"}}).decode()
    assert _names(api, readers["North"], filter=north, sort="-name") == ["n2", "n1", "n0"]
    # A new field makes a new table object: a filter kept for the old one would now
    # name a table the statement does not select from (a cross join, or an error).
    r = api.post("/catalogs/deals/fields", {"name": "Stage", "type": "text"})
    assert r.status_code == 201, r.text
    api.records("deals", [{"name": "n3", "region": "North", "stage": "new"}])
    assert _names(api, readers["North"], filter=north, sort="-name") == ["n3", "n2", "n1", "n0"]
    page = api.get("/catalogs/deals/records", params={"filter": north, "sort": "-name"}).json()
    assert page["items"][0]["values"]["stage"] == "new"


def test_cursor_pages_of_a_kept_statement_bind_their_own_values(api: Any) -> None:
    api.catalog("Deals", [{"name": "Name", "type": "text"}, {"name": "Score", "type": "number"}])
    scores = [5, None, 3, 5, None, 1, 9, 3]
    api.records("deals", [{"name": f"d{i}", "score": s} for i, s in enumerate(scores)])
    for sort in ("score", "-score", "name"):
        whole = _names(api, sort=sort, limit=100)
        for _ in range(2):  # the same statements again, with other cursor values
            seen: list[str] = []
            cursor = None
            while True:
                params = {"sort": sort, "limit": 3, **({"cursor": cursor} if cursor else {})}
                page = api.get("/catalogs/deals/records", params=params).json()
                seen += [item["values"]["name"] for item in page["items"]]
                cursor = page["next_cursor"]
                if cursor is None:
                    break
            assert seen == whole, sort


def _clients_and_deals(api: Any) -> dict[str, dict[str, str]]:
    """Clients in two regions, one deal linking each; two readers who see every deal but
    only their own region's clients (the others' titles are withheld on the deal)."""
    api.catalog(
        "Clients",
        [
            {"name": "Name", "type": "text"},
            {"name": "Region", "api_name": "region", "type": "text"},
        ],
    )
    north, south = api.records(
        "clients", [{"name": "Nord", "region": "North"}, {"name": "Sud", "region": "South"}]
    )
    api.catalog(
        "Deals",
        [
            {"name": "Name", "type": "text"},
            {"name": "Client", "api_name": "client", "type": "link",
             "options": {"catalog": "clients"}},
        ],
    )  # fmt: skip
    api.records("deals", [{"name": "d1", "client": [north]}, {"name": "d2", "client": [south]}])
    group = api.post("/groups", {"name": "sales"}).json()["id"]
    rule = {"region": {"eq": "$user.region"}}
    for catalog, view in (("deals", True), ("clients", rule)):
        r = api.put(f"/catalogs/{catalog}/rights", {"groups": {str(group): {"view": view}}})
        assert r.status_code == 200, r.text
    headers = {}
    for region in ("North", "South"):
        email = f"{region.lower()}@example.com"
        body = {"email": email, "name": region, "password": "long-password-1",
                "groups": [group], "profile": {"region": region}}  # fmt: skip
        assert api.post("/users", body).status_code == 201
        headers[region] = _basic(email, "long-password-1")
    return headers


def _client_titles(api: Any, headers: dict[str, str]) -> list[str]:
    r = api.get("/catalogs/deals/records", params={"sort": "name"}, headers=headers)
    assert r.status_code == 200, r.text
    return [item["values"]["client"][0]["title"] for item in r.json()["items"]]


def test_link_titles_come_from_kept_statements_for_each_reader(api: Any, monkeypatch: Any) -> None:
    readers = _clients_and_deals(api)
    from kartoteka.records import linked

    built: list[str] = []
    select = linked.sa.select

    def counted(*args: Any, **kw: Any) -> Any:
        caller = sys._getframe(1).f_code
        if caller.co_filename == linked.__file__:
            built.append(caller.co_name)  # the links-and-titles statement
        return select(*args, **kw)

    monkeypatch.setattr(linked.sa, "select", counted)
    for _ in range(2):  # the second round reads through what the first one kept
        assert _client_titles(api, readers["North"]) == ["Nord", "#2"]
        assert _client_titles(api, readers["South"]) == ["#1", "Sud"]
    # The links-and-titles statement is built once per rights clause, not per page (a
    # new statement per page had SQLAlchemy key it again over the reader's whole rule).
    assert built == ["_links_with_titles"] * 2, built  # one per reader's rule
    pages = len(built)
    assert _client_titles(api, readers["North"]) == ["Nord", "#2"]
    assert len(built) == pages, built[pages:]


def test_kept_field_rules_follow_a_change_of_the_rights(api: Any, monkeypatch: Any) -> None:
    readers = _clients_and_deals(api)
    from kartoteka.access import service as access

    worked: list[int] = []
    rules_of = access._rules_of
    monkeypatch.setattr(access, "_rules_of", lambda *a, **k: worked.append(1) or rules_of(*a, **k))
    r = api.get("/catalogs/deals/records", headers=readers["North"])
    assert "client" in r.json()["items"][0]["values"]
    done = len(worked)
    api.get("/catalogs/deals/records", headers=readers["North"])
    assert len(worked) == done  # kept: the same groups on the same metadata
    group = next(g["id"] for g in api.get("/groups").json()["items"] if g["name"] == "sales")
    doc = {"view": True, "fields": {"client": "hidden"}}
    r = api.put("/catalogs/deals/rights", {"groups": {str(group): doc}})
    assert r.status_code == 200, r.text
    r = api.get("/catalogs/deals/records", headers=readers["North"])
    assert "client" not in r.json()["items"][0]["values"]


def test_a_rows_values_are_made_as_the_readers_say_whatever_the_names():
    """`values_maker` writes the values dict out once per shape of columns: it must
    answer what `{name: read(row[i])}` answers, with names that are odd as source text,
    values read as they are (`same`), per-page readers bound anew, and no columns."""
    from kartoteka.fields.base import same
    from kartoteka.records.values import values_maker

    row = ("x", 2, None, "d", 5)
    odd = 'it\'s "odd"\n}'
    columns = [("name", 0, same), ("twice", 1, lambda v: v * 2), (odd, 2, str), ("id", 4, same)]
    assert values_maker(columns)(row) == {
        "name": "x",
        "twice": 4,
        odd: "None",
        "id": 5,
    }
    # Same shape, other readers (a new page's link titles, say): bound anew, not reused.
    again = values_maker(
        [("name", 0, same), ("twice", 1, lambda v: v * 3), (odd, 2, lambda v: "-"), ("id", 4, same)]
    )
    assert again(row) == {"name": "x", "twice": 6, odd: "-", "id": 5}
    assert values_maker([])(row) == {}
    # A reader that is not `same` is called even when it returns its input.
    calls = []
    values_maker([("name", 0, lambda v: calls.append(v) or v)])(row)
    assert calls == ["x"]


def test_a_shape_keeps_its_title_reader_and_ready_values_for_its_rules(
    api: Any, instance: Any
) -> None:
    """A layout's shape makes the title reader once, and the row's values function once
    when no field's reader depends on the page; each set of field rules has its own."""
    from kartoteka.records.read import layout

    api.catalog(
        "Leads",
        [
            {"name": "Phone", "api_name": "phone", "type": "phone"},
            {"name": "Score", "api_name": "score", "type": "number"},
        ],
    )
    api.catalog(
        "Tasks",
        [{"name": "Name", "type": "text"}, {"name": "Owner", "api_name": "owner", "type": "user"}],
    )
    meta = instance.workspace(instance.settings.default_workspace).meta()
    leads, tasks = meta.catalog("leads"), meta.catalog("tasks")
    keys = tuple(c.name for c in leads.table.columns)
    stored = {"id": 7, leads.by_api_name["phone"].column: "+79161234567",
              leads.by_api_name["score"].column: 5}  # fmt: skip
    row = tuple(stored.get(k) for k in keys)
    plain = layout(leads, {}, None).shape(keys)
    assert layout(leads, {}, None).shape(keys) is plain  # kept with the layout
    assert plain.values is not None and plain.values(row) == {"phone": "+79161234567", "score": 5}
    assert plain.title(row, 7) == "+79161234567"
    masked = layout(leads, {"phone": "masked"}, None).shape(keys)
    assert masked.title(row, 7) != plain.title(row, 7)
    assert masked.title(row, 7).endswith("67") and "1234" not in masked.title(row, 7)
    assert masked.values is not None and "1234" not in masked.values(row)["phone"]
    # A user field is read with the page's user names: its values are made per page.
    task_keys = tuple(c.name for c in tasks.table.columns)
    assert layout(tasks, {}, None).shape(task_keys).values is None

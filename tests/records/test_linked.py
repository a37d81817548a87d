"""A page's links and their titles in one statement (`records.linked.links_with_titles`):
the same answer as reading the links and then each field's titles (`load_links`,
`link_items`), for an administrator and for a reader whose rules withhold titles, on
both databases."""

from __future__ import annotations

from typing import Any

from support.users import ADMIN_EMAIL, ADMIN_PASSWORD

from kartoteka.auth import service as auth
from kartoteka.records import linked
from kartoteka.storage import kept

PASSWORD = "long-password-1"


def _setup(api: Any) -> dict[str, int]:
    """Clients (one links to a parent client), products, deals with four link fields:
    two to clients (one with public titles), one to products, one to deals."""
    api.catalog(
        "Clients",
        [
            {"name": "Name", "type": "text"},
            {"name": "Region", "api_name": "region", "type": "text"},
        ],
    )
    api.post("/catalogs/clients/fields", {"name": "Parent", "api_name": "parent", "type": "link",
                                          "options": {"catalog": "clients"}})  # fmt: skip
    north, south, east = api.records(
        "clients",
        [
            {"name": "Nord", "region": "North"},
            {"name": "Sud", "region": "South"},
            {"name": "Est", "region": "East"},
        ],
    )
    # East is seen by the North reader through its parent (a rule that reads the
    # clients' own links: the one statement must not mix them up with the deals' links).
    assert (
        api.patch(f"/catalogs/clients/records/{east}", {"values": {"parent": [north]}}).status_code
        == 200
    )
    api.catalog("Products", [{"name": "Name", "type": "text"}])
    (product,) = api.records("products", [{"name": "Widget"}])

    def link(name: str, target: str, **options: Any) -> dict[str, Any]:
        return {"name": name.title(), "api_name": name, "type": "link",
                "options": {"catalog": target, **options}}  # fmt: skip

    api.catalog(
        "Deals",
        [
            {"name": "Name", "type": "text"},
            link("client", "clients", multiple=True),
            link("referee", "clients", title_public=True, multiple=True),
            link("product", "products"),
        ],
    )
    api.post("/catalogs/deals/fields", link("partner", "deals", multiple=True))
    d1, d2, d3 = api.records(
        "deals",
        [
            {"name": "d1", "client": [north, south, east], "referee": [south],
             "product": [product]},
            {"name": "d2", "client": [south], "referee": [north, south]},
            {"name": "d3"},
        ],
    )  # fmt: skip
    assert (
        api.patch(f"/catalogs/deals/records/{d1}", {"values": {"partner": [d2, d3]}}).status_code
        == 200
    )
    group = api.post("/groups", {"name": "sales"}).json()["id"]
    rule = {"or": [{"region": {"eq": "$user.region"}}, {"parent": {"eq": north}}]}
    for catalog, view in (("deals", True), ("clients", rule)):
        r = api.put(f"/catalogs/{catalog}/rights", {"groups": {str(group): {"view": view}}})
        assert r.status_code == 200, r.text
    body = {"email": "n@example.com", "name": "N", "password": PASSWORD, "groups": [group],
            "profile": {"region": "North"}}  # fmt: skip
    assert api.post("/users", body).status_code == 201
    return {"d1": d1, "d2": d2, "d3": d3, "north": north, "south": south, "east": east}


def test_one_statement_answers_what_links_and_their_titles_answer(api, instance, monkeypatch):
    ids = _setup(api)
    ws = instance.workspace(instance.settings.default_workspace)
    admin = auth.actor_from_token(ws, auth.login(ws, ADMIN_EMAIL, ADMIN_PASSWORD)[0])
    reader = auth.actor_from_token(ws, auth.login(ws, "n@example.com", PASSWORD)[0])
    deals = ws.meta().catalog("deals")
    fields = [f for f in deals.fields if f.is_link]
    assert len(fields) == 4
    records = [ids["d1"], ids["d2"], ids["d3"]]
    statements: list[Any] = []
    all_rows = kept.all_rows
    monkeypatch.setattr(
        kept, "all_rows", lambda *a, **k: statements.append(a[1]) or all_rows(*a, **k)
    )
    answers = {}
    for name, actor in (("admin", admin), ("reader", reader)):
        with ws.engine.connect() as conn:
            statements.clear()
            links, titles = linked.links_with_titles(conn, actor, fields, records)
            assert len(statements) == 1  # one round trip for every link field
            want_links = linked.load_links(conn, fields, records)
            want_titles = {
                f.id: linked.link_items(
                    conn, actor, f, {d for ds in want_links[f.id].values() for d in ds}
                )
                for f in fields
                if f.id in want_links
            }
        assert {f: dict(by) for f, by in links.items()} == {
            f: dict(by) for f, by in want_links.items()
        }
        assert titles == want_titles
        answers[name] = titles
    client, referee = deals.by_api_name["client"].id, deals.by_api_name["referee"].id
    product = deals.by_api_name["product"].id
    north, south, east = ids["north"], ids["south"], ids["east"]
    assert answers["admin"][client][south] == {"id": south, "title": "Sud"}
    # The reader: their region's client and the one under it; the South one withheld,
    # except where the field's titles are public; no grant on products at all.
    assert answers["reader"][client] == {
        north: {"id": north, "title": "Nord"},
        south: {"id": south, "title": f"#{south}", "restricted": True},
        east: {"id": east, "title": "Est"},
    }
    assert answers["reader"][referee][south] == {"id": south, "title": "Sud"}
    assert all(item.get("restricted") for item in answers["reader"][product].values())
    # In link order, per record; a record without links has none.
    assert links[client][ids["d1"]] == [north, south, east]
    assert ids["d3"] not in links[client]

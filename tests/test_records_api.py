"""Records through the REST API: CRUD, batch, validation, history, links."""

from __future__ import annotations


def deals(api):
    client = api.catalog(
        "Клиенты",
        [
            {"name": "Название", "type": "text", "required": True},
            {
                "name": "Stage",
                "api_name": "stage",
                "type": "select",
                "options": {"choices": [{"label": "Lead"}, {"label": "Active"}]},
            },
            {"name": "Email", "type": "email", "unique": True},
        ],
    )
    deal = api.catalog(
        "Deals",
        [
            {"name": "Name", "type": "text"},
            {"name": "Amount", "type": "money", "options": {"currency": "RUB"}},
            {"name": "Due", "type": "date", "indexed": True},
            {"name": "Client", "type": "link", "options": {"catalog": client["api_name"]}},
            {"name": "No", "type": "autonumber", "options": {"prefix": "D-"}},
        ],
    )
    return client, deal


def test_catalog_api_names_are_transliterated(api):
    client, _ = deals(api)
    assert client["api_name"] == "klienty"
    assert client["fields"][0]["api_name"] == "nazvanie"
    assert client["title_field"] == "nazvanie"


def test_create_get_update_delete_record(api):
    client, deal = deals(api)
    c = api.record(
        "klienty", {"nazvanie": "ООО Ромашка", "stage": "Active", "email": "A@Example.COM"}
    )
    assert c["title"] == "ООО Ромашка"
    assert c["values"]["stage"]["label"] == "Active"
    assert c["values"]["email"] == "A@example.com"
    d = api.record(
        "deals", {"name": "Big", "amount": "1234.5", "due": "2026-12-01", "client": c["id"]}
    )
    assert d["values"]["amount"] == "1234.50"
    assert d["values"]["client"] == [{"id": c["id"], "title": "ООО Ромашка"}]
    assert d["values"]["no"] == 1
    r = api.patch(f"/catalogs/deals/records/{d['id']}", {"values": {"amount": 10}})
    assert r.status_code == 200, r.text
    assert r.json()["values"]["amount"] == "10.00"
    assert r.json()["values"]["name"] == "Big"
    hist = api.get(f"/catalogs/deals/records/{d['id']}/history").json()["items"]
    assert [h["action"] for h in hist] == ["create", "update"]
    assert hist[1]["changes"] == {"amount": {"old": "1234.50", "new": "10.00"}}
    assert api.delete(f"/catalogs/klienty/records/{c['id']}").status_code == 204
    after = api.get(f"/catalogs/deals/records/{d['id']}").json()
    assert after["values"]["client"] == []
    hist = api.get(f"/catalogs/deals/records/{d['id']}/history").json()["items"]
    assert hist[-1]["changes"]["client"] == {"old": [c["id"]], "new": []}
    assert api.get(f"/catalogs/klienty/records/{c['id']}").status_code == 404


def test_validation_errors_name_the_field_and_write_nothing(api):
    deals(api)
    r = api.post("/catalogs/klienty/records", {"values": {"email": "nope"}})
    assert r.status_code == 422
    body = r.json()
    assert body["error"] == "VALIDATION"
    assert body["fields"]["email"] == "not a valid e-mail address"
    assert body["fields"]["nazvanie"] == "required"
    r = api.post(
        "/catalogs/klienty/records/batch",
        {
            "create": [
                {"values": {"nazvanie": "ok"}},
                {"values": {"nazvanie": "bad", "stage": "Nope"}},
            ]
        },
    )
    assert r.status_code == 422
    assert r.json()["index"] == 1
    assert api.get("/catalogs/klienty/records?count=true").json()["count"] == 0


def test_filters_sort_and_cursor(api):
    deals(api)
    ids = api.records(
        "deals",
        [{"name": f"n{i:03}", "amount": i, "due": f"2026-01-{1 + i % 28:02}"} for i in range(120)],
    )
    assert len(ids) == 120
    seen = []
    cursor = None
    while True:
        url = "/catalogs/deals/records?limit=25&sort=-due,name"
        if cursor:
            url += f"&cursor={cursor}"
        page = api.get(url).json()
        seen += [r["id"] for r in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(ids) and len(seen) == 120
    r = api.post(
        "/catalogs/deals/records/query",
        {
            "filter": {"or": [{"amount": {"lt": 3}}, {"name": {"startswith": "n11"}}]},
            "count": True,
            "sort": "amount",
        },
    )
    assert r.status_code == 200, r.text
    assert r.json()["count"] == 3 + 10
    r = api.get('/catalogs/deals/records?filter={"nope":{"eq":1}}')
    assert r.status_code == 422 and r.json()["fields"]["filter"]


def test_one_hop_filter(api):
    deals(api)
    a = api.record("klienty", {"nazvanie": "A", "stage": "Active"})
    b = api.record("klienty", {"nazvanie": "B", "stage": "Lead"})
    api.records("deals", [{"name": "x", "client": a["id"]}, {"name": "y", "client": b["id"]}])
    r = api.get('/catalogs/deals/records?filter={"client.stage":{"eq":"Active"}}&count=true')
    assert r.status_code == 200, r.text
    assert [i["values"]["name"] for i in r.json()["items"]] == ["x"]

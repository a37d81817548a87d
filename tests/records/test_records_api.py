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


def test_batch_update_replaces_only_the_named_records_links(api):
    deals(api)
    a, b = api.records("klienty", [{"nazvanie": "A"}, {"nazvanie": "B"}])
    x, y, z = api.records("deals", [{"name": n, "client": a} for n in "xyz"])
    body = {"update": [{"id": x, "values": {"client": [b]}}, {"id": y, "values": {"client": []}}]}
    r = api.post("/catalogs/deals/records/batch", body)
    assert r.status_code == 200, r.text
    assert r.json()["updated"] == [x, y]
    clients = {
        i["id"]: [c["id"] for c in i["values"]["client"]]
        for i in api.get("/catalogs/deals/records").json()["items"]
    }
    assert clients == {x: [b], y: [], z: [a]}


def test_cursor_is_stable_under_concurrent_inserts(api):
    api.catalog("Items", [{"name": "N", "api_name": "n", "type": "number", "indexed": True}])
    api.records("items", [{"n": i} for i in range(0, 100, 2)])
    first = api.get("/catalogs/items/records?sort=n&limit=10").json()
    # New rows land before and after the cursor position while we page.
    api.records("items", [{"n": -1}, {"n": 1}, {"n": 33}, {"n": 1000}])
    seen = [r["values"]["n"] for r in first["items"]]
    cursor = first["next_cursor"]
    while cursor:
        page = api.get(f"/catalogs/items/records?sort=n&limit=10&cursor={cursor}").json()
        seen += [r["values"]["n"] for r in page["items"]]
        cursor = page["next_cursor"]
    assert seen == sorted(seen) and len(seen) == len(set(seen))
    assert set(range(0, 100, 2)) <= set(seen)
    assert -1 not in seen and 1000 in seen


def test_field_rename_delete_and_title(api):
    api.catalog("People", [{"name": "Name", "type": "text"}, {"name": "Age", "type": "number"}])
    rec = api.record("people", {"name": "Ann", "age": 30})
    r = api.patch("/catalogs/people/fields/age", {"name": "Years", "api_name": "years"})
    assert r.status_code == 200 and r.json()["api_name"] == "years"
    assert api.get(f"/catalogs/people/records/{rec['id']}").json()["values"]["years"] == 30
    r = api.patch("/catalogs/people", {"title_field": "years"})
    assert r.status_code == 200 and r.json()["title_field"] == "years"
    assert api.get(f"/catalogs/people/records/{rec['id']}").json()["title"] == "30"
    assert api.delete("/catalogs/people/fields/years").status_code == 204
    got = api.get(f"/catalogs/people/records/{rec['id']}").json()
    assert "years" not in got["values"] and got["title"] == "Ann"
    r = api.patch("/catalogs/people/fields/name", {"required": True})
    assert r.status_code == 200
    api.delete(f"/catalogs/people/records/{rec['id']}")
    assert api.delete("/catalogs/people").status_code == 204
    assert api.get("/catalogs/people").status_code == 404


def test_required_and_unique_refused_when_data_breaks_them(api):
    api.catalog("People", [{"name": "Name", "type": "text"}, {"name": "Code", "type": "text"}])
    api.records("people", [{"name": "a", "code": "x"}, {"name": "b", "code": "x"}, {"code": "y"}])
    r = api.patch("/catalogs/people/fields/name", {"required": True})
    assert r.status_code == 422 and "required" in r.json()["fields"]
    r = api.patch("/catalogs/people/fields/code", {"unique": True})
    assert r.status_code == 422 and "unique" in r.json()["fields"]


def test_cursor_pages_equal_one_big_page_with_nulls(api):
    api.catalog(
        "Items",
        [
            {"name": "N", "api_name": "n", "type": "number", "indexed": True},
            {"name": "T", "api_name": "t", "type": "text"},
        ],
    )
    values = [5, None, 3, 5, None, 1, 9, 3, None, 7, 5, 2]
    api.records("items", [{"n": v, "t": f"x{i % 3}"} for i, v in enumerate(values)])
    for sort in ("n", "-n", "t,n", "-t,-n", "-t,n", "id", "-id"):
        whole = [
            r["id"]
            for r in api.get(f"/catalogs/items/records?sort={sort}&limit=1000").json()["items"]
        ]
        paged, cursor = [], None
        while True:
            url = f"/catalogs/items/records?sort={sort}&limit=2" + (
                f"&cursor={cursor}" if cursor else ""
            )
            page = api.get(url).json()
            paged += [r["id"] for r in page["items"]]
            cursor = page["next_cursor"]
            if not cursor:
                break
        assert paged == whole, sort
        assert len(whole) == len(values)


def test_filter_words_are_reserved_api_names(api):
    """A field called `and`, `or` or `not` would be unreachable in a filter (`{"or": …}`
    means the combinator): its api_name is refused, a derived one gets a suffix."""
    api.catalog("Words", [{"name": "Title", "type": "text"}])
    for word in ("and", "or", "not", "search"):
        r = api.post("/catalogs/words/fields", {"name": "X", "type": "text", "api_name": word})
        assert r.status_code == 422, r.text
        assert r.json()["errors"][0]["field"] == "api_name"
    r = api.post("/catalogs/words/fields", {"name": "Or", "type": "text"})
    assert r.status_code == 201, r.text
    assert r.json()["api_name"] == "or_2"

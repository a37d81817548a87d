"""A served app under concurrent GETs by id, writes and pages at once: every request is
answered, none waits for another's thread or lock (PostgreSQL's reads run on the event
loop in greenlets, decision 0026; SQLite's on the loop straight, decision 0022), and a
GET after a write sees it."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

CLIENTS = 24
ROUNDS = 12


def test_concurrent_gets_writes_and_pages_are_all_answered(server: str, rest: httpx.Client):
    companies = rest.post(
        "/catalogs", json={"name": "Companies", "fields": [{"name": "Name", "type": "text"}]}
    ).json()
    deals = rest.post(
        "/catalogs",
        json={
            "name": "Deals",
            "fields": [
                {"name": "Title", "type": "text"},
                {"name": "Amount", "type": "money"},
                {"name": "Company", "type": "link", "options": {"catalog": companies["id"]}},
            ],
        },
    ).json()
    company = rest.post(
        f"/catalogs/{companies['id']}/records", json={"values": {"name": "Acme"}}
    ).json()
    ids = []
    for n in range(CLIENTS):
        r = rest.post(
            f"/catalogs/{deals['id']}/records",
            json={"values": {"title": f"deal {n}", "amount": "10.00", "company": [company["id"]]}},
        )
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    token = rest.headers["Authorization"]
    records = f"/catalogs/{deals['id']}/records"

    def client_work(n: int) -> list[str]:
        problems = []
        with httpx.Client(
            base_url=server + "/api/v1", headers={"Authorization": token}, timeout=30
        ) as api:
            for k in range(ROUNDS):
                mine = ids[n]
                got = api.get(f"{records}/{ids[(n + k) % CLIENTS]}")
                if (
                    got.status_code != 200
                    or got.json()["values"]["company"][0]["id"] != (company["id"])
                ):
                    problems.append(f"GET {got.status_code} {got.text[:200]}")
                if k % 4 == 0:
                    wrote = api.patch(
                        f"{records}/{mine}", json={"values": {"title": f"deal {n} round {k}"}}
                    )
                    seen = api.get(f"{records}/{mine}")
                    if wrote.status_code != 200 or seen.json()["values"]["title"] != (
                        f"deal {n} round {k}"
                    ):
                        problems.append(f"write {wrote.status_code}, then {seen.text[:200]}")
                if k % 6 == 0:
                    page = api.get(records, params={"limit": 10})
                    if page.status_code != 200 or len(page.json()["items"]) != 10:
                        problems.append(f"page {page.status_code} {page.text[:200]}")
                missing = api.get(f"{records}/999999")
                if missing.status_code != 404:
                    problems.append(f"missing {missing.status_code}")
        return problems

    with ThreadPoolExecutor(CLIENTS) as pool:
        found: list[Any] = [p for got in pool.map(client_work, range(CLIENTS)) for p in got]
    assert found == []
    final = rest.get(f"{records}/{ids[3]}").json()
    assert final["values"]["title"] == f"deal 3 round {ROUNDS - 4}"

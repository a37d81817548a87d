"""Inputs that used to answer 500 (some only on PostgreSQL): each is a precise 4xx now."""

from __future__ import annotations

import base64
import threading

import orjson
import pytest
from conftest import Api


@pytest.fixture
def deals(api: Api) -> list[int]:
    api.catalog(
        "Deals",
        [
            {"name": "Name", "type": "text"},
            {"name": "Code", "type": "text", "unique": True},
            {"name": "Amount", "type": "money", "options": {"decimals": 6}},
            {"name": "Score", "type": "number"},
        ],
    )
    return api.records("deals", [{"name": f"d{i}", "score": i} for i in range(3)])


def _cursor(value: object) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(value)).decode().rstrip("=")


@pytest.mark.parametrize(
    "payload",
    [
        [{"$n": "abc"}, 1],
        [[1], 1],
        [None, None],
        [{"$dt": 5}, 1],
        ["a", 2**63 + 5],
        {"s": "x", "v": ["a", 1]},
    ],
)
def test_tampered_cursors_are_422(api: Api, deals: list[int], payload: object) -> None:
    r = api.get("/catalogs/deals/records", params={"sort": "name", "cursor": _cursor(payload)})
    assert r.status_code == 422 and "cursor" in r.json()["fields"], r.text


def test_a_cursor_of_another_sort_is_422(api: Api, deals: list[int]) -> None:
    page = api.get("/catalogs/deals/records", params={"sort": "name", "limit": 1}).json()
    cursor = page["next_cursor"]
    ok = api.get("/catalogs/deals/records", params={"sort": "name", "limit": 1, "cursor": cursor})
    assert ok.status_code == 200 and ok.json()["items"][0]["values"]["name"] == "d1"
    for sort in ("score", "-name", "code"):
        r = api.get("/catalogs/deals/records", params={"sort": sort, "cursor": cursor})
        assert r.status_code == 422 and "cursor" in r.json()["fields"], (sort, r.text)


@pytest.mark.parametrize("amount", ["999999999999999.999999", "1.1234567", "1" * 20])
def test_money_out_of_range_is_422_on_create_and_filter(
    api: Api, deals: list[int], amount: str
) -> None:
    r = api.post("/catalogs/deals/records", {"values": {"amount": amount}})
    assert r.status_code == 422 and "amount" in str(r.json()), r.text
    flt = orjson.dumps({"amount": {"lt": amount}}).decode()
    r = api.get("/catalogs/deals/records", params={"filter": flt})
    assert r.status_code == 422, r.text


def test_import_with_a_codec_that_is_not_a_text_encoding(api: Api, deals: list[int]) -> None:
    r = api.client.post(
        "/api/v1/catalogs/deals/imports",
        files={"file": ("a.csv", b"name\nx\n", "text/csv")},
        data={"options": orjson.dumps({"encoding": "rot13"}).decode()},
    )
    assert r.status_code == 422 and "options.encoding" in r.json()["fields"], r.text


def test_duplicate_ids_in_a_batch_delete(api: Api, deals: list[int]) -> None:
    r = api.post("/catalogs/deals/records/batch", {"delete": [deals[0], deals[0]]})
    assert r.status_code in (200, 422), r.text
    if r.status_code == 422:
        assert r.json()["error"] == "VALIDATION"
    else:
        assert api.get(f"/catalogs/deals/records/{deals[0]}").status_code == 404


def test_concurrent_creates_on_one_unique_key(api: Api, deals: list[int]) -> None:
    statuses: list[int] = []
    barrier = threading.Barrier(6)

    def create() -> None:
        barrier.wait()
        r = api.post("/catalogs/deals/records", {"values": {"code": "same"}})
        statuses.append(r.status_code)
        if r.status_code != 201:
            assert r.json()["error"] == "VALIDATION" and "code" in r.json()["fields"], r.text

    threads = [threading.Thread(target=create) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [201] + [422] * 5


def test_concurrent_upserts_on_one_unique_key(api: Api, deals: list[int]) -> None:
    statuses: list[int] = []
    barrier = threading.Barrier(6)
    body = {"upsert": {"key": ["code"], "items": [{"values": {"code": "k", "name": "x"}}]}}

    def upsert() -> None:
        barrier.wait()
        r = api.post("/catalogs/deals/records/batch", body)
        statuses.append(r.status_code)
        if r.status_code != 200:
            assert r.json()["error"] == "VALIDATION" and "code" in str(r.json()), r.text

    threads = [threading.Thread(target=upsert) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert set(statuses) <= {200, 422} and 200 in statuses
    flt = orjson.dumps({"code": {"eq": "k"}}).decode()
    assert len(api.get("/catalogs/deals/records", params={"filter": flt}).json()["items"]) == 1

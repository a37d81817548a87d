"""Hostile input answered with a precise 4xx, never a 500: huge ids, NUL characters,
deep JSON, bodies that stream past the limit."""

from __future__ import annotations

import pytest
from conftest import Api

HUGE = str(2**64)


@pytest.fixture
def deals(api: Api) -> int:
    api.catalog("Deals", [{"name": "Name", "type": "text"}, {"name": "Amount", "type": "money"}])
    return api.record("deals", {"name": "first"})["id"]


@pytest.mark.parametrize(
    "method,path",
    [
        ("get", "/catalogs/deals/records/{huge}/shares"),
        ("post", "/catalogs/deals/records/{huge}/reveal/name"),
        ("delete", "/catalogs/deals/records/1/shares/{huge}"),
        ("get", "/catalogs/deals/records?view={huge}"),
        ("get", "/events/stream?after={huge}"),
        ("get", "/webhooks/1/deliveries?before={huge}"),
    ],
)
def test_ids_beyond_any_column_are_a_4xx(api: Api, deals: int, method: str, path: str) -> None:
    r = getattr(api, method)(path.format(huge=HUGE))
    assert 400 <= r.status_code < 500, (path, r.status_code, r.text)
    assert r.json()["error"] in ("VALIDATION", "NOT_FOUND")


@pytest.mark.parametrize(
    "path",
    [
        "/catalogs/deals/records?search=a%00b",
        "/catalogs/deals/records?filter=%7B%22name%22%3A%22a%00%22%7D",
        "/catalogs/dea%00ls/records",
    ],
)
def test_nul_in_the_request_line_is_refused(api: Api, deals: int, path: str) -> None:
    r = api.get(path)
    assert r.status_code == 400 and r.json()["error"] == "BAD_REQUEST"


def test_nul_in_json_text_is_refused(api: Api, deals: int) -> None:
    for body in ({"values": {"name": "a\x00b"}}, {"values": {"na\x00me": "x"}}):
        r = api.post("/catalogs/deals/records", body)
        assert r.status_code == 422 and r.json()["error"] == "VALIDATION"
    r = api.post("/users", {"email": "a\x00@example.com", "name": "A\x00"})
    assert r.status_code == 422


def test_nul_in_a_key_inside_a_value_names_the_field(api: Api, deals: int) -> None:
    # Found by test_property: {"\x00": null} as a field's value was reported under "".
    for value in ({"\x00": None}, {":": "\x00"}, [{"k": ["a\x00"]}]):
        r = api.post("/catalogs/deals/records", {"values": {"name": value}})
        assert r.status_code == 422 and r.json()["error"] == "VALIDATION"
        assert list(r.json()["fields"]) == ["name"]


def test_deep_json_is_refused(api: Api, deals: int) -> None:
    options: dict = {}
    for _ in range(900):
        options = {"x": options}
    r = api.post("/catalogs/deals/views", {"name": "v", "type": "table", "options": options})
    assert r.status_code == 400 and r.json()["error"] == "BAD_REQUEST"


def test_a_chunked_body_is_cut_off_at_the_limit(api: Api, deals: int) -> None:
    """Driven as raw ASGI: the test client would buffer the whole body before sending."""
    import anyio
    import orjson

    app = api.client.app
    limit = app.state.instance.settings.max_body_bytes  # type: ignore[attr-defined]
    chunk = b"x" * (1024 * 1024)
    pulled = 0
    sent: list[dict] = []

    async def receive() -> dict:
        nonlocal pulled
        pulled += 1
        return {"type": "http.request", "body": chunk, "more_body": pulled < 100}

    async def send(message: dict) -> None:
        sent.append(message)

    token = api.client.headers["Authorization"].encode()
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/v1/catalogs/deals/records",
        "raw_path": b"/api/v1/catalogs/deals/records",
        "query_string": b"",
        "headers": [(b"content-type", b"application/json"), (b"authorization", token)],
        "client": ("127.0.0.1", 1),
        "server": ("test", 80),
    }
    anyio.run(app, scope, receive, send)
    assert sent[0]["status"] == 413
    assert orjson.loads(sent[1]["body"])["error"] == "TOO_LARGE"
    assert pulled <= limit // len(chunk) + 2  # stopped reading at the limit, not at 100 MiB


def test_a_declared_oversized_body_is_refused_unread(api: Api, deals: int) -> None:
    r = api.client.post(
        "/api/v1/catalogs/deals/records",
        content=b"{}",
        headers={"content-type": "application/json", "content-length": str(10**12)},
    )
    assert r.status_code in (400, 413)

"""Bad input gets a precise error in the contract's shape, never a 500."""

from __future__ import annotations

import base64

from conftest import ADMIN_EMAIL, ADMIN_PASSWORD


def test_no_credentials_is_401(client):
    r = client.get("/api/v1/catalogs")
    assert r.status_code == 401 and r.json()["error"] == "UNAUTHENTICATED"
    r = client.get("/api/v1/catalogs", headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401
    r = client.get("/api/v1/catalogs", headers={"Authorization": "Digest x"})
    assert r.status_code == 401


def test_basic_auth_works(client):
    raw = base64.b64encode(f"{ADMIN_EMAIL}:{ADMIN_PASSWORD}".encode()).decode()
    r = client.get("/api/v1/catalogs", headers={"Authorization": f"Basic {raw}"})
    assert r.status_code == 200
    bad = base64.b64encode(f"{ADMIN_EMAIL}:wrong".encode()).decode()
    r = client.get("/api/v1/catalogs", headers={"Authorization": f"Basic {bad}"})
    assert r.status_code == 401
    r = client.get("/api/v1/catalogs", headers={"Authorization": "Basic !!!"})
    assert r.status_code == 401


def test_login_wrong_password_is_401(client):
    r = client.post("/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": "nope"})
    assert r.status_code == 401 and r.json()["error"] == "UNAUTHENTICATED"
    r = client.post("/api/v1/auth/login", json={"email": ADMIN_EMAIL})
    assert r.status_code == 422 and r.json()["fields"] == {"password": "required"}


def test_cookie_session_needs_csrf_for_unsafe_methods(client):
    r = client.post("/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    csrf = r.json()["csrf_token"]
    assert client.get("/api/v1/catalogs").status_code == 200
    r = client.post("/api/v1/catalogs", json={"name": "X"})
    assert r.status_code == 403 and r.json()["error"] == "CSRF"
    r = client.post("/api/v1/catalogs", json={"name": "X"}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 201


def test_malformed_and_unknown(api):
    r = api.client.post(
        api.url("/catalogs"), content=b"{nope", headers={"content-type": "application/json"}
    )
    assert r.status_code == 400 and r.json()["error"] == "BAD_REQUEST"
    assert api.get("/catalogs/nope").json()["error"] == "NOT_FOUND"
    assert api.get("/catalogs/nope/records").status_code == 404
    api.catalog("Things", [{"name": "Name", "type": "text"}])
    assert api.get("/catalogs/things/records/123").status_code == 404
    assert api.get("/catalogs/things/fields/nope").status_code == 404
    r = api.get("/catalogs/things/records/abc")
    assert r.status_code == 422 and r.json()["error"] == "VALIDATION"
    r = api.post("/catalogs/things/records", {"values": {"nope": 1}})
    assert r.status_code == 422 and r.json()["fields"] == {"nope": "unknown field"}
    r = api.post("/catalogs/things/records", [1, 2])
    assert r.status_code == 422
    r = api.get("/catalogs/things/records?cursor=garbage")
    assert r.status_code == 422 and "cursor" in r.json()["fields"]
    r = api.get("/catalogs/things/records?limit=5000")
    assert r.status_code == 422
    r = api.get('/catalogs/things/records?filter={"name":{"between":1}}')
    assert r.status_code == 422 and r.json()["fields"]["name"]
    r = api.get('/catalogs/things/records?filter={"name":{"regex":"x"}}')
    assert r.status_code == 422
    r = api.get("/catalogs/things/records?sort=nope")
    assert r.status_code == 422 and r.json()["fields"]["sort"]
    deep = {"not": {}}
    for _ in range(30):
        deep = {"not": deep}
    r = api.post("/catalogs/things/records/query", {"filter": deep})
    assert r.status_code == 422


def test_batch_limit_and_all_or_nothing(api):
    api.catalog("Things", [{"name": "Name", "type": "text", "unique": True}])
    r = api.post(
        "/catalogs/things/records/batch",
        {"create": [{"values": {"name": str(i)}} for i in range(1001)]},
    )
    assert r.status_code == 413 and r.json()["error"] == "TOO_LARGE"
    ids = api.records("things", [{"name": "a"}, {"name": "b"}])
    r = api.post(
        "/catalogs/things/records/batch",
        {
            "create": [{"values": {"name": "c"}}],
            "update": [{"id": ids[0], "values": {"name": "b"}}],
        },
    )
    assert r.status_code == 422 and r.json()["fields"]["name"].startswith("value 'b'")
    r = api.post(
        "/catalogs/things/records/batch",
        {"create": [{"values": {"name": "c"}}], "delete": [999999]},
    )
    assert r.status_code == 404
    assert api.get("/catalogs/things/records?count=true").json()["count"] == 2
    r = api.post(
        "/catalogs/things/records/batch",
        {
            "upsert": {
                "key": "name",
                "items": [{"values": {"name": "a"}}, {"values": {"name": "z"}}],
            },
            "delete": [ids[1]],
        },
    )
    assert r.status_code == 200, r.text
    assert r.json()["deleted"] == [ids[1]]
    names = sorted(i["values"]["name"] for i in api.get("/catalogs/things/records").json()["items"])
    assert names == ["a", "z"]


def test_duplicate_catalog_and_field_names(api):
    api.catalog("Things", [{"name": "Name", "type": "text"}])
    r = api.post("/catalogs", {"name": "Things"})
    assert r.status_code == 201  # a derived api_name gets a suffix
    assert r.json()["api_name"] == "things_2"
    r = api.post("/catalogs", {"name": "X", "api_name": "things"})
    assert r.status_code == 409 and r.json()["error"] == "CONFLICT"
    r = api.post("/catalogs/things/fields", {"name": "Name", "type": "text", "api_name": "name"})
    assert r.status_code == 409
    r = api.post("/catalogs/things/fields", {"name": "X", "type": "nope"})
    assert r.status_code == 422 and r.json()["fields"]["type"]


def test_catalog_scoped_token_sees_only_its_catalogs(api):
    a = api.catalog("Alpha", [{"name": "Name", "type": "text"}])
    api.catalog("Beta", [{"name": "Name", "type": "text"}])
    r = api.post("/auth/tokens", {"name": "alpha only", "scopes": {"catalogs": [a["id"]]}})
    assert r.status_code == 201, r.text
    h = {"Authorization": f"Bearer {r.json()['token']}"}
    names = [c["api_name"] for c in api.get("/catalogs", headers=h).json()["items"]]
    assert names == ["alpha"]
    assert api.get("/catalogs/beta/records", headers=h).status_code == 403
    assert api.get("/catalogs/alpha/records", headers=h).status_code == 200
    r = api.post("/auth/tokens", {"name": "ro", "scopes": {"read_only": True}})
    ro = {"Authorization": f"Bearer {r.json()['token']}"}
    assert api.get("/catalogs/alpha/records", headers=ro).status_code == 200
    r = api.post("/catalogs/alpha/records", {"values": {"name": "x"}}, headers=ro)
    assert r.status_code == 403 and r.json()["error"] == "FORBIDDEN"


def test_logout_everywhere_ends_sessions(client):
    tokens = []
    for _ in range(2):
        r = client.post(
            "/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
        )
        tokens.append(r.json()["token"])
    client.cookies.clear()
    h = {"Authorization": f"Bearer {tokens[0]}"}
    assert client.post("/api/v1/auth/logout-everywhere", headers=h).status_code == 204
    for t in tokens:
        r = client.get("/api/v1/catalogs", headers={"Authorization": f"Bearer {t}"})
        assert r.status_code == 401


def test_upsert_reports_created_updated_and_unchanged(api):
    # Issue 14: a match whose values are already as given is "unchanged" (as imports
    # say), not "updated", and it writes no history; the key may be a list.
    api.catalog(
        "Things",
        [{"name": "Name", "type": "text", "unique": True}, {"name": "Note", "type": "text"}],
    )
    a, c = api.records("things", [{"name": "a", "note": "x"}, {"name": "c", "note": "x"}])
    r = api.post(
        "/catalogs/things/records/batch",
        {
            "upsert": {
                "key": ["name"],
                "items": [
                    {"values": {"name": "a", "note": "x"}},
                    {"values": {"name": "b"}},
                    {"values": {"name": "c", "note": "y"}},
                ],
            }
        },
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["updated"] == [c] and body["unchanged"] == [a]
    assert len(body["created"]) == 1 and body["created"][0] not in (a, c)
    assert body["upserted"] == [a, body["created"][0], c]
    history = api.get(f"/catalogs/things/records/{a}/history").json()["items"]
    assert [h["action"] for h in history] == ["create"]
    # The first shape of the key (one api_name as a string) still works.
    r = api.post(
        "/catalogs/things/records/batch",
        {"upsert": {"key": "name", "items": [{"values": {"name": "a", "note": "z"}}]}},
    )
    assert r.status_code == 200 and r.json()["updated"] == [a]

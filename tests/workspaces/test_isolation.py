"""Two workspaces with the same catalog names never see each other's data, users or files."""

from __future__ import annotations

import uuid

from conftest import ADMIN_EMAIL, ADMIN_PASSWORD, Api

from kartoteka.context import Actor
from kartoteka.users import service as users


def second_workspace(instance, client) -> Api:
    name = f"{instance.settings.default_workspace}b{uuid.uuid4().hex[:4]}"
    ws = instance.create_workspace(name)
    users.create_user(
        Actor.system(ws),
        {
            "email": "boss@b.example",
            "name": "Boss",
            "password": "another-secret-pw",
            "is_admin": True,
        },
    )
    r = client.post(
        f"/w/{name}/api/v1/auth/login",
        json={"email": "boss@b.example", "password": "another-secret-pw"},
    )
    assert r.status_code == 200, r.text
    token = r.json()["token"]
    client.cookies.clear()
    other = Api(client, prefix=f"/w/{name}/api/v1")
    other.headers = {"Authorization": f"Bearer {token}"}
    return other


def test_workspaces_are_isolated(api, instance, client):
    default_token = client.headers["Authorization"]
    fields = [{"name": "Name", "type": "text"}]
    api.catalog("Clients", fields)
    a_id = api.record("clients", {"name": "secret of A"})["id"]

    b = second_workspace(instance, client)
    h = b.headers
    # The same catalog name is free in B, and B's record ids start from its own sequence.
    r = b.post("/catalogs", {"name": "Clients", "fields": fields}, headers=h)
    assert r.status_code == 201, r.text
    r = b.post("/catalogs/clients/records", {"values": {"name": "secret of B"}}, headers=h)
    assert r.status_code == 201
    assert r.json()["id"] == a_id  # both first records: same id, different databases
    listing = b.get("/catalogs/clients/records", headers=h).json()["items"]
    assert [x["values"]["name"] for x in listing] == ["secret of B"]
    # A's token means nothing in B, and B's users are not A's.
    r = b.get("/catalogs", headers={"Authorization": default_token})
    assert r.status_code == 401 and r.json()["error"] == "UNAUTHENTICATED"
    emails = [u["email"] for u in b.get("/users", headers=h).json()["items"]]
    assert emails == ["boss@b.example"]
    assert ADMIN_EMAIL not in emails
    r = client.post(b.url("/auth/login"), json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    assert r.status_code == 401
    # A still sees only its own record.
    listing = api.get("/catalogs/clients/records").json()["items"]
    assert [x["values"]["name"] for x in listing] == ["secret of A"]


def test_unknown_workspace_is_404(client):
    r = client.get("/w/nosuchworkspace/api/v1/catalogs")
    assert r.status_code == 404 and r.json()["error"] == "NOT_FOUND"

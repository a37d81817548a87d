"""Side doors around the rights: delegated rights changes, scoped tokens, request limits
that lock everyone out, rule keys users can edit, and the security log's event names."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest
from conftest import Api

from kartoteka.security import log

WRITE = {"view": True, "create": True, "edit": True, "delete": True}


def _user(api: Api, name: str, groups: list[int] | None = None, **extra: Any) -> dict[str, str]:
    """Create a user and return Authorization headers for their session token."""
    email = f"{name}@example.com"
    body = {"email": email, "name": name.title(), "password": f"password-{name}", **extra}
    r = api.post("/users", {**body, "groups": groups or []})
    assert r.status_code == 201, r.text
    r = api.client.post("/api/v1/auth/login", json={"email": email, "password": body["password"]})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


def _group(api: Api, name: str) -> int:
    return api.post("/groups", {"name": name}).json()["id"]


@pytest.fixture
def world(api: Api) -> dict[str, Any]:
    """Clients with a hidden `secret`, a managers group and a head-office group."""
    api.catalog(
        "Clients",
        [
            {"name": "Name", "type": "text"},
            {"name": "Region", "type": "text"},
            {"name": "Secret", "type": "text"},
        ],
    )
    managers, head, others = _group(api, "managers"), _group(api, "head"), _group(api, "others")
    rights = {
        str(managers): {
            "view": {"region": {"eq": "North"}},
            "manage": True,
            "fields": {"secret": "hidden"},
        },
        str(head): {**WRITE, "manage": True},
        str(others): {"view": {"region": {"eq": "South"}}},
    }
    assert api.put("/catalogs/clients/rights", {"groups": rights}).status_code == 200
    manager = _user(api, "mia", [managers])
    return {"managers": managers, "head": head, "others": others, "manager": manager}


# ----- item 4: rights are changed by administrators unless delegated ----------------------
def test_manager_cannot_rewrite_rights_by_default(api: Api, world: dict[str, Any]) -> None:
    g = world["managers"]
    r = api.put(
        "/catalogs/clients/rights",
        {"groups": {str(g): {**WRITE, "manage": True}}},
        headers=world["manager"],
    )
    assert r.status_code == 403 and r.json()["error"] == "FORBIDDEN"
    assert set(api.get("/catalogs/clients/rights").json()["groups"]) == {
        str(world["managers"]),
        str(world["head"]),
        str(world["others"]),
    }


def test_delegated_manager_stays_within_own_access(api: Api, world: dict[str, Any]) -> None:
    assert api.patch("/settings", {"managers_change_rights": True}).status_code == 200
    current = api.get("/catalogs/clients/rights").json()["groups"]
    g, head, others = str(world["managers"]), str(world["head"]), str(world["others"])
    mine = current[g]

    def put(groups: dict[str, Any]) -> Any:
        return api.put("/catalogs/clients/rights", {"groups": groups}, headers=world["manager"])

    # Widening their own group, or wiping the head office's rights, is refused.
    widened = {**current, g: {**mine, "view": True}}
    assert put(widened).status_code == 403
    r = put({g: mine, others: current[others]})
    assert r.status_code == 403 and r.json()["field"] == f"groups.{head}"
    # Changing a group that sees what they do not (South) is refused as well.
    assert put({**current, others: {"view": mine["view"]}}).status_code == 403
    # A group with nothing may get their own rule, with the secret hidden as for them...
    api.put("/catalogs/clients/rights", {"groups": {**current, others: {}}})
    current = api.get("/catalogs/clients/rights").json()["groups"]
    granted = {"view": mine["view"], "fields": {"secret": "hidden"}}
    r = put({**current, others: granted})
    assert r.status_code == 200, r.text
    assert r.json()["groups"][others]["view"] == mine["view"]
    # ...but not with the field they cannot see un-hidden.
    assert put({**current, others: {"view": mine["view"]}}).status_code == 403


def test_dry_run_report_respects_the_callers_rights(api: Api, world: dict[str, Any]) -> None:
    api.records(
        "clients",
        [{"name": "n", "region": "North", "secret": "x1"}, {"name": "s", "region": "South"}],
    )
    for row in api.get("/catalogs/clients/records").json()["items"]:
        api.patch(f"/catalogs/clients/records/{row['id']}", {"values": {"region": "North x"}})
    api.put(
        "/catalogs/clients/rights",
        {
            "groups": {
                str(world["managers"]): {
                    "view": {"name": {"eq": "n"}},
                    "manage": True,
                    "fields": {"secret": "masked"},
                }
            }
        },
    )
    r = api.patch(
        "/catalogs/clients/fields/region?dry_run=true",
        {"type": "number"},
        headers=world["manager"],
    )
    assert r.status_code == 200, r.text
    report = r.json()["conversion"]
    assert report["failed_count"] == 2
    assert [f["value"] for f in report["failed"]] == ["North x"]  # the South one is not shown


# ----- item 8: rule keys users can change themselves ---------------------------------------
def test_rules_may_not_use_self_editable_keys(api: Api, world: dict[str, Any]) -> None:
    g = str(world["others"])
    r = api.put(
        "/catalogs/clients/rights", {"groups": {g: {"view": {"name": {"eq": "$user.name"}}}}}
    )
    assert r.status_code == 422 and f"groups.{g}.view" in r.json()["fields"]
    # Profile keys are set by administrators only: a user editing their own is refused.
    me = api.get("/auth/me", headers=world["manager"]).json()["id"]
    r = api.patch(f"/users/{me}", {"profile": {"region": "South"}}, headers=world["manager"])
    assert r.status_code == 403


def test_a_stored_rule_on_a_self_editable_key_matches_nothing(
    api: Api, world: dict[str, Any]
) -> None:
    from kartoteka.access import service as access
    from kartoteka.auth import service as auth

    api.records("clients", [{"name": "Mia", "region": "North"}])
    inst = api.client.app.state.instance  # type: ignore[attr-defined]
    ws = inst.workspace(inst.settings.default_workspace)
    me = api.get("/auth/me", headers=world["manager"]).json()["id"]
    actor = auth.actor_for_user(ws, me)
    catalog = ws.meta().catalog("clients")
    assert catalog is not None
    clause = access._rule_clause(actor, catalog, {"name": {"eq": "$user.name"}}, catalog.table)
    assert str(clause) in ("false", "0 = 1")


# ----- item 9: a scope limits every endpoint ----------------------------------------------
def test_scoped_admin_token_cannot_administer(api: Api, world: dict[str, Any]) -> None:
    other = api.catalog("Other", [{"name": "Name", "type": "text"}, {"name": "F", "type": "file"}])
    clients = api.get("/catalogs/clients").json()["id"]
    tok = api.post("/auth/tokens", {"name": "c", "scopes": {"catalogs": [clients]}}).json()
    h = {"Authorization": f"Bearer {tok['token']}"}
    assert api.get("/catalogs/clients/records", headers=h).status_code == 200
    assert [c["api_name"] for c in api.get("/catalogs", headers=h).json()["items"]] == ["clients"]
    refused = [
        ("post", "/users", {"email": "x@example.com", "name": "X", "is_admin": True}),
        ("post", "/catalogs", {"name": "New", "fields": []}),
        ("get", "/webhooks", None),
        ("get", "/users", None),
        ("post", "/groups", {"name": "g"}),
        ("get", "/security/log", None),
        ("put", "/security/rate-limits", {}),
        ("get", "/events/stream", None),
        ("post", "/auth/tokens", {"name": "more"}),
        ("patch", "/settings", {"lang": "ru"}),
    ]
    for method, path, body in refused:
        kw = {"json": body} if body is not None else {}
        r = getattr(api.client, method)(f"/api/v1{path}", headers=h, **kw)
        assert r.status_code == 403, (method, path, r.status_code, r.text)
    # Files of another catalog are out of reach too.
    up = api.client.post("/api/v1/files", files={"file": ("a.txt", b"hello", "text/plain")})
    fid = up.json()["id"]
    api.record(other["api_name"], {"name": "x", "f": [fid]})
    assert api.get(f"/files/{fid}").status_code == 200
    r = api.get(f"/files/{fid}", headers=h)
    assert r.status_code == 404 and r.json()["error"] == "NOT_FOUND"


# ----- item 11: request limits cannot lock the administrator out ---------------------------
@pytest.mark.parametrize("limit", ["0/second", "0/minute", "5/1000days"])
def test_unusable_rate_limits_are_refused(api: Api, limit: str) -> None:
    r = api.put("/security/rate-limits", {"per_account": limit})
    assert r.status_code == 422 and "per_account" in r.json()["fields"]


def test_admin_can_always_undo_a_tight_limit(api: Api) -> None:
    assert api.put("/security/rate-limits", {"per_address": "1/minute"}).status_code == 200
    r = api.put("/security/rate-limits", {"per_address": "1/minute"})
    assert r.status_code == 200, r.text  # the change itself is never limited for admins
    statuses = [api.get("/catalogs").status_code for _ in range(2)]
    assert statuses == [200, 429]
    assert api.put("/security/rate-limits", {}).status_code == 200
    assert api.get("/catalogs").status_code == 200


# ----- the security log writes the names the docs and ?event= use -------------------------
def _logged_event_names() -> set[str]:
    names = set()
    for path in Path("kartoteka").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name not in ("log_event", "_security_log"):
                continue
            for arg in node.args[:2]:
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    names.add(arg.value)
    return names


def test_every_logged_event_is_a_known_and_documented_name() -> None:
    names = _logged_event_names()
    assert {"login", "rights_changed", "reveal"} <= names
    assert names <= set(log.EVENTS)
    docs = Path("docs/security.md").read_text()
    for name in log.EVENTS:
        assert f"`{name}`" in docs, name


def test_rights_share_and_reveal_events_are_filterable(api: Api, world: dict[str, Any]) -> None:
    items = api.get("/security/log", params={"event": "rights_changed"}).json()["items"]
    assert items and all(i["event"] == "rights_changed" for i in items)


def test_self_editable_keys_are_the_ones_rules_refuse() -> None:
    from kartoteka.filters.compiler import SELF_EDITABLE_KEYS
    from kartoteka.users.service import SELF_KEYS

    builtin_keys = {"id", "email", "name"}
    assert builtin_keys & SELF_KEYS == SELF_EDITABLE_KEYS
    assert "profile" not in SELF_KEYS and "email" not in SELF_KEYS

"""The access matrix: every user x catalog x read/write path against a plain-Python oracle.

The fixture is the insurer from the rights issue: regional specialists see their
region's clients plus every OSAGO client; juniors never see clients insured over
10 million and never see the sum; head office sees all; managers see their own
clients; auditors see a saved "rights view"; the claims team sees policies of
clients in its region through a one-hop rule. Rules are declared twice: as the JSON
the API stores and as Python predicates the oracle evaluates, independently.
"""

from __future__ import annotations

import csv
import io
import random
import threading
from dataclasses import dataclass, field
from typing import Any

import openpyxl
import orjson
import pytest

REGIONS = ["North", "South", "East"]
PRODUCTS = ["OSAGO", "KASKO", "Life"]
PASSWORD = "matrix-password-1"


@dataclass
class World:
    api: Any
    clients: dict[int, dict[str, Any]] = field(default_factory=dict)
    policies: dict[int, dict[str, Any]] = field(default_factory=dict)
    claims: dict[int, dict[str, Any]] = field(default_factory=dict)
    users: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> {id, groups, profile}
    tokens: dict[str, str] = field(default_factory=dict)
    view_id: int = 0


def build(api) -> World:
    w = World(api)
    rnd = random.Random(20261125)
    api.catalog(
        "Clients",
        [
            {"name": "Name", "api_name": "name", "type": "text"},
            {
                "name": "Region",
                "api_name": "region",
                "type": "select",
                "options": {"choices": REGIONS},
            },
            {
                "name": "Product",
                "api_name": "product",
                "type": "select",
                "options": {"choices": PRODUCTS},
            },
            {"name": "Sum insured", "api_name": "sum_insured", "type": "number"},
            {"name": "Phone", "api_name": "phone", "type": "phone"},
            {"name": "Manager", "api_name": "manager", "type": "user"},
            {"name": "Notes", "api_name": "notes", "type": "long_text"},
            {"name": "INN", "api_name": "inn", "type": "text", "unique": True},
        ],
    )
    api.catalog(
        "Policies",
        [
            {"name": "Number", "api_name": "number", "type": "text"},
            {
                "name": "Client",
                "api_name": "client",
                "type": "link",
                "options": {"catalog": "clients"},
            },
            {"name": "Premium", "api_name": "premium", "type": "money"},
        ],
    )
    api.catalog(
        "Claims",
        [
            {"name": "Title", "api_name": "title", "type": "text"},
            {
                "name": "Policy",
                "api_name": "policy",
                "type": "link",
                "options": {"catalog": "policies"},
            },
            {"name": "Amount", "api_name": "amount", "type": "number"},
        ],
    )
    groups = {}
    for name in ["regional", "juniors", "head", "managers", "auditors", "claims_team"]:
        r = api.post("/groups", {"name": name})
        assert r.status_code == 201, r.text
        groups[name] = r.json()["id"]
    people = {
        "north": (["regional"], {"region": "North"}),
        "south": (["regional"], {"region": "South"}),
        "junior": (["juniors"], {}),
        "junior_east": (["juniors", "regional"], {"region": "East"}),
        "head": (["head"], {}),
        "mgr": (["managers"], {}),
        "auditor": (["auditors"], {}),
        "claims": (["claims_team"], {"region": "North"}),
        "nobody": ([], {"region": "North"}),
    }
    for uname, (gnames, profile) in people.items():
        r = api.post(
            "/users",
            {
                "email": f"{uname}@ins.example",
                "name": uname.title(),
                "password": PASSWORD,
                "groups": [groups[g] for g in gnames],
                "profile": profile,
            },
        )
        assert r.status_code == 201, r.text
        w.users[uname] = {"id": r.json()["id"], "groups": set(gnames), "profile": profile}
    mgr_id = w.users["mgr"]["id"]
    rows = []
    for i in range(60):
        rows.append(
            {
                "name": f"Client {i:02}",
                "region": rnd.choice(REGIONS),
                "product": rnd.choice(PRODUCTS),
                "sum_insured": rnd.choice([1_000_000, 5_000_000, 10_000_000, 20_000_000]),
                "phone": f"+7912{rnd.randint(1000000, 9999999)}",
                "manager": mgr_id if i % 4 == 0 else None,
                "notes": f"note {i}",
                "inn": f"77{i:08}",
            }
        )
    for cid, row in zip(api.records("clients", rows), rows, strict=True):
        w.clients[cid] = row
    cids = sorted(w.clients)
    prow = [
        {"number": f"P-{i}", "client": rnd.choice(cids), "premium": f"{i}.50"} for i in range(80)
    ]
    for pid, row in zip(api.records("policies", prow), prow, strict=True):
        w.policies[pid] = row
    pids = sorted(w.policies)
    crow = [{"title": f"C-{i}", "policy": rnd.choice(pids), "amount": i} for i in range(40)]
    for xid, row in zip(api.records("claims", crow), crow, strict=True):
        w.claims[xid] = row
    view = api.post(
        "/catalogs/clients/views",
        {
            "name": "Big clients (rights)",
            "type": "table",
            "filter": {"sum_insured": {"gte": 10_000_000}},
            "options": {"rights_view": True},
        },
    )
    w.view_id = view.json()["id"]
    put = lambda cat, body: api.put(f"/catalogs/{cat}/rights", {"groups": body})  # noqa: E731
    g = groups
    r = put(
        "clients",
        {
            str(g["regional"]): {
                "view": {"or": [{"region": {"eq": "$user.region"}}, {"product": {"eq": "OSAGO"}}]},
                "create": True,
                "edit": {"region": {"eq": "$user.region"}},
                "fields": {"phone": "masked"},
            },
            str(g["juniors"]): {
                "view": {"sum_insured": {"lte": 10_000_000}},
                "fields": {"sum_insured": "hidden", "notes": "hidden"},
            },
            str(g["head"]): {"view": True, "create": True, "edit": True, "delete": True},
            str(g["managers"]): {
                "view": {"manager": {"eq": "me"}},
                "edit": {"manager": {"eq": "me"}},
            },
            str(g["auditors"]): {"view": {"$view": w.view_id}, "fields": {"notes": "hidden"}},
        },
    )
    assert r.status_code == 200, r.text
    r = put(
        "policies",
        {
            str(g["regional"]): {"view": True, "create": True},
            str(g["head"]): {"view": True, "edit": True},
            str(g["claims_team"]): {"view": {"client.region": {"eq": "$user.region"}}},
        },
    )
    assert r.status_code == 200, r.text
    r = put(
        "claims",
        {str(g["claims_team"]): {"view": True, "edit": True}, str(g["head"]): {"view": True}},
    )
    assert r.status_code == 200, r.text
    for uname in w.users:
        r = api.client.post(
            api.url("/auth/login"), json={"email": f"{uname}@ins.example", "password": PASSWORD}
        )
        assert r.status_code == 200, r.text
        w.tokens[uname] = r.json()["token"]
    api.client.cookies.clear()
    return w


# ----- the oracle ------------------------------------------------------------------------
def client_rules(w: World, uname: str) -> list[Any]:
    u = w.users[uname]
    rules = []
    if "regional" in u["groups"]:
        rules.append(lambda c: c["region"] == u["profile"].get("region") or c["product"] == "OSAGO")
    if "juniors" in u["groups"]:
        rules.append(lambda c: c["sum_insured"] <= 10_000_000)
    if "head" in u["groups"]:
        rules.append(lambda c: True)
    if "managers" in u["groups"]:
        rules.append(lambda c: c["manager"] == u["id"])
    if "auditors" in u["groups"]:
        rules.append(lambda c: c["sum_insured"] >= 10_000_000)
    return rules


def unseen_status(w: World, uname: str) -> int:
    """The status a client record the user cannot see answers with (docs/api.md, rights.md):
    403 FORBIDDEN without any grant on the catalog, 404 NOT_FOUND with a grant whose
    record rule leaves the record out (nobody learns it exists)."""
    return 404 if client_rules(w, uname) else 403


def visible_clients(w: World, uname: str) -> set[int]:
    rules = client_rules(w, uname)
    return {cid for cid, c in w.clients.items() if any(rule(c) for rule in rules)}


def visible_policies(w: World, uname: str) -> set[int]:
    u = w.users[uname]
    if u["groups"] & {"regional", "head"}:
        return set(w.policies)
    if "claims_team" in u["groups"]:
        region = u["profile"]["region"]
        return {pid for pid, p in w.policies.items() if w.clients[p["client"]]["region"] == region}
    return set()


def visible_claims(w: World, uname: str) -> set[int]:
    return set(w.claims) if w.users[uname]["groups"] & {"claims_team", "head"} else set()


def client_field_rules(w: World, uname: str) -> dict[str, str]:
    """Least restrictive rule across the groups granting a view on clients."""
    per_group = {
        "regional": {"phone": "masked"},
        "juniors": {"sum_insured": "hidden", "notes": "hidden"},
        "head": {},
        "managers": {},
        "auditors": {"notes": "hidden"},
    }
    groups = [g for g in w.users[uname]["groups"] if g in per_group]
    if not groups:
        return {}
    order = ["read_only", "masked", "hidden"]
    out = {}
    for name in ["name", "region", "product", "sum_insured", "phone", "manager", "notes", "inn"]:
        levels = [order.index(per_group[g][name]) if name in per_group[g] else -1 for g in groups]
        if min(levels) >= 0:
            out[name] = order[min(levels)]
    return out


def oracle(w: World, uname: str, catalog: str) -> set[int]:
    return {"clients": visible_clients, "policies": visible_policies, "claims": visible_claims}[
        catalog
    ](w, uname)


# ----- the matrix ------------------------------------------------------------------------
@pytest.fixture
def world(api) -> World:
    return build(api)


def headers(w: World, uname: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {w.tokens[uname]}"}


def list_all(w: World, uname: str, catalog: str, filt: Any = None) -> tuple[int, list[dict]]:
    items, cursor = [], None
    while True:
        body: dict[str, Any] = {"limit": 25, "count": True}
        if filt is not None:
            body["filter"] = filt
        if cursor:
            body["cursor"] = cursor
        r = w.api.post(f"/catalogs/{catalog}/records/query", body, headers=headers(w, uname))
        if r.status_code != 200:
            return r.status_code, []
        page = r.json()
        items += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            return 200, items


USERS = ["north", "south", "junior", "junior_east", "head", "mgr", "auditor", "claims", "nobody"]
CATALOGS = ["clients", "policies", "claims"]


def test_list_get_and_fields_match_the_oracle(world):
    w = world
    for uname in USERS:
        for catalog in CATALOGS:
            expected = oracle(w, uname, catalog)
            status, items = list_all(w, uname, catalog)
            if not expected and status == 403:
                continue  # no grant at all on this catalog
            assert status == 200, (uname, catalog, status)
            got = {i["id"] for i in items}
            assert got == expected, (uname, catalog, sorted(got ^ expected)[:5])
            all_ids = {"clients": w.clients, "policies": w.policies, "claims": w.claims}[catalog]
            for rid in list(all_ids)[::7]:
                r = w.api.get(f"/catalogs/{catalog}/records/{rid}", headers=headers(w, uname))
                assert r.status_code == (
                    200 if rid in expected else (403 if not expected else 404)
                ), (uname, catalog, rid, r.status_code)
            if catalog == "clients" and items:
                rules = client_field_rules(w, uname)
                for item in items:
                    for fname, rule in rules.items():
                        if rule == "hidden":
                            assert fname not in item["values"], (uname, fname)
                        if rule == "masked":
                            real = w.clients[item["id"]][fname]
                            assert item["values"][fname] == f"+7 *** ***-**-{real[-2:]}"
                    assert set(item["values"]) == {
                        "name",
                        "region",
                        "product",
                        "sum_insured",
                        "phone",
                        "manager",
                        "notes",
                        "inn",
                    } - {f for f, rule in rules.items() if rule == "hidden"}


def test_filters_hops_and_hidden_fields(world):
    w = world
    for uname in USERS:
        expected = {
            cid for cid in visible_clients(w, uname) if w.clients[cid]["product"] == "KASKO"
        }
        status, items = list_all(w, uname, "clients", {"product": {"eq": "KASKO"}})
        if status == 200:
            assert {i["id"] for i in items} == expected, uname
        # One hop must not reveal clients the user cannot see.
        visible_c = visible_clients(w, uname)
        expected_p = {
            pid
            for pid in visible_policies(w, uname)
            if w.policies[pid]["client"] in visible_c
            and w.clients[w.policies[pid]["client"]]["region"] == "South"
        }
        status, items = list_all(w, uname, "policies", {"client.region": {"eq": "South"}})
        if status == 200:
            assert {i["id"] for i in items} == expected_p, uname
        rules = client_field_rules(w, uname)
        for fname, rule in rules.items():
            # A hidden field is answered like one that does not exist; a masked one is
            # known to the reader but may not be filtered or sorted by.
            status, code = (422, "VALIDATION") if rule == "hidden" else (403, "FORBIDDEN")
            r = w.api.post(
                "/catalogs/clients/records/query",
                {"filter": {fname: {"empty": False}}},
                headers=headers(w, uname),
            )
            assert (r.status_code, r.json()["error"]) == (status, code), (uname, fname)
            unknown = w.api.post(
                "/catalogs/clients/records/query",
                {"filter": {"no_such_field": {"empty": False}}},
                headers=headers(w, uname),
            )
            if rule == "hidden":
                assert r.json()["message"] == unknown.json()["message"].replace(
                    "no_such_field", fname
                )
            r = w.api.get(f"/catalogs/clients/records?sort={fname}", headers=headers(w, uname))
            assert r.status_code == status, (uname, fname)
            if rule == "hidden":
                any_id = next(iter(visible_clients(w, uname)))
                for path in ("/catalogs/clients/records", f"/catalogs/clients/records/{any_id}"):
                    r = w.api.get(f"{path}?fields=name,{fname}", headers=headers(w, uname))
                    assert r.status_code == 422 and fname in r.json()["message"], (path, r.text)


def test_history_comments_related_and_choices(world):
    w = world
    for uname in USERS:
        visible = visible_clients(w, uname)
        hidden = {f for f, rule in client_field_rules(w, uname).items() if rule == "hidden"}
        for cid in list(w.clients)[::9]:
            r = w.api.get(f"/catalogs/clients/records/{cid}/history", headers=headers(w, uname))
            if cid in visible:
                assert r.status_code == 200
                for entry in r.json()["items"]:
                    assert not (set(entry["changes"]) & hidden), uname
            else:
                assert r.status_code == unseen_status(w, uname), (uname, cid, r.status_code)
            r = w.api.get(f"/catalogs/clients/records/{cid}/comments", headers=headers(w, uname))
            expected_status = 200 if cid in visible else unseen_status(w, uname)
            assert r.status_code == expected_status, (uname, cid, r.status_code)
            r = w.api.get(f"/catalogs/clients/records/{cid}/related", headers=headers(w, uname))
            if cid in visible:
                groups = r.json()["items"]
                shown = {i["id"] for g in groups for i in g["items"]}
                expected = {
                    pid
                    for pid, p in w.policies.items()
                    if p["client"] == cid and pid in visible_policies(w, uname)
                }
                assert shown == expected, (uname, cid)
            else:
                assert r.status_code == unseen_status(w, uname), (uname, cid, r.status_code)
        r = w.api.get(
            "/catalogs/policies/fields/client/choices?limit=200", headers=headers(w, uname)
        )
        if r.status_code == 200:
            assert {i["id"] for i in r.json()["items"]} <= visible, uname


def test_writes_respect_rules(world):
    w = world
    north = headers(w, "north")
    own = next(c for c, v in w.clients.items() if v["region"] == "North")
    osago_other = next(
        (c for c, v in w.clients.items() if v["region"] != "North" and v["product"] == "OSAGO"),
        None,
    )
    south_only = next(
        c for c, v in w.clients.items() if v["region"] == "South" and v["product"] != "OSAGO"
    )
    # Editing an own-region client works; moving it to another region is refused.
    r = w.api.patch(
        f"/catalogs/clients/records/{own}", {"values": {"name": "Renamed"}}, headers=north
    )
    assert r.status_code == 200, r.text
    r = w.api.patch(
        f"/catalogs/clients/records/{own}", {"values": {"region": "South"}}, headers=north
    )
    assert r.status_code == 403 and r.json()["error"] == "FORBIDDEN"
    assert (
        w.api.get(f"/catalogs/clients/records/{own}").json()["values"]["region"]["label"] == "North"
    )
    # Visible (OSAGO) but not editable: a 403 for edit (issue 14: the contract's answer
    # for a record the caller may see but not change), the record stays unchanged.
    if osago_other:
        r = w.api.patch(
            f"/catalogs/clients/records/{osago_other}", {"values": {"name": "x"}}, headers=north
        )
        assert r.status_code == 403 and r.json()["error"] == "FORBIDDEN"
        r = w.api.delete(f"/catalogs/clients/records/{osago_other}", headers=north)
        assert r.status_code == 403 and r.json()["error"] == "FORBIDDEN"
    r = w.api.patch(
        f"/catalogs/clients/records/{south_only}", {"values": {"name": "x"}}, headers=north
    )
    assert r.status_code == 404
    # Creating outside the rule is refused; inside works.
    r = w.api.post(
        "/catalogs/clients/records",
        {"values": {"name": "New", "region": "South", "product": "KASKO"}},
        headers=north,
    )
    assert r.status_code == 403
    r = w.api.post(
        "/catalogs/clients/records", {"values": {"name": "New", "region": "North"}}, headers=north
    )
    assert r.status_code == 201
    # Masked and read-only fields cannot be written; juniors cannot create at all.
    r = w.api.patch(
        f"/catalogs/clients/records/{own}", {"values": {"phone": "+79120000000"}}, headers=north
    )
    assert r.status_code == 403
    r = w.api.post(
        "/catalogs/clients/records", {"values": {"name": "J"}}, headers=headers(w, "junior")
    )
    assert r.status_code == 403
    # Deleting needs a delete grant; the record is visible, so the answer is 403 (issue 14).
    r = w.api.delete(f"/catalogs/clients/records/{own}", headers=north)
    assert r.status_code == 403 and r.json()["error"] == "FORBIDDEN"
    # Nobody sees nothing, and cannot manage.
    assert w.api.get("/catalogs", headers=headers(w, "nobody")).json()["items"] == []
    r = w.api.post("/catalogs", {"name": "X"}, headers=headers(w, "nobody"))
    assert r.status_code == 403


def test_sharing_and_reveal(world):
    w = world
    admin_api = w.api
    hidden_client = next(c for c in w.clients if c not in visible_clients(w, "nobody"))
    r = admin_api.post(
        f"/catalogs/clients/records/{hidden_client}/shares", {"user": w.users["nobody"]["id"]}
    )
    assert r.status_code == 201, r.text
    r = admin_api.get(f"/catalogs/clients/records/{hidden_client}", headers=headers(w, "nobody"))
    assert r.status_code == 200
    r = admin_api.patch(
        f"/catalogs/clients/records/{hidden_client}",
        {"values": {"name": "x"}},
        headers=headers(w, "nobody"),
    )
    # A share lets them see the record, not change it: 403 (issue 14), not 404.
    assert r.status_code == 403 and r.json()["error"] == "FORBIDDEN"
    assert (
        admin_api.delete(
            f"/catalogs/clients/records/{hidden_client}/shares/{w.users['nobody']['id']}"
        ).status_code
        == 204
    )
    r = admin_api.get(f"/catalogs/clients/records/{hidden_client}", headers=headers(w, "nobody"))
    # Without the share "nobody" has no grant on clients at all: the catalog is closed.
    assert r.status_code == 403 and r.json()["error"] == "FORBIDDEN", r.text
    # Regional users see phones masked and may not reveal them; admins may.
    own = next(c for c, v in w.clients.items() if v["region"] == "North")
    r = admin_api.post(f"/catalogs/clients/records/{own}/reveal/phone", headers=headers(w, "north"))
    assert r.status_code == 403
    r = admin_api.post(f"/catalogs/clients/records/{own}/reveal/phone")
    assert r.status_code == 200 and r.json()["value"] == w.clients[own]["phone"]


def test_rights_document_validation(api):
    api.catalog("Things", [{"name": "Name", "type": "text"}])
    gid = api.post("/groups", {"name": "g"}).json()["id"]
    bad = [
        {"groups": {"999": {"view": True}}},
        {"groups": {str(gid): {"view": {"nope": {"eq": 1}}}}},
        {"groups": {str(gid): {"view": True, "fields": {"name": "invisible"}}}},
        {"groups": {str(gid): {"view": True, "colour": "red"}}},
        {"groups": {str(gid): {"create": "yes"}}},
        {"groups": []},
    ]
    for body in bad:
        r = api.put("/catalogs/things/rights", body)
        assert r.status_code == 422 and r.json()["error"] == "VALIDATION", (body, r.text)
    r = api.put(
        "/catalogs/things/rights",
        {"groups": {str(gid): {"view": True, "fields": {"name": "read_only"}}}},
    )
    assert r.status_code == 200
    assert r.json()["groups"][str(gid)]["fields"] == {"name": "read_only"}
    assert orjson.loads(orjson.dumps(r.json()))["groups"][str(gid)]["view"] is True


# ----- side doors (issue 8): every path that shows or matches a value -------------------
def south_only_client(w: World) -> int:
    """A client North cannot see (South, not OSAGO)."""
    return next(
        c for c, v in w.clients.items() if v["region"] == "South" and v["product"] != "OSAGO"
    )


def import_job(w: World, uname: str, catalog: str, content: bytes, options: dict[str, Any]):
    """Upload an import as `uname`; returns the raw response."""
    return w.api.client.post(
        w.api.url(f"/catalogs/{catalog}/imports"),
        files={"file": ("data.csv", content)},
        data={"options": orjson.dumps(options).decode()},
        headers=headers(w, uname),
    )


def wait_job(w: World, uname: str, job_id: int) -> dict[str, Any]:
    for _ in range(1200):  # polls until the background thread is done (not a timing check)
        job = w.api.get(f"/imports/{job_id}", headers=headers(w, uname)).json()
        if job["status"] in ("done", "failed"):
            return job
        threading.Event().wait(0.05)
    raise AssertionError(job)


def test_key_matching_is_no_existence_oracle(world):
    w = world
    north = headers(w, "north")
    hidden = south_only_client(w)
    inn = w.clients[hidden]["inn"]
    # Upsert by a unique key held by a record North cannot see: never "record N not
    # found", never the id; the same answer as creating a record with that value.
    r = w.api.post(
        "/catalogs/clients/records/batch",
        {"upsert": {"key": "inn", "items": [{"values": {"inn": inn, "region": "North"}}]}},
        headers=north,
    )
    created = w.api.post(
        "/catalogs/clients/records", {"values": {"inn": inn, "region": "North"}}, headers=north
    )
    assert r.status_code == created.status_code == 422, r.text
    assert str(hidden) not in r.text and r.json()["error"] == created.json()["error"]
    assert w.api.get(f"/catalogs/clients/records/{hidden}").json()["values"]["inn"] == inn
    # A visible record's key still updates it.
    own = next(c for c, v in w.clients.items() if v["region"] == "North")
    r = w.api.post(
        "/catalogs/clients/records/batch",
        {
            "upsert": {
                "key": "inn",
                "items": [{"values": {"inn": w.clients[own]["inn"], "name": "Upserted"}}],
            }
        },
        headers=north,
    )
    assert r.status_code == 200 and r.json()["upserted"] == [own], r.text
    # Import link keys on a masked field (phone, for North) would tell right guesses from
    # wrong ones: refused up front, naming the option.
    phone = w.clients[own]["phone"]
    content = f"number,client\nP-new,{phone}\n".encode()
    r = import_job(w, "north", "policies", content, {"link_keys": {"client": "phone"}})
    assert r.status_code == 422 and "options.link_keys.client" in r.json()["fields"], r.text
    # On a field North reads, only records North sees match: the hidden client's INN is
    # "no record", exactly like an INN nobody has.
    content = f"number,client\nP-a,{inn}\nP-b,7799999999\n".encode()
    r = import_job(
        w, "north", "policies", content, {"link_keys": {"client": "inn"}, "dry_run": True}
    )
    assert r.status_code == 202, r.text
    job = wait_job(w, "north", r.json()["id"])
    messages = [e["message"] for e in job["error_sample"]]
    assert len(messages) == 2 and messages[0].replace(inn, "X") == messages[1].replace(
        "7799999999", "X"
    ), messages


def masked_phone(phone: str) -> str:
    return f"+7 *** ***-**-{phone[-2:]}"


def export_lines(w: World, uname: str, catalog: str) -> list[dict[str, Any]]:
    r = w.api.get(f"/catalogs/{catalog}/export?format=jsonl", headers=headers(w, uname))
    assert r.status_code == 200, r.text
    return [orjson.loads(line) for line in r.text.splitlines()]


def test_history_and_live_feed_apply_masks(world, instance):
    from kartoteka.auth import service as auth
    from kartoteka.webhooks import live

    w = world
    own = next(c for c, v in w.clients.items() if v["region"] == "North")
    ws = instance.workspace(instance.settings.default_workspace)
    after = live.current_seq(ws)
    r = w.api.patch(
        f"/catalogs/clients/records/{own}",
        {"values": {"phone": "+79990001122", "notes": "secret note"}},
    )
    assert r.status_code == 200, r.text
    old = w.clients[own]["phone"]
    for uname in ["north", "junior_east", "head", "junior"]:
        rules = client_field_rules(w, uname)
        if own not in visible_clients(w, uname):
            continue
        r = w.api.get(f"/catalogs/clients/records/{own}/history", headers=headers(w, uname))
        assert r.status_code == 200, r.text
        change = r.json()["items"][-1]["changes"]
        events, _ = live.visible_events(auth.actor_for_user(ws, w.users[uname]["id"]), after)
        assert [e["record_id"] for e in events] == [own], uname
        seen = {"old": events[0]["previous"].get("phone"), "new": events[0]["values"].get("phone")}
        for entry in (change.get("phone"), seen):
            if rules.get("phone") == "masked":
                assert entry == {"old": masked_phone(old), "new": masked_phone("+79990001122")}
            elif rules.get("phone") != "hidden":
                assert entry == {"old": old, "new": "+79990001122"}, uname
        if rules.get("notes") == "hidden":
            assert "notes" not in change and "notes" not in events[0]["values"], uname
            assert "notes" not in events[0]["previous"], uname


def test_titles_follow_the_title_fields_rule(world):
    w = world
    # The clients' title becomes the phone: masked for regional specialists.
    r = w.api.patch("/catalogs/clients", {"title_field": "phone"})
    assert r.status_code == 200, r.text
    north = headers(w, "north")
    visible = visible_clients(w, "north")
    _, items = list_all(w, "north", "clients")
    for item in items:
        assert item["title"] == masked_phone(w.clients[item["id"]]["phone"]), item
    for line in export_lines(w, "north", "clients"):
        assert line["title"] == masked_phone(w.clients[line["id"]]["phone"])
    # Link values in policies, and the picker, show the masked title; search by the
    # phone's digits matches nothing (it would tell which number a client has).
    _, policies = list_all(w, "north", "policies")
    for p in policies:
        (link,) = p["values"]["client"]
        cid = w.policies[p["id"]]["client"]
        if cid in visible:
            assert link == {"id": cid, "title": masked_phone(w.clients[cid]["phone"])}
        else:
            assert link == {"id": cid, "title": f"#{cid}", "restricted": True}
    r = w.api.get("/catalogs/policies/fields/client/choices?limit=200", headers=north)
    assert r.status_code == 200
    for item in r.json()["items"]:
        assert item["title"] == masked_phone(w.clients[item["id"]]["phone"])
    own = next(c for c in visible if w.clients[c]["region"] == "North")
    digits = w.clients[own]["phone"][2:9]
    r = w.api.get(f"/catalogs/policies/fields/client/choices?search={digits}", headers=north)
    assert r.status_code == 200 and r.json()["items"] == [], r.text
    r = w.api.get(f"/catalogs/policies/fields/client/choices?search={own}", headers=north)
    assert [i["id"] for i in r.json()["items"]] == [own]
    # Administrators still search by the title.
    r = w.api.get(f"/catalogs/policies/fields/client/choices?search={digits}")
    assert own in [i["id"] for i in r.json()["items"]]
    # A title from a hidden field (notes, for juniors) is only the id.
    r = w.api.patch("/catalogs/clients", {"title_field": "notes"})
    assert r.status_code == 200, r.text
    _, items = list_all(w, "junior", "clients")
    assert items and all(i["title"] == f"#{i['id']}" for i in items)
    assert all(line["title"] == f"#{line['id']}" for line in export_lines(w, "junior", "clients"))
    _, items = list_all(w, "head", "clients")
    assert all(i["title"] == w.clients[i["id"]]["notes"] for i in items)


def test_titles_of_linked_records_the_reader_cannot_see(world):
    w = world
    north = headers(w, "north")
    hidden = south_only_client(w)
    name = w.clients[hidden]["name"]
    # North links a policy to a client it cannot see (the field is not accessible_only)
    # and reads it back: the link shows the id only.
    r = w.api.post(
        "/catalogs/policies/records", {"values": {"number": "P-x", "client": hidden}}, headers=north
    )
    assert r.status_code == 201, r.text
    pid = r.json()["id"]
    assert r.json()["values"]["client"] == [
        {"id": hidden, "title": f"#{hidden}", "restricted": True}
    ]
    for got in (
        w.api.get(f"/catalogs/policies/records/{pid}", headers=north).json(),
        next(x for x in export_lines(w, "north", "policies") if x["id"] == pid),
    ):
        assert name not in orjson.dumps(got).decode(), got
    r = w.api.get("/catalogs/policies/export?format=csv", headers=north)
    assert name not in r.text
    # The claims team sees claims of every policy but policies of its region only.
    seen = visible_policies(w, "claims")
    _, claims = list_all(w, "claims", "claims")
    assert claims
    for c in claims:
        (link,) = c["values"]["policy"]
        if link["id"] not in seen:
            assert link == {"id": link["id"], "title": f"#{link['id']}", "restricted": True}
        else:
            assert link["title"] == w.policies[link["id"]]["number"]
    # A field that declares its titles public shows them (the title field's own rule
    # still applies); administrators always see titles.
    r = w.api.patch("/catalogs/policies/fields/client", {"options": {"title_public": True}})
    assert r.status_code == 200, r.text
    got = w.api.get(f"/catalogs/policies/records/{pid}", headers=north).json()
    assert got["values"]["client"] == [{"id": hidden, "title": name}]
    admin = w.api.get(f"/catalogs/policies/records/{pid}").json()
    assert admin["values"]["client"] == [{"id": hidden, "title": name}]


def test_a_share_never_shows_more_fields_than_the_catalogs_rules(world):
    w = world
    nobody = headers(w, "nobody")
    cid = next(c for c in w.clients if c not in visible_clients(w, "nobody"))
    r = w.api.post(f"/catalogs/clients/records/{cid}/shares", {"user": w.users["nobody"]["id"]})
    assert r.status_code == 201, r.text
    w.api.patch(f"/catalogs/clients/records/{cid}", {"values": {"phone": "+79990001122"}})
    r = w.api.get(f"/catalogs/clients/records/{cid}", headers=nobody)
    assert r.status_code == 200, r.text
    values = r.json()["values"]
    # The strictest rule of any group: sum and notes hidden, phone masked.
    assert "sum_insured" not in values and "notes" not in values, values
    assert values["phone"] == masked_phone("+79990001122")
    r = w.api.get(f"/catalogs/clients/records/{cid}/history", headers=nobody)
    assert r.status_code == 200
    for entry in r.json()["items"]:
        assert not {"sum_insured", "notes"} & set(entry["changes"]), entry
        if "phone" in entry["changes"]:
            assert w.clients[cid]["phone"] not in orjson.dumps(entry).decode()
    r = w.api.get("/catalogs/clients", headers=nobody)
    fields = {f["api_name"] for f in r.json()["fields"]}
    assert "sum_insured" not in fields and "notes" not in fields
    r = w.api.post(f"/catalogs/clients/records/{cid}/reveal/phone", headers=nobody)
    # A record they see, a field masked for them they may not reveal: 403 (docs/rights.md).
    assert r.status_code == 403 and r.json()["error"] == "FORBIDDEN", r.text


def test_exports_never_write_formulas(api):
    api.catalog("Sheet", [{"name": "=Name", "api_name": "name", "type": "text"}])
    evil = ['=HYPERLINK("http://x")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)"]
    api.records("sheet", [{"name": v} for v in evil] + [{"name": "-12.50"}, {"name": "ok"}])
    r = api.get("/catalogs/sheet/export?format=csv&sort=id")
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0] == ["id", "'=Name"]
    assert [row[1] for row in rows[1:]] == ["'" + v for v in evil] + ["-12.50", "ok"]
    r = api.get("/catalogs/sheet/export?format=xlsx&sort=id")
    book = openpyxl.load_workbook(io.BytesIO(r.content))
    cells = [c for row in book.active.iter_rows() for c in row]
    assert all(c.data_type != "f" for c in cells), [c.value for c in cells if c.data_type == "f"]
    assert [row[1] for row in book.active.iter_rows(values_only=True)][1:5] == evil


def test_metadata_views_and_users_show_only_what_the_reader_may_see(world):
    w = world
    # Field definitions: only in catalogs the user reaches, hidden fields not at all.
    for uname in USERS:
        h = headers(w, uname)
        rules = client_field_rules(w, uname)
        for fname in ["name", "sum_insured", "notes", "phone"]:
            r = w.api.get(f"/catalogs/clients/fields/{fname}", headers=h)
            if not visible_clients(w, uname):
                assert r.status_code == 403, (uname, fname, r.status_code)
            elif rules.get(fname) == "hidden":
                assert r.status_code == 404 and r.json()["error"] == "NOT_FOUND", (uname, fname)
            else:
                assert r.status_code == 200 and r.json().get("access") == rules.get(fname)
        if not visible_claims(w, uname):
            assert w.api.get("/catalogs/claims/fields/amount", headers=h).status_code == 403
    # Views: a rights view is the rule of someone's access; a filter over a hidden field
    # tells its values. Both stay with managers and authors.
    r = w.api.post(
        "/catalogs/clients/views",
        {"name": "Rich", "type": "table", "filter": {"sum_insured": {"gt": 1}}},
    )
    rich = r.json()["id"]
    r = w.api.post(
        "/catalogs/clients/views", {"name": "KASKO", "filter": {"product": {"eq": "KASKO"}}}
    )
    kasko = r.json()["id"]
    for uname in ["junior", "auditor", "north"]:
        h = headers(w, uname)
        listed = {
            v["id"]: v for v in w.api.get("/catalogs/clients/views", headers=h).json()["items"]
        }
        assert w.view_id not in listed, uname
        assert w.api.get(f"/catalogs/clients/views/{w.view_id}", headers=h).status_code == 404
        assert listed[kasko]["filter"] == {"product": {"eq": "KASKO"}}
        hidden_sum = client_field_rules(w, uname).get("sum_insured") == "hidden"
        got = w.api.get(f"/catalogs/clients/views/{rich}", headers=h).json()
        assert (got["filter"] is None) == hidden_sum == bool(got.get("restricted")), uname
        assert listed[rich]["filter"] == got["filter"]
    admin_views = w.api.get("/catalogs/clients/views").json()["items"]
    assert {v["id"] for v in admin_views} >= {w.view_id, rich, kasko}
    # Users: names for everyone, e-mails only one's own unless the workspace shows them.
    listed = w.api.get("/users", headers=headers(w, "north")).json()["items"]
    assert [u["email"] for u in listed if "email" in u] == ["north@ins.example"]
    assert (
        "email"
        not in w.api.get(f"/users/{w.users['south']['id']}", headers=headers(w, "north")).json()
    )
    assert w.api.patch("/settings", {"show_emails": True}).status_code == 200
    listed = w.api.get("/users", headers=headers(w, "north")).json()["items"]
    assert "south@ins.example" in {u.get("email") for u in listed}


def test_search_matches_only_what_the_reader_sees(world):
    w = world
    hidden = south_only_client(w)
    own = next(c for c, v in w.clients.items() if v["region"] == "North")
    north = headers(w, "north")
    # A record North cannot see is never found; a masked phone is not searchable.
    for q, cid in ((w.clients[hidden]["name"], hidden), (w.clients[own]["phone"][1:], own)):
        r = w.api.get("/catalogs/clients/records", params={"search": f'"{q}"'}, headers=north)
        assert r.status_code == 200 and cid not in {i["id"] for i in r.json()["items"]}, q
        r = w.api.get("/search", params={"q": f'"{q}"'}, headers=north)
        assert r.status_code == 200 and q not in r.text, r.text
    # The administrator finds both (the queries are real).
    for q in (w.clients[hidden]["name"], w.clients[own]["phone"][1:]):
        r = w.api.get("/catalogs/clients/records", params={"search": f'"{q}"'})
        assert r.json()["items"], q

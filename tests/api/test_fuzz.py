"""A property-based fuzz of every API operation: no request may answer 5xx.

Schemathesis reads the app's OpenAPI document and Hypothesis generates parameters and
bodies for each operation. Path parameters are steered towards things that exist (the
catalogs, fields, records, views, users and files of a small realistic world) half of
the time, so requests get past the 404 into the code that parses, checks rights and
writes. Each request goes as one of four callers: the administrator, a restricted
regional user, a token scoped to one catalog, and nobody.

The suite runs it small (`KARTOTEKA_FUZZ_EXAMPLES`, default 6 cases per operation);
`scripts/fuzz.sh` runs it larger and prints how many requests were tried and which
answered 5xx. The bar is zero.
"""

from __future__ import annotations

import os
import time
import warnings
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pytest
from conftest import Api
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

EXAMPLES = int(os.environ.get("KARTOTEKA_FUZZ_EXAMPLES") or 6)
#: Operations whose success would stop the rest of the run from meaning anything.
SKIPPED = {
    ("POST", "/api/v1/auth/logout"),
    ("POST", "/api/v1/auth/logout-everywhere"),
    ("GET", "/api/v1/events/stream"),  # an endless stream (its parameters are tested apart)
}
#: Field types of the fuzzed catalogs, so generated values meet every type's parser.
DEAL_FIELDS = [
    {"name": "Name", "type": "text", "unique": True},
    {"name": "Amount", "type": "money"},
    {"name": "Score", "type": "number", "options": {"decimals": 2}},
    {"name": "Region", "type": "select", "options": {"choices": ["North", "South"]}},
    {"name": "Due", "type": "date"},
    {"name": "At", "type": "datetime"},
    {"name": "Phone", "type": "phone"},
    {"name": "Email", "type": "email"},
    {"name": "Done", "type": "checkbox"},
    {"name": "Owner", "type": "user"},
    {"name": "Doc", "type": "file"},
    {"name": "Client", "type": "link", "options": {"catalog": "clients"}},
]


def _token(api: Api, email: str, password: str) -> str:
    r = api.client.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert r.status_code == 200, r.text
    return r.json()["token"]


@pytest.fixture
def world(api: Api) -> dict[str, Any]:
    """Two linked catalogs with records, a view, a restricted user and a scoped token."""
    api.catalog("Clients", [{"name": "Name", "type": "text"}, {"name": "Region", "type": "text"}])
    clients = api.records("clients", [{"name": f"c{i}", "region": "North"} for i in range(3)])
    deals = api.catalog("Deals", DEAL_FIELDS)
    file_id = api.client.post(
        "/api/v1/files", files={"file": ("a.txt", b"hello", "text/plain")}
    ).json()["id"]
    rows = [{"name": f"d{i}", "amount": "10.50", "region": "North"} for i in range(4)]
    rows[0].update({"client": [clients[0]], "doc": [file_id]})
    records = api.records("deals", rows)
    view = api.post("/catalogs/deals/views", {"name": "North", "type": "table"}).json()["id"]
    group = api.post("/groups", {"name": "regional"}).json()["id"]
    rule = {"view": {"region": {"eq": "North"}}, "edit": True, "create": True,
            "fields": {"amount": "masked", "phone": "hidden"}}  # fmt: skip
    api.put("/catalogs/deals/rights", {"groups": {str(group): rule}})
    user = api.post(
        "/users",
        {"email": "rita@example.com", "name": "Rita", "password": "password-rita",
         "groups": [group], "profile": {"region": "North"}},
    ).json()  # fmt: skip
    scoped = api.post("/auth/tokens", {"name": "s", "scopes": {"catalogs": [deals["id"]]}})
    return {
        "catalog": ["deals", "clients", str(deals["id"])],
        "field": ["name", "amount", "client", "region", "doc", "phone"],
        "ids": [*records, *clients, view, group, user["id"], file_id, 1],
        # The administrator reaches the most code, so it calls most often.
        "callers": [
            api.client.headers["Authorization"],
            api.client.headers["Authorization"],
            api.client.headers["Authorization"],
            f"Bearer {_token(api, 'rita@example.com', 'password-rita')}",
            f"Bearer {scoped.json()['token']}",
            None,
        ],
    }


def _steer(case: Any, world: dict[str, Any], pick: st.DataObject) -> None:
    """Point some path parameters at things that exist."""
    for name in list(case.path_parameters or {}):
        if not pick.draw(st.booleans()):
            continue
        if name == "catalog":
            case.path_parameters[name] = pick.draw(st.sampled_from(world["catalog"]))
        elif name == "field":
            case.path_parameters[name] = pick.draw(st.sampled_from(world["field"]))
        elif name.endswith("_id") or name == "id":
            case.path_parameters[name] = pick.draw(st.sampled_from(world["ids"]))


def _renderable(files: list[Any]) -> list[Any]:
    """Multipart parts as bytes: httpx cannot send a number as a part (a client error)."""
    out = []
    for name, (filename, content, *rest) in files:
        if not isinstance(content, bytes | str):
            content = str(content).encode()
        out.append((name, (filename, content, *rest)))
    return out


@dataclass
class Stats:
    """What a fuzz run did."""

    tried: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    spent: Counter[str] = field(default_factory=Counter)
    failures: dict[str, str] = field(default_factory=dict)


def _request(case: Any, caller: str | None) -> dict[str, Any]:
    """The case as keyword arguments of the test client, sent as `caller`."""
    request = case.as_transport_kwargs()
    headers = dict(request.pop("headers") or {})
    headers.pop("Authorization", None)
    if caller:
        headers["Authorization"] = caller
    cookies = request.pop("cookies", None) or {}
    if cookies:  # as a header: httpx deprecates per-request cookies
        headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
    if request.get("files"):
        request["files"] = _renderable(request["files"])
    return {**request, "headers": headers}


def fuzz_operation(operation: Any, client: TestClient, world: dict[str, Any], stats: Stats) -> None:
    """Send EXAMPLES generated cases of one operation; note every 5xx."""
    from schemathesis import GenerationMode

    label = f"{operation.method.upper()} {operation.path}"
    cases = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    )

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=cases, pick=st.data())
    def run(case: Any, pick: st.DataObject) -> None:
        _steer(case, world, pick)
        request = _request(case, pick.draw(st.sampled_from(world["callers"])))
        started = time.perf_counter()
        # The test's own client (one app, one lifespan) instead of a client per call.
        response = client.request(**request)
        stats.spent[label] += time.perf_counter() - started
        stats.statuses[response.status_code // 100] += 1
        stats.tried[label] += 1
        if response.status_code >= 500 and label not in stats.failures:
            stats.failures[label] = f"{response.status_code} {request} {response.text[:200]}"

    with warnings.catch_warnings():
        # Schemathesis warns about schema details it cannot use; the fuzz goes on.
        warnings.simplefilter("ignore")
        run()


def test_no_operation_answers_5xx(api: Api, world: dict[str, Any]) -> None:
    import schemathesis

    app = api.client.app
    client = TestClient(app, raise_server_exceptions=False)
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    stats = Stats()
    for result in schema.get_all_operations():
        operation = result.ok()
        if (operation.method.upper(), operation.path) not in SKIPPED:
            fuzz_operation(operation, client, world, stats)
    total = sum(stats.tried.values())
    print(
        f"\nfuzz: {total} requests over {len(stats.tried)} operations, "
        f"{len(stats.failures)} with 5xx"
    )
    classes = ", ".join(f"{k}xx {v}" for k, v in sorted(stats.statuses.items()))
    print(f"  by status class: {classes}")
    if os.environ.get("KARTOTEKA_FUZZ_VERBOSE"):
        for label, seconds in stats.spent.most_common(8):
            print(f"  slowest: {label} {seconds:.1f} s")
    for label, detail in sorted(stats.failures.items()):
        print(f"  5xx {label}: {detail[:600]}")
    assert len(stats.tried) > 50
    assert not stats.failures, stats.failures

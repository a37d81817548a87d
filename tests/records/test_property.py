"""Property tests: any JSON thrown at any writable field is either stored faithfully or refused.

Never a 500, never a half-written change: a 4xx is a 422 naming the field and leaves
the records as they were; a 2xx reads back exactly what the field type's own
`to_db` -> `from_db` makes of the same input.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kartoteka.context import Actor
from kartoteka.fields import all_types
from kartoteka.fields.base import FieldValueError

WRITABLE = sorted(n for n, t in all_types().items() if not t.read_only)
#: Types whose read value is filled in from other tables; compare their ids only.
REFERENCES = {"user", "link", "file"}
PROPERTY_SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

NASTY = st.sampled_from(
    [
        "NaN",
        "-Infinity",
        "inf",
        "1e5",
        "1e-9999",
        "1,5",
        " 12 ",
        "0x10",
        "²",
        "٣",
        "да",
        "нет",
        "true",
        "2026-11-25",
        "2026-02-30",
        "2026-11-25T10:00:00+03:00",
        "0001-01-01T00:00:00+01:00",
        "9999-12-31T23:59:59-01:00",
        "today",
        "-7d",
        "+99999y",
        "a@b.co",
        "A@Example.COM",
        "8 (912) 345-67-89",
        "+79123456789",
        "example.com",
        "http://[::1",
        "Lead",
        "won",
        "me",
        "1",
        "\x00",
        "a\nb",
        "x" * 20_000,
        "ё" * 5000,
        "%_\\",
    ]
)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=1, max_value=4)
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=50)
    | NASTY
)
JSON = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=5,
)


def field_spec(name: str) -> dict[str, Any]:
    """A field of type `name` called `f_<name>`."""
    options: dict[str, Any] = {}
    if name == "select":
        options = {"choices": ["Lead", "Won"], "multiple": False}
    if name == "link":
        options = {"catalog": "targets", "multiple": True}
    return {"name": f"f_{name}", "api_name": f"f_{name}", "type": name, "options": options}


@pytest.fixture
def world(api: Any, instance: Any) -> dict[str, Any]:
    """A catalog with one field of every writable type, one empty record, and an actor."""
    api.catalog("Targets", [{"name": "Name", "type": "text"}], api_name="targets")
    api.records("targets", [{"name": "A"}, {"name": "B"}])
    api.catalog("Things", [field_spec(n) for n in WRITABLE], api_name="things")
    base = api.record("things", {})
    ws = instance.workspace(instance.settings.default_workspace)
    me = base["created_by"]["id"]
    actor = Actor(workspace=ws, user_id=me, is_admin=True)
    return {"api": api, "ws": ws, "actor": actor, "base": base["id"]}


def expected(world: dict[str, Any], name: str, value: Any) -> tuple[bool, Any]:
    """(accepted by the type, normalised read value) for `value` written to `f_<name>`."""
    field = world["ws"].meta().catalog("things").by_api_name[f"f_{name}"]
    try:
        raw = field.ftype.to_db(value, field, world["actor"])
    except FieldValueError:
        return False, None
    return True, comparable(name, field.ftype.from_db(raw, field, world["actor"]))


def comparable(name: str, value: Any) -> Any:
    """Reference values compare by ids (names and titles come from other tables)."""
    if name not in REFERENCES or value is None:
        return value
    if isinstance(value, list):
        return [v["id"] for v in value]
    return value["id"]


def count(api: Any) -> int:
    """Records in `things`."""
    r = api.get("/catalogs/things/records", params={"count": "true", "limit": 1})
    assert r.status_code == 200, r.text
    return r.json()["count"]


def assert_refused(response: Any, name: str) -> None:
    """A 422 VALIDATION naming the field."""
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"] == "VALIDATION"
    assert body["fields"], body


@PROPERTY_SETTINGS
@given(name=st.sampled_from(WRITABLE), value=JSON)
def test_create_stores_or_refuses(world: dict[str, Any], name: str, value: Any) -> None:
    api = world["api"]
    before = count(api)
    r = api.post("/catalogs/things/records", {"values": {f"f_{name}": value}})
    assert r.status_code < 500, r.text
    if r.status_code == 201:
        ok, want = expected(world, name, value)
        assert ok, f"the API stored {value!r} that the type refuses"
        assert comparable(name, r.json()["values"][f"f_{name}"]) == want
        again = api.get(f"/catalogs/things/records/{r.json()['id']}").json()
        assert comparable(name, again["values"][f"f_{name}"]) == want
    else:
        assert_refused(r, name)
        assert f"f_{name}" in r.json()["fields"]
        assert count(api) == before


@PROPERTY_SETTINGS
@given(name=st.sampled_from(WRITABLE), value=JSON)
def test_update_stores_or_refuses(world: dict[str, Any], name: str, value: Any) -> None:
    api = world["api"]
    url = f"/catalogs/things/records/{world['base']}"
    before = api.get(url).json()
    r = api.patch(url, {"values": {f"f_{name}": value}})
    assert r.status_code < 500, r.text
    after = api.get(url).json()
    if r.status_code == 200:
        ok, want = expected(world, name, value)
        assert ok, f"the API stored {value!r} that the type refuses"
        assert comparable(name, after["values"][f"f_{name}"]) == want
    else:
        assert_refused(r, name)
        assert f"f_{name}" in r.json()["fields"]
        assert after == before


@PROPERTY_SETTINGS
@given(data=st.data(), name=st.sampled_from(WRITABLE), value=JSON)
def test_filter_operands_never_crash(
    world: dict[str, Any], data: st.DataObject, name: str, value: Any
) -> None:
    ops = sorted(all_types()[name].operators)
    op = data.draw(st.sampled_from(ops))
    r = world["api"].post(
        "/catalogs/things/records/query", {"filter": {f"f_{name}": {op: value}}, "limit": 5}
    )
    assert r.status_code in (200, 422), r.text
    if r.status_code == 422:
        assert_refused(r, name)

"""Changing a field's type on a catalog with records: convert, report failures, keep history."""

from __future__ import annotations

from typing import Any


def holding(api: Any, ftype: str, values: list[Any], **options: Any) -> list[int]:
    """Catalog `things` with a title and field `v` of `ftype` holding `values`; returns ids."""
    api.catalog(
        "Things",
        [
            {"name": "Label", "api_name": "label", "type": "text"},
            {"name": "V", "api_name": "v", "type": ftype, "options": options},
        ],
        api_name="things",
    )
    return api.records("things", [{"label": f"r{i}", "v": v} for i, v in enumerate(values)])


def change(api: Any, body: dict[str, Any], dry_run: bool = False) -> Any:
    """PATCH field `v` of `things`."""
    suffix = "?dry_run=true" if dry_run else ""
    return api.patch(f"/catalogs/things/fields/v{suffix}", body)


def values(api: Any) -> list[Any]:
    """Values of field `v`, in id order."""
    r = api.get("/catalogs/things/records", params={"limit": 1000})
    assert r.status_code == 200, r.text
    return [item["values"]["v"] for item in r.json()["items"]]


def field_type(api: Any) -> str:
    """The current type of field `v`."""
    return api.get("/catalogs/things/fields/v").json()["type"]


def test_dry_run_reports_and_changes_nothing(api: Any) -> None:
    ids = holding(api, "text", ["12", "abc", "3.5", None])
    r = change(api, {"type": "number"}, dry_run=True)
    assert r.status_code == 200, r.text
    report = r.json()["conversion"]
    assert report["dry_run"] is True
    assert report["converted"] == 1
    assert report["failed_count"] == 2
    assert {f["record_id"]: f["value"] for f in report["failed"]} == {ids[1]: "abc", ids[2]: "3.5"}
    assert field_type(api) == "text"
    assert values(api) == ["12", "abc", "3.5", None]
    assert (
        api.get(f"/catalogs/things/records/{ids[1]}/history").json()["items"][-1]["action"]
        == "create"
    )


def test_text_to_number_converts_and_keeps_failures_in_history(api: Any) -> None:
    ids = holding(api, "text", ["12", "abc", "3.5"])
    r = change(api, {"type": "number"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["type"] == "number"
    report = body["conversion"]
    assert report["dry_run"] is False and report["converted"] == 1
    failed = {f["record_id"]: f for f in report["failed"]}
    assert set(failed) == {ids[1], ids[2]}
    assert failed[ids[1]]["value"] == "abc" and failed[ids[1]]["message"]
    assert values(api) == [12, None, None]
    hist = api.get(f"/catalogs/things/records/{ids[1]}/history").json()["items"]
    assert hist[-1]["changes"]["v"]["old"] == "abc"
    assert hist[-1]["changes"]["v"]["new"] is None
    # The converted field works like any number field afterwards.
    r = api.post("/catalogs/things/records/query", {"filter": {"v": {"gt": 10}}})
    assert [i["id"] for i in r.json()["items"]] == [ids[0]]
    assert api.post("/catalogs/things/records", {"values": {"v": "x"}}).status_code == 422


def test_text_to_number_with_decimals(api: Any) -> None:
    holding(api, "text", ["12", "3,5"])
    r = change(api, {"type": "number", "options": {"decimals": 1}})
    assert r.status_code == 200, r.text
    assert r.json()["conversion"]["failed_count"] == 0
    assert values(api) == [12.0, 3.5]


def test_text_to_select_matches_labels(api: Any) -> None:
    holding(api, "text", ["Lead", "won", "Lost"])
    r = change(api, {"type": "select", "options": {"choices": ["Lead", "Won"]}})
    assert r.status_code == 200, r.text
    assert r.json()["conversion"]["failed_count"] == 1
    got = values(api)
    assert [v and v["label"] for v in got] == ["Lead", "Won", None]


def test_number_to_text_and_money(api: Any) -> None:
    holding(api, "number", [12, -3], decimals=0)
    r = change(api, {"type": "money"})
    assert r.status_code == 200, r.text
    assert values(api) == ["12.00", "-3.00"]
    r = change(api, {"type": "text"})
    assert r.status_code == 200, r.text
    assert values(api) == ["12.00", "-3.00"]


def test_number_with_decimals_to_money(api: Any) -> None:
    holding(api, "number", [1.25, 0.1], decimals=2)
    assert change(api, {"type": "money"}).status_code == 200
    assert values(api) == ["1.25", "0.10"]


def test_date_to_text_and_back(api: Any) -> None:
    holding(api, "date", ["2026-11-25", None])
    assert change(api, {"type": "text"}).status_code == 200
    assert values(api) == ["2026-11-25", None]
    api.records("things", [{"v": "25.12.2026"}, {"v": "someday"}])
    r = change(api, {"type": "date"})
    assert r.status_code == 200, r.text
    assert r.json()["conversion"]["failed_count"] == 1
    assert values(api) == ["2026-11-25", None, "2026-12-25", None]


def test_to_autonumber_numbers_records(api: Any) -> None:
    ids = holding(api, "text", ["a", None, "c"])
    r = change(api, {"type": "autonumber"})
    assert r.status_code == 200, r.text
    report = r.json()["conversion"]
    assert report["failed_count"] == 0
    assert values(api) == [1, 2, 3]
    hist = api.get(f"/catalogs/things/records/{ids[0]}/history").json()["items"]
    assert hist[-1]["changes"]["v"]["old"] == "a"
    new = api.record("things", {"label": "n"})
    assert new["values"]["v"] == 4


def test_link_conversions_are_refused(api: Any) -> None:
    api.catalog("Clients", [{"name": "Name", "type": "text"}], api_name="clients")
    holding(api, "text", ["1"])
    r = change(api, {"type": "link", "options": {"catalog": "clients"}})
    assert r.status_code == 422
    assert r.json()["error"] == "VALIDATION" and "type" in r.json()["fields"]
    r = api.post(
        "/catalogs/things/fields",
        {"name": "L", "api_name": "l", "type": "link", "options": {"catalog": "clients"}},
    )
    assert r.status_code == 201, r.text
    r = api.patch("/catalogs/things/fields/l", {"type": "text"})
    assert r.status_code == 422
    assert r.json()["fields"] == {"type": "conversion not supported"}
    assert field_type(api) == "text"


def test_required_target_with_failures_is_refused(api: Any) -> None:
    holding(api, "text", ["12", "abc"])
    r = change(api, {"type": "number", "required": True})
    assert r.status_code == 422
    assert r.json()["error"] == "VALIDATION"
    assert r.json()["report"]["failed_count"] == 1
    assert field_type(api) == "text"
    assert values(api) == ["12", "abc"]


def test_select_multiple_toggle_converts(api: Any) -> None:
    holding(api, "select", ["A", "B"], choices=["A", "B"])
    r = change(api, {"options": {"multiple": True}})
    assert r.status_code == 200, r.text
    assert [[c["label"] for c in v] for v in values(api)] == [["A"], ["B"]]
    rec = api.record("things", {"v": ["A", "B"]})
    assert [c["label"] for c in rec["values"]["v"]] == ["A", "B"]


def test_number_decimals_change_converts(api: Any) -> None:
    holding(api, "number", [12])
    r = change(api, {"options": {"decimals": 2}})
    assert r.status_code == 200, r.text
    rec = api.record("things", {"v": 1.25})
    assert rec["values"]["v"] == 1.25
    assert values(api) == [12.0, 1.25]

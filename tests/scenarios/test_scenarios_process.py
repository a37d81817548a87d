"""Stage-based processes: allowed moves, who may make them, required fields, approvals."""

from __future__ import annotations

import base64
from typing import Any

from support.scenarios import fixed_clock, runs, scenario, work

__all__ = ["fixed_clock"]


def user(api: Any, email: str, groups: list[int]) -> dict[str, Any]:
    r = api.post(
        "/users", {"email": email, "name": email, "password": "long-password-1", "groups": groups}
    )
    assert r.status_code == 201, r.text
    token = base64.b64encode(f"{email}:long-password-1".encode()).decode()
    return {"id": r.json()["id"], "headers": {"Authorization": f"Basic {token}"}}


def hiring(api: Any) -> tuple[dict[str, Any], dict[str, Any], int]:
    hr = api.post("/groups", {"name": "HR"}).json()["id"]
    api.catalog(
        "Candidates",
        [
            {"name": "Name", "api_name": "name", "type": "text"},
            {
                "name": "Stage",
                "api_name": "stage",
                "type": "select",
                "options": {"choices": ["Applied", "Interview", "Offer", "Hired", "Rejected"]},
            },
            {"name": "Recruiter", "api_name": "recruiter", "type": "user"},
            {"name": "Salary", "api_name": "salary", "type": "number"},
            {
                "name": "Approved by",
                "api_name": "approved_by",
                "type": "user",
                "options": {"multiple": True},
            },
        ],
        api_name="candidates",
    )
    r = api.put(
        "/catalogs/candidates/rights",
        {"groups": {str(hr): {"view": True, "create": True, "edit": True, "delete": False}}},
    )
    assert r.status_code == 200, r.text
    recruiter = user(api, "rec@example.com", [hr])
    other = user(api, "other@example.com", [hr])
    return recruiter, other, hr


def test_a_process_refuses_moves_its_rules_do_not_allow(api, client, instance, fixed_clock):
    recruiter, other, hr = hiring(api)
    r = api.put(
        "/processes/candidates/stage",
        {
            "initial": ["Applied"],
            "transitions": [
                {"from": "Applied", "to": "Interview", "user_field": "recruiter"},
                {"from": "Interview", "to": "Offer", "user_field": "recruiter"},
                {"from": "Offer", "to": "Hired"},
                {"from": "*", "to": "Rejected", "groups": [hr]},
            ],
            "required": {"Offer": ["salary"]},
            "approvals": {"Hired": {"field": "approved_by", "count": 2, "group": hr}},
        },
    )
    assert r.status_code == 200, r.text
    assert [p["field"] for p in api.get("/processes").json()["items"]] == ["stage"]
    bad = api.put(
        "/processes/candidates/stage", {"transitions": [{"from": "Nowhere", "to": "Hired"}]}
    )
    assert bad.status_code == 422 and "transitions[0].from" in bad.json()["fields"]
    bad = api.put("/processes/candidates/name", {"transitions": []})
    assert bad.status_code == 422 and bad.json()["fields"] == {
        "field": "must be a single-choice select field"
    }

    def write(who: dict[str, Any], record_id: int, values: dict[str, Any]) -> Any:
        return client.patch(
            f"/api/v1/catalogs/candidates/records/{record_id}",
            json={"values": values},
            headers=who["headers"],
        )

    r = client.post(
        "/api/v1/catalogs/candidates/records",
        json={"values": {"name": "Ann", "stage": "Offer"}},
        headers=recruiter["headers"],
    )
    assert (r.status_code, r.json()["error"]) == (422, "REJECTED")
    assert "starts at Applied" in r.json()["message"]
    ann = client.post(
        "/api/v1/catalogs/candidates/records",
        json={"values": {"name": "Ann", "stage": "Applied", "recruiter": recruiter["id"]}},
        headers=recruiter["headers"],
    ).json()
    # Skipping a stage is refused, and the message lists what is allowed.
    r = write(recruiter, ann["id"], {"stage": "Hired"})
    assert r.status_code == 422
    assert (
        r.json()["message"]
        == "stage: Applied -> Hired is not an allowed move (from Applied: Interview, Rejected)"
    )
    # Only the record's recruiter may move it on.
    assert write(other, ann["id"], {"stage": "Interview"}).status_code == 422
    assert write(recruiter, ann["id"], {"stage": "Interview"}).status_code == 200
    # An offer needs a salary.
    r = write(recruiter, ann["id"], {"stage": "Offer"})
    assert r.json()["message"] == "stage: Offer needs salary filled in"
    assert write(recruiter, ann["id"], {"stage": "Offer", "salary": 5000}).status_code == 200
    # Hired needs two approvals from HR.
    r = write(recruiter, ann["id"], {"stage": "Hired", "approved_by": [recruiter["id"]]})
    assert r.json()["message"] == "stage: Hired needs 2 approvals in approved_by (has 1)"
    r = write(
        recruiter, ann["id"], {"stage": "Hired", "approved_by": [recruiter["id"], other["id"]]}
    )
    assert r.status_code == 200, r.text
    # Anyone in HR may reject from any stage; nothing else changes meanwhile.
    assert write(other, ann["id"], {"stage": "Rejected"}).status_code == 200
    # Fields other than the stage are written freely.
    assert write(other, ann["id"], {"name": "Ann B."}).status_code == 200
    assert api.delete("/processes/candidates/stage").status_code == 204
    assert write(other, ann["id"], {"stage": "Applied"}).status_code == 200


def test_scenarios_follow_the_process_too(api, instance, fixed_clock):
    hiring(api)
    api.put(
        "/processes/candidates/stage",
        {
            "transitions": [{"from": "Applied", "to": "Interview"}],
        },
    )
    sc = scenario(
        api,
        {
            "name": "Skip ahead",
            "trigger": {"type": "record.created", "catalog": "candidates"},
            "steps": [{"type": "update_record", "values": {"stage": "Hired"}}],
        },
    )
    api.record("candidates", {"name": "Bob", "stage": "Applied"})
    work(instance)
    [run] = runs(api, sc["id"])
    assert run["status"] == "failed" and "not an allowed move" in run["error"]

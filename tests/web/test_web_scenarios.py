"""The scenario screens: list, editor (saving, errors at their place), runs and the run
viewer, retry and cancel, test mode's trace, import/export, rights — all form posts."""

from __future__ import annotations

import json
import re

from support.scenarios import deals_and_clients, runs, scenario, work
from support.web import sign_in

TWO_STEPS = [
    {"type": "update_record", "values": {"note": "seen {{ record.name }}"}},
    {"type": "http", "method": "POST", "url": "https://example.com/hook/{{ record.id }}"},
]


def definition(**extra: object) -> str:
    body: dict[str, object] = {
        "name": "Deal check",
        "active": True,
        "trigger": {"type": "manual", "catalog": "deals"},
        "steps": TWO_STEPS,
    }
    body.update(extra)
    return json.dumps(body)


def deal(api, name: str = "Big deal") -> int:
    r = api.post("/catalogs/deals/records", {"values": {"name": name, "amount": 10}})
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def test_the_list_shows_trigger_switch_and_run_counts(api, web, instance):
    deals_and_clients(api)
    made = scenario(
        api,
        {
            "name": "Stage watch",
            "trigger": {"type": "record.updated", "catalog": "deals", "fields": ["stage"]},
            "steps": [{"type": "stop", "status": "error", "message": "no"}],
        },
    )
    record = deal(api)
    api.patch(f"/catalogs/deals/records/{record}", {"values": {"stage": "Won"}})
    work(instance)
    csrf = sign_in(web)
    page = web.get("/admin/scenarios?lang=en")
    assert page.status_code == 200
    assert "Stage watch" in page.text and "A record is changed · Deals · stage" in page.text
    assert 'data-status="failed"' in page.text and "1 failed" in page.text
    assert 'aria-checked="true"' in page.text
    r = web.post(f"/admin/scenarios/{made['id']}/active", data={"csrf": csrf, "active": "0"})
    assert r.status_code == 303
    assert api.get(f"/scenarios/{made['id']}").json()["active"] is False
    ru = web.get("/admin/scenarios?lang=ru").text
    assert "Сценарии" in ru and "Запись изменена" in ru
    assert "/admin/scenarios" in web.get("/admin").text  # the section is in the nav


def test_create_in_the_editor_then_save_a_new_version(api, web):
    deals_and_clients(api)
    csrf = sign_in(web)
    page = web.get("/admin/scenarios/new?lang=en")
    assert page.status_code == 200 and 'id="scenario-config"' in page.text
    config = re.search(r'id="scenario-config">(.*?)</script>', page.text, re.S)
    assert config and '"deals"' in config.group(1) and '"http"' in config.group(1)
    assert "Project-Id-Version" not in config.group(1)  # no hint is the catalogue's header
    r = web.post("/admin/scenarios/new", data={"csrf": csrf, "definition": definition()})
    assert r.status_code == 303, r.text
    [made] = api.get("/scenarios").json()["items"]
    assert made["steps"] == TWO_STEPS and made["version"] == 1
    assert r.headers["location"].endswith(f"/admin/scenarios/{made['id']}?done=created")
    editor = web.get(f"/admin/scenarios/{made['id']}?lang=en").text
    assert "Version 1" in editor and "keep the version they started with" in editor
    changed = definition(steps=TWO_STEPS[:1])
    r = web.post(f"/admin/scenarios/{made['id']}", data={"csrf": csrf, "definition": changed})
    assert r.status_code == 303
    assert api.get(f"/scenarios/{made['id']}").json()["version"] == 2
    # The JSON is the whole scenario: steps left out are refused, not kept from before.
    partial = json.dumps({"name": "Deal check", "trigger": {"type": "manual"}})
    r = web.post(f"/admin/scenarios/{made['id']}", data={"csrf": csrf, "definition": partial})
    assert r.status_code == 422 and 'data-error-path="steps"' in r.text


def test_a_validation_error_comes_back_at_the_step_in_the_users_language(api, web):
    deals_and_clients(api)
    csrf = sign_in(web)
    web.get("/?lang=ru")
    bad = definition(steps=[TWO_STEPS[0], {"type": "http", "url": "ftp://nope"}])
    r = web.post("/admin/scenarios/new", data={"csrf": csrf, "definition": bad})
    assert r.status_code == 422
    assert 'data-error-path="steps[1].url"' in r.text
    assert "http:// или https://" in r.text  # the service's reason, in Russian
    assert "не сохранён" in r.text  # the page's own words in Russian
    config = re.search(r'id="scenario-config">(.*?)</script>', r.text, re.S)
    assert config and "steps[1].url" in json.loads(config.group(1))["errors"]
    assert "ftp://nope" in r.text  # what was typed is kept
    r = web.post("/admin/scenarios/new", data={"csrf": csrf, "definition": "{oops"})
    assert r.status_code == 422 and 'id="err-definition"' in r.text
    assert api.get("/scenarios").json()["items"] == []


def test_test_mode_runs_against_a_record_and_shows_the_trace(api, web):
    deals_and_clients(api)
    made = scenario(
        api, {"name": "T", "trigger": {"type": "manual", "catalog": "deals"}, "steps": TWO_STEPS}
    )
    record = deal(api, "Acme")
    csrf = sign_in(web)
    page = web.get(f"/admin/scenarios/{made['id']}/test?lang=en")
    assert page.status_code == 200 and "data-record-picker" in page.text
    r = web.post(f"/admin/scenarios/{made['id']}/test", data={"csrf": csrf, "record_id": record})
    assert r.status_code == 200, r.text
    assert "data-test-note" in r.text and f"Acme (#{record})" in r.text
    assert r.text.count('class="scn-trace-step"') == 2
    assert (
        'data-step-status="recorded"' in r.text and f"https://example.com/hook/{record}" in r.text
    )
    assert api.get(f"/catalogs/deals/records/{record}").json()["values"]["note"] == "seen Acme"
    missing = web.post(
        f"/admin/scenarios/{made['id']}/test", data={"csrf": csrf, "record_id": "999"}
    )
    assert missing.status_code == 422 and 'id="err-record"' in missing.text


def test_runs_list_filter_viewer_retry_and_cancel(api, web, instance):
    deals_and_clients(api)
    failing = scenario(
        api,
        {
            "name": "Fails",
            "trigger": {"type": "manual", "catalog": "deals"},
            "steps": [
                {"type": "set", "vars": {"x": 1}},
                {"type": "stop", "status": "error", "message": "boom"},
            ],
        },
    )
    waiting = scenario(
        api,
        {
            "name": "Waits",
            "trigger": {"type": "manual"},
            "steps": [{"type": "wait", "duration": "P7D"}],
        },
    )
    record = deal(api)
    api.post(f"/scenarios/{failing['id']}/run", {"record_id": record})
    api.post(f"/scenarios/{waiting['id']}/run", {})
    work(instance)
    csrf = sign_in(web)
    base = f"/admin/scenarios/{failing['id']}/runs"
    listing = web.get(f"{base}?lang=en").text
    assert 'data-status="failed"' in listing and f"Big deal (#{record})" in listing
    assert "No runs in this state" in web.get(f"{base}?status=waiting&lang=en").text
    [run] = runs(api, failing["id"])
    viewer = web.get(f"{base}/{run['id']}?lang=en").text
    assert "data-run-error" in viewer and "boom" in viewer
    assert 'data-step-kind="set"' in viewer and "&#34;x&#34;: 1" in viewer
    assert "Retry from the failed step" in viewer
    r = web.post(f"{base}/{run['id']}/retry", data={"csrf": csrf})
    assert r.status_code == 303 and runs(api, failing["id"])[0]["status"] == "queued"
    [wait_run] = runs(api, waiting["id"])
    wbase = f"/admin/scenarios/{waiting['id']}/runs/{wait_run['id']}"
    page = web.get(f"{wbase}?lang=en").text
    assert "Wakes" in page and "data-wakes" in page and "Cancel the run" in page
    r = web.post(f"{wbase}/cancel", data={"csrf": csrf})
    assert r.status_code == 303 and runs(api, waiting["id"])[0]["status"] == "cancelled"


def test_duplicate_export_import_and_delete(api, web):
    deals_and_clients(api)
    made = scenario(
        api, {"name": "Orig", "trigger": {"type": "manual", "catalog": "deals"}, "steps": TWO_STEPS}
    )
    csrf = sign_in(web)
    r = web.post(f"/admin/scenarios/{made['id']}/duplicate", data={"csrf": csrf})
    assert r.status_code == 303
    copy = [s for s in api.get("/scenarios").json()["items"] if s["id"] != made["id"]][0]
    assert copy["name"] == "Orig (copy)" and copy["active"] is False
    exported = web.get(f"/admin/scenarios/{made['id']}/export")
    assert exported.status_code == 200 and "attachment" in exported.headers["content-disposition"]
    assert exported.json()["kartoteka_scenario"] == 1
    files = {"file": ("orig.json", exported.content, "application/json")}
    r = web.post("/admin/scenarios/import", data={"csrf": csrf}, files=files)
    assert r.status_code == 303, r.text
    assert len(api.get("/scenarios").json()["items"]) == 3
    bad = {"file": ("x.json", b'{"name": "X", "steps": "no"}', "application/json")}
    r = web.post("/admin/scenarios/import?lang=en", data={"csrf": csrf}, files=bad)
    assert r.status_code == 422 and "data-import-error" in r.text
    r = web.post(f"/admin/scenarios/{made['id']}/delete", data={"csrf": csrf})
    assert r.status_code == 303
    assert len(api.get("/scenarios").json()["items"]) == 2


def test_a_webhook_scenario_shows_its_token_once_and_makes_a_new_one(api, web):
    csrf = sign_in(web)
    body = json.dumps({"name": "In", "trigger": {"type": "webhook"}, "steps": []})
    r = web.post("/admin/scenarios/new", data={"csrf": csrf, "definition": body})
    assert r.status_code == 200 and "kts_" in r.text and "data-token" in r.text
    [made] = api.get("/scenarios").json()["items"]
    editor = web.get(f"/admin/scenarios/{made['id']}").text
    assert "kts_" not in editor and f"/api/v1/scenarios/{made['id']}/trigger" in editor
    r = web.post(f"/admin/scenarios/{made['id']}/token", data={"csrf": csrf})
    assert r.status_code == 200 and "kts_" in r.text


def test_scenario_pages_are_for_administrators(api, web):
    made = scenario(api, {"name": "S", "trigger": {"type": "manual"}, "steps": []})
    api.post("/users", {"email": "u@example.com", "name": "U", "password": "password-u-123"})
    csrf = sign_in(web, "u@example.com", "password-u-123")
    assert web.get("/admin/scenarios").status_code == 403
    assert web.get("/admin/scenarios/new").status_code == 403
    assert web.get(f"/admin/scenarios/{made['id']}").status_code == 403
    assert web.get(f"/admin/scenarios/{made['id']}/runs").status_code == 403
    r = web.post(f"/admin/scenarios/{made['id']}/delete", data={"csrf": csrf})
    assert r.status_code == 403
    assert web.get("/admin/scenarios/x").status_code == 404


def test_a_failed_steps_error_is_shown_in_the_page_language(api, web):
    deals_and_clients(api)
    made = scenario(
        api,
        {
            "name": "Fails in words",
            "trigger": {"type": "manual"},
            "steps": [{"type": "update_record", "values": {"note": "n"}}],
        },
    )
    csrf = sign_in(web)
    web.get("/?lang=ru")
    r = web.post(f"/admin/scenarios/{made['id']}/test", data={"csrf": csrf})
    assert r.status_code == 200, r.text
    [run] = runs(api, made["id"])
    english = run["steps"][0]["error"]
    assert english.startswith("no catalog")
    viewer = web.get(f"/admin/scenarios/{made['id']}/runs/{run['id']}").text
    for page in (r.text, viewer):
        shown = re.search(r"data-step-error>([^<]+)<", page)
        headline = re.search(r"data-run-error>.*?<p>([^<]+)</p>", page, re.S)
        assert shown and headline, page
        # The reason in Russian, in the step and in the run's headline; not the English.
        assert re.search("[а-я]", shown.group(1)) and shown.group(1) != english
        assert shown.group(1) in headline.group(1) and english not in headline.group(1)

"""Scenario errors are codes with parameters: the API answers in the caller's language,
names the exact place (`steps[2].url`), and every code the package raises has a text."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

from support.scenarios import deals_and_clients, fixed_clock, scenario

from kartoteka import messages
from kartoteka.messages import scenarios as scenario_messages
from kartoteka.scenarios.errors import StepFailed

__all__ = ["fixed_clock"]

RU = {"Accept-Language": "ru-RU,ru;q=0.9"}
EN = {"Accept-Language": "en"}
PACKAGE = Path(__file__).resolve().parents[2] / "kartoteka" / "scenarios"


def _both(api: Any, method: str, path: str, body: Any = None) -> tuple[Any, Any]:
    """(English answer, Russian answer) of the same refused request."""
    call = getattr(api.client, method)
    kw = {} if body is None else {"json": body}
    return call(api.url(path), headers=EN, **kw), call(api.url(path), headers=RU, **kw)


def _by_field(answer: Any) -> dict[str, dict[str, Any]]:
    return {e["field"]: e for e in answer.json()["errors"]}


def test_a_bad_step_is_named_by_path_with_a_code_in_both_languages(api):
    deals_and_clients(api)
    bad = {
        "name": "Bad",
        "trigger": {"type": "record.updated", "catalog": "deals", "fields": ["nope"]},
        "steps": [
            {"type": "set", "vars": {"a": 1}},
            {"type": "wait", "duration": "P1M"},
            {"type": "http", "url": "ftp://example.com/x"},
            {"type": "condition", "filter": {}, "then": [{"type": "teleport"}]},
        ],
    }
    en, ru = _both(api, "post", "/scenarios", bad)
    assert (en.status_code, ru.status_code) == (422, 422)
    assert en.json()["error"] == ru.json()["error"] == "VALIDATION"
    en_errors, ru_errors = _by_field(en), _by_field(ru)
    assert (
        set(en_errors)
        == set(ru_errors)
        == {
            "trigger.fields",
            "steps[1].duration",
            "steps[2].url",
            "steps[3].then[0].type",
        }
    )
    url = ru_errors["steps[2].url"]
    assert (url["code"], url["message"]) == (
        "scenario_http_url",
        "должно быть адресом http:// или https://",
    )
    assert en_errors["steps[2].url"]["message"] == "must be an http(s) URL"
    assert ru.json()["fields"]["steps[2].url"] == url["message"]
    assert ru_errors["trigger.fields"]["params"] == {"name": "nope"}
    assert ru_errors["trigger.fields"]["message"] == "неизвестное поле 'nope'"
    assert en_errors["steps[1].duration"]["code"] == "duration_invalid"
    assert ru_errors["steps[1].duration"]["message"].startswith("'P1M' — не длительность")
    assert ru_errors["steps[3].then[0].type"]["code"] == "scenario_one_of"
    # The message names the first place, in the reader's language.
    assert ru.json()["message"] == "trigger.fields: неизвестное поле 'nope'"


def test_template_and_filter_errors_keep_their_place(api):
    deals_and_clients(api)
    body = {
        "name": "T",
        "trigger": {"type": "record.created", "catalog": "deals", "filter": {"nope": {"eq": 1}}},
        "steps": [{"type": "set", "vars": {"a": "{{ oops( }}"}}],
    }
    en, ru = _both(api, "post", "/scenarios", body)
    en_errors, ru_errors = _by_field(en), _by_field(ru)
    assert en_errors["steps[0].vars.a"]["code"] == "scenario_template"
    assert en_errors["steps[0].vars.a"]["message"].startswith("template error: ")
    assert ru_errors["steps[0].vars.a"]["message"].startswith("ошибка в шаблоне: ")
    # The filter's own code (from the filters area), at the trigger's filter.
    flt = ru_errors["trigger.filter"]
    assert flt["code"] in messages.RU and flt["message"] != en_errors["trigger.filter"]["message"]


def test_service_errors_answer_in_russian(api, client):
    deals_and_clients(api)
    sc = scenario(api, {"name": "S", "trigger": {"type": "manual"}, "steps": [{"type": "stop"}]})
    cases = [
        ("get", "/scenarios/999999", None, 404, "scenario_not_found", "сценарий 999999 не найден"),
        ("get", f"/scenarios/{sc['id']}/runs/999999", None, 404, "scenario_run_not_found", None),
        ("get", f"/scenarios/{sc['id']}/runs/7/status", None, 404, "scenario_run_not_found", None),
        ("post", f"/scenarios/{sc['id']}/token", None, 409, "scenario_no_token", None),
        ("post", f"/scenarios/{sc['id']}/run", {"record_id": 5}, 422, None, None),
        ("post", "/scenarios/import", {"kartoteka_scenario": 9}, 422, "scenario_file_format", None),
        ("post", f"/scenarios/{sc['id']}/run", {"what": 1}, 422, "scenario_unknown_key", None),
    ]
    for method, path, body, status, code, text in cases:
        en, ru = _both(api, method, path, body)
        assert (en.status_code, ru.status_code) == (status, status), (path, en.text, ru.text)
        assert en.json()["message"].isascii(), (path, en.text)
        assert any("а" <= ch.lower() <= "я" for ch in ru.json()["message"]), (path, ru.text)
        if code is not None:
            assert ru.json()["errors"][0]["code"] == code, (path, ru.text)
        if text is not None:
            assert ru.json()["message"] == text
    r = client.post(f"/api/v1/scenarios/{sc['id']}/trigger", json={}, headers=RU)
    assert (r.status_code, r.json()["message"]) == (401, "неизвестный сценарий или неверный токен")


def test_smtp_settings_errors_are_coded(api):
    en, ru = _both(api, "put", "/settings/smtp", {"host": "", "port": 0, "x": 1})
    assert en.status_code == ru.status_code == 422
    assert ru.json()["fields"] == {
        "host": "обязательно",
        "port": "должно быть номером порта",
        "from": "обязательно: адрес отправителя",
        "x": "неизвестный ключ",
    }
    assert en.json()["fields"]["port"] == "must be a port number"


def test_a_process_refusal_speaks_the_writers_language(api):
    api.catalog(
        "Tasks",
        [
            {"name": "Name", "api_name": "name", "type": "text"},
            {
                "name": "Stage",
                "api_name": "stage",
                "type": "select",
                "options": {"choices": ["New", "Done"]},
            },
        ],
        api_name="tasks",
    )
    r = api.put(
        "/processes/tasks/stage",
        {"initial": ["New"], "transitions": [{"from": "New", "to": "Done"}]},
    )
    assert r.status_code == 200, r.text
    body = {"values": {"name": "T", "stage": "Done"}}
    en, ru = _both(api, "post", "/catalogs/tasks/records", body)
    assert en.json()["error"] == ru.json()["error"] == "REJECTED"
    assert en.json()["message"] == "stage: a new record starts at New"
    assert ru.json()["message"] == "stage: новая запись начинается с этапа New"
    assert ru.json()["errors"][0]["code"] == "process_initial"
    en, ru = _both(api, "put", "/processes/tasks/stage", {"transitions": [{"to": "Nowhere"}]})
    assert _by_field(ru)["transitions[0]"]["code"] == "process_transition_shape"
    assert ru.json()["fields"]["transitions[0]"].startswith("должно быть {from, to")


def test_a_failed_step_carries_its_code_and_english_text():
    failed = StepFailed.of("step_http_status", {"status": 502}, status=502)
    assert (failed.message, failed.code, failed.params) == (
        "HTTP 502",
        "step_http_status",
        {"status": 502},
    )
    assert failed.output == {"status": 502}
    timed = StepFailed.of("step_http_timeout", seconds=2.5)
    assert timed.message == "timed out after 2.5 s"
    assert messages.message(timed.code or "", timed.params, "ru") == "нет ответа за 2.5 с"


#: Calls that take a message code, and the position of the code among their arguments.
CODE_ARGUMENT = {"add": 1, "of": 0, "problem": 0, "_note": 2, "_refuse": 2, "BadDuration": 0}


def _codes_used(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
        at = CODE_ARGUMENT.get(name or "")
        if at is None or len(node.args) <= at:
            continue
        arg = node.args[at]
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            found.add(arg.value)
    return found


def test_every_code_the_package_raises_has_english_and_russian_text():
    used = set().union(*(_codes_used(p) for p in PACKAGE.rglob("*.py")))
    assert len(used) > 80, sorted(used)
    assert used - set(messages.EN) == set()
    assert used - set(messages.RU) == set()


def test_a_failed_steps_error_is_shown_in_the_readers_language(api, fixed_clock):
    deals_and_clients(api)
    sc = scenario(
        api,
        {
            "name": "Two failures",
            "trigger": {"type": "manual"},
            "steps": [
                {
                    "type": "create_record",
                    "catalog": "deals",
                    "values": {"name": "x", "amount": "{{ 'lots' }}"},
                    "on_error": [{"type": "update_record", "values": {"note": "n"}}],
                }
            ],
        },
    )
    en = api.client.post(api.url(f"/scenarios/{sc['id']}/run"), json={"test": True}, headers=EN)
    assert en.status_code == 200, en.text
    refused, no_record = en.json()["steps"]
    # A write the record service refused: its code, the field, in the reader's language.
    assert (refused["status"], refused["error_params"]["_field"]) == ("failed", "amount")
    assert refused["error_code"] in messages.RU and refused["error"].startswith("amount: ")
    # A step's own failure.
    assert (no_record["error_code"], no_record["error_params"]) == ("step_no_catalog", {})
    assert no_record["error"] == "no catalog: give `catalog` (this run has no record)"
    run_id = en.json()["id"]
    ru = api.client.get(api.url(f"/scenarios/{sc['id']}/runs/{run_id}"), headers=RU).json()
    assert ru["steps"][1]["error"] == "нет каталога: укажите `catalog` (у запуска нет записи)"
    assert (
        ru["steps"][0]["error"].startswith("amount: ")
        and ru["steps"][0]["error"] != (refused["error"])
    )
    listed = api.client.get(api.url(f"/scenarios/{sc['id']}/runs"), headers=RU).json()
    assert listed["items"][0]["steps"][1]["error"] == ru["steps"][1]["error"]
    # The run's own summary: the failed step's place and its error, in the reader's language.
    path = "steps[0].on_error[0]"
    assert en.json()["error"] == f"{path} (update_record): {no_record['error']}"
    assert (en.json()["error_code"], en.json()["error_params"]["step_code"]) == (
        "run_step_failed",
        "step_no_catalog",
    )
    assert ru["error"] == f"шаг {path} (update_record): {ru['steps'][1]['error']}"
    assert listed["items"][0]["error"] == ru["error"]
    brief = api.client.get(api.url(f"/scenarios/{sc['id']}/runs?steps=false"), headers=RU)
    assert brief.json()["items"][0]["error"] == ru["error"]
    status = api.client.get(api.url(f"/scenarios/{sc['id']}/runs/{run_id}/status"), headers=RU)
    assert (status.json()["error"], status.json()["error_code"]) == (ru["error"], "run_step_failed")


def test_a_runs_own_error_is_coded_for_a_stop_and_an_uncoded_step(api, fixed_clock):
    deals_and_clients(api)

    def failed_run(steps: list[dict[str, Any]]) -> tuple[dict[str, Any], dict[str, Any]]:
        sc = scenario(
            api, {"name": f"Stop {len(steps)}", "trigger": {"type": "manual"}, "steps": steps}
        )
        en = api.client.post(api.url(f"/scenarios/{sc['id']}/run"), json={"test": True}, headers=EN)
        assert en.status_code == 200 and en.json()["status"] == "failed", en.text
        url = api.url(f"/scenarios/{sc['id']}/runs/{en.json()['id']}")
        return en.json(), api.client.get(url, headers=RU).json()

    en, ru = failed_run([{"type": "stop", "status": "error"}])
    assert (en["error"], en["error_code"], ru["error"]) == (
        "stopped",
        "run_stopped",
        "остановлен сценарием",
    )
    en, ru = failed_run(
        [
            {"type": "set", "vars": {"a": 1}},
            {"type": "stop", "status": "error", "message": "Нет {{ vars.a }}"},
        ]
    )
    assert (en["error"], ru["error"], ru["error_params"]) == (
        "Нет 1",
        "Нет 1",
        {"message": "Нет 1"},
    )


def test_a_run_error_text_falls_back_to_the_english_of_an_uncoded_step():
    from kartoteka.scenarios.errors import run_error_text, step_failure

    code, params = step_failure("steps[1]", "http", "HTTP 502", (None, None))
    assert "step_code" not in params
    assert run_error_text(code, params, "ru") == "шаг steps[1] (http): HTTP 502"
    assert run_error_text(None, None, "ru") is None
    coded = step_failure("steps[1]", "http", "HTTP 502", ("step_http_status", {"status": 502}))
    assert run_error_text(*coded, "en") == "steps[1] (http): HTTP 502"
    code, params = coded
    timed = step_failure(
        "steps[0]", "http", "timed out after 2 s", ("step_http_timeout", {"seconds": 2})
    )
    assert run_error_text(*timed, "ru") == "шаг steps[0] (http): нет ответа за 2 с"


def test_every_scenario_code_is_in_the_docs_table():
    doc = (PACKAGE.parents[1] / "docs" / "scenarios.md").read_text(encoding="utf-8")
    missing = [code for code in scenario_messages.EN if f"| `{code}` |" not in doc]
    assert missing == [], "docs/scenarios.md 'Errors' lacks these codes"

"""Import refusals are codes with parameters: the API answers in the caller's language
with the option or `file` they are about."""

from __future__ import annotations

import json

from support.imports import csv_bytes, run_import

RU = {"Accept-Language": "ru"}
EN = {"Accept-Language": "en"}


def _upload(api, content: bytes, options: object, headers: dict[str, str]):
    data = {"options": json.dumps(options)}
    return api.client.post(
        api.url("/catalogs/things/imports"),
        files={"file": ("data.csv", content)},
        data=data,
        headers=headers,
    )


def _things(api) -> None:
    api.catalog("Things", [{"name": "Name", "api_name": "name", "type": "text"}], api_name="things")


def test_option_and_file_errors_answer_in_both_languages(api):
    _things(api)
    good = csv_bytes([["Name"], ["a"]])
    cases = [
        # (content, options, field, code, Russian text)
        (good, {"colour": 1}, "options.colour", "import_unknown_option", "неизвестная настройка"),
        (good, {"mode": "merge"}, "options.mode", "import_one_of", None),
        (good, {"delimiter": ";;"}, "options.delimiter", "import_delimiter", None),
        (good, {"encoding": "klingon"}, "options.encoding", "import_encoding_unknown", None),
        (b"", {}, "file", "import_file_empty", "файл пуст"),
        (csv_bytes([["Colour"], ["red"]]), {}, "file", "import_no_columns", None),
        (good, {"mapping": {"Nope": "name"}}, "options.mapping.Nope", "import_no_column", None),
    ]
    for content, options, field, code, text in cases:
        en, ru = _upload(api, content, options, EN), _upload(api, content, options, RU)
        assert en.status_code == ru.status_code == 422, (options, en.text)
        [error] = ru.json()["errors"]
        assert (error["field"], error["code"]) == (field, code), ru.text
        assert ru.json()["message"] == f"{field}: {error['message']}"
        assert any("а" <= ch.lower() <= "я" for ch in error["message"]), ru.text
        assert en.json()["message"].isascii() and en.json()["fields"].keys() == {field}
        if text is not None:
            assert error["message"] == text
    en = _upload(api, good, {"encoding": "klingon"}, EN)
    assert en.json()["fields"] == {"options.encoding": "unknown encoding 'klingon'"}


def test_what_cannot_be_resumed_says_why_in_russian(api):
    _things(api)
    done = run_import(api, "things", csv_bytes([["Name"], ["a"]]), {})
    r = api.client.post(api.url(f"/imports/{done['id']}/resume"), headers=RU)
    assert r.status_code == 409
    assert r.json()["errors"][0]["code"] == "import_not_resumable"
    assert r.json()["message"].startswith(f"импорт {done['id']} в состоянии done")
    r = api.client.post(api.url("/imports/999999/resume"), headers=RU)
    assert (r.status_code, r.json()["message"]) == (404, "импорт 999999 не найден")

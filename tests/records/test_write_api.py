"""The typed write API: requests and results as values, errors as codes with parameters."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest_support import *  # noqa: F403

import kartoteka
from kartoteka import messages
from kartoteka.catalogs import service as catalogs
from kartoteka.errors import ItemError, Rejected
from kartoteka.fields.base import FieldValueError
from kartoteka.fields.registry import get_type
from kartoteka.records import hooks
from kartoteka.records import service as records
from kartoteka.records.errors import RecordInvalid, RecordNotFound
from kartoteka.records.requests import (
    BatchRequest,
    BatchResult,
    CreateItem,
    DeleteItem,
    UpdateItem,
    Upsert,
)


def _things(admin) -> None:
    catalogs.create_catalog(
        admin,
        {
            "name": "Things",
            "fields": [
                {"name": "Name", "type": "text", "required": True, "unique": True},
                {"name": "Stage", "type": "select", "options": {"choices": ["A", "B"]}},
                {"name": "Size", "type": "number"},
            ],
        },
    )


def test_batch_takes_a_request_and_returns_a_result(ws, admin):
    _things(admin)
    rows = [{"name": "a"}, {"name": "b"}, {"name": "d"}]
    made = records.batch(admin, "things", BatchRequest.creating(rows))
    a, b, d = made.created
    assert made == BatchResult(created=[a, b, d])
    done = records.batch(
        admin,
        "things",
        BatchRequest(
            update=[UpdateItem(a, {"size": 2}), UpdateItem(b, {"name": "b"})],
            upsert=Upsert(("name",), [CreateItem({"name": "c"}), CreateItem({"name": "d"})]),
        ),
    )
    [c] = done.created
    assert (done.updated, done.unchanged, done.upserted) == ([a], [b, d], [c, d])
    assert records.batch(admin, "things", BatchRequest.deleting([c])).deleted == [c]


def test_item_errors_name_list_index_field_and_code(ws, admin):
    _things(admin)
    [a] = records.batch(admin, "things", BatchRequest.creating([{"name": "a"}])).created
    with pytest.raises(RecordInvalid) as caught:
        records.batch(
            admin,
            "things",
            BatchRequest(
                create=[CreateItem({"name": "ok"})],
                update=[UpdateItem(a, {"stage": "Nope", "size": "x"})],
            ),
        )
    errors = caught.value.errors
    assert errors == (
        ItemError("update", 0, "stage", "unknown_choice", {"choice": "Nope"}),
        ItemError("update", 0, "size", "number", {}),
    )
    assert caught.value.message == "update[0]: stage: unknown choice 'Nope'"
    # Unique values clash across lists: the error names the update item, not a create.
    with pytest.raises(RecordInvalid) as caught:
        records.batch(
            admin,
            "things",
            BatchRequest(
                create=[CreateItem({"name": "new"})], update=[UpdateItem(a, {"name": "new"})]
            ),
        )
    assert caught.value.first == ItemError("update", 0, "name", "unique_repeats", {"value": "new"})
    with pytest.raises(RecordNotFound) as missing:
        records.batch(admin, "things", BatchRequest(delete=[DeleteItem(a), DeleteItem(999)]))
    assert missing.value.first == ItemError("delete", 1, None, "record_not_found", {"id": 999})
    # Duplicate ids in a delete are a 422 naming the second one, never a database error.
    with pytest.raises(RecordInvalid) as twice:
        records.batch(admin, "things", BatchRequest.deleting([a, a]))
    assert twice.value.first == ItemError("delete", 1, None, "duplicate_id", {"id": a})


def test_single_record_errors_have_no_batch_prefix(ws, admin):
    _things(admin)
    records.create_record(admin, "things", {"name": "a"})
    with pytest.raises(RecordInvalid) as caught:
        records.create_record(admin, "things", {"name": "a"})
    assert caught.value.message == "name: value 'a' already exists"
    assert caught.value.first == ItemError("create", None, "name", "unique_exists", {"value": "a"})
    with pytest.raises(RecordNotFound) as missing:
        records.update_record(admin, "things", 999, {"size": 1})
    assert missing.value.message == "record 999 not found"


def test_a_veto_names_the_item_it_refused(ws, admin, monkeypatch):
    _things(admin)
    [a] = records.batch(admin, "things", BatchRequest.creating([{"name": "a"}])).created

    def veto(actor, catalog, changes: list[hooks.PendingChange]) -> None:
        for change in changes:
            if change.values.get("size") == 13:
                raise Rejected(
                    "unlucky",
                    errors=[
                        ItemError(
                            change.where, change.index, None, "rejected", {"message": "unlucky"}
                        )
                    ],
                )

    monkeypatch.setattr(hooks, "before_write", [*hooks.before_write, veto])
    with pytest.raises(Rejected) as caught:
        records.batch(
            admin,
            "things",
            BatchRequest(
                create=[CreateItem({"name": "b", "size": 1})], update=[UpdateItem(a, {"size": 13})]
            ),
        )
    assert caught.value.message == "unlucky"
    assert (caught.value.first.where, caught.value.first.index) == ("update", 0)


def test_messages_exist_in_both_languages_and_match_the_field_types():
    codes = [code for area in messages.AREAS for code in area.EN]
    assert len(codes) == len(set(codes)), "a code is defined in two areas"
    assert set(messages.RU) <= set(messages.EN)
    missing = set(messages.EN) - set(messages.RU) - {"invalid", "rejected"}
    assert not missing, f"no Russian text for {sorted(missing)}"
    assert messages.message("max_length", {"max": 5}, "ru") == "не более 5 символов"
    assert messages.message("no_such_code", {"message": "as given"}, "ru") == "as given"
    # A field type's coded refusal reads the same as the English catalog says.
    cases = [("text", {"max_length": 3}, "abcd"), ("number", {}, "x"), ("email", {}, "nope")]
    cases += [("select", {"choices": [{"id": 1, "label": "A"}]}, "Z"), ("date", {}, "2026-13-01")]
    for type_name, options, value in cases:
        ftype = get_type(type_name)
        field = type("F", (), {"options": options, "type": type_name, "api_name": "f"})()
        with pytest.raises(FieldValueError) as refused:
            ftype.to_db(value, field, None)
        assert refused.value.code != "invalid", type_name
        assert messages.message(refused.value.code, refused.value.params) == refused.value.message


def test_every_error_code_raised_has_a_message():
    # Codes are literals at the raise sites: ItemError(where, index, field, "code", ...),
    # item.error(field, "code", ...), FieldValueError("text", "code", ...).
    root = Path(kartoteka.__file__).parent
    patterns = [
        re.compile(r'ItemError\(\s*[^,()]+,\s*[^,()]+,\s*[^,()]+,\s*"(\w+)"'),
        re.compile(r'\.error\(\s*[^,()]+,\s*"(\w+)"'),
        re.compile(r'FieldValueError\(\s*f?"[^"]*",\s*"(\w+)"'),
        re.compile(r'_veto\(\s*\w+,\s*"(\w+)"'),
        # Every service: `SomeError.of("code", field, ...)`, `problem("code", ...)`, and
        # the services' own helpers `_bad(key, "code")`, `invalid(key, "code")`.
        re.compile(r'\.of\(\s*"(\w+)"'),
        re.compile(r'\bproblem\(\s*"(\w+)"'),
        re.compile(r'\b_bad\(\s*[^,()]+(?:\([^()]*\))?[^,()]*,\s*"(\w+)"'),
        re.compile(r'\binvalid\(\s*[^,()]+,\s*"(\w+)"'),
        re.compile(r'\b_missing\(\s*"(\w+)"'),
        re.compile(r'\bmessage(?:_of)?\(\s*"(\w+)"'),
        re.compile(r'Verdict\(\s*False,\s*"(\w+)"'),
    ]
    found = {
        code
        for path in root.rglob("*.py")
        for pattern in patterns
        for code in pattern.findall(path.read_text(encoding="utf-8"))
    }
    assert {"unique_exists", "record_not_found", "max_length", "rejected"} <= found
    assert {"name_length", "view_type", "webhook_url_required", "filter_unknown_field"} <= found
    assert found <= set(messages.EN), sorted(found - set(messages.EN))
    untranslated = found - set(messages.RU) - {"invalid", "rejected"}
    assert not untranslated, f"no Russian text for {sorted(untranslated)}"

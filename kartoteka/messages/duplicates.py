"""Messages of duplicate rules, the duplicate check, the scan and merge."""

from __future__ import annotations

EN: dict[str, str] = {
    "duplicate": "duplicates {records} (rule {rule!r})",
    "duplicate_hidden": "duplicates a record you may not see (rule {rule!r})",
    "duplicate_in_batch": "duplicates {other} of this request (rule {rule!r})",
    "duplicate_rule_body": "expected an object with name and fields",
    "duplicate_rule_name": "the name must be a text of 1 to 200 characters",
    "duplicate_rule_fields": "fields must be a list of 1 to {limit} fields",
    "duplicate_rule_part": 'expected a field\'s api_name or {{"field": ..., "normalise": ...}}',
    "duplicate_rule_type": "a {type} field cannot be part of a duplicate rule",
    "duplicate_rule_normalise": "normalise must be one of {allowed}",
    "duplicate_rule_repeat": "field {field} is named twice",
    "duplicate_rules_limit": "a catalog has at most {limit} duplicate rules",
    "duplicate_rule_broken": "rule {id} names a field that was deleted or changed type",
    "duplicate_rule_not_found": "duplicate rule {id} not found",
    "merge_ids": "name the surviving record and 1 to {limit} other records, each once",
    "merge_field": "field {name}: take the value of one of the merged records",
    "merge_cursor": "invalid cursor",
    "duplicate_rule_choose": "the catalog has several duplicate rules: name one",
    "scan_limit": "limit must be 1..{limit}",
}

RU: dict[str, str] = {
    "duplicate": "дублирует {records} (правило «{rule}»)",
    "duplicate_hidden": "дублирует запись, которую вам не видно (правило «{rule}»)",
    "duplicate_in_batch": "дублирует {other} из этого же запроса (правило «{rule}»)",
    "duplicate_rule_body": "ожидался объект с name и fields",
    "duplicate_rule_name": "название — текст от 1 до 200 символов",
    "duplicate_rule_fields": "fields — список из 1–{limit} полей",
    "duplicate_rule_part": 'ожидалось api_name поля или {{"field": ..., "normalise": ...}}',
    "duplicate_rule_type": "поле типа {type} не может входить в правило дублей",
    "duplicate_rule_normalise": "normalise — одно из: {allowed}",
    "duplicate_rule_repeat": "поле {field} указано дважды",
    "duplicate_rules_limit": "у справочника не больше {limit} правил дублей",
    "duplicate_rule_broken": "правило {id} ссылается на удалённое или изменённое поле",
    "duplicate_rule_not_found": "правило дублей {id} не найдено",
    "merge_ids": "укажите остающуюся запись и от 1 до {limit} других, каждую один раз",
    "merge_field": "поле {name}: возьмите значение одной из объединяемых записей",
    "merge_cursor": "неверный курсор",
    "duplicate_rule_choose": "у справочника несколько правил дублей: укажите одно",
    "scan_limit": "limit — от 1 до {limit}",
}

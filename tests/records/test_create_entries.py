"""`Renderer.create_entries` (a batch's creates field by field) gives each record the
entry `create_entry` gives it alone: empty values left out, values rendered alike."""

from __future__ import annotations

from datetime import date, datetime

from kartoteka.fields.base import encode_multi
from kartoteka.records.changes import Renderer

FIELDS = [
    {"name": "Номер", "api_name": "number", "type": "text"},
    {"name": "Сумма", "api_name": "amount", "type": "money"},
    {"name": "Дата", "api_name": "day", "type": "date"},
    {"name": "Создана", "api_name": "made", "type": "datetime"},
    {"name": "Оплачена", "api_name": "paid", "type": "checkbox"},
    {"name": "Теги", "api_name": "tags", "type": "select",
     "options": {"multiple": True, "choices": [{"label": "a"}, {"label": "b"}]}},
]  # fmt: skip


def test_a_batch_of_creates_renders_as_each_alone(api, instance, settings):
    api.catalog("Сделки", FIELDS, api_name="deals")
    catalog = instance.workspace(settings.default_workspace).meta().catalog("deals")
    f = catalog.by_api_name
    ids = [f[n].id for n in ("number", "amount", "day", "made", "paid", "tags")]
    choices = [c["id"] for c in f["tags"].options["choices"]]
    rows = [
        [
            "A-1",
            1250,
            date(2024, 3, 5),
            datetime(2024, 3, 5, 10, 30),
            True,
            encode_multi([choices[0]]),
        ],
        ["", None, None, None, False, encode_multi([])],
        [None, 0, date(2024, 3, 5), datetime(2024, 3, 5, 10, 30), True, encode_multi(choices)],
        ["A-1", -5, date(1999, 12, 31), datetime(2000, 1, 1), False, encode_multi([choices[1]])],
    ]
    givens = [dict(zip(ids, row, strict=True)) for row in rows]
    alone = [Renderer(catalog).create_entry(g) for g in givens]
    together = Renderer(catalog).create_entries(givens)
    assert together == alone
    assert "number" not in together[1][0] and "number" not in together[2][1]
    # Records giving different fields are rendered one by one, alike.
    mixed = [givens[0], {ids[0]: "B"}]
    assert Renderer(catalog).create_entries(mixed) == [
        Renderer(catalog).create_entry(g) for g in mixed
    ]

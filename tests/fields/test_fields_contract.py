"""The field type contract: every registered type passes the same checks."""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.dialects import postgresql, sqlite

from kartoteka.catalogs.models import Field
from kartoteka.fields import all_types
from kartoteka.fields.base import ALL_OPS, FieldType, FieldValueError

DOCS_API = Path(__file__).resolve().parents[2] / "docs" / "api.md"
TYPES = all_types()
NAMES = sorted(TYPES)
TEXT_OPS = ("contains", "icontains", "startswith", "istartswith", "iendswith", "ieq")


@dataclass
class FakeActor:
    """Just what field types ask of an actor: a user id, a time zone and today."""

    user_id: int = 7
    timezone: ZoneInfo = ZoneInfo("Europe/Moscow")
    fold_yo: bool = True

    def today(self) -> date:
        """A fixed 'today' so relative operands are deterministic."""
        return date(2026, 11, 25)


ACTOR: Any = FakeActor()

#: Options that make a field of each type usable (link needs a target catalog).
OPTIONS: dict[str, dict[str, Any]] = {
    "link": {"catalog": 1},
    "select": {"choices": [{"label": "Lead"}, {"label": "Won"}]},
}

#: type -> (written value, value read back through from_db).
SAMPLES: dict[str, tuple[Any, Any]] = {
    "text": ("  Hello  ", "Hello"),
    "long_text": ("line 1\nline 2", "line 1\nline 2"),
    "number": ("1 234", 1234),
    "money": ("1234.5", "1234.50"),
    "date": ("2026-11-25", "2026-11-25"),
    "datetime": ("2026-11-25T10:00:00+03:00", "2026-11-25T07:00:00Z"),
    "checkbox": ("да", True),
    "select": ("won", {"id": 2, "label": "Won", "color": "red"}),
    "user": (3, {"id": 3, "name": None}),
    "email": ("Ann@Example.COM", "Ann@example.com"),
    "phone": ("8 (912) 345-67-89", "+79123456789"),
    "url": ("example.com/a", "https://example.com/a"),
    "link": (5, [{"id": 5, "title": None}]),
    "file": ([4, 4, 9], [{"id": 4}, {"id": 9}]),
}

#: One filter operand per type for comparison operators.
OPERANDS: dict[str, Any] = {
    **{name: written for name, (written, _) in SAMPLES.items()},
    "autonumber": 12,
    "created_at": "2026-11-18T00:00:00Z",
    "updated_at": "2026-11-25T10:00:00Z",
    "created_by": "me",
    "updated_by": 1,
}

#: Types whose values can be exported to text and imported back.
NOT_TEXT_IMPORTABLE = {"file"}


def make_field(name: str) -> Field:
    """A field of type `name` with cleaned default options."""
    ftype = TYPES[name]
    options = ftype.clean_options(dict(OPTIONS.get(name, {})))
    return Field(
        id=11, catalog_id=1, name=name, api_name=name, type=name, column="f11", options=options
    )


def column_for(field: Field) -> sa.ColumnElement[Any]:
    """The SQL column a filter on this field compiles against."""
    ftype = field.ftype
    table = sa.table(
        "c1",
        sa.column("id", sa.BigInteger()),
        sa.column("f11", ftype.sa_type(field.options)),
        sa.column("created_at", sa.DateTime()),
        sa.column("updated_at", sa.DateTime()),
        sa.column("created_by", sa.Integer()),
        sa.column("updated_by", sa.Integer()),
    )
    if ftype.storage == "links":
        return table.c.id
    return table.c[field.storage_column or "f11"]


def operand_for(name: str, op: str) -> Any:
    """A sample operand of `op` for a field of type `name`."""
    if op == "empty":
        return True
    if op in TEXT_OPS:
        return "ab"
    sample = OPERANDS[name]
    if op in ("in", "nin"):
        return [sample]
    if op == "between":
        return [sample, None]
    return sample


def writable() -> list[str]:
    """Names of types that accept writes."""
    return [n for n in NAMES if not TYPES[n].read_only]


def test_every_writable_type_has_a_sample() -> None:
    assert set(writable()) == set(SAMPLES)


@pytest.mark.parametrize("name", NAMES)
def test_type_describes_itself(name: str) -> None:
    ftype = TYPES[name]
    assert isinstance(ftype, FieldType)
    assert ftype.type == name
    assert (type(ftype).__doc__ or "").strip(), f"{name} has no docstring"
    assert ftype.labels.get("en") and ftype.labels.get("ru")
    assert ftype.operators <= ALL_OPS
    assert ftype.operators, f"{name} supports no filter operator"


@pytest.mark.parametrize("name", NAMES)
def test_options_clean_and_refuse_unknown_keys(name: str) -> None:
    ftype = TYPES[name]
    cleaned = ftype.clean_options(dict(OPTIONS.get(name, {})))
    assert isinstance(cleaned, dict)
    assert ftype.clean_options(dict(cleaned)) == cleaned, "clean_options is not idempotent"
    with pytest.raises(FieldValueError) as info:
        ftype.clean_options({**OPTIONS.get(name, {}), "no_such_option": 1})
    assert "no_such_option" in info.value.message


def test_link_options_need_a_catalog() -> None:
    with pytest.raises(FieldValueError):
        TYPES["link"].clean_options({})


@pytest.mark.parametrize("name", ["select", "user", "link", "file"])
def test_flags_must_be_booleans(name: str) -> None:
    with pytest.raises(FieldValueError):
        TYPES[name].clean_options({**OPTIONS.get(name, {}), "multiple": "no"})


def test_multiple_users_round_trip_as_text() -> None:
    field = make_field("user")
    field.options = TYPES["user"].clean_options({"multiple": True})
    raw = field.ftype.to_db([3, 5], field, ACTOR)
    text = field.ftype.to_text(field.ftype.from_db(raw, field, ACTOR), field)
    assert field.ftype.to_db(field.ftype.from_text(text, field, ACTOR), field, ACTOR) == raw


@pytest.mark.parametrize("name", writable())
def test_none_is_empty(name: str) -> None:
    field = make_field(name)
    assert field.ftype.is_empty(field.ftype.to_db(None, field, ACTOR))


@pytest.mark.parametrize("name", [n for n in NAMES if TYPES[n].read_only])
def test_read_only_types_refuse_writes(name: str) -> None:
    field = make_field(name)
    with pytest.raises(FieldValueError):
        field.ftype.to_db(OPERANDS[name], field, ACTOR)


@pytest.mark.parametrize("name", writable())
def test_sample_round_trips(name: str) -> None:
    field = make_field(name)
    written, expected = SAMPLES[name]
    raw = field.ftype.to_db(written, field, ACTOR)
    assert not field.ftype.is_empty(raw)
    assert field.ftype.from_db(raw, field, ACTOR) == expected
    assert field.ftype.to_db(written, field, ACTOR) == raw, "to_db is not deterministic"


#: Stored values, beyond each sample's, that a type's reader must render as `from_db` does.
STORED: dict[str, list[Any]] = {
    "money": [0, 5, -5, 99, -123456, 10**15, -(2**62)],
    "number": [0, -3, 12, 7.125],
    "select": [999, 1],
    "date": ["2026-11-25", date(2026, 1, 2)],
    "datetime": ["2026-11-25 10:00:00.000000", datetime(2026, 11, 25, 10, 0, 5)],
    "checkbox": [0, 1, False],
    "autonumber": [12],
    "created_at": [datetime(2026, 11, 25, 10, 0, 5), "2026-11-25 10:00:00"],
    "updated_at": [datetime(2026, 11, 25, 10, 0, 5)],
    "created_by": [1],
    "updated_by": [2],
}
#: Options that change how a type renders, each tried with the stored values above.
RENDER_OPTIONS: dict[str, list[dict[str, Any]]] = {
    "money": [{"decimals": 0}, {"decimals": 4}],
    "number": [{"decimals": 2}],
    "select": [{"multiple": True}],
    "user": [{"multiple": True}],
}
#: Stored values of the option variants (a multiple select/user keeps `,1,3,`).
STORED_MULTIPLE = [",1,2,", ",999,1,", ""]


@pytest.mark.parametrize("name", NAMES)
def test_readers_render_like_from_db(name: str) -> None:
    """The page renderer calls `reader(field, actor)` per column instead of `from_db` per
    value: both must give the same JSON for every stored value and option."""
    ftype = TYPES[name]
    stored: list[Any] = [None, *STORED.get(name, [])]
    if not ftype.read_only:
        stored.append(ftype.to_db(SAMPLES[name][0], make_field(name), ACTOR))
    for extra in [{}, *RENDER_OPTIONS.get(name, [])]:
        options = ftype.clean_options({**dict(OPTIONS.get(name, {})), **extra})
        field = Field(
            id=12, catalog_id=1, name=name, api_name=name, type=name, column="f12", options=options
        )
        values = STORED_MULTIPLE if extra.get("multiple") else stored
        read = ftype.reader(field, ACTOR)
        for raw in values:
            assert read(raw) == ftype.from_db(raw, field, ACTOR), (name, extra, raw)


@pytest.mark.parametrize("name", [n for n in writable() if n not in NOT_TEXT_IMPORTABLE])
def test_text_round_trips(name: str) -> None:
    field = make_field(name)
    ftype = field.ftype
    value = ftype.from_db(ftype.to_db(SAMPLES[name][0], field, ACTOR), field, ACTOR)
    text = ftype.to_text(value, field)
    assert isinstance(text, str) and text
    again = ftype.to_db(ftype.from_text(text, field, ACTOR), field, ACTOR)
    assert ftype.from_db(again, field, ACTOR) == value
    assert ftype.from_text("", field, ACTOR) in (None, [], "")


@pytest.mark.parametrize("name", sorted(NOT_TEXT_IMPORTABLE))
def test_not_importable_types_say_so(name: str) -> None:
    field = make_field(name)
    with pytest.raises(FieldValueError):
        field.ftype.from_text("a.txt", field, ACTOR)


@pytest.mark.parametrize("dialect", [sqlite.dialect(), postgresql.dialect()], ids=["sqlite", "pg"])
@pytest.mark.parametrize("name", NAMES)
def test_every_operator_compiles(name: str, dialect: sa.engine.Dialect) -> None:
    field = make_field(name)
    col = column_for(field)
    for op in sorted(field.ftype.operators):
        clause = field.ftype.filter_clause(col, op, operand_for(name, op), field, ACTOR)
        sql = str(clause.compile(dialect=dialect))
        assert sql, f"{name} {op} compiled to nothing"


@pytest.mark.parametrize("name", NAMES)
def test_unsupported_operand_shapes_are_field_errors(name: str) -> None:
    """An operand of the wrong shape is refused as a field error (a 422 naming the field),
    never compiled and never another exception (a 500)."""
    field = make_field(name)
    col = column_for(field)
    for op in sorted(field.ftype.operators):
        for bad in ({"x": 1}, [[1]]):
            with pytest.raises(FieldValueError):
                field.ftype.filter_clause(col, op, bad, field, ACTOR)


def test_operands_of_dates_are_dates() -> None:
    field = make_field("date")
    assert field.ftype.filter_value("-7d", field, ACTOR) == date(2026, 11, 18)
    dt = make_field("datetime")
    assert dt.ftype.filter_value("2026-11-25T10:00", dt, ACTOR) == datetime(2026, 11, 25, 7)


@pytest.mark.parametrize("name", NAMES)
def test_type_is_documented(name: str) -> None:
    assert f"`{name}`" in DOCS_API.read_text(encoding="utf-8"), f"{name} missing in docs/api.md"


# ----- UI pieces and lifecycle hooks (fields/base.py) ---------------------------------------
CELLS = {"text", "number", "check", "chips", "when", "people", "records", "files"}
HOOKS = (
    "prepare_options",
    "check_update",
    "after_create",
    "before_delete",
    "values_on_create",
    "mask",
    "export_text",
    "export_type",
    "typed_value",
)


def _declared(ftype: FieldType) -> set[str]:
    """Attributes the type's own classes set (FieldType's defaults do not count)."""
    return {k for c in type(ftype).__mro__ if c not in (FieldType, object) for k in vars(c)}


@pytest.mark.parametrize("name", NAMES)
def test_every_type_declares_its_editor_and_cell(name: str) -> None:
    ftype = TYPES[name]
    assert {"editor", "cell"} <= _declared(ftype)
    assert ftype.cell in CELLS
    # Computed values have no editor; every writable type brings one.
    assert (ftype.editor is None) == ftype.read_only


VIEW_ROLES = {"group", "date", "span"}
VALUE_KINDS = {"text", "number", "date", "datetime"}


@pytest.mark.parametrize("name", NAMES)
def test_ui_descriptors_are_consistent(name: str) -> None:
    """What the web layer, views, scenarios and the importer ask a type instead of its name."""
    ftype = TYPES[name]
    field = make_field(name)
    assert ftype.view_roles <= VIEW_ROLES and ftype.value_kind in VALUE_KINDS
    # Only a writable type with an editor may be edited in a grid cell.
    assert not (ftype.inline_edit and ftype.read_only)
    # Gantt bars and calendars read a moment; a date role needs a date value.
    if ftype.view_roles & {"date", "span"}:
        assert ftype.value_kind in ("date", "datetime")
    # A listed value (link, file) is posted as ids and cannot be sorted by its column.
    if ftype.listed:
        assert not ftype.sortable and not ftype.hop_filter
    assert isinstance(ftype.ui_options(field), dict)
    columns = ftype.board_columns(field, [{"id": 3, "name": "Ann"}, {"id": 4, "email": "b@x"}])
    assert all(set(c) == {"key", "label", "color"} and isinstance(c["key"], str) for c in columns)


def test_board_columns_follow_the_values_a_group_field_holds() -> None:
    people = [{"id": 3, "name": "Ann"}, {"id": 4, "email": "b@x"}, {"id": 5}]
    select = make_field("select")
    assert [(c["key"], c["label"]) for c in select.ftype.board_columns(select, people)] == [
        ("1", "Lead"),
        ("2", "Won"),
    ]
    user = make_field("user")
    assert [(c["key"], c["label"]) for c in user.ftype.board_columns(user, people)] == [
        ("3", "Ann"),
        ("4", "b@x"),
        ("5", "#5"),
    ]
    checkbox = make_field("checkbox")
    assert [c["key"] for c in checkbox.ftype.board_columns(checkbox, people)] == ["true"]
    # The system user fields are filled by the platform: a board cannot move cards there.
    assert "group" not in TYPES["created_by"].view_roles


def test_ui_options_carry_what_the_widgets_show() -> None:
    assert (
        make_field("select").ftype.ui_options(make_field("select"))["choices"][1]["label"] == "Won"
    )
    assert make_field("link").ftype.ui_options(make_field("link")) == {"target": 1}
    money = make_field("money")
    assert money.ftype.ui_options(money) == {"decimals": 2, "currency": "RUB"}


@pytest.mark.parametrize("name", [n for n in NAMES if TYPES[n].editor])
def test_every_editor_renders(name: str) -> None:
    """The type's editor macro renders an input named after the field, for an empty value."""
    from kartoteka.web import pages

    field = make_field(name)
    ftype = field.ftype
    catalog = SimpleNamespace(id=1, api_name="things")
    context = {
        "base": "/w/t",
        "users": [{"id": 3, "name": "Ann"}],
        "catalog": catalog,
        "link_targets": {field.api_name: catalog},
    }
    module = pages.templates().get_template(f"fields/{ftype.editor}.html").make_module(context)
    html = str(module.editor(field, ftype.from_db(None, field, None), "f-1"))
    # Every editor posts under the field's api_name (a list editor marks it `_list_`).
    assert f'name="{field.api_name}"' in html or f'name="_list_{field.api_name}"' in html, html


@pytest.mark.parametrize("name", NAMES)
def test_lifecycle_hooks_keep_the_contract_signature(name: str) -> None:
    ftype = TYPES[name]
    for hook in HOOKS:
        mine = inspect.signature(getattr(type(ftype), hook))
        base = inspect.signature(getattr(FieldType, hook))
        assert list(mine.parameters) == list(base.parameters), (name, hook)


def test_masks_follow_the_type() -> None:
    assert TYPES["phone"].mask("+79123456789") == "+7 *** ***-**-89"
    assert TYPES["email"].mask("ann@example.com") == "a***@example.com"
    assert TYPES["text"].mask("secret") == "****et"
    assert TYPES["email"].mask("no-at-sign") == "********gn"


def test_link_options_resolve_their_target_and_keep_it() -> None:
    link = TYPES["link"]
    target = SimpleNamespace(id=9, system=None)
    meta: Any = SimpleNamespace(catalog=lambda ref: target if ref == "clients" else None)
    assert link.prepare_options(meta, {"catalog": "clients"}, 1, "deals")["catalog"] == 9
    assert link.prepare_options(meta, {"catalog": "deals"}, 1, "deals")["catalog"] == 1
    with pytest.raises(FieldValueError) as missing:
        link.prepare_options(meta, {"catalog": "nope"}, 1, "deals")
    assert missing.value.short == "catalog not found"
    field = make_field("link")
    link.check_update(field, {"catalog": 1})
    with pytest.raises(FieldValueError):
        link.check_update(field, {"catalog": 2})


def test_preferred_titles_are_the_naming_types() -> None:
    preferred = {n for n in NAMES if TYPES[n].preferred_title}
    assert preferred == {"text", "autonumber", "email", "phone"}


def test_exports_are_typed_by_the_type() -> None:
    checkbox, number, text = make_field("checkbox"), make_field("number"), make_field("text")
    assert checkbox.ftype.export_text(False, checkbox) == "false"
    assert checkbox.ftype.export_type(checkbox).kind == "boolean"
    assert checkbox.ftype.typed_value(True, checkbox) is True
    assert number.ftype.typed_value(1234, number) == 1234
    assert number.ftype.export_type(number).kind == "integer"
    assert text.ftype.export_type(text).kind == "text"
    assert (
        text.ftype.typed_value("=1+1", text) == "=1+1"
    )  # text; the exporter never writes formulas


@pytest.mark.parametrize("name", NAMES)
def test_typed_export_values_match_their_declared_kind(name: str) -> None:
    """Every type's typed value is the Python type its export kind promises."""
    samples = {"number": 7, "money": "12.50", "date": "2026-03-01", "checkbox": True,
               "datetime": "2026-03-01T10:00:00Z", "created_at": "2026-03-01T10:00:00Z",
               "updated_at": "2026-03-01T10:00:00Z", "autonumber": 42}  # fmt: skip
    field = make_field(name)
    kind = field.ftype.export_type(field).kind
    if name not in samples:
        assert kind == "text", name
        return
    value = field.ftype.typed_value(samples[name], field)
    python = {"integer": int, "float": float, "decimal": Decimal, "date": date,
              "datetime": datetime, "boolean": bool, "text": str}[kind]  # fmt: skip
    assert isinstance(value, python), (name, kind, value)
    if kind == "datetime":
        assert value.utcoffset() is not None and not value.utcoffset(), name


@given(st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59)))
def test_a_stored_moment_is_cut_to_the_text_its_parse_gives(moment: datetime) -> None:
    """`render_datetime` cuts SQLite's stored text (`YYYY-MM-DD HH:MM:SS[.ffffff]`)
    instead of parsing it: the same text as the parse, for every moment."""
    from kartoteka.fields.datetime import render_datetime

    expected = moment.replace(microsecond=0).isoformat() + "Z"
    stored = moment.isoformat(sep=" ", timespec="microseconds")  # SQLAlchemy's SQLite text
    assert render_datetime(stored) == expected
    assert render_datetime(stored[:19]) == expected
    assert render_datetime(moment.isoformat(sep="T")) == expected  # parsed
    assert render_datetime(moment) == expected

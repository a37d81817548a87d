"""The field type contract every type module implements."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from kartoteka.storage.fulltext import fold_sql, fold_text, like_escape

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from kartoteka.catalogs.models import Catalog, Field, WorkspaceMeta
    from kartoteka.context import Actor


COMPARE_OPS = frozenset({"eq", "ne", "lt", "lte", "gt", "gte", "in", "nin", "between", "empty"})
TEXT_OPS = frozenset({"eq", "ne", "lt", "lte", "gt", "gte", "in", "nin", "empty"}) | {
    "contains",
    "icontains",
    "startswith",
    "istartswith",
    "iendswith",
    "ieq",
}
#: Text operators that ignore case (and ё/е where the workspace folds it).
CASELESS_OPS = frozenset({"icontains", "istartswith", "iendswith", "ieq"})
ALL_OPS = COMPARE_OPS | TEXT_OPS
MAX_IN_VALUES = 1000


#: Given a catalog id, the schema of one link value pointing at its records.
LinkRef = Callable[[int], dict[str, Any]]


def same(raw: Any) -> Any:
    """A stored value that renders as itself (texts, e-mails, URLs)."""
    return raw


def nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """`schema` that also allows null (an empty value)."""
    kind = schema["type"]
    return {**schema, "type": [*(kind if isinstance(kind, list) else [kind]), "null"]}


@dataclass(frozen=True)
class ExportType:
    """What a column holds in typed exports.

    `kind` is one of "text", "integer", "float", "decimal" (exact, `scale` digits after
    the point), "date", "datetime" (UTC) or "boolean". Exporters map kinds to Parquet
    column types and XLSX cell formats; they never ask for a type's name.
    """

    kind: str
    scale: int = 0


TEXT_EXPORT = ExportType("text")


class FieldValueError(ValueError):
    """A value (or option) a field type refuses.

    `code` and `params` name the problem for translation (`kartoteka.messages`); a
    type that passes only a message gets the code "invalid" with that message. `short`
    is the reason in a few words for the `fields` map of a 422 (the message if not given).
    """

    def __init__(
        self, message: str, code: str = "invalid", /, *, short: str | None = None, **params: Any
    ) -> None:
        super().__init__(message)
        self.message = message
        self.short = short or message
        self.code = code
        self.params: dict[str, Any] = params if code != "invalid" else {"message": message}


class FieldType:
    """Base class: what a field type knows about its storage, values and filters.

    Capability flags are class attributes so the registry, the API docs and the UI can
    ask a type what it can do without instantiating anything per field.
    """

    type: ClassVar[str] = ""
    #: Human names for the UI and docs.
    labels: ClassVar[dict[str, str]] = {}
    #: Values are computed by the platform; writes are refused.
    read_only: ClassVar[bool] = False
    #: "column": one real column; "links": rows in the shared links table;
    #: "system": maps onto a system column of the catalog table.
    storage: ClassVar[str] = "column"
    #: The system column a "system" type reads.
    system_column: ClassVar[str | None] = None
    #: May be marked unique / indexed.
    can_be_unique: ClassVar[bool] = True
    can_be_indexed: ClassVar[bool] = True
    #: Can be sorted on.
    sortable: ClassVar[bool] = True
    #: Filter operators supported.
    operators: ClassVar[frozenset[str]] = COMPARE_OPS
    #: Usable as a catalog's title field.
    can_be_title: ClassVar[bool] = True
    #: Options this type accepts (for docs and validation), name -> description.
    option_docs: ClassVar[dict[str, str]] = {}
    #: "users" or "files" when stored values are ids the records service must check.
    references: ClassVar[str | None] = None
    #: Whether `from_db`/`reader` answer differently for different readers (`actor`). The
    #: records renderer keeps one reader per field for every reader of a catalog unless a
    #: type says so; none of the built-in types does.
    reads_for_actor: ClassVar[bool] = False
    #: Its text goes into the catalog's full-text index (`search_text`; for "links"
    #: storage, the titles of the linked records).
    searchable: ClassVar[bool] = False
    #: Picked as a new catalog's title field when none is named (values that name a
    #: record: text, e-mail, phone, autonumber).
    preferred_title: ClassVar[bool] = False

    # ----- UI: one control per type (the web layer renders them) ---------------
    #: The type's editor: the macro file `kartoteka/web/templates/fields/<editor>.html`
    #: holding `editor(field, value, id)`. None: values are computed, shown read-only.
    editor: ClassVar[str | None] = None
    #: How a value shows in grid cells and cards: "text" (its display text), "number"
    #: (right-aligned, locale digits), "check" (a tick), "chips" (coloured labels),
    #: "when" (a time in the reader's zone), "people" (user names), "records" (titles
    #: of linked records), "files" (download links).
    cell: ClassVar[str] = "text"
    #: The grid edits values in place; the others open the card.
    inline_edit: ClassVar[bool] = False
    #: Shown on board and gallery cards when the view names no fields (long texts and
    #: files are not).
    on_cards: ClassVar[bool] = True
    #: Offered one link hop away in the filter builder (`client.stage`).
    hop_filter: ClassVar[bool] = True
    #: The value is a list of things shown by title or name (linked records, files): the
    #: edit form posts their ids, and after a refused save shows the stored ones.
    listed: ClassVar[bool] = False
    #: A value can name a record (a text, a number, an e-mail...): imports may find linked
    #: records by it.
    names_records: ClassVar[bool] = False
    #: Values are picked from the field's own `choices` option (stages of a process).
    has_choices: ClassVar[bool] = False
    #: What a value looks like written as text (imports, date triggers, calendars):
    #: "text", "number" (digits with a decimal point or comma), "date" or "datetime".
    value_kind: ClassVar[str] = "text"
    #: What the field may stand for in a saved view: "group" (kanban columns), "date"
    #: (calendar days), "span" (a Gantt bar's start or end).
    view_roles: ClassVar[frozenset[str]] = frozenset()

    def ui_options(self, field: Field) -> dict[str, Any]:
        """The options the browser widgets need to show and edit a value (choices,
        decimals, a link's target catalog)."""
        return {}

    def board_columns(self, field: Field, people: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """A kanban's columns when grouped by this field: `{key, label, color}` in order,
        `key` being the str of the id a value carries ("true" for a yes). `people` are the
        workspace's users. The "no value" column is added by the board."""
        return []

    # ----- lifecycle hooks (Baserow's FieldType.before_create/after_update...) --
    # Called by `catalogs.service` and the records write path, inside their transaction,
    # so the code outside `fields/` never asks a type for its name.
    def prepare_options(
        self, meta: WorkspaceMeta, options: dict[str, Any], catalog_id: int, catalog_api: str
    ) -> dict[str, Any]:
        """Resolve options against the workspace before `clean_options` (link: the target
        catalog by id or api_name); FieldValueError refuses them."""
        return options

    def check_update(self, field: Field, options: dict[str, Any]) -> None:
        """A change that keeps the type: FieldValueError when the new options may not
        replace the old ones (link: the target catalog is fixed)."""

    def after_create(self, conn: Connection, catalog: Catalog, field: Field) -> None:
        """After the field was added (or converted into this type) with its storage: give
        existing records their values (autonumber numbers them)."""

    def before_delete(self, conn: Connection, field: Field) -> None:
        """Before the field (or its catalog) is dropped: remove what lives outside its
        column (link: its pairs in the links table)."""

    def values_on_create(self, conn: Connection, field: Field, count: int) -> list[Any] | None:
        """Values the platform gives `count` new records (autonumber); None: none."""
        return None

    def mask(self, text: str) -> str:
        """A masked rendering of a value for readers who may not see it in clear."""
        keep = 2 if len(text) > 4 else 0
        return "*" * (len(text) - keep) + text[len(text) - keep :]

    # ----- storage -------------------------------------------------------------
    def sa_type(self, options: dict[str, Any]) -> sa.types.TypeEngine[Any]:
        """The column type for this field."""
        return sa.Text()

    def clean_options(
        self, options: dict[str, Any], previous: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Validate and normalise options; unknown keys are refused."""
        unknown = set(options) - set(self.option_docs)
        if unknown:
            names = ", ".join(sorted(unknown))
            raise FieldValueError(f"unknown option(s): {names}", "unknown_options", names=names)
        return dict(options)

    # ----- values --------------------------------------------------------------
    def to_db(self, value: Any, field: Field, actor: Actor) -> Any:
        """Validate and normalise a written JSON value to its column value (None = empty)."""
        raise NotImplementedError

    def from_db(self, raw: Any, field: Field, actor: Actor | None) -> Any:
        """Render a stored value as JSON."""
        return raw

    def reader(self, field: Field, actor: Actor | None) -> Callable[[Any], Any]:
        """`from_db` for one field and reader, made once per page of records.

        The records renderer calls the result for every value of a column, so a type
        resolves its options here once (a select's choices by id, a money field's
        scale) instead of per value. It must answer exactly what `from_db` answers
        (the contract test compares them). `same` says "the stored value as it is".
        """
        if type(self).from_db is FieldType.from_db:
            return same
        from_db = self.from_db
        return lambda raw: from_db(raw, field, actor)

    # ----- schemas (the per-catalog OpenAPI document) ---------------------------
    def value_schema(self, field: Field, link_ref: LinkRef) -> dict[str, Any]:
        """JSON Schema (OpenAPI 3.1) of the value as records render it; `{}`: any JSON.

        `link_ref(catalog_id)` gives the schema of a link to that catalog's records.
        """
        return {}

    def write_schema(self, field: Field, link_ref: LinkRef) -> dict[str, Any]:
        """JSON Schema of the values a write accepts (by default: what reads render)."""
        return self.value_schema(field, link_ref)

    def referenced_ids(self, raw: Any) -> list[int]:
        """Ids of users/files a stored value refers to (types with `references`)."""
        return []

    def refuses_file(
        self, field: Field, name: str, mime: str, size: int
    ) -> tuple[str, dict[str, Any]] | None:
        """Why a newly attached file does not fit the field (code, params), or None."""
        return None

    def is_empty(self, raw: Any) -> bool:
        """True when a stored value counts as 'no value'."""
        return raw is None or raw == ""

    def to_text(self, value: Any, field: Field) -> str:
        """Render a JSON value as plain text (titles, CSV export)."""
        if value is None:
            return ""
        return str(value)

    def shown_text(self, text: str) -> str:
        """A text value as the UI shows it to people (cards, history, server-rendered
        lists); the browser's `valueText` in ui.js does the same. Default: as stored."""
        return text

    def export_text(self, value: Any, field: Field) -> str:
        """A value as text in CSV/XLSX exports, the way `from_text` reads it back."""
        return self.to_text(value, field)

    def from_db_column(self, raws: list[Any], field: Field, actor: Actor | None) -> list[Any]:
        """`from_db` over a column of stored values (exports render a chunk per field),
        through the type's `reader`."""
        read = self.reader(field, actor)
        if read is same:
            return raws  # the stored value is the rendered one: no call per value
        return list(map(read, raws))

    def export_texts(self, values: list[Any], field: Field) -> list[str]:
        """`export_text` over a column of rendered values; empty values are ""."""
        kind = type(self)
        if kind.export_text is FieldType.export_text and kind.to_text is FieldType.to_text:
            return ["" if v is None else str(v) for v in values]
        export_text = self.export_text
        return ["" if v is None else export_text(v, field) for v in values]

    def export_type(self, field: Field) -> ExportType:
        """The type of this field's column in typed exports (Parquet, XLSX cells)."""
        return TEXT_EXPORT

    def typed_value(self, value: Any, field: Field) -> Any:
        """A rendered (non-empty) value as a Python value of `export_type`: `int`, `float`,
        `Decimal`, `date`, aware UTC `datetime`, `bool`, or the export text."""
        return self.export_text(value, field)

    def search_text(self, raw: Any, field: Field) -> str:
        """The text of a stored value the full-text index holds (types with `searchable`)."""
        return self.to_text(self.from_db(raw, field, None), field)

    def from_text(self, text: str, field: Field, actor: Actor) -> Any:
        """Parse a CSV/XLSX cell into a value `to_db` accepts."""
        text = text.strip()
        return text or None

    # ----- filters -------------------------------------------------------------
    def filter_value(self, value: Any, field: Field, actor: Actor) -> Any:
        """Turn one operand of a filter into something comparable with the column."""
        return self.to_db(value, field, actor)

    def filter_clause(
        self, col: ColumnElement[Any], op: str, value: Any, field: Field, actor: Actor
    ) -> ColumnElement[bool]:
        """Compile `<field> <op> value` to SQL (the caller checked `op` is supported)."""
        if op == "empty":
            return self._empty_clause(col, value)
        if op in ("in", "nin"):
            items = as_list(value)
            values = [self.filter_value(v, field, actor) for v in items]
            clause = col.in_(values) if values else sa.false()
            return clause if op == "in" else sa.or_(col.is_(None), sa.not_(clause))
        if op == "between":
            return self._between_clause(col, value, field, actor)
        if op in ("contains", "startswith") or op in CASELESS_OPS:
            return self._text_clause(col, op, value, yo=actor.fold_yo)
        operand = self.filter_value(value, field, actor)
        if operand is None:
            if op == "eq":
                return self._empty_clause(col, True)
            if op == "ne":
                return self._empty_clause(col, False)
            raise FieldValueError(f"operator {op} needs a value", "operand_missing", op=op)
        return _compare(col, op, operand)

    def _empty_clause(self, col: ColumnElement[Any], value: Any) -> ColumnElement[bool]:
        if not isinstance(value, bool):
            raise FieldValueError("empty takes true or false", "operand_empty")
        return col.is_(None) if value else col.is_not(None)

    def _between_clause(
        self, col: ColumnElement[Any], value: Any, field: Field, actor: Actor
    ) -> ColumnElement[bool]:
        if not isinstance(value, list) or len(value) != 2:
            raise FieldValueError("between takes [from, to]", "operand_between")
        # An end that is null (or normalises to nothing, like "") leaves that side open.
        low, high = (None if v is None else self.filter_value(v, field, actor) for v in value)
        parts = []
        if low is not None:
            parts.append(col >= low)
        if high is not None:
            parts.append(col <= high)
        return sa.and_(*parts) if parts else col.is_not(None)

    def _text_clause(
        self, col: ColumnElement[Any], op: str, value: Any, yo: bool = True
    ) -> ColumnElement[bool]:
        if not isinstance(value, str) or not value:
            raise FieldValueError(f"{op} takes a non-empty string", "operand_text", op=op)
        if op == "startswith":
            return col.like(like_escape(value) + "%", escape="\\")
        if op == "contains":
            return col.like("%" + like_escape(value) + "%", escape="\\")
        # Both sides folded the same way (Unicode lower case, ё as е when `yo`), so
        # "ромашка" finds "ООО РОМАШКА" on SQLite as on PostgreSQL.
        target = fold_sql(col, yo)
        operand = fold_text(value, yo)
        if op == "ieq":
            return target == operand
        escaped = like_escape(operand)
        pattern = {"istartswith": escaped + "%", "iendswith": "%" + escaped}
        return target.like(pattern.get(op, "%" + escaped + "%"), escape="\\")


def as_list(value: Any) -> list[Any]:
    """The operand of `in`/`nin`: a list of at most MAX_IN_VALUES items."""
    if not isinstance(value, list):
        raise FieldValueError("in/nin take a list", "operand_list")
    if len(value) > MAX_IN_VALUES:
        raise FieldValueError(
            f"at most {MAX_IN_VALUES} values in a list", "operand_list_long", max=MAX_IN_VALUES
        )
    return value


def _compare(col: ColumnElement[Any], op: str, operand: Any) -> ColumnElement[bool]:
    clause: ColumnElement[bool]
    if op == "eq":
        clause = col == operand
    elif op == "ne":
        clause = sa.or_(col.is_(None), col != operand)
    elif op == "lt":
        clause = col < operand
    elif op == "lte":
        clause = col <= operand
    elif op == "gt":
        clause = col > operand
    elif op == "gte":
        clause = col >= operand
    else:
        raise FieldValueError(f"unknown operator {op}", "operator_unknown", op=op)
    return clause


def clean_flag(options: dict[str, Any], key: str, default: bool = False) -> bool:
    """A true/false option; "no" or 1 are refused rather than read as true."""
    value = options.get(key, default)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise FieldValueError(f"{key} must be true or false", "flag_option", key=key)
    return value


def encode_multi(ids: list[int]) -> str | None:
    """Multi-value ids as ',1,3,' so `eq`/`in` compile to an indexable LIKE on any dialect."""
    if not ids:
        return None
    return "," + ",".join(str(i) for i in ids) + ","


def decode_multi(raw: str | None) -> list[int]:
    """Inverse of `encode_multi`."""
    if not raw:
        return []
    return [int(x) for x in raw.strip(",").split(",") if x]


def multi_filter_clause(
    col: ColumnElement[Any], op: str, value: Any, to_id: Any
) -> ColumnElement[bool]:
    """eq/ne/in/nin on a ',1,3,' multi-value column; `to_id` resolves one operand."""
    values = value if op in ("in", "nin") else [value]
    if not isinstance(values, list):
        raise FieldValueError("in/nin take a list", "operand_list")
    if len(values) > MAX_IN_VALUES:
        raise FieldValueError(
            f"at most {MAX_IN_VALUES} values in a list", "operand_list_long", max=MAX_IN_VALUES
        )
    any_of = sa.or_(*[multi_contains(col, to_id(v)) for v in values])
    if op in ("eq", "in"):
        return any_of if values else sa.false()
    return sa.or_(col.is_(None), sa.not_(any_of)) if values else sa.true()


def multi_contains(col: ColumnElement[Any], item: int) -> ColumnElement[bool]:
    """SQL: the multi-value column holds `item`."""
    return col.like(f"%,{int(item)},%")


MAX_RECORD_ID = 2**62
#: Users and files have 32-bit ids; a larger one must be refused before it reaches SQL.
MAX_SMALL_ID = 2**31 - 1


def as_int_id(value: Any, what: str = "id", limit: int = MAX_RECORD_ID) -> int:
    """An integer id (1..limit) from an int or a numeric string; `what` is "record id",
    "file id", "user id" or "id" (each has its own message codes)."""
    kind = what.split()[0] if what != "id" else "any"
    if isinstance(value, bool):
        raise FieldValueError(f"expected {what}, got a boolean", f"expected_{kind}_id")
    if isinstance(value, int):
        if value <= 0 or value > limit:
            raise FieldValueError(f"{what} out of range", f"{kind}_id_range")
        return value
    # isdecimal, not isdigit: "²" is a digit that int() refuses.
    if isinstance(value, str) and value.strip().isdecimal() and len(value.strip()) < 20:
        return as_int_id(int(value.strip()), what, limit)
    raise FieldValueError(f"expected {what}", f"expected_{kind}_id")

"""`link`: references to records of another (or the same) catalog, kept in the links table."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from kartoteka.storage import schema

from .base import FieldType, FieldValueError, LinkRef, as_int_id, as_list, clean_flag

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from kartoteka.catalogs.models import Field, WorkspaceMeta
    from kartoteka.context import Actor


MAX_LINKS = 1000


class LinkType(FieldType):
    """Links to records; written as an id or list of ids, read as `[{id, title}]`."""

    type = "link"
    editor = "link"
    cell = "records"
    listed = True
    hop_filter = False
    view_roles = frozenset({"group"})
    labels = {"en": "Link to records", "ru": "Связь с каталогом"}
    storage = "links"
    operators = frozenset({"eq", "ne", "in", "nin", "empty"})
    searchable = True
    can_be_unique = False
    can_be_indexed = False
    can_be_title = False
    sortable = False
    option_docs = {
        "catalog": "target catalog id (or api_name when creating)",
        "multiple": "allow several linked records (default false)",
        "view": "id of a saved view of the target; only its records may be linked",
        "accessible_only": "only records the actor may see may be linked",
        "title_public": "show linked records' titles even to readers who cannot see those "
        "records (default false: they get only the id, marked `restricted`)",
    }

    def ui_options(self, field: Field) -> dict[str, Any]:
        return {"target": field.options.get("catalog")}

    def value_schema(self, field: Field, link_ref: LinkRef) -> dict[str, Any]:
        return {"type": "array", "items": link_ref(int(field.options.get("catalog") or 0))}

    def write_schema(self, field: Field, link_ref: LinkRef) -> dict[str, Any]:
        ids: dict[str, Any] = {"type": "array", "items": {"type": "integer"}}
        if not field.options.get("multiple"):
            ids["maxItems"] = 1
        return {
            "oneOf": [ids, {"type": "integer"}, {"type": "null"}],
            "description": "ids of the linked records",
        }

    def prepare_options(
        self, meta: WorkspaceMeta, options: dict[str, Any], catalog_id: int, catalog_api: str
    ) -> dict[str, Any]:
        options = dict(options)
        target = options.get("catalog")
        if target in (catalog_id, catalog_api):
            options["catalog"] = catalog_id
            return options
        found = meta.catalog(target) if isinstance(target, str | int) else None
        if found is None:
            raise FieldValueError(
                "options.catalog: target catalog not found",
                "link_catalog_unknown",
                short="catalog not found",
                ref=target,
            )
        if found.system is not None:
            # Its rows come and go outside the records write path, which keeps links tidy.
            raise FieldValueError(
                "options.catalog: a system catalog cannot be linked to",
                "link_system_catalog",
                short="system catalog",
            )
        options["catalog"] = found.id
        return options

    def check_update(self, field: Field, options: dict[str, Any]) -> None:
        if options.get("catalog") != field.options.get("catalog"):
            raise FieldValueError(
                "the target catalog of a link cannot change",
                "link_catalog_change",
                short="catalog cannot change",
            )

    def before_delete(self, conn: Connection, field: Field) -> None:
        conn.execute(sa.delete(schema.links).where(schema.links.c.field_id == field.id))

    def clean_options(
        self, options: dict[str, Any], previous: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        options = super().clean_options(options, previous)
        if not isinstance(options.get("catalog"), int) or isinstance(options.get("catalog"), bool):
            raise FieldValueError(
                "catalog (the target catalog) is required", "link_catalog_required"
            )
        options["multiple"] = clean_flag(options, "multiple", False)
        options["accessible_only"] = clean_flag(options, "accessible_only", False)
        options["title_public"] = clean_flag(options, "title_public", False)
        view = options.get("view")
        if view is not None and (isinstance(view, bool) or not isinstance(view, int)):
            raise FieldValueError("view must be a view id", "link_view")
        return options

    def to_db(self, value: Any, field: Field, actor: Actor) -> list[int]:
        if value is None or value == "" or value == []:
            return []
        items = value if isinstance(value, list) else [value]
        if len(items) > MAX_LINKS:
            raise FieldValueError(
                f"at most {MAX_LINKS} linked records", "too_many_links", max=MAX_LINKS
            )
        ids: list[int] = []
        for item in items:
            if isinstance(item, dict):
                item = item.get("id")
            rid = as_int_id(item, "record id")
            if rid not in ids:
                ids.append(rid)
        if len(ids) > 1 and not field.options.get("multiple"):
            raise FieldValueError("only one linked record allowed", "one_link")
        return ids

    def is_empty(self, raw: Any) -> bool:
        return not raw

    def from_db(self, raw: Any, field: Field, actor: Actor | None) -> Any:
        # Titles are filled in by the records service, which looks them up in bulk.
        return [{"id": int(i), "title": None} for i in raw or []]

    def to_text(self, value: Any, field: Field) -> str:
        if not value:
            return ""
        items = value if isinstance(value, list) else [value]
        return ", ".join(
            str(v.get("title") or v.get("id")) if isinstance(v, dict) else str(v) for v in items
        )

    def from_text(self, text: str, field: Field, actor: Actor) -> Any:
        text = text.strip()
        if not text:
            return None
        return [t.strip() for t in text.replace(";", ",").split(",") if t.strip()]

    def filter_clause(
        self, col: ColumnElement[Any], op: str, value: Any, field: Field, actor: Actor
    ) -> ColumnElement[bool]:
        """`col` is the source table's id column; matches go through the links table."""
        links = schema.links

        def exists(extra: ColumnElement[bool] | None = None) -> ColumnElement[bool]:
            cond = sa.and_(links.c.field_id == field.id, links.c.src_id == col)
            if extra is not None:
                cond = sa.and_(cond, extra)
            return sa.exists(sa.select(sa.literal(1)).where(cond))

        if op == "empty":
            if not isinstance(value, bool):
                raise FieldValueError("empty takes true or false", "operand_empty")
            return sa.not_(exists()) if value else exists()
        if op in ("eq", "ne"):
            if value is None:
                return sa.not_(exists()) if op == "eq" else exists()
            rid = as_int_id(value.get("id") if isinstance(value, dict) else value, "record id")
            clause = exists(links.c.dst_id == rid)
            return clause if op == "eq" else sa.not_(clause)
        ids = [as_int_id(v, "record id") for v in as_list(value)]
        clause = exists(links.c.dst_id.in_(ids)) if ids else sa.false()
        return clause if op == "in" else sa.not_(clause)

"""Catalog and field management: metadata rows plus the DDL of the real tables."""

from __future__ import annotations

from dataclasses import replace
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from kartoteka.access import service as access
from kartoteka.context import Actor
from kartoteka.errors import Forbidden, ItemError, problem
from kartoteka.fields import all_types
from kartoteka.fields.base import FieldType, FieldValueError
from kartoteka.storage import counters, dynamic, schema
from kartoteka.storage.engine import utcnow

from . import common_options, conversion, layout
from .errors import BadFieldSpec, CatalogNotFound, DuplicateName, FieldNotFound, options_error
from .meta import bump_meta, invalidate
from .models import Catalog, Field, WorkspaceMeta
from .naming import check_api_name, derive_api_name
from .titles import index_title

MAX_FIELDS = 500
FIELD_KEYS = {"name", "api_name", "type", "required", "unique", "indexed", "options", "position"}


def _bump(conn: Connection) -> None:
    bump_meta(conn)


def _write(actor: Actor):
    return actor.workspace.engine.begin()


def require_manage(actor: Actor, catalog: Catalog | None = None) -> None:
    """Only administrators (and, with rights, catalog managers) change structure."""
    if catalog is not None and catalog.system is not None:
        raise Forbidden.of(
            "system_structure", None, catalog=catalog.api_name, managed_at=catalog.system.managed_at
        )
    if not access.can_manage(actor, catalog):
        raise Forbidden.of("structure_forbidden")


# ----- catalogs --------------------------------------------------------------------------
def get_catalog(actor: Actor, ref: str | int) -> Catalog:
    """A catalog by id or api_name, or CatalogNotFound."""
    catalog = actor.workspace.meta().catalog(ref)
    if catalog is None:
        raise CatalogNotFound.of("catalog_not_found", None, ref=ref)
    return catalog


def catalog_json(actor: Actor, catalog: Catalog) -> dict[str, Any]:
    """A catalog as the actor may see it: fields hidden from them are left out."""
    out = catalog.to_json()
    rules = access.field_rules(actor, catalog)
    if rules:
        out["fields"] = [
            dict(f, access=rules[f["api_name"]]) if f["api_name"] in rules else f
            for f in out["fields"]
            if rules.get(f["api_name"]) != "hidden"
        ]
        if out["title_field"] and rules.get(out["title_field"]) == "hidden":
            out["title_field"] = None
    return out


def list_catalogs(actor: Actor) -> list[Catalog]:
    """Every catalog the actor may see."""
    return [c for c in actor.workspace.meta().catalogs if access.can_see_catalog(actor, c)]


def _nested(prefix: str, e: ItemError) -> ItemError:
    """An error of one field spec inside a catalog's `fields` list ("fields[2].name")."""
    return replace(e, field=f"{prefix}.{e.field}" if e.field else prefix)


def _clean_name(value: Any, key: str = "name") -> str:
    if not isinstance(value, str) or not value.strip() or len(value.strip()) > 200:
        raise BadFieldSpec.of("name_length", key)
    return value.strip()


def create_catalog(actor: Actor, spec: dict[str, Any]) -> Catalog:
    """Create a catalog (a real table) with its initial fields, all or nothing."""
    require_manage(actor)
    if not isinstance(spec, dict):
        raise BadFieldSpec.of("expected_object")
    name = _clean_name(spec.get("name") or spec.get("api_name"))
    meta = actor.workspace.meta()
    taken = set(meta.by_api_name)
    api_name = spec.get("api_name") or derive_api_name(name, taken, "catalog")
    bad_name = check_api_name(api_name)
    if bad_name:
        raise BadFieldSpec(errors=[bad_name])
    if api_name in taken:
        raise DuplicateName.of("catalog_exists", "api_name", api_name=api_name)
    options = layout.clean_options(spec.get("options") or {}, {})
    field_specs = spec.get("fields") or []
    if not isinstance(field_specs, list) or len(field_specs) > MAX_FIELDS:
        raise BadFieldSpec.of("must_be_list", "fields")
    with _write(actor) as conn:
        cid = counters.insert_id(
            conn,
            sa.insert(schema.catalogs).values(
                name=name,
                api_name=api_name,
                position=len(meta.catalogs),
                options=options,
                created_at=utcnow(),
            ),
        )
        dynamic.create_catalog_table(conn, dynamic.catalog_table(cid, []))
        created: list[Field] = []
        for i, fspec in enumerate(field_specs):
            try:
                created.append(_insert_field(conn, actor, cid, api_name, created, fspec, i))
            except BadFieldSpec as exc:
                raise BadFieldSpec(
                    errors=[_nested(f"fields[{i}]", e) for e in exc.errors]
                ) from None
        title_ref = spec.get("title_field")
        title = _pick_title(created, title_ref)
        conn.execute(
            sa.update(schema.catalogs)
            .where(schema.catalogs.c.id == cid)
            .values(title_field_id=title.id if title else None)
        )
        index_title(conn, cid, title)
        _bump(conn)
    invalidate(actor.workspace)
    return get_catalog(actor, cid)


def _pick_title(fields: list[Field], ref: Any) -> Field | None:
    if ref is not None:
        for f in fields:
            if ref in (f.id, f.api_name):
                if not f.ftype.can_be_title:
                    raise BadFieldSpec.of("title_field_type", "title_field")
                return f
        raise BadFieldSpec.of("title_field_missing", "title_field")
    for f in fields:
        if f.ftype.can_be_title and f.ftype.preferred_title:
            return f
    return None


def update_catalog(actor: Actor, ref: str | int, patch: dict[str, Any]) -> Catalog:
    """Rename a catalog, change its api_name, title field or options."""
    catalog = get_catalog(actor, ref)
    require_manage(actor, catalog)
    if not isinstance(patch, dict):
        raise BadFieldSpec.of("expected_object")
    unknown = set(patch) - {"name", "api_name", "title_field", "options", "position"}
    if unknown:
        raise BadFieldSpec(errors=[problem("unknown_key", k) for k in sorted(unknown)])
    values: dict[str, Any] = {}
    if "name" in patch:
        values["name"] = _clean_name(patch["name"])
    if "api_name" in patch and patch["api_name"] != catalog.api_name:
        bad_name = check_api_name(patch["api_name"])
        if bad_name:
            raise BadFieldSpec(errors=[bad_name])
        if actor.workspace.meta().catalog(patch["api_name"]) is not None:
            raise DuplicateName.of("catalog_exists", "api_name", api_name=patch["api_name"])
        values["api_name"] = patch["api_name"]
    if "title_field" in patch:
        title = _pick_title(catalog.fields, patch["title_field"]) if patch["title_field"] else None
        values["title_field_id"] = title.id if title else None
    if "options" in patch:
        values["options"] = layout.clean_options(patch["options"], catalog.options)
    if "position" in patch:
        if not isinstance(patch["position"], int) or isinstance(patch["position"], bool):
            raise BadFieldSpec.of("integer", "position")
        values["position"] = patch["position"]
    if values:
        with _write(actor) as conn:
            conn.execute(
                sa.update(schema.catalogs).where(schema.catalogs.c.id == catalog.id).values(values)
            )
            if values.get("title_field_id"):
                index_title(conn, catalog.id, catalog.by_id[values["title_field_id"]])
            _bump(conn)
        invalidate(actor.workspace)
    return get_catalog(actor, catalog.id)


def delete_catalog(actor: Actor, ref: str | int) -> None:
    """Drop a catalog, its table, its links and the link fields pointing at it."""
    catalog = get_catalog(actor, ref)
    require_manage(actor, catalog)
    meta = actor.workspace.meta()
    incoming = [f for c, f in meta.links_into(catalog.id) if c.id != catalog.id]
    with _write(actor) as conn:
        for f in incoming:
            f.ftype.before_delete(conn, f)
            conn.execute(sa.delete(schema.fields).where(schema.fields.c.id == f.id))
        for f in catalog.fields:
            f.ftype.before_delete(conn, f)
        for table in (schema.history, schema.comments):
            conn.execute(sa.delete(table).where(table.c.catalog_id == catalog.id))
        conn.execute(sa.delete(schema.views).where(schema.views.c.catalog_id == catalog.id))
        conn.execute(sa.delete(schema.fields).where(schema.fields.c.catalog_id == catalog.id))
        conn.execute(sa.delete(schema.catalogs).where(schema.catalogs.c.id == catalog.id))
        dynamic.drop_catalog_table(conn, catalog.id)
        _bump(conn)
    invalidate(actor.workspace)


# ----- fields ----------------------------------------------------------------------------
def _flag(spec: dict[str, Any], key: str) -> bool:
    value = spec.get(key, False)
    if not isinstance(value, bool):
        raise BadFieldSpec.of("boolean", key)
    return value


def _prepared(
    ftype: FieldType, meta: WorkspaceMeta, options: dict[str, Any], catalog_id: int, api: str
) -> dict[str, Any]:
    """Options resolved against the workspace by the type (link: its target catalog)."""
    try:
        return ftype.prepare_options(meta, options, catalog_id, api)
    except FieldValueError as exc:
        raise options_error(exc) from None


def _clean_field_spec(
    actor: Actor,
    catalog_id: int,
    catalog_api: str,
    existing: list[Field],
    spec: Any,
    previous: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A field spec checked and normalised; `previous`: the options it replaces (stable
    choice ids)."""
    if not isinstance(spec, dict):
        raise BadFieldSpec.of("expected_object")
    unknown = set(spec) - FIELD_KEYS - {"id"}
    if unknown:
        raise BadFieldSpec(errors=[problem("unknown_key", k) for k in sorted(unknown)])
    ftype_name = spec.get("type")
    types = all_types()
    if ftype_name not in types:
        raise BadFieldSpec.of("field_type", "type", allowed=", ".join(sorted(types)))
    ftype = types[ftype_name]
    name = _clean_name(spec.get("name") or spec.get("api_name"))
    taken = {f.api_name for f in existing}
    api_name = spec.get("api_name") or derive_api_name(name, taken)
    bad_name = check_api_name(api_name)
    if bad_name:
        raise BadFieldSpec(errors=[bad_name])
    if api_name in taken:
        raise DuplicateName.of("field_exists", "api_name", api_name=api_name)
    unique, indexed, required = (
        _flag(spec, "unique"),
        _flag(spec, "indexed"),
        _flag(spec, "required"),
    )
    if unique and not ftype.can_be_unique:
        raise BadFieldSpec.of("cannot_be_unique", "unique", type=ftype_name)
    if indexed and not ftype.can_be_indexed:
        raise BadFieldSpec.of("cannot_be_indexed", "indexed", type=ftype_name)
    if required and ftype.read_only:
        raise BadFieldSpec.of("read_only_required", "required")
    options = spec.get("options") or {}
    if not isinstance(options, dict):
        raise BadFieldSpec.of("expected_object", "options")
    # null removes an option (a PATCH merges the options it sends into the stored ones)
    options, common = common_options.split({k: v for k, v in options.items() if v is not None})
    options = _prepared(ftype, actor.workspace.meta(), options, catalog_id, catalog_api)
    try:
        options = ftype.clean_options(options, previous)
    except FieldValueError as exc:
        raise options_error(exc) from None
    probe = Field(0, catalog_id, name, api_name, ftype_name, None, options=options)
    common_options.attach(actor, probe, common)
    return {
        "name": name,
        "api_name": api_name,
        "type": ftype_name,
        "required": required,
        "is_unique": unique,
        "indexed": indexed or unique,
        "options": options,
    }


def _insert_field(
    conn: Connection,
    actor: Actor,
    catalog_id: int,
    catalog_api: str,
    existing: list[Field],
    spec: Any,
    position: int,
) -> Field:
    row = _clean_field_spec(actor, catalog_id, catalog_api, existing, spec)
    fid = counters.insert_id(
        conn,
        sa.insert(schema.fields).values(catalog_id=catalog_id, position=position, **row),
    )
    field = Field(
        id=fid,
        catalog_id=catalog_id,
        name=row["name"],
        api_name=row["api_name"],
        type=row["type"],
        column=None,
        required=row["required"],
        unique=row["is_unique"],
        indexed=row["indexed"],
        options=row["options"],
        position=position,
    )
    if field.ftype.storage == "column":
        field.column = f"f{fid}"
        conn.execute(
            sa.update(schema.fields)
            .where(schema.fields.c.id == fid)
            .values(column_name=field.column)
        )
        dynamic.add_column(conn, catalog_id, field.column, field.ftype.sa_type(field.options))
        if field.indexed:
            dynamic.create_column_index(conn, catalog_id, field.column, field.unique)
    return field


def add_field(actor: Actor, catalog_ref: str | int, spec: Any) -> Field:
    """Add a field (a real column) to a catalog; existing records get no value."""
    catalog = get_catalog(actor, catalog_ref)
    require_manage(actor, catalog)
    if len(catalog.fields) >= MAX_FIELDS:
        raise BadFieldSpec.of("too_many_fields", None, max=MAX_FIELDS)
    with _write(actor) as conn:
        field = _insert_field(
            conn, actor, catalog.id, catalog.api_name, catalog.fields, spec, len(catalog.fields)
        )
        field.ftype.after_create(conn, catalog, field)
        if catalog.title_field_id is None and _pick_title([field], None):
            conn.execute(
                sa.update(schema.catalogs)
                .where(schema.catalogs.c.id == catalog.id)
                .values(title_field_id=field.id)
            )
            index_title(conn, catalog.id, field)
        _bump(conn)
    invalidate(actor.workspace)
    return get_catalog(actor, catalog.id).by_id[field.id]


def get_field(actor: Actor, catalog_ref: str | int, field_ref: str | int) -> tuple[Catalog, Field]:
    """A catalog and one of its fields, or a NotFound."""
    catalog = get_catalog(actor, catalog_ref)
    field = catalog.field(field_ref)
    if field is None:
        raise FieldNotFound.of("field_not_found", None, ref=field_ref, catalog=catalog.api_name)
    return catalog, field


def field_json(actor: Actor, catalog_ref: str | int, field_ref: str | int) -> dict[str, Any]:
    """One field as the actor may see it: only in catalogs they reach, never a hidden one
    (a hidden field answers like a field that does not exist)."""
    catalog, field = get_field(actor, catalog_ref, field_ref)
    access.require_catalog(actor, catalog)
    rule = access.field_rules(actor, catalog).get(field.api_name)
    if rule == "hidden":
        raise FieldNotFound.of("field_not_found", None, ref=field_ref, catalog=catalog.api_name)
    out = field.to_json()
    if rule is not None:
        out["access"] = rule
    return out


def update_field(
    actor: Actor,
    catalog_ref: str | int,
    field_ref: str | int,
    patch: Any,
    dry_run: bool = False,
) -> tuple[Field, dict[str, Any] | None]:
    """Change a field; a type change converts values and reports those it could not convert."""
    catalog, field = get_field(actor, catalog_ref, field_ref)
    require_manage(actor, catalog)
    if not isinstance(patch, dict):
        raise BadFieldSpec.of("expected_object")
    merged = {
        "name": field.name,
        "api_name": field.api_name,
        "type": field.type,
        "required": field.required,
        "unique": field.unique,
        "indexed": field.indexed,
        "options": field.options,
        **patch,
    }
    if (
        "options" in patch
        and isinstance(patch["options"], dict)
        and patch.get("type")
        in (
            None,
            field.type,
        )
    ):
        merged["options"] = {**field.options, **patch["options"]}
    if patch.get("type") not in (None, field.type) and "options" not in patch:
        # The old type's options mean nothing to the new type: start from its defaults.
        merged["options"] = {}
    others = [f for f in catalog.fields if f.id != field.id]
    merged.pop("id", None)
    # The same type keeps its stable choice ids: the type cleans against the old options.
    previous = common_options.split(field.options)[0] if merged["type"] == field.type else None
    cleaned = _clean_field_spec(actor, catalog.id, catalog.api_name, others, merged, previous)
    report = None
    with _write(actor) as conn:
        if cleaned["type"] != field.type or conversion.column_changes(field, cleaned):
            report = conversion.change_type(conn, actor, catalog, field, cleaned, dry_run)
        else:
            conversion.check_constraints(conn, catalog, field, cleaned)
            index_changed = (
                cleaned["indexed"] != field.indexed or cleaned["is_unique"] != field.unique
            )
            if field.column and field.ftype.storage == "column" and index_changed:
                dynamic.drop_column_index(conn, catalog.id, field.column)
                if cleaned["indexed"]:
                    dynamic.create_column_index(
                        conn, catalog.id, field.column, cleaned["is_unique"]
                    )
            try:
                field.ftype.check_update(field, cleaned["options"])
            except FieldValueError as exc:
                raise options_error(exc) from None
        if dry_run:
            conn.rollback()
            return field, report
        position = patch.get("position", field.position)
        conn.execute(
            sa.update(schema.fields)
            .where(schema.fields.c.id == field.id)
            .values(position=position, **cleaned)
        )
        _bump(conn)
    invalidate(actor.workspace)
    return get_catalog(actor, catalog.id).by_id[field.id], report


def delete_field(actor: Actor, catalog_ref: str | int, field_ref: str | int) -> None:
    """Drop a field: its column (or its links) go with it."""
    catalog, field = get_field(actor, catalog_ref, field_ref)
    require_manage(actor, catalog)
    with _write(actor) as conn:
        field.ftype.before_delete(conn, field)
        if field.column and field.ftype.storage == "column":
            dynamic.drop_column(conn, catalog.id, field.column)
        conn.execute(sa.delete(schema.fields).where(schema.fields.c.id == field.id))
        if catalog.title_field_id == field.id:
            title = _pick_title([f for f in catalog.fields if f.id != field.id], None)
            conn.execute(
                sa.update(schema.catalogs)
                .where(schema.catalogs.c.id == catalog.id)
                .values(title_field_id=title.id if title else None)
            )
            index_title(conn, catalog.id, title)
        _bump(conn)
    invalidate(actor.workspace)


def set_setting(actor: Actor, key: str, value: Any) -> None:
    """Store a workspace setting (e.g. `timezone`)."""
    if key == "timezone":
        try:
            ZoneInfo(str(value))
        except (KeyError, ValueError):
            raise BadFieldSpec.of("setting_timezone", "timezone") from None
    with _write(actor) as conn:
        conn.execute(sa.delete(schema.settings).where(schema.settings.c.key == key))
        conn.execute(sa.insert(schema.settings).values(key=key, value=value))
        _bump(conn)
    invalidate(actor.workspace)

"""Catalog and field management: metadata rows plus the DDL of the real tables."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from kartoteka.access import service as access
from kartoteka.context import Actor
from kartoteka.errors import Forbidden
from kartoteka.fields import all_types
from kartoteka.fields.base import FieldType, FieldValueError
from kartoteka.storage import counters, dynamic, schema
from kartoteka.storage.engine import utcnow

from . import common_options, conversion, layout
from .errors import BadFieldSpec, CatalogNotFound, DuplicateName, FieldNotFound
from .meta import bump_meta, invalidate
from .models import Catalog, Field, WorkspaceMeta
from .naming import check_api_name, derive_api_name

MAX_FIELDS = 500
FIELD_KEYS = {"name", "api_name", "type", "required", "unique", "indexed", "options", "position"}


def _bump(conn: Connection) -> None:
    bump_meta(conn)


def _write(actor: Actor):
    return actor.workspace.engine.begin()


def require_manage(actor: Actor, catalog: Catalog | None = None) -> None:
    """Only administrators (and, with rights, catalog managers) change structure."""
    if catalog is not None and catalog.system is not None:
        raise Forbidden(
            f"{catalog.api_name!r} is a system catalog: its structure is fixed "
            f"(its records are managed at {catalog.system.managed_at})"
        )
    if not access.can_manage(actor, catalog):
        raise Forbidden("you may not change the structure of this catalog")


# ----- catalogs --------------------------------------------------------------------------
def get_catalog(actor: Actor, ref: str | int) -> Catalog:
    """A catalog by id or api_name, or CatalogNotFound."""
    catalog = actor.workspace.meta().catalog(ref)
    if catalog is None:
        raise CatalogNotFound(f"catalog {ref!r} not found")
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


def _clean_name(value: Any, key: str = "name") -> str:
    if not isinstance(value, str) or not value.strip() or len(value.strip()) > 200:
        raise BadFieldSpec(f"{key} must be 1..200 characters", fields={key: "1..200 characters"})
    return value.strip()


def create_catalog(actor: Actor, spec: dict[str, Any]) -> Catalog:
    """Create a catalog (a real table) with its initial fields, all or nothing."""
    require_manage(actor)
    if not isinstance(spec, dict):
        raise BadFieldSpec("expected an object")
    name = _clean_name(spec.get("name") or spec.get("api_name"))
    meta = actor.workspace.meta()
    taken = set(meta.by_api_name)
    api_name = spec.get("api_name") or derive_api_name(name, taken, "catalog")
    problem = check_api_name(api_name)
    if problem:
        raise BadFieldSpec(f"api_name {problem}", fields={"api_name": problem})
    if api_name in taken:
        raise DuplicateName(f"a catalog with api_name {api_name!r} exists")
    options = layout.clean_options(spec.get("options") or {}, {})
    field_specs = spec.get("fields") or []
    if not isinstance(field_specs, list) or len(field_specs) > MAX_FIELDS:
        raise BadFieldSpec("fields must be a list", fields={"fields": "must be a list"})
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
                    f"fields[{i}]: {exc.message}",
                    fields={f"fields[{i}].{k}": v for k, v in exc.fields.items()},
                ) from None
        title_ref = spec.get("title_field")
        title = _pick_title(created, title_ref)
        conn.execute(
            sa.update(schema.catalogs)
            .where(schema.catalogs.c.id == cid)
            .values(title_field_id=title.id if title else None)
        )
        _bump(conn)
    invalidate(actor.workspace)
    return get_catalog(actor, cid)


def _pick_title(fields: list[Field], ref: Any) -> Field | None:
    if ref is not None:
        for f in fields:
            if ref in (f.id, f.api_name):
                if not f.ftype.can_be_title:
                    raise BadFieldSpec(
                        "title_field cannot be of this type", fields={"title_field": "bad type"}
                    )
                return f
        raise BadFieldSpec("title_field not found", fields={"title_field": "no such field"})
    for f in fields:
        if f.ftype.can_be_title and f.ftype.preferred_title:
            return f
    return None


def update_catalog(actor: Actor, ref: str | int, patch: dict[str, Any]) -> Catalog:
    """Rename a catalog, change its api_name, title field or options."""
    catalog = get_catalog(actor, ref)
    require_manage(actor, catalog)
    if not isinstance(patch, dict):
        raise BadFieldSpec("expected an object")
    unknown = set(patch) - {"name", "api_name", "title_field", "options", "position"}
    if unknown:
        raise BadFieldSpec(
            f"unknown key(s): {', '.join(sorted(unknown))}",
            fields={k: "unknown key" for k in unknown},
        )
    values: dict[str, Any] = {}
    if "name" in patch:
        values["name"] = _clean_name(patch["name"])
    if "api_name" in patch and patch["api_name"] != catalog.api_name:
        problem = check_api_name(patch["api_name"])
        if problem:
            raise BadFieldSpec(f"api_name {problem}", fields={"api_name": problem})
        if actor.workspace.meta().catalog(patch["api_name"]) is not None:
            raise DuplicateName(f"a catalog with api_name {patch['api_name']!r} exists")
        values["api_name"] = patch["api_name"]
    if "title_field" in patch:
        title = _pick_title(catalog.fields, patch["title_field"]) if patch["title_field"] else None
        values["title_field_id"] = title.id if title else None
    if "options" in patch:
        values["options"] = layout.clean_options(patch["options"], catalog.options)
    if "position" in patch:
        if not isinstance(patch["position"], int) or isinstance(patch["position"], bool):
            raise BadFieldSpec("position must be an integer", fields={"position": "integer"})
        values["position"] = patch["position"]
    if values:
        with _write(actor) as conn:
            conn.execute(
                sa.update(schema.catalogs).where(schema.catalogs.c.id == catalog.id).values(values)
            )
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
        raise BadFieldSpec(f"{key} must be true or false", fields={key: "must be a boolean"})
    return value


def _prepared(
    ftype: FieldType, meta: WorkspaceMeta, options: dict[str, Any], catalog_id: int, api: str
) -> dict[str, Any]:
    """Options resolved against the workspace by the type (link: its target catalog)."""
    try:
        return ftype.prepare_options(meta, options, catalog_id, api)
    except FieldValueError as exc:
        raise BadFieldSpec(exc.message, fields={"options": exc.short}) from None


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
        raise BadFieldSpec("a field must be an object")
    unknown = set(spec) - FIELD_KEYS - {"id"}
    if unknown:
        raise BadFieldSpec(
            f"unknown key(s): {', '.join(sorted(unknown))}",
            fields={k: "unknown key" for k in unknown},
        )
    ftype_name = spec.get("type")
    types = all_types()
    if ftype_name not in types:
        raise BadFieldSpec(
            f"unknown field type {ftype_name!r}",
            fields={"type": f"one of: {', '.join(sorted(types))}"},
        )
    ftype = types[ftype_name]
    name = _clean_name(spec.get("name") or spec.get("api_name"))
    taken = {f.api_name for f in existing}
    api_name = spec.get("api_name") or derive_api_name(name, taken)
    problem = check_api_name(api_name)
    if problem:
        raise BadFieldSpec(f"api_name {problem}", fields={"api_name": problem})
    if api_name in taken:
        raise DuplicateName(f"field api_name {api_name!r} already exists in this catalog")
    unique, indexed, required = (
        _flag(spec, "unique"),
        _flag(spec, "indexed"),
        _flag(spec, "required"),
    )
    if unique and not ftype.can_be_unique:
        raise BadFieldSpec(
            f"a {ftype_name} field cannot be unique", fields={"unique": "not allowed"}
        )
    if indexed and not ftype.can_be_indexed:
        raise BadFieldSpec(
            f"a {ftype_name} field cannot be indexed", fields={"indexed": "not allowed"}
        )
    if required and ftype.read_only:
        raise BadFieldSpec("a read-only field cannot be required", fields={"required": "read-only"})
    options = spec.get("options") or {}
    if not isinstance(options, dict):
        raise BadFieldSpec("options must be an object", fields={"options": "must be an object"})
    # null removes an option (a PATCH merges the options it sends into the stored ones)
    options, common = common_options.split({k: v for k, v in options.items() if v is not None})
    options = _prepared(ftype, actor.workspace.meta(), options, catalog_id, catalog_api)
    try:
        options = ftype.clean_options(options, previous)
    except FieldValueError as exc:
        raise BadFieldSpec(f"options: {exc.message}", fields={"options": exc.message}) from None
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
        raise BadFieldSpec(f"at most {MAX_FIELDS} fields per catalog")
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
        _bump(conn)
    invalidate(actor.workspace)
    return get_catalog(actor, catalog.id).by_id[field.id]


def get_field(actor: Actor, catalog_ref: str | int, field_ref: str | int) -> tuple[Catalog, Field]:
    """A catalog and one of its fields, or a NotFound."""
    catalog = get_catalog(actor, catalog_ref)
    field = catalog.field(field_ref)
    if field is None:
        raise FieldNotFound(f"field {field_ref!r} not found in catalog {catalog.api_name!r}")
    return catalog, field


def field_json(actor: Actor, catalog_ref: str | int, field_ref: str | int) -> dict[str, Any]:
    """One field as the actor may see it: only in catalogs they reach, never a hidden one
    (a hidden field answers like a field that does not exist)."""
    catalog, field = get_field(actor, catalog_ref, field_ref)
    access.require_catalog(actor, catalog)
    rule = access.field_rules(actor, catalog).get(field.api_name)
    if rule == "hidden":
        raise FieldNotFound(f"field {field_ref!r} not found in catalog {catalog.api_name!r}")
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
        raise BadFieldSpec("expected an object")
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
                raise BadFieldSpec(exc.message, fields={"options": exc.short}) from None
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
        _bump(conn)
    invalidate(actor.workspace)


def set_setting(actor: Actor, key: str, value: Any) -> None:
    """Store a workspace setting (e.g. `timezone`)."""
    if key == "timezone":
        try:
            ZoneInfo(str(value))
        except (KeyError, ValueError):
            raise BadFieldSpec(
                "unknown time zone", fields={"timezone": "unknown time zone"}
            ) from None
    with _write(actor) as conn:
        conn.execute(sa.delete(schema.settings).where(schema.settings.c.key == key))
        conn.execute(sa.insert(schema.settings).values(key=key, value=value))
        _bump(conn)
    invalidate(actor.workspace)

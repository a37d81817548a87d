"""Records, batch, history, comments, related records."""

from __future__ import annotations

from typing import Any

from fastapi import Depends, Header, Query, Request, Response

from kartoteka.comments import service as comments
from kartoteka.context import Actor
from kartoteka.duplicates.check import skipping
from kartoteka.errors import ItemError, ValidationFailed, problem
from kartoteka.filters.compiler import parse_filter_param
from kartoteka.records import service

from .. import records_json
from ..deps import actor, json_body, object_body
from ..direct import direct, plain_bool, plain_int, plain_query
from ..responses import JSONResponse, Router
from ..schemas import BATCH_BODY, MAX_RECORD_ID, QUERY_BODY, RECORD_BODY, RecordId, body_doc

router = Router(tags=["records"])

_ETAG = {
    "ETag": {
        "description": 'the record\'s version, quoted ("3"): send it back in If-Match',
        "schema": {"type": "string"},
    }
}
#: OpenAPI: the ETag of a record answer, and the 412 of a stale If-Match.
WITH_ETAG: dict[int | str, dict[str, Any]] = {200: {"description": "the record", "headers": _ETAG}}
_DUPLICATE = {
    "description": "DUPLICATE: a duplicate rule matched; `duplicates` lists, per item, the "
    "matching records you may see (repeat with `skip_duplicates=true` to write anyway)"
}
GUARDED: dict[int | str, dict[str, Any]] = {
    **WITH_ETAG,
    409: _DUPLICATE,
    412: {"description": "PRECONDITION_FAILED: changed since read; `current` is the record now"},
}
#: The query flag that writes even when a duplicate rule matches.
SkipDuplicates = Query(False, description="write even if a duplicate rule matches (no 409)")


def etag(record: dict[str, Any]) -> str:
    """The ETag of a record: its version, quoted (a strong validator)."""
    return f'"{record.get("version", 0)}"'


def if_match_version(header: str | None, body_version: int | None) -> int | None:
    """The version a write expects, from `If-Match` (or the body's `version`)."""
    if header is None or header.strip() == "*":
        return body_version
    tags = [t.strip() for t in header.split(",") if t.strip()]
    if len(tags) == 1:
        text = tags[0].removeprefix("W/").strip('"')
        if text.isdecimal() and len(text) < 20:
            return records_json.version(int(text), None, None)
    raise ValidationFailed(errors=[ItemError(None, None, "If-Match", "version")])


def _with_etag(record: dict[str, Any], status: int = 200) -> JSONResponse:
    return JSONResponse(record, status_code=status, headers={"ETag": etag(record)})


_LIST_TEXTS = ("filter", "sort", "cursor", "fields", "view", "search")
_LIST_QUERY = frozenset({*_LIST_TEXTS, "limit", "count"})


def _list_args(request: Request) -> dict[str, Any] | None:
    """`list_records`'s arguments from a plain query (see `direct`), else None."""
    query = plain_query(request, _LIST_QUERY)
    if query is None:
        return None
    limit = plain_int(query.pop("limit", "50"), 1, 1000)
    count = plain_bool(query.pop("count", "false"))
    if limit is None or count is None:
        return None
    texts = {name: query.get(name) for name in _LIST_TEXTS}
    return {"catalog": request.path_params["catalog"], "limit": limit, "count": count, **texts}


@router.get("/catalogs/{catalog}/records", summary="List records")
@direct(_list_args)
def list_records(
    catalog: str,
    filter: str | None = Query(None, description="filter JSON (see docs/api.md#filters)"),
    sort: str | None = Query(None, description="comma-separated api_names, '-' for descending"),
    limit: int = Query(50, ge=1, le=1000),
    cursor: str | None = None,
    fields: str | None = Query(None, description="comma-separated api_names to return"),
    view: str | None = Query(None, description="saved view id: its filter and sort apply"),
    count: bool = False,
    search: str | None = Query(
        None, description='full-text search: words, "phrases", prefix* (docs/search.md)'
    ),
    a: Actor = Depends(actor),
) -> dict[str, Any]:
    """A page of records with a stable keyset cursor."""
    return service.list_records(
        a,
        catalog,
        parse_filter_param(filter),
        sort,
        limit,
        cursor,
        fields,
        view,
        count,
        search=search,
    )


@router.post(
    "/catalogs/{catalog}/records/query",
    summary="Query records (filter in the body)",
    openapi_extra=body_doc(QUERY_BODY),
)
def query_records(
    catalog: str, a: Actor = Depends(actor), body: Any = Depends(json_body)
) -> dict[str, Any]:
    """Same as the list, with parameters as a JSON body."""
    body = object_body(body) if body is not None else {}
    allowed = {"filter", "sort", "limit", "cursor", "fields", "view", "count", "search"}
    unknown = set(body) - allowed
    if unknown:
        raise ValidationFailed(errors=[problem("unknown_key", k) for k in sorted(unknown)])
    return service.list_records(
        a,
        catalog,
        body.get("filter"),
        body.get("sort"),
        body.get("limit"),
        body.get("cursor"),
        body.get("fields"),
        body.get("view"),
        bool(body.get("count")),
        search=body.get("search"),
    )


@router.post(
    "/catalogs/{catalog}/records",
    status_code=201,
    summary="Create a record",
    openapi_extra=body_doc(RECORD_BODY),
    responses={409: _DUPLICATE},
)
def create_record(
    catalog: str,
    a: Actor = Depends(actor),
    body: Any = Depends(json_body),
    skip_duplicates: bool = SkipDuplicates,
) -> JSONResponse:
    """Create one record."""
    values, _ = records_json.record_write(object_body(body))
    with skipping(skip_duplicates):
        return _with_etag(service.create_record(a, catalog, values), 201)


@router.post(
    "/catalogs/{catalog}/records/batch",
    summary="Batch create/update/delete/upsert",
    openapi_extra=body_doc(BATCH_BODY),
    responses={409: _DUPLICATE},
)
def batch(
    catalog: str,
    a: Actor = Depends(actor),
    body: Any = Depends(json_body),
    skip_duplicates: bool = SkipDuplicates,
) -> dict[str, Any]:
    """Up to 1000 records in one transaction, all or nothing."""
    request = records_json.batch_request(body)
    with skipping(skip_duplicates):
        return records_json.batch_result(service.batch(a, catalog, request))


def _get_args(request: Request) -> dict[str, Any] | None:
    """`get_record`'s arguments from a plain path and query (see `direct`), else None."""
    query = plain_query(request, frozenset({"fields"}))
    record_id = plain_int(request.path_params["record_id"], 1, MAX_RECORD_ID)
    if query is None or record_id is None:
        return None
    path = request.path_params
    return {"catalog": path["catalog"], "record_id": record_id, "fields": query.get("fields")}


@router.get("/catalogs/{catalog}/records/{record_id}", summary="Get a record", responses=WITH_ETAG)
@direct(_get_args, inline=True)
def get_record(
    catalog: str, record_id: RecordId, fields: str | None = None, a: Actor = Depends(actor)
) -> JSONResponse:
    """One record."""
    only = [f for f in fields.split(",") if f] if fields else None
    return _with_etag(service.get_record(a, catalog, record_id, only))


@router.patch(
    "/catalogs/{catalog}/records/{record_id}",
    summary="Change a record",
    openapi_extra=body_doc(RECORD_BODY),
    responses=GUARDED,
)
def update_record(
    catalog: str,
    record_id: RecordId,
    a: Actor = Depends(actor),
    body: Any = Depends(json_body),
    if_match: str | None = Header(None, description="the ETag read; 412 if changed since"),
    skip_duplicates: bool = SkipDuplicates,
) -> JSONResponse:
    """Change only the given fields (only if still at the `If-Match` version, when given)."""
    values, version = records_json.record_write(object_body(body))
    version = if_match_version(if_match, version)
    with skipping(skip_duplicates):
        record = service.update_record(a, catalog, record_id, values, version=version)
    return _with_etag(record)


@router.delete(
    "/catalogs/{catalog}/records/{record_id}",
    status_code=204,
    summary="Delete a record",
    responses={412: GUARDED[412]},
)
def delete_record(
    catalog: str,
    record_id: RecordId,
    a: Actor = Depends(actor),
    if_match: str | None = Header(None, description="the ETag read; 412 if changed since"),
) -> Response:
    """Delete a record; links to it are removed (only if still at the `If-Match` version)."""
    service.delete_record(a, catalog, record_id, version=if_match_version(if_match, None))
    return Response(status_code=204)


@router.get("/catalogs/{catalog}/records/{record_id}/history", summary="History of a record")
def history(catalog: str, record_id: RecordId, a: Actor = Depends(actor)) -> dict[str, Any]:
    """Every change with old and new values and author."""
    return {"items": service.record_history(a, catalog, record_id)}


@router.get("/catalogs/{catalog}/records/{record_id}/comments", summary="Comments of a record")
def list_comments(catalog: str, record_id: RecordId, a: Actor = Depends(actor)) -> dict[str, Any]:
    """Comments, oldest first."""
    return {"items": comments.list_comments(a, catalog, record_id)}


@router.post(
    "/catalogs/{catalog}/records/{record_id}/comments",
    status_code=201,
    summary="Comment on a record",
)
def add_comment(
    catalog: str, record_id: RecordId, a: Actor = Depends(actor), body: Any = Depends(json_body)
) -> dict[str, Any]:
    """Add a comment `{"text"}`."""
    return comments.add_comment(a, catalog, record_id, body)


@router.get("/catalogs/{catalog}/records/{record_id}/related", summary="Records linking here")
def related(catalog: str, record_id: RecordId, a: Actor = Depends(actor)) -> dict[str, Any]:
    """Records of other catalogs that link to this one, grouped by catalog and field."""
    return {"items": service.related_records(a, catalog, record_id)}

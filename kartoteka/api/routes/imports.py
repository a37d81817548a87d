"""Imports (CSV/XLSX upload, background job with progress) and streamed exports."""

from __future__ import annotations

from typing import Any

from fastapi import Depends, File, Form, Query, Request, UploadFile
from starlette.responses import StreamingResponse

from kartoteka.context import Actor
from kartoteka.exporter import service as exporter
from kartoteka.filters.compiler import parse_filter_param
from kartoteka.importer import jobs, preview, resume
from kartoteka.messages import message

from ..deps import actor
from ..errors import request_lang
from ..responses import Router
from ..schemas import Id

router = Router(tags=["imports"])

OPTIONS_DOC = (
    'JSON: {"mode": "create|upsert|update", "key": [api_name...], "mapping": {"column": '
    '"api_name"}, "dry_run": bool, "on_error": "skip|stop", "link_keys": {"<link field>": '
    '"<key field of the linked catalog>"}, "create_missing": [link field...], '
    '"list_separator", "encoding", "delimiter", "date_format" ("dd.mm.yyyy", "дд.мм.гггг" or '
    '"%d.%m.%Y"), "decimal_comma": bool, "sheet": name or number, "skip_webhooks": bool, '
    '"skip_scenarios": bool} (see docs/import.md)'
)


@router.post("/catalogs/{catalog}/imports", status_code=202, summary="Import a CSV or XLSX file")
def create_import(
    catalog: str,
    file: UploadFile = File(..., description="a CSV (any delimiter, UTF-8 or cp1251) or XLSX"),
    options: str | None = Form(None, description=OPTIONS_DOC),
    a: Actor = Depends(actor),
) -> dict[str, Any]:
    """Check the file and options, then import in the background; poll the returned id."""
    job_id = jobs.start_import(a, catalog, file.file, file.filename or "", options)
    return {"id": job_id}


@router.get("/imports/{job_id}", summary="Progress and result of an import")
def get_import(request: Request, job_id: Id, a: Actor = Depends(actor)) -> dict[str, Any]:
    """Status (queued, running, done, failed), counts and the first errors (each error's
    `message` in the Accept-Language, with its `code` and `params` where known)."""
    job = jobs.get_import(a, job_id)
    lang = request_lang(request)
    job["error_sample"] = [
        {**e, "message": message(e["code"], e.get("params"), lang)} if e.get("code") else e
        for e in job.get("error_sample") or []
    ]
    return job


@router.post("/imports/{job_id}/cancel", summary="Cancel an import")
def cancel_import(job_id: Id, a: Actor = Depends(actor)) -> dict[str, Any]:
    """Stop a queued or running import after its current chunk (`409` once finished);
    rows of finished chunks stay, a dry run writes nothing. Returns the job."""
    return jobs.cancel_import(a, job_id)


@router.post("/imports/{job_id}/resume", summary="Resume a stopped import")
def resume_import(job_id: Id, a: Actor = Depends(actor)) -> dict[str, Any]:
    """Carry on an interrupted or cancelled import after its last committed chunk (`409`
    if it is running, done, a dry run, or its file is gone). Returns the job."""
    return resume.resume_import(a, job_id)


@router.get("/imports/{job_id}/errors", summary="The error file of an import")
def import_errors(job_id: Id, a: Actor = Depends(actor)) -> StreamingResponse:
    """CSV (UTF-8 with BOM): every refused row with the file's own columns, then `line`,
    `column` and `error`."""
    name, body = resume.error_file(a, job_id)
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    return StreamingResponse(body, media_type="text/csv; charset=utf-8", headers=headers)


@router.get("/catalogs/{catalog}/export", summary="Export records as a file")
def export(
    catalog: str,
    format: str = Query("csv", description="csv, xlsx (typed cells), jsonl or parquet"),
    encoding: str | None = Query(
        None, description="csv only: utf-8 (default, with a BOM) or windows-1251"
    ),
    delimiter: str | None = Query(None, description="csv only: ',' (default), ';' or 'tab'"),
    filter: str | None = Query(None, description="filter JSON (see docs/api.md#filters)"),
    view: str | None = Query(None, description="saved view id: its filter, sort and fields"),
    fields: str | None = Query(None, description="comma-separated api_names to export"),
    sort: str | None = Query(None, description="comma-separated api_names, '-' for descending"),
    a: Actor = Depends(actor),
) -> StreamingResponse:
    """Stream every record the actor may see that matches the filter and view, with the
    fields they may see (masked ones masked)."""
    result = exporter.export_records(
        a,
        catalog,
        format,
        parse_filter_param(filter),
        view,
        fields,
        sort,
        encoding=encoding,
        delimiter=delimiter,
    )
    headers = {"Content-Disposition": result.content_disposition}
    return StreamingResponse(result.body, media_type=result.media_type, headers=headers)


@router.post("/catalogs/{catalog}/imports/preview", summary="Look at a file before importing it")
def preview_import(
    catalog: str,
    file: UploadFile = File(..., description="the CSV, TSV or XLSX file (a CSV's head is enough)"),
    options: str | None = Form(None, description='JSON: {"encoding", "delimiter"} to override'),
    a: Actor = Depends(actor),
) -> dict[str, Any]:
    """Detected kind, encoding and delimiter, the headers, the first rows, the writable
    fields and a suggested mapping (header -> api_name). Nothing is stored or written."""
    path = jobs.save_upload(a.workspace, file.file, file.filename or "")
    try:
        return preview.preview_import(a, catalog, path, options)
    finally:
        path.unlink(missing_ok=True)

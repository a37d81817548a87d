"""Import helpers: a CSV in any encoding or a workbook, an import run through the API until
it ends, the records it left."""

from __future__ import annotations

import csv
import io
import json
import time
from typing import Any

FINISHED = ("done", "failed", "cancelled", "interrupted")


def csv_bytes(rows: list[list[Any]], delimiter: str = ",", encoding: str = "utf-8") -> bytes:
    """Rows as a CSV file's bytes."""
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter).writerows(rows)
    return buffer.getvalue().encode(encoding)


def post_file(
    api,
    path: str,
    content: bytes,
    options: dict[str, Any] | None = None,
    filename: str = "data.csv",
):
    """POST a file (and options as JSON) to an import endpoint; the raw response."""
    data = {"options": json.dumps(options)} if options is not None else {}
    return api.client.post(api.url(path), files={"file": (filename, content)}, data=data)


def upload(api, catalog: str, content: bytes, options: dict[str, Any] | None = None,
           filename: str = "data.csv") -> Any:  # fmt: skip
    """POST an import; returns the raw response."""
    data = {"options": json.dumps(options)} if options is not None else {}
    return api.client.post(
        api.url(f"/catalogs/{catalog}/imports"), files={"file": (filename, content)}, data=data
    )


def wait_job(api, job_id: int) -> dict[str, Any]:
    """Poll a job until it is finished (not a timing check: the thread does the work)."""
    for _ in range(2400):
        job = api.get(f"/imports/{job_id}").json()
        if job["status"] in FINISHED:
            return dict(job)
        time.sleep(0.05)
    raise AssertionError(f"import {job_id} did not finish: {job}")


def run_import(api, catalog: str, content: bytes, options: dict[str, Any] | None = None,
               filename: str = "data.csv") -> dict[str, Any]:  # fmt: skip
    """Import and wait for the job to finish; returns the final job JSON."""
    r = upload(api, catalog, content, options, filename)
    assert r.status_code == 202, r.text
    return wait_job(api, r.json()["id"])


def workbook(sheets: dict[str, list[list[Any]]], active: int = 0) -> bytes:
    """An XLSX workbook with these sheets (in order), opening on sheet `active`."""
    import openpyxl

    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    book.active = active
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def records(api, catalog: str, **params: Any) -> list[dict[str, Any]]:
    """Every record of a catalog (up to 1000), by id."""
    r = api.get(f"/catalogs/{catalog}/records", params={"limit": 1000, "sort": "id", **params})
    assert r.status_code == 200, r.text
    return list(r.json()["items"])


def count(api, catalog: str) -> int:
    """How many records a catalog holds."""
    r = api.get(f"/catalogs/{catalog}/records", params={"count": "true", "limit": 1})
    assert r.status_code == 200, r.text
    return int(r.json()["count"])

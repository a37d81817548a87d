"""Import helpers: a CSV in any encoding, an import run through the API until it ends."""

from __future__ import annotations

import csv
import io
import json
import time
from typing import Any

FINISHED = ("done", "failed", "cancelled")


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


def wait_import(api, job_id: int) -> dict[str, Any]:
    """Poll an import job until it has finished; its final JSON."""
    for _ in range(1200):  # until the background thread is done (not a timing check)
        job = api.get(f"/imports/{job_id}").json()
        if job["status"] in FINISHED:
            return job
        time.sleep(0.05)
    raise AssertionError(f"import {job_id} did not finish: {job}")

"""What hostile files cost the server: a 5 KB XLSX declaring `A1:XFD1048576` read by the
import reader, and a 9000x9000 PNG asked for a thumbnail. Baselines in the same run:
the same reader on an honest workbook with the same cells, and a thumbnail of a
2000x2000 PNG. No database is involved (`--database-url` is accepted and ignored).

    .venv/bin/python bench/bench_hostile_files.py [--quick] [--json PATH]
"""

from __future__ import annotations

import argparse
import io
import re
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import orjson
from PIL import Image

from kartoteka.errors import DomainError
from kartoteka.files.service import make_thumbnail
from kartoteka.importer.readers import open_source


def _xlsx(dimension: str | None) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet["A1"], sheet["A2"], sheet["A1048576"] = "name", "first", "last"
    raw = io.BytesIO()
    book.save(raw)
    if dimension is None:
        return raw.getvalue()
    src, out = zipfile.ZipFile(io.BytesIO(raw.getvalue())), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                ref = f'<dimension ref="{dimension}"/>'.encode()
                data = re.sub(rb'<dimension ref="[^"]*" ?/>', ref, data)
            dst.writestr(item, data)
    return out.getvalue()


def _read_rows(content: bytes, folder: Path) -> tuple[float, int]:
    path = folder / "book.xlsx"
    path.write_bytes(content)
    started = time.perf_counter()
    rows = open_source(path).count_rows(2_000_000)
    return time.perf_counter() - started, rows


def _thumbnail(side: int) -> tuple[float, str]:
    raw = io.BytesIO()
    Image.new("RGB", (side, side), (200, 10, 10)).save(raw, "PNG")
    started = time.perf_counter()
    try:
        make_thumbnail(io.BytesIO(raw.getvalue()))
        outcome = "thumbnail"
    except DomainError as exc:
        outcome = f"refused ({type(exc).__name__})"
    return time.perf_counter() - started, outcome


def main() -> None:
    """Measure and print the table."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json")
    parser.add_argument("--database-url")
    args = parser.parse_args()
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        honest = _xlsx(None)
        hostile = _xlsx("A1:XFD1048576")
        base_s, base_rows = _read_rows(honest, Path(tmp))
        bad_s, bad_rows = _read_rows(hostile, Path(tmp))
        results.append(
            {"measure": f"hostile XLSX ({len(hostile)} B, A1:XFD1048576), rows {bad_rows}",
             "seconds": round(bad_s, 3),
             "baseline": f"{base_s:.3f} s (same cells, honest dimension, rows {base_rows})"}
        )  # fmt: skip
    small_s, small = _thumbnail(2000)
    big_s, big = _thumbnail(4000 if args.quick else 9000)
    side = 4000 if args.quick else 9000
    results.append(
        {"measure": f"{side}x{side} PNG thumbnail: {big}", "seconds": round(big_s, 4),
         "baseline": f"{small_s:.3f} s (2000x2000 PNG: {small})"}
    )  # fmt: skip
    print("| measure | seconds | baseline |\n|---|---|---|")
    for r in results:
        print(f"| {r['measure']} | {r['seconds']} | {r['baseline']} |")
    if args.json:
        Path(args.json).write_bytes(orjson.dumps(results))


if __name__ == "__main__":
    main()

"""Run every benchmark on each database, print one table, write docs/benchmarks.md.

    .venv/bin/python bench/run_all.py                      # SQLite, full size
    .venv/bin/python bench/run_all.py --database-url sqlite \\
        --database-url postgresql://postgres@127.0.0.1:5432/postgres
    .venv/bin/python bench/run_all.py --quick --no-write   # a smoke run
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from common import ROOT, Row, machine, postgres_version, table_lines

BENCHES = ("batch", "list", "http", "rights", "read")
DOC = ROOT / "docs" / "benchmarks.md"
NOTES_MARKER = "<!-- hand-written notes below: run_all.py keeps them -->"


def run_one(bench: str, url: str | None, quick: bool, timeout: float) -> dict[str, Any]:
    """One benchmark program in a subprocess; its JSON results (or the error)."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as tmp:
        out = Path(tmp.name)
    cmd = [sys.executable, str(Path(__file__).parent / f"bench_{bench}.py"), "--json", str(out)]
    if url:
        cmd += ["--database-url", url]
    if quick:
        cmd.append("--quick")
    load_before = os.getloadavg()[0]
    start = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        print(proc.stdout, end="")
        if proc.returncode != 0:
            return {
                "bench": f"bench_{bench}",
                "database": url or "sqlite",
                "error": proc.stderr.strip().splitlines()[-1:] or ["failed"],
            }
        data = json.loads(out.read_text())
    except subprocess.TimeoutExpired:
        return {
            "bench": f"bench_{bench}",
            "database": url or "sqlite",
            "error": [f"timed out after {timeout:.0f}s"],
        }
    finally:
        out.unlink(missing_ok=True)
    data["seconds"] = round(time.perf_counter() - start, 1)
    data["load"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
    return data


def markdown_table(rows: list[Row]) -> str:
    """A result table as Markdown."""
    lines = table_lines(rows)
    out = ["| " + " | ".join(lines[0]) + " |", "|" + "---|" * len(lines[0])]
    out += ["| " + " | ".join(c.replace("|", "/") for c in line) + " |" for line in lines[1:]]
    return "\n".join(out)


def versions(urls: list[str | None]) -> dict[str, str]:
    """Versions of everything that shapes the numbers."""
    info = machine()
    for pkg in ("fastapi", "starlette", "uvicorn", "psycopg", "orjson", "httpx"):
        try:
            info[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            info[pkg] = "absent"
    for url in urls:
        if url:
            try:
                info["postgresql"] = postgres_version(url)
            except Exception as exc:  # noqa: BLE001 - only a label in the report
                info["postgresql"] = f"unreachable ({type(exc).__name__})"
    info["wrk"] = (
        "yes"
        if any(os.access(os.path.join(p, "wrk"), os.X_OK) for p in os.environ["PATH"].split(":"))
        else "no (httpx load generator)"
    )
    return info


def kept_notes() -> str:
    """The hand-written analysis below the marker of the current doc (kept on rewrite)."""
    if not DOC.exists():
        return ""
    _, marker, notes = DOC.read_text().partition(NOTES_MARKER)
    return notes.lstrip("\n") if marker else ""


def write_doc(results: list[dict[str, Any]], info: dict[str, str], quick: bool) -> None:
    """docs/benchmarks.md: the machine, the versions, one table per program and database."""
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    parts = [
        "# Benchmarks",
        "",
        "Written by `bench/run_all.py` (see `bench/README.md` for what each program measures "
        "and how to run it). Every table compares with a baseline measured in the same run.",
        "",
        f"- date: {now}{' (quick sizes)' if quick else ''}",
        f"- machine: {info['cpu']}, {info['cores']} cores, {info['ram']} RAM; {info['os']}",
        f"- Python {info['python']}, SQLite {info['sqlite']}, PostgreSQL "
        f"{info.get('postgresql', 'not run')}, SQLAlchemy {info['sqlalchemy']}, "
        f"FastAPI {info['fastapi']}, Starlette {info['starlette']}, uvicorn {info['uvicorn']}, "
        f"psycopg {info['psycopg']}, orjson {info['orjson']}",
        f"- HTTP load: wrk installed: {info['wrk']}",
        "",
    ]
    for r in results:
        parts.append(f"## {r['bench']} on {r['database']}")
        parts.append("")
        if "error" in r:
            parts += [f"Did not finish: `{' '.join(r['error'])}`", ""]
            continue
        parts.append(
            f"Sizes: {r['sizes']}. Took {r['seconds']} s; load average "
            f"before/after: {r['load'][0]} / {r['load'][1]}."
        )
        parts += ["", markdown_table([Row(**row) for row in r["rows"]]), ""]
    parts += [NOTES_MARKER, kept_notes()]
    DOC.parent.mkdir(exist_ok=True)
    DOC.write_text("\n".join(parts))


def main() -> None:
    """Run the chosen benchmarks on the chosen databases."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--database-url",
        action="append",
        default=None,
        help="repeatable; 'sqlite' or unset means SQLite in a temp dir",
    )
    p.add_argument("--quick", action="store_true", help="small sizes")
    p.add_argument(
        "--only", default=",".join(BENCHES), help="comma-separated: batch,list,http,rights,read"
    )
    p.add_argument("--timeout", type=float, default=1500, help="seconds per program")
    p.add_argument("--no-write", action="store_true", help="do not write docs/benchmarks.md")
    args = p.parse_args()
    urls = [None if u in (None, "", "sqlite") else u for u in (args.database_url or [None])]
    results = []
    for url in urls:
        for bench in args.only.split(","):
            results.append(run_one(bench.strip(), url, args.quick, args.timeout))
    print("\n=== summary ===")
    for r in results:
        print(f"\n{r['bench']} on {r['database']}")
        if "error" in r:
            print("  FAILED:", " ".join(r["error"]))
            continue
        for row in r["rows"]:
            ok = "" if row["ok"] is None else (" ok" if row["ok"] else " MISSED")
            print(f"  {row['name']}: {row['value']:.2f} {row['unit']}{ok}")
    if not args.no_write:
        write_doc(results, versions(urls), args.quick)
        print(f"\nwrote {DOC}")


if __name__ == "__main__":
    main()

"""Bundled front-end files: `npm run build` writes them, fingerprinted, to static/dist/.

The pages ask `url("app.js")` and get `/static/dist/app-<hash>.js` from the manifest the
build wrote. Fingerprinted names let the browser cache them for a year.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

DIST = Path(__file__).parent / "static" / "dist"
MANIFEST = DIST / "manifest.json"


@cache
def manifest() -> dict[str, Any]:
    """Logical name -> built file name (empty when the assets were never built)."""
    if not MANIFEST.is_file():
        return {}
    data: dict[str, Any] = json.loads(MANIFEST.read_text(encoding="utf-8"))
    return data


def url(name: str) -> str:
    """The URL of a built asset (unbuilt assets get their plain name, which answers 404)."""
    return "/static/dist/" + str(manifest().get(name, name))


def preloads(*names: str) -> list[str]:
    """URLs of the chunks the named entries import (for `<link rel=modulepreload>`)."""
    seen: list[str] = []
    for name in names:
        for chunk in manifest().get(f"{name}:imports", []):
            link = "/static/dist/" + chunk
            if link not in seen:
                seen.append(link)
    return seen


def build_in_checkout() -> bool:
    """Run `npm run build` in a source checkout whose assets were never built.

    For development and tests: an installed wheel carries the built files, and a checkout
    gets them from scripts/setup.sh, but a fresh worktree may not have run it yet.
    Returns whether the manifest exists afterwards.
    """
    root = Path(__file__).parents[2]
    npm = shutil.which("npm")
    if not MANIFEST.is_file() and npm and (root / "node_modules" / "esbuild").is_dir():
        subprocess.run([npm, "run", "--silent", "build"], cwd=root, check=True)
        manifest.cache_clear()
    return MANIFEST.is_file()

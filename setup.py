"""The wheel build step for the UI's assets (everything else is in pyproject.toml).

`build_py` runs `npm ci` and `npm run build` when kartoteka/web/static/dist has no
manifest yet, so a wheel built from a checkout carries the bundled, fingerprinted
JavaScript and CSS (they are never committed). Set KARTOTEKA_SKIP_ASSETS=1 to build
without them (the UI then lacks its scripts and styles).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).parent
MANIFEST = ROOT / "kartoteka" / "web" / "static" / "dist" / "manifest.json"


class BuildWithAssets(build_py):
    """build_py that bundles the UI's assets first when they are missing."""

    def run(self) -> None:
        # An editable install serves the checkout, where scripts/setup.sh builds the assets.
        wanted = not self.editable_mode and not os.environ.get("KARTOTEKA_SKIP_ASSETS")
        if wanted and not MANIFEST.is_file():
            npm = shutil.which("npm")
            if npm is None:
                raise SystemExit("npm builds the UI assets (or set KARTOTEKA_SKIP_ASSETS=1)")
            subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=ROOT, check=True)
            subprocess.run([npm, "run", "build"], cwd=ROOT, check=True)
        super().run()


setup(cmdclass={"build_py": BuildWithAssets})

"""The package stands on its own: a wheel built from the repository serves the UI.

The slow test copies the tracked files (no node_modules, no built assets), builds a
wheel with pip (setup.py's build step runs `npm ci` and the esbuild bundle), installs
it into a fresh virtualenv outside the repository and runs `kartoteka serve` on a new
data directory from there. Dependencies come from the test environment (a `.pth`
line to its site-packages, behind the virtualenv's own), so the run needs no package
index; KARTOTEKA_WHEEL_TEST_FULL_INSTALL=1 installs them from the index instead.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from kartoteka import __version__
from kartoteka.cli import app

ROOT = Path(__file__).resolve().parent.parent
#: The built package must carry these (besides the Python modules).
REQUIRED = (
    "kartoteka/web/static/dist/manifest.json",
    "kartoteka/web/static/favicon.svg",
    "kartoteka/web/templates/layout/base.html",
    "kartoteka/web/locales/ru/LC_MESSAGES/messages.po",
    "kartoteka/storage/alembic.ini",
    "kartoteka/storage/migrations/env.py",
    "kartoteka/storage/migrations/versions/0001_initial_platform_tables.py",
)
ASSET = re.compile(r"""(?:src|href)=["'](/static/[^"'?#]+)""")
CSS_URL = re.compile(r"""url\(["']?(/static/[^"')?#]+)""")


def test_version_option() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output.strip() == f"kartoteka {__version__}"


def _copy_tracked(destination: Path) -> None:
    """The files git tracks (what a fresh clone has), without anything built or installed."""
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout.split(b"\0")
    for name in filter(None, (n.decode() for n in listed)):
        source = ROOT / name
        if source.is_file():
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A wheel built by pip from a copy of the repository."""
    if os.environ.get("KARTOTEKA_TEST_DATABASE_URL"):
        pytest.skip("the package does not depend on the database: built on the SQLite run only")
    if shutil.which("npm") is None or not (ROOT / ".git").exists():
        pytest.skip("needs npm and a git checkout")
    work = tmp_path_factory.mktemp("wheel")
    source, out = work / "src", work / "dist"
    _copy_tracked(source)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(source)],
        check=True,
        capture_output=True,
        env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
        timeout=600,
    )
    (built,) = out.glob("kartoteka-*.whl")
    return built


def _venv(where: Path, wheel: Path) -> Path:
    """A fresh virtualenv with the wheel installed; returns its bin directory."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(where)], check=True)
    python = where / "bin" / "python"
    install = [sys.executable, "-m", "pip", "--python", str(python), "install", "-q"]
    if os.environ.get("KARTOTEKA_WHEEL_TEST_FULL_INSTALL"):
        subprocess.run([*install, str(wheel)], check=True, timeout=900)
    else:
        subprocess.run([*install, "--no-deps", str(wheel)], check=True, timeout=300)
        site = subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
        Path(site, "zz_test_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return where / "bin"


def _outside_env() -> dict[str, str]:
    """The environment without this checkout's settings or Python path."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("KARTOTEKA_", "PYTHON"))}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def served(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """`kartoteka serve` of the installed wheel on a new data dir, run from outside the repo."""
    outside = tmp_path_factory.mktemp("outside")
    bin_dir = _venv(outside / "venv", wheel)
    env = _outside_env()
    env.update(KARTOTEKA_ADMIN_PASSWORD="correct-horse-battery", KARTOTEKA_LOG_FORMAT="json")
    port = _free_port()
    log = (outside / "serve.log").open("wb")
    proc = subprocess.Popen(
        [str(bin_dir / "kartoteka"), "--data-dir", str(outside / "data"), "serve",
         "--port", str(port)],
        cwd=outside, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None, (outside / "serve.log").read_text()[-3000:]
            try:
                if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "kartoteka serve did not start"
            time.sleep(0.3)
        yield base, bin_dir
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


@pytest.mark.slow
def test_the_wheel_carries_assets_templates_locales_and_migrations(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = [n for n in REQUIRED if n not in names]
    assert not missing, missing
    bundles = [n for n in names if n.startswith("kartoteka/web/static/dist/app-")]
    assert any(n.endswith(".js") for n in bundles) and any(n.endswith(".css") for n in bundles)
    assert not any("node_modules" in n for n in names)


@pytest.mark.slow
def test_the_installed_wheel_serves_the_ui(served: tuple[str, Path]) -> None:
    base, bin_dir = served
    version = subprocess.run(
        [str(bin_dir / "kartoteka"), "--version"],
        capture_output=True, text=True, check=True, env=_outside_env(),
    )  # fmt: skip
    assert version.stdout.strip() == f"kartoteka {__version__}"
    where = subprocess.run(
        [str(bin_dir / "python"), "-c", "import kartoteka; print(kartoteka.__file__)"],
        capture_output=True, text=True, check=True, cwd=bin_dir.parent, env=_outside_env(),
    ).stdout  # fmt: skip
    assert str(bin_dir.parent) in where and str(ROOT) not in where  # the wheel, not the repo
    assert httpx.get(base + "/healthz").json() == {"status": "ok"}
    login = httpx.get(base + "/login")
    assert login.status_code == 200 and "<form" in login.text
    russian = httpx.get(base + "/login", headers={"Accept-Language": "ru"})
    assert "Войти" in russian.text  # the locales came along
    assets = set(ASSET.findall(login.text))
    assert any(a.endswith(".js") for a in assets) and any(a.endswith(".css") for a in assets)
    checked: set[str] = set()
    while assets:
        path = assets.pop()
        checked.add(path)
        answer = httpx.get(base + path)
        assert answer.status_code == 200 and answer.content, path
        if path.endswith(".css"):
            assets |= set(CSS_URL.findall(answer.text)) - checked

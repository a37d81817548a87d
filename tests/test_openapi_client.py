"""A Python client generated from the per-catalog document type-checks and works.

openapi-python-client pins an older Typer than Kartoteka, so it runs from a tool
virtualenv of its own (made once, kept under ~/.cache; it needs the package index the
first time). The generated package and a program using it are checked with mypy,
then the program runs against the app in-process.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import ADMIN_EMAIL, ADMIN_PASSWORD, Api
from fastapi.testclient import TestClient

GENERATOR = "openapi-python-client==0.29.1"
TOOLS = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "kartoteka-test-tools"

USAGE = '''
"""What an integrator writes with the generated client (checked by mypy, then run)."""

from crm_client import AuthenticatedClient
from crm_client.api.deals import create_deals, get_deals, list_deals
from crm_client.models import Deals, DealsInput, DealsInputValues, DealsPage, Error


def run(client: AuthenticatedClient) -> dict[str, object]:
    made = create_deals.sync(
        client=client, body=DealsInput(values=DealsInputValues(title="Big", amount="12.50"))
    )
    assert isinstance(made, Deals)
    for n in range(3):
        create_deals.sync(client=client, body=DealsInput(values=DealsInputValues(title=f"d{n}")))
    titles: list[str] = []
    cursor: str | None = None
    while True:
        page = list_deals.sync(client=client, limit=2, cursor=cursor) if cursor else (
            list_deals.sync(client=client, limit=2)
        )
        assert isinstance(page, DealsPage)
        titles += [str(d.values.title) for d in page.items]
        if not isinstance(page.next_cursor, str):
            break
        cursor = page.next_cursor
    missing = get_deals.sync(client=client, id=999999)
    assert isinstance(missing, Error)
    bad = create_deals.sync(client=client, body=DealsInput(values=DealsInputValues(title="")))
    assert isinstance(bad, Error)
    amount: str | None = made.values.amount if isinstance(made.values.amount, str) else None
    return {"titles": titles, "amount": amount, "missing": missing.error, "bad": bad.error}
'''


def _tool_python() -> Path:
    """The tool virtualenv's python, with the pinned generator installed."""
    venv = TOOLS / GENERATOR.replace("==", "-")
    python = venv / "bin" / "python"
    if not (venv / "bin" / "openapi-python-client").exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", GENERATOR],
            check=True,
            timeout=600,
        )
    return python


@pytest.fixture
def generated(api: Api, tmp_path: Path) -> Iterator[Path]:
    """The client generated from the document of a workspace with a `deals` catalog."""
    try:
        _tool_python()
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
        pytest.skip(f"cannot install {GENERATOR}: {exc}")
    api.catalog(
        "Deals",
        [
            {"name": "Title", "type": "text", "required": True},
            {"name": "Amount", "type": "money", "options": {"decimals": 2}},
            {"name": "Stage", "type": "select",
             "options": {"choices": [{"label": "New"}, {"label": "Won"}]}},
        ],
    )  # fmt: skip
    spec = tmp_path / "catalogs.json"
    spec.write_bytes(api.get("/openapi/catalogs.json").content)
    tool = TOOLS / GENERATOR.replace("==", "-") / "bin" / "openapi-python-client"
    subprocess.run(
        [str(tool), "generate", "--path", str(spec), "--meta", "none",
         "--output-path", str(tmp_path / "crm_client")],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    (tmp_path / "usage.py").write_text(textwrap.dedent(USAGE))
    sys.path.insert(0, str(tmp_path))
    yield tmp_path
    sys.path.remove(str(tmp_path))
    for name in [m for m in sys.modules if m == "usage" or m.startswith("crm_client")]:
        del sys.modules[name]


def test_generated_client_type_checks_and_works(generated: Path, client: TestClient) -> None:
    checked = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--cache-dir", os.devnull,
         "--ignore-missing-imports", "crm_client", "usage.py"],
        cwd=generated, capture_output=True, text=True,
    )  # fmt: skip
    assert checked.returncode == 0, checked.stdout[-3000:]

    from crm_client import AuthenticatedClient  # type: ignore[import-not-found]
    from usage import run  # type: ignore[import-not-found]

    token = client.post(
        "/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
    ).json()["token"]
    with TestClient(client.app, base_url="http://testserver/api/v1") as http:
        http.headers["Authorization"] = f"Bearer {token}"
        typed = AuthenticatedClient(base_url="http://testserver/api/v1", token=token)
        typed.set_httpx_client(http)
        result: dict[str, Any] = run(typed)
    assert result["titles"] == ["Big", "d0", "d1", "d2"]
    assert result["amount"] == "12.50"
    assert result["missing"] == "NOT_FOUND" and result["bad"] == "VALIDATION"

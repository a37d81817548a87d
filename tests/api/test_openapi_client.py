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


GENERIC_USAGE = '''
"""A catalog, records and an error through the client of the generic document."""

from kt_client import AuthenticatedClient
from kt_client.api.catalogs import create_catalog_api_v1_catalogs_post as create_catalog
from kt_client.api.records import batch_api_v1_catalogs_catalog_records_batch_post as batch
from kt_client.api.records import get_record_api_v1_catalogs_catalog_records_record_id_get as get
from kt_client.api.records import list_records_api_v1_catalogs_catalog_records_get as list_records
from kt_client.models import BatchApiV1CatalogsCatalogRecordsBatchPostBody as BatchBody
from kt_client.models import BatchApiV1CatalogsCatalogRecordsBatchPostBodyCreateItem as NewRecord
from kt_client.models import (
    BatchApiV1CatalogsCatalogRecordsBatchPostBodyCreateItemValues as NewValues,
)
from kt_client.models import BatchResult, Catalog, Error, RecordPage
from kt_client.models import CreateCatalogApiV1CatalogsPostBody as CatalogBody
from kt_client.models import CreateCatalogApiV1CatalogsPostBodyFieldsItem as FieldSpec
from kt_client.models import CreateCatalogApiV1CatalogsPostBodyFieldsItemType as FieldKind


def run(client: AuthenticatedClient) -> dict[str, object]:
    spec = [FieldSpec(name="Subject", type_=FieldKind.TEXT, required=True)]
    made = create_catalog.sync(client=client, body=CatalogBody(name="Tasks", fields=spec))
    assert isinstance(made, Catalog)
    records = []
    for n in range(5):
        values = NewValues()
        values["subject"] = f"t{n}"
        records.append(NewRecord(values=values))
    done = batch.sync(str(made.id), client=client, body=BatchBody(create=records))
    assert isinstance(done, BatchResult)
    subjects: list[str] = []
    cursor: str | None = None
    while True:
        if cursor is None:
            page = list_records.sync(str(made.id), client=client, limit=2)
        else:
            page = list_records.sync(str(made.id), client=client, limit=2, cursor=cursor)
        assert isinstance(page, RecordPage)
        subjects += [str(r.values["subject"]) for r in page.items]
        if not isinstance(page.next_cursor, str):
            break
        cursor = page.next_cursor
    missing = get.sync(str(made.id), 999999, client=client)
    assert isinstance(missing, Error)
    return {"subjects": subjects, "created": len(done.created), "missing": missing.error}
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


def _generate(spec: Path, package: Path) -> None:
    tool = TOOLS / GENERATOR.replace("==", "-") / "bin" / "openapi-python-client"
    subprocess.run(
        [str(tool), "generate", "--path", str(spec), "--meta", "none",
         "--output-path", str(package)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip


def _strict_mypy(where: Path, *targets: str) -> None:
    checked = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--cache-dir", os.devnull,
         "--ignore-missing-imports", *targets],
        cwd=where, capture_output=True, text=True,
    )  # fmt: skip
    assert checked.returncode == 0, checked.stdout[-3000:]


@pytest.fixture
def importable(tmp_path: Path) -> Iterator[Path]:
    """`tmp_path` on sys.path for the generated packages; forgotten afterwards."""
    sys.path.insert(0, str(tmp_path))
    yield tmp_path
    sys.path.remove(str(tmp_path))
    for name in [m for m in sys.modules if m.startswith(("usage", "crm_client", "kt_client"))]:
        del sys.modules[name]


@pytest.fixture
def generated(api: Api, importable: Path) -> Path:
    """The client generated from the document of a workspace with a `deals` catalog."""
    _tool_or_skip()
    tmp_path = importable
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
    _generate(spec, tmp_path / "crm_client")
    (tmp_path / "usage.py").write_text(textwrap.dedent(USAGE))
    return tmp_path


def _tool_or_skip() -> None:
    try:
        _tool_python()
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
        pytest.skip(f"cannot install {GENERATOR}: {exc}")


def _typed_client(client: TestClient, base: str) -> Any:
    from crm_client import AuthenticatedClient  # type: ignore[import-not-found]

    token = client.post(
        "/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
    ).json()["token"]
    http = TestClient(client.app, base_url=base)
    http.headers["Authorization"] = f"Bearer {token}"
    typed = AuthenticatedClient(base_url=base, token=token)
    typed.set_httpx_client(http)
    return typed


def test_generated_client_type_checks_and_works(generated: Path, client: TestClient) -> None:
    _strict_mypy(generated, "crm_client", "usage.py")
    from usage import run  # type: ignore[import-not-found]

    result: dict[str, Any] = run(_typed_client(client, "http://testserver/api/v1"))
    assert result["titles"] == ["Big", "d0", "d1", "d2"]
    assert result["amount"] == "12.50"
    assert result["missing"] == "NOT_FOUND" and result["bad"] == "VALIDATION"


@pytest.mark.slow
def test_client_of_the_generic_document(api: Api, client: TestClient, importable: Path) -> None:
    """From /api/v1/openapi.json: create a catalog, write and page through records, an error."""
    _tool_or_skip()
    spec = importable / "generic.json"
    spec.write_bytes(client.get("/api/v1/openapi.json").content)
    _generate(spec, importable / "kt_client")
    (importable / "usage.py").write_text(textwrap.dedent(GENERIC_USAGE))
    _strict_mypy(importable, "kt_client", "usage.py")
    from kt_client import AuthenticatedClient  # type: ignore[import-not-found]
    from usage import run  # type: ignore[import-not-found]

    token = api.client.headers["Authorization"].removeprefix("Bearer ")
    http = TestClient(client.app, base_url="http://testserver")
    http.headers["Authorization"] = f"Bearer {token}"
    typed = AuthenticatedClient(base_url="http://testserver", token=token)
    typed.set_httpx_client(http)
    result = run(typed)
    assert result == {"subjects": ["t0", "t1", "t2", "t3", "t4"], "created": 5,
                      "missing": "NOT_FOUND"}  # fmt: skip

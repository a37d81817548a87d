"""The client pattern docs/api.md recommends for the request limits really works."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from kartoteka.server import create_app

DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"


def documented_call() -> Any:
    """The `call` function of the "A client that behaves" example, as written."""
    text = DOC.read_text(encoding="utf-8")
    section = text[text.index("**A client that behaves.**") :]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)  # type: ignore[union-attr]
    namespace: dict[str, Any] = {}
    exec(code[: code.index("with httpx.Client")], namespace)
    return namespace["call"]


def test_the_documented_client_paces_itself_and_rides_out_429s(instance: Any) -> None:
    instance.settings.rate_limit_address = "3/2seconds"
    call = documented_call()
    statuses: list[int] = []
    with TestClient(create_app(instance.settings, instance)) as client:
        client.event_hooks["response"] = [lambda r: statuses.append(r.status_code)]
        # Remaining reaching 0 makes it wait for the reset: no request is refused.
        paced = [call(client, "GET", "/api/v1/auth/me") for _ in range(5)]
        assert [a.status_code for a in paced] == [401] * 5 and 429 not in statuses
        while client.get("/api/v1/auth/me").status_code != 429:
            pass  # another client used the window up
        answer = call(client, "GET", "/api/v1/auth/me")
    assert answer.status_code == 401  # the real answer, after waiting out Retry-After
    assert statuses[-2:] == [429, 401]

"""Fixtures shared by the web tests."""

from __future__ import annotations

import pytest
from support.browser import api_client


@pytest.fixture
def rest(server):
    """The REST API as the administrator (closed afterwards)."""
    client = api_client(server)
    yield client
    client.close()

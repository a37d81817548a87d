"""The live feed re-checks its credential: revoking access closes or narrows an open stream."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn

PASSWORD = "long-password-1"


@pytest.fixture
def server(app) -> Iterator[str]:
    """The app served by uvicorn on loopback (streams need a real server to be read live)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    srv = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_level="warning"))
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.01)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    srv.should_exit = True
    thread.join(timeout=20)
    sock.close()


class Reader:
    """Reads a stream in a thread until it ends or an event named `stop_at` arrives."""

    def __init__(self, url: str, token: str, stop_at: str) -> None:
        self.events: list[dict[str, Any]] = []
        self.ended = False
        self.opened = threading.Event()
        self.got = threading.Condition()
        self.stop_at = stop_at
        self.thread = threading.Thread(target=self._run, args=(url, token), daemon=True)
        self.thread.start()
        assert self.opened.wait(20)

    def _run(self, url: str, token: str) -> None:
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.stream("GET", url + "/api/v1/events/stream", headers=headers, timeout=20) as r:
            event: dict[str, Any] = {}
            for line in r.iter_lines():
                if line.startswith("retry:"):
                    self.opened.set()
                elif line.startswith("event: "):
                    event["event"] = line[7:]
                elif line.startswith("data: "):
                    event["data"] = json.loads(line[6:])
                elif line == "" and event:
                    with self.got:
                        self.events.append(event)
                        self.got.notify_all()
                    if event["data"].get("values", {}).get("name") == self.stop_at:
                        return
                    event = {}
            self.ended = True

    def wait_for(self, name: str) -> None:
        with self.got:
            assert self.got.wait_for(lambda: name in self.names(), timeout=20), self.events

    def names(self) -> list[Any]:
        return [e["data"].get("values", {}).get("name") for e in self.events]

    def finish(self) -> None:
        self.thread.join(timeout=30)
        assert not self.thread.is_alive()


@pytest.fixture
def world(api) -> dict[str, Any]:
    for name in ("Deals", "Notes"):
        api.catalog(name, [{"name": "Name", "type": "text"}])
    sales = api.post("/groups", {"name": "sales"}).json()["id"]
    notes = api.post("/groups", {"name": "notes"}).json()["id"]
    api.put("/catalogs/deals/rights", {"groups": {str(sales): {"view": True}}})
    api.put("/catalogs/notes/rights", {"groups": {str(notes): {"view": True}}})
    r = api.post(
        "/users",
        {"email": "u@example.com", "name": "U", "password": PASSWORD, "groups": [sales]},
    )
    uid = r.json()["id"]
    login = api.client.post(
        api.url("/auth/login"), json={"email": "u@example.com", "password": PASSWORD}
    )
    api.client.cookies.clear()
    return {"user": uid, "token": login.json()["token"], "sales": sales, "notes": notes}


@pytest.mark.parametrize(
    "revoke",
    [
        lambda api, w: api.patch(f"/users/{w['user']}", {"active": False}),
        lambda api, w: api.patch(f"/users/{w['user']}", {"password": "another-password-2"}),
        lambda api, w: api.post(
            "/auth/logout-everywhere", headers={"Authorization": f"Bearer {w['token']}"}
        ),
    ],
    ids=["deactivated", "password-changed", "logout-everywhere"],
)
def test_revoking_the_credential_closes_the_stream(api, world, server, revoke):
    reader = Reader(server, world["token"], stop_at="after")
    api.record("deals", {"name": "before"})
    reader.wait_for("before")
    r = revoke(api, world)
    assert r.status_code in (200, 204), r.text
    api.record("deals", {"name": "after"})
    reader.finish()
    assert "after" not in reader.names() and reader.ended, reader.events
    assert reader.events[-1]["event"] == "revoked"


def test_removing_groups_narrows_the_stream_at_once(api, world, server):
    reader = Reader(server, world["token"], stop_at="note")
    api.record("deals", {"name": "before"})
    reader.wait_for("before")
    r = api.patch(f"/users/{world['user']}", {"groups": [world["notes"]]})
    assert r.status_code == 200, r.text
    api.record("deals", {"name": "after"})
    api.record("notes", {"name": "note"})
    reader.finish()
    assert reader.names() == ["before", "note"], reader.events

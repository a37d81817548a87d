"""Webhook test helpers: a scripted HTTP receiver on loopback, signature checks, a worker pass."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import sqlalchemy as sa
from standardwebhooks.webhooks import Webhook

from kartoteka.storage import schema
from kartoteka.storage.engine import utcnow
from kartoteka.workers import run_once

Reply = tuple[int, Any, dict[str, str]]
Handler = Callable[[dict[str, Any]], Reply]


class Receiver:
    """A tiny HTTP server in a thread: scripted replies per path, every request recorded."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.scripts: dict[str, list[Reply]] = {}
        self.handlers: dict[str, Handler] = {}
        self.delay: dict[str, float] = {}
        self.lock = threading.Lock()
        receiver = self

        class Handle(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server naming
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                receiver.requests.append(
                    {"path": self.path, "headers": dict(self.headers), "body": body}
                )
                time.sleep(receiver.delay.get(self.path, 0))
                status, reply, headers = receiver.reply_for(self.path, body)
                data = json.dumps(reply).encode() if reply is not None else b""
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            # Join handler threads on close so no sleeping handler outlives the test.
            daemon_threads = False

        self.server = Server(("127.0.0.1", 0), Handle)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def reply_for(self, path: str, body: bytes) -> Reply:
        with self.lock:
            script = self.scripts.get(path)
            if script:
                return script.pop(0)
        if path in self.handlers:
            return self.handlers[path](json.loads(body))
        return 200, {"allow": True}, {}

    def at(self, path: str) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["path"] == path]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def verified(secret: str, request: dict[str, Any]) -> dict[str, Any]:
    """The payload, after the reference library checked the Standard Webhooks signature."""
    return Webhook(secret).verify(request["body"], request["headers"])


def deals(api) -> dict[str, Any]:
    return api.catalog(
        "Deals",
        [
            {"name": "Name", "type": "text"},
            {"name": "Amount", "type": "number"},
            {"name": "Note", "type": "text"},
        ],
    )


def hook(api, url: str, **extra: Any) -> dict[str, Any]:
    r = api.post("/webhooks", {"url": url, "catalog": "deals", **extra})
    assert r.status_code == 201, r.text
    return r.json()


def deliveries(instance, webhook_id: int) -> list[Any]:
    d = schema.webhook_deliveries
    ws = instance.workspace(instance.settings.default_workspace)
    with ws.engine.connect() as conn:
        return conn.execute(
            sa.select(d).where(d.c.webhook_id == webhook_id).order_by(d.c.event_seq)
        ).all()


def work(instance, later: timedelta | None = None) -> int:
    now = utcnow() + later if later else None
    return run_once(instance, instance.settings.default_workspace, now=now)

"""One loopback HTTP receiver for every test, and `wait_until` for what happens meanwhile.

`Receiver` is a small threaded HTTP server on 127.0.0.1 that records every request
(`path`, lower-cased `headers`, raw `body`) and answers by, in order: a scripted reply
queued for the path (or for `"*"`, any path), a handler for the path, the `answer`
callable given at construction (sees every request), and the default reply. Options
cover what the webhook, scenario, drill, proxy and metrics tests need: HTTP/1.1
keep-alive (the notify sender pipelines on one connection), a TLS context, a per-path
delay, the default reply.
"""

from __future__ import annotations

import json
import ssl
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

#: (status, JSON body or None for an empty one, extra headers)
Reply = tuple[int, Any, dict[str, str]]
Request = dict[str, Any]
Handler = Callable[[Any], Reply]

ALLOW: Reply = (200, {"allow": True}, {})
NO_CONTENT: Reply = (204, None, {})


class Receiver:
    """A scripted HTTP server in a thread; every request recorded in `requests`."""

    def __init__(
        self,
        *,
        default: Reply = ALLOW,
        answer: Callable[[Request], Reply] | None = None,
        keep_alive: bool = False,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.requests: list[Request] = []
        self.scripts: dict[str, list[Reply]] = {}
        self.handlers: dict[str, Handler] = {}
        self.delay: dict[str, float] = {}
        self.default = default
        self.answer = answer
        self.lock = threading.Lock()
        receiver = self

        class Handle(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1" if keep_alive else "HTTP/1.0"

            def do_POST(self) -> None:  # noqa: N802 - the http.server naming
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                request = {
                    "path": self.path,
                    "headers": {k.lower(): v for k, v in self.headers.items()},
                    "body": body,
                }
                with receiver.lock:
                    receiver.requests.append(request)
                time.sleep(receiver.delay.get(self.path, 0))
                status, reply, headers = receiver.reply_for(request)
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
            # Join handler threads on close so no sleeping handler outlives the test; a
            # keep-alive connection may stay open past it, so its thread must not block.
            daemon_threads = keep_alive

        self.server = Server(("127.0.0.1", 0), Handle)
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def script(self, path: str, *replies: Reply) -> None:
        """Answer the next requests to `path` (`"*"`: to any path) with `replies`, in turn."""
        with self.lock:
            self.scripts.setdefault(path, []).extend(replies)

    def reply_for(self, request: Request) -> Reply:
        path = request["path"]
        with self.lock:
            for key in (path, "*"):
                script = self.scripts.get(key)
                if script:
                    return script.pop(0)
        if path in self.handlers:
            return self.handlers[path](json.loads(request["body"]))
        if self.answer is not None:
            return self.answer(request)
        return self.default

    def at(self, path: str) -> list[Request]:
        """The requests to `path`, in arrival order."""
        with self.lock:
            return [r for r in self.requests if r["path"] == path]

    def bodies(self) -> list[Any]:
        """Every request's body as JSON, in arrival order."""
        with self.lock:
            return [json.loads(r["body"]) for r in self.requests]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def wait_until(
    check: Callable[[], bool], seconds: float, interval: float = 0.02, alive: Any = None
) -> bool:
    """Poll `check` for at most `seconds` (for progress, never to assert a duration).

    `alive` is an optional process (`subprocess.Popen`): stop early when it exited.
    """
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        if alive is not None and alive.poll() is not None:
            return False
        time.sleep(interval)
    return check()

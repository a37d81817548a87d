"""A webhook receiver for the benchmarks: a uvicorn app in its own process, on loopback.

Run as `python bench/webhook_receiver.py PORT`; `ReceiverProcess` starts and drives it.
A receiver in the benchmark's own process would share its interpreter lock with the
writer and skew both sides. It records, per distinct `webhook-id`, the receipt time
and the event's sequence and record id; control endpoints under `/_` read and reset
that, and switch on a failure window (503 to every notify message).

- `POST /request` answers 200 `{"allow": true}` at once (a request webhook).
- `POST /anything-else` is a notify message: 503 while failing, else recorded, 204.
- `GET /_count`, `GET /_dump`, `POST /_reset`, `POST /_fail?seconds=S`.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import orjson

HERE = Path(__file__).resolve().parent


class State:
    """What the receiver saw."""

    def __init__(self) -> None:
        self.got: dict[str, tuple[float, int, int]] = {}  # webhook-id -> (time, seq, record)
        self.posts = 0
        self.fail_until = 0.0


state = State()


async def _body(receive: Any) -> bytes:
    body = b""
    while True:
        msg = await receive()
        body += msg.get("body", b"")
        if not msg.get("more_body"):
            return body


async def _answer(send: Any, status: int, body: bytes = b"", json: bool = False) -> None:
    headers = [(b"content-type", b"application/json")] if json else []
    if body:
        headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _control(path: str, query: bytes) -> bytes:
    if path == "/_count":
        return orjson.dumps({"distinct": len(state.got), "posts": state.posts})
    if path == "/_dump":
        return orjson.dumps([[k, *v] for k, v in state.got.items()])
    if path == "/_reset":
        state.got.clear()
        state.posts = 0
        state.fail_until = 0.0
    elif path == "/_fail":
        seconds = float(query.decode().partition("seconds=")[2] or 0)
        state.fail_until = time.time() + seconds
    return b"{}"


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """ASGI entry point."""
    if scope["type"] != "http":
        return
    body = await _body(receive)
    path = scope["path"]
    if path.startswith("/_"):
        await _answer(send, 200, _control(path, scope["query_string"]), json=True)
        return
    if path == "/request":
        await _answer(send, 200, b'{"allow": true}', json=True)
        return
    now = time.time()
    state.posts += 1
    if now < state.fail_until:
        await _answer(send, 503)
        return
    msg_id = next((v for k, v in scope["headers"] if k == b"webhook-id"), b"raw").decode()
    message = orjson.loads(body)
    if message.get("type") == "batch":
        # A grouped message: each event counts on its own, de-duplicated on its sequence.
        for event in message["events"]:
            key = f"seq_{event['sequence']}"
            if key not in state.got:
                state.got[key] = (now, int(event["sequence"]), int(event["record_id"] or 0))
    elif msg_id not in state.got:
        seq, record = int(message.get("sequence") or 0), int(message["record_id"] or 0)
        state.got[msg_id] = (now, seq, record)
    await _answer(send, 204)


class ReceiverProcess:
    """The receiver as a subprocess, with its control endpoints as methods."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / "webhook_receiver.py"), str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.control = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60)
        deadline = time.monotonic() + 30
        while True:
            try:
                self.count()
                return
            except httpx.HTTPError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError("the webhook receiver did not start") from None
                time.sleep(0.1)

    def url(self, path: str = "/hook") -> str:
        """A URL on the receiver."""
        return f"http://127.0.0.1:{self.port}{path}"

    def count(self) -> tuple[int, int]:
        """(distinct messages received, POSTs seen)."""
        data = self.control.get("/_count").json()
        return data["distinct"], data["posts"]

    def dump(self) -> list[tuple[str, float, int, int]]:
        """(webhook-id, receipt time, sequence, record id) of every distinct message."""
        return [tuple(row) for row in self.control.get("/_dump").json()]

    def reset(self) -> None:
        """Forget everything seen and stop failing."""
        self.control.post("/_reset")

    def fail_for(self, seconds: float) -> None:
        """Answer 503 to every notify message for the next `seconds`."""
        self.control.post(f"/_fail?seconds={seconds}")

    def wait_for(self, n: int, seconds: float) -> bool:
        """Until n distinct messages arrived (bounded)."""
        deadline = time.monotonic() + seconds
        while self.count()[0] < n:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    def close(self) -> None:
        """Stop the receiver process."""
        self.control.close()
        self.proc.terminate()
        self.proc.wait(timeout=10)


def main() -> None:
    """Serve on the port given as the only argument."""
    import uvicorn

    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="error", access_log=False)


if __name__ == "__main__":
    main()

"""The notify sender: its HTTP/1.1 client, the pipelined drain, leases, and cross-process wake.

`tests/webhooks/test_webhooks.py` covers the contract (signatures, retries, 410, ordered,
SSRF) through `workers.run_once`; these tests cover what the sender does to be fast
and what must not change because of it.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from standardwebhooks.webhooks import Webhook
from support.receiver import NO_CONTENT, Receiver, wait_until

from kartoteka import workers
from kartoteka.storage import schema
from kartoteka.storage.engine import utcnow
from kartoteka.webhooks import delivery, http1, live, sender, wakeup

ROOT = Path(__file__).resolve().parents[2]


# ----- a receiver and helpers ----------------------------------------------------------------
@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """The shared loopback receiver as a notify endpoint: HTTP/1.1 keep-alive, 204 by default."""
    r = Receiver(default=NO_CONTENT, keep_alive=True)
    yield r
    r.close()


def sequences(receiver: Receiver) -> list[int]:
    """The `sequence` of every message received, in arrival order."""
    return [body["sequence"] for body in receiver.bodies()]


def notify_hook(api: Any, url: str, **extra: Any) -> dict[str, Any]:
    api.catalog("Deals", [{"name": "Name", "type": "text"}, {"name": "N", "type": "number"}])
    r = api.post("/webhooks", {"url": url, "catalog": "deals", **extra})
    assert r.status_code == 201, r.text
    return r.json()


def deliveries(instance: Any, webhook_id: int) -> list[Any]:
    d = schema.webhook_deliveries
    with workspace(instance).engine.connect() as conn:
        return conn.execute(
            sa.select(d).where(d.c.webhook_id == webhook_id).order_by(d.c.event_seq)
        ).all()


def attempts(instance: Any) -> list[Any]:
    a = schema.delivery_attempts
    with workspace(instance).engine.connect() as conn:
        return conn.execute(sa.select(a).order_by(a.c.id)).all()


def workspace(instance: Any) -> Any:
    return instance.workspace(instance.settings.default_workspace)


# ----- the pipelined drain -------------------------------------------------------------------
def test_many_batches_in_flight_deliver_every_event_once_signed(api, instance, receiver):
    wh = notify_hook(api, receiver.url())
    count = sender.SEND_BATCH * 2 + 37  # several claims, two batches on the wire at once
    api.records("deals", [{"name": f"d{i}", "n": i} for i in range(count)])
    assert workers.run_once(instance, instance.settings.default_workspace) == count
    seqs = sequences(receiver)
    assert sorted(seqs) == list(range(min(seqs), min(seqs) + count))
    for request in receiver.requests[:: count // 10]:
        headers, body = request["headers"], request["body"]
        lowered = {k.lower(): v for k, v in headers.items()}
        Webhook(wh["secret"]).verify(body, lowered)
    rows = deliveries(instance, wh["id"])
    assert {(r.status, r.attempts, r.last_status) for r in rows} == {("done", 1, 204)}
    assert len(attempts(instance)) == count


def test_outcomes_of_every_kind_are_recorded_in_one_pass(api, instance, receiver):
    wh = notify_hook(api, receiver.url())
    api.records("deals", [{"name": f"d{i}"} for i in range(4)])
    ws = workspace(instance)
    from kartoteka.webhooks import outbox

    outbox.match_events(ws)
    now = utcnow()
    items = sender.claim_due(ws, now, 60, 10)
    outcomes: list[delivery.Outcome | None] = [
        delivery.Outcome(204, "", None, 3),
        delivery.Outcome(503, "busy", None, 4, retry_after=120),
        None,  # its lease ran short: handed back unsent
        delivery.Outcome(None, "", "ConnectError: refused", 5),
    ]
    with ws.engine.begin() as conn:
        sender.record_outcomes(conn, items, outcomes, now, delivery.DEFAULT_SCHEDULE)
    rows = {r.id: r for r in deliveries(instance, wh["id"])}
    done, busy, untried, refused = (rows[i.id] for i in items)
    assert (done.status, done.attempts, done.last_status, done.next_attempt_at) == (
        "done",
        1,
        204,
        None,
    )
    assert (busy.status, busy.attempts, busy.last_error) == ("pending", 1, "HTTP 503")
    assert busy.next_attempt_at == now + timedelta(seconds=120)  # Retry-After wins
    assert (untried.status, untried.attempts, untried.next_attempt_at) == ("pending", 0, now)
    assert (refused.status, refused.last_error) == ("pending", "ConnectError: refused")
    logged = attempts(instance)
    assert [a.delivery_id for a in logged] == [done.id, busy.id, refused.id]
    assert [a.response_status for a in logged] == [204, 503, None]
    assert logged[1].response_body == "busy"


def test_a_send_whose_lease_ran_short_is_handed_back_not_sent(api, instance, receiver):
    wh = notify_hook(api, receiver.url())
    api.record("deals", {"name": "late"})
    ws = workspace(instance)
    from kartoteka.webhooks import outbox

    outbox.match_events(ws)
    now = utcnow()
    items = sender.claim_due(ws, now, 60, 10)
    for item in items:
        item.send_by = time.monotonic() - 1  # the lease margin is already used up
    with delivery.make_notify_client() as client:
        sender.send_batch(ws, client, items, now)
    assert receiver.requests == []
    (row,) = deliveries(instance, wh["id"])
    assert (row.status, row.attempts, row.next_attempt_at) == ("pending", 0, now)
    workers.run_once(instance, ws)
    assert len(receiver.requests) == 1


def test_a_lapsed_lease_is_sent_again_under_the_same_webhook_id(api, instance, receiver):
    wh = notify_hook(api, receiver.url())
    api.record("deals", {"name": "orphan"})
    ws = workspace(instance)
    from kartoteka.webhooks import outbox

    outbox.match_events(ws)
    # A worker claims and dies before sending: nobody else may take it during the lease...
    (claimed,) = sender.claim_due(ws, utcnow(), 30, 10)
    assert workers.run_once(instance, ws) == 0
    # ...and once it lapses, the next worker sends it, with the message's own id.
    later = utcnow() + timedelta(seconds=31)
    assert workers.run_once(instance, ws, now=later) == 1
    headers = receiver.requests[0]["headers"]
    assert headers["webhook-id"] == claimed.msg_id
    (row,) = deliveries(instance, wh["id"])
    assert (row.status, row.attempts) == ("done", 1)


def test_ordered_webhook_sends_in_sequence_through_the_pipeline(api, instance, receiver):
    notify_hook(api, receiver.url(), ordered=True)
    api.records("deals", [{"name": f"d{i}"} for i in range(5)])
    receiver.script("*", (503, None, {}))  # the first event fails once and holds the others
    workers.run_once(instance, instance.settings.default_workspace)
    assert len(receiver.requests) == 1
    workers.run_once(instance, instance.settings.default_workspace, utcnow() + timedelta(hours=1))
    seqs = sequences(receiver)
    assert seqs[1:] == sorted(seqs[1:]) and seqs[0] == seqs[1]
    assert len(seqs) == 6


# ----- the HTTP/1.1 client -------------------------------------------------------------------
class RawServer:
    """A TCP server answering each request with scripted raw bytes (one script per request)."""

    def __init__(self, answers: list[bytes]) -> None:
        self.answers = answers
        self.connections = 0
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        threading.Thread(target=self.serve, daemon=True).start()

    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}/x?y=1"

    def serve(self) -> None:
        while self.answers:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self.answer, args=(conn,), daemon=True).start()

    def answer(self, conn: socket.socket) -> None:
        with conn:
            buf = b""
            while self.answers:
                while b"\r\n\r\n" not in buf:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    buf += chunk
                head, _, buf = buf.partition(b"\r\n\r\n")
                length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
                while len(buf) < length:
                    buf += conn.recv(65536)
                buf = buf[length:]
                answer = self.answers.pop(0)
                conn.sendall(answer)
                if b"connection: close" in answer.lower() or b"HTTP/1.0" in answer:
                    return

    def close(self) -> None:
        self.sock.close()


def post_all(url: str, count: int, timeout: float = 5) -> list[Any]:
    async def run() -> list[Any]:
        pool = http1.Pool()
        out = [
            await delivery.post_signed_async(
                pool, url, "whsec_" + "A" * 32, f"m{i}", b"{}", timeout, True
            )
            for i in range(count)
        ]
        await pool.aclose()
        return out

    return asyncio.run(run())


def test_http1_keeps_the_connection_and_reads_every_body_framing():
    server = RawServer(
        [
            b"HTTP/1.1 204 No Content\r\n\r\n",
            b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello",
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"
            b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
            b"HTTP/1.1 429 Too Many\r\nretry-after: 7\r\ncontent-length: 0\r\n\r\n",
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok",
            b"HTTP/1.0 200 OK\r\n\r\nuntil close",
        ]
    )
    try:
        got = post_all(server.url(), 6)
    finally:
        server.close()
    assert [(o.status, o.body) for o in got] == [
        (204, ""),
        (200, "hello"),
        (200, "abcde"),
        (429, ""),
        (200, "ok"),
        (200, "until close"),
    ]
    assert got[3].retry_after == 7
    assert server.connections == 1  # keep-alive: one connection for all of them


def test_http1_keeps_an_excerpt_of_a_long_answer():
    body = b"x" * 100_000
    server = RawServer([b"HTTP/1.1 200 OK\r\ncontent-length: 100000\r\n\r\n" + body])
    try:
        (got,) = post_all(server.url(), 1)
    finally:
        server.close()
    assert got.status == 200 and got.body == "x" * delivery.EXCERPT_BYTES


def test_http1_failures_become_outcomes():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}/"
    (refused,) = post_all(closed, 1)
    assert refused.status is None and refused.error.startswith("ConnectError")
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen()
    try:
        (slow,) = post_all(f"http://127.0.0.1:{silent.getsockname()[1]}/", 1, timeout=0.3)
    finally:
        silent.close()
    assert (slow.status, slow.error) == (None, "timed out after 0.3 s")
    server = RawServer([b"garbage\r\n\r\n"])
    try:
        (bad,) = post_all(server.url(), 1)
    finally:
        server.close()
    assert bad.status is None and bad.error.startswith("RemoteProtocolError")


def test_http1_refuses_endless_answers_and_heads():
    huge_body = b"HTTP/1.1 200 OK\r\ncontent-length: 3000000\r\n\r\n" + b"x" * 3_000_000
    huge_head = b"HTTP/1.1 200 OK\r\n" + b"x-pad: " + b"y" * 100_000 + b"\r\n\r\n"
    many = b"HTTP/1.1 200 OK\r\n" + b"".join(b"x-%d: 1\r\n" % i for i in range(300)) + b"\r\n"
    for answer, reason in [
        (huge_body, "longer than"),
        (huge_head, "head is too large"),
        (many, "too many headers"),
    ]:
        server = RawServer([answer])
        try:
            (got,) = post_all(server.url(), 1)
        finally:
            server.close()
        assert got.status is None and reason in got.error, got.error


def test_http1_timeout_counts_from_the_turn_not_from_the_queue():
    # One connection, eight messages, each answered after 0.2 s: the last waits about
    # 1.4 s for its turn, longer than its 1 s timeout, and must still be sent.
    slow = Receiver(default=NO_CONTENT, keep_alive=True)
    slow.delay["/hook"] = 0.2

    async def run() -> list[Any]:
        pool = http1.Pool(max_connections=1)
        sends = [
            delivery.post_signed_async(
                pool, slow.url(), "whsec_" + "A" * 32, f"m{i}", b'{"sequence": 1}', 1.0, True
            )
            for i in range(8)
        ]
        out = await asyncio.gather(*sends)
        await pool.aclose()
        return out

    try:
        got = asyncio.run(run())
    finally:
        slow.close()
    assert [o.status for o in got] == [204] * 8


def test_http1_a_turn_after_the_deadline_sends_nothing(receiver):
    async def run() -> Any:
        pool = http1.Pool()
        out = await delivery.post_signed_async(
            pool, receiver.url(), "whsec_" + "A" * 32, "m", b"{}", 1, True, time.monotonic() - 1
        )
        await pool.aclose()
        return out

    assert asyncio.run(run()) is None
    assert receiver.requests == []


def test_async_sender_refuses_private_addresses_unless_allowed():
    async def run() -> Any:
        return await delivery.post_signed_async(
            http1.Pool(), "http://127.0.0.1:9/", "whsec_" + "A" * 32, "m", b"{}", 1, False
        )

    outcome = asyncio.run(run())
    assert outcome.status is None and outcome.error.startswith("refused: ")


# ----- cross-process wake ------------------------------------------------------------------
WRITER = """
import sys
from kartoteka.config import Settings
from kartoteka.workspaces.service import Instance
import kartoteka.webhooks  # like the API process: commits publish a wake-up
from kartoteka.auth import service as auth
from kartoteka.users import service as users
from kartoteka.records import service

settings = Settings.from_env()
instance = Instance(settings)
ws = instance.workspace(settings.default_workspace)
actor = auth.actor_for_user(ws, users.find_user_id(ws, settings.admin_email), via="token")
service.create_record(actor, "deals", {"name": sys.argv[1]})
instance.close()
"""


def write_from_another_process(settings: Any, name: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KARTOTEKA_")}
    env.update(
        KARTOTEKA_DATA_DIR=str(Path(settings.data_dir).resolve()),
        KARTOTEKA_DEFAULT_WORKSPACE=settings.default_workspace,
        KARTOTEKA_ADMIN_EMAIL=settings.admin_email,
    )
    if settings.database_url:
        env["KARTOTEKA_DATABASE_URL"] = settings.database_url
    if settings.redis_url:
        env["KARTOTEKA_REDIS_URL"] = settings.redis_url
    done = subprocess.run(
        [sys.executable, "-c", WRITER, name], env=env, capture_output=True, timeout=120
    )
    assert done.returncode == 0, done.stderr.decode()[-3000:]


REDIS_URL = os.environ.get("KARTOTEKA_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture(params=["database", pytest.param("redis", marks=pytest.mark.redis)])
def wake_via(request: Any, settings: Any) -> str:
    """How other processes' commits reach the worker: the database's own way, or Redis."""
    if request.param == "redis":
        import redis

        client = redis.Redis.from_url(REDIS_URL)
        try:
            client.ping()
        except redis.exceptions.ConnectionError:
            pytest.skip(f"no Redis at {REDIS_URL}")
        finally:
            client.close()
        settings.redis_url = REDIS_URL
    return str(request.param)


def listening(instance: Any) -> bool:
    """The worker's listener is subscribed (SQLite without Redis: the watch needs none)."""
    ws = workspace(instance)
    if ws.settings.redis_url:
        import redis

        client = redis.Redis.from_url(ws.settings.redis_url)
        try:
            # This process's own listener: another test run may share the Redis server.
            return any(
                c.get("name") == live.listener_name() and int(c.get("sub") or 0) > 0
                for c in client.client_list()
            )
        finally:
            client.close()
    if ws.dialect != "postgresql":
        return True
    with ws.engine.connect() as conn:
        found = conn.exec_driver_sql(
            "SELECT count(*) FROM pg_stat_activity WHERE query = 'LISTEN kartoteka_events'"
        ).scalar()
    return bool(found)


def test_a_commit_in_another_process_wakes_the_worker(wake_via, api, instance, settings, receiver):
    notify_hook(api, receiver.url())
    stop = threading.Event()
    name = settings.default_workspace
    # The full pass runs once at the start and then not for an hour: only a wake-up
    # from the other process's commit can deliver the second record in time.
    thread = threading.Thread(
        target=workers.run_forever, args=(instance, stop, 3600.0, [name]), daemon=True
    )
    thread.start()
    try:
        assert wait_until(lambda: listening(instance), 30)
        write_from_another_process(settings, "first")
        assert wait_until(lambda: len(receiver.requests) == 1, 60)
        write_from_another_process(settings, "second")
        assert wait_until(lambda: len(receiver.requests) == 2, 60), "the worker was not woken"
    finally:
        stop.set()
        wakeup.event.set()
        thread.join(timeout=30)
    names = [body["values"]["name"] for body in receiver.bodies()]
    assert names == ["first", "second"]

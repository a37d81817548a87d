"""Fault drill: a flaky receiver, a `kartoteka worker` subprocess killed with SIGKILL mid-delivery.

At-least-once means: every event arrives, none is lost, a repeat carries the same
`webhook-id`, and the delivery log ends with every delivery done.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook
from support.receiver import NO_CONTENT, Receiver, Reply, wait_until

ROOT = Path(__file__).resolve().parents[2]
CHANGES = 300
FAIL_FIRST = 40
SCHEDULE = "0,0.2,0.5,1,1,1,1,1"
# A worker killed between claiming and recording leaves its batch leased for
# timeout + the lease margin (2 s here, KARTOTEKA_WEBHOOK_LEASE_MARGIN; 60 s by default).
TIMEOUT_S = 1
WAIT_S = 150


class FlakyReceiver:
    """Answers 503 to its first `fail_first` requests, then 204; keeps every verified event.

    The HTTP side is the shared loopback `Receiver`; this class is only the drill's answer.
    """

    def __init__(self, fail_first: int) -> None:
        self.fail_first = fail_first
        self.seen = 0
        self.secret = ""
        self.delivered: list[tuple[str, int]] = []  # (webhook-id, sequence) of 2xx answers
        self.lock = threading.Lock()
        self.receiver = Receiver(answer=self.answer)

    def answer(self, request: dict[str, Any]) -> Reply:
        """503 while still failing; otherwise verify the signature and record the event."""
        with self.lock:
            self.seen += 1
            if self.seen <= self.fail_first:
                return 503, None, {}
        headers = request["headers"]
        event = Webhook(self.secret).verify(request["body"], headers)
        with self.lock:
            self.delivered.append((headers["webhook-id"], event["sequence"]))
        return NO_CONTENT

    def url(self) -> str:
        return self.receiver.url("/drill")

    def sequences(self) -> set[int]:
        with self.lock:
            return {seq for _, seq in self.delivered}

    def close(self) -> None:
        self.receiver.close()


@pytest.fixture
def flaky() -> Iterator[FlakyReceiver]:
    r = FlakyReceiver(FAIL_FIRST)
    yield r
    r.close()


def worker_env(settings: Any) -> dict[str, str]:
    """The environment a `kartoteka worker` needs to see the test's instance and workspace."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KARTOTEKA_")}
    env.update(
        KARTOTEKA_DATA_DIR=str(Path(settings.data_dir).resolve()),
        KARTOTEKA_DEFAULT_WORKSPACE=settings.default_workspace,
        KARTOTEKA_WEBHOOK_ALLOW_PRIVATE="1",
        KARTOTEKA_WEBHOOK_RETRY_SCHEDULE=SCHEDULE,
        KARTOTEKA_WEBHOOK_TIMEOUT=str(TIMEOUT_S),
        KARTOTEKA_WEBHOOK_LEASE_MARGIN="2",
    )
    if settings.database_url:
        env["KARTOTEKA_DATABASE_URL"] = settings.database_url
    return env


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """`.venv/bin/kartoteka worker` as a real process, output to a log file."""
    with log.open("ab") as out:
        return subprocess.Popen(
            # Only this test's workspace: on PostgreSQL the control database is shared.
            [str(ROOT / ".venv/bin/kartoteka"), "worker", "-w", env["KARTOTEKA_DEFAULT_WORKSPACE"]],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def kill(proc: subprocess.Popen[bytes] | None) -> None:
    """SIGKILL the worker (its own process group) and reap it."""
    if proc is None or proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)


def all_deliveries(api: Any, webhook_id: int) -> list[dict[str, Any]]:
    """Every delivery of a webhook through the API, paging with `before`."""
    items: list[dict[str, Any]] = []
    before = ""
    while True:
        r = api.get(f"/webhooks/{webhook_id}/deliveries?limit=500{before}")
        assert r.status_code == 200, r.text
        page = r.json()["items"]
        items += page
        if len(page) < 500:
            return items
        before = f"&before={page[-1]['id']}"


def test_killed_worker_and_flaky_receiver_lose_nothing(api, settings, flaky, tmp_path):
    api.catalog("Drill", [{"name": "Name", "type": "text"}, {"name": "N", "type": "number"}])
    r = api.post("/webhooks", {"url": flaky.url(), "catalog": "drill"})
    assert r.status_code == 201, r.text
    wh = r.json()
    flaky.secret = wh["secret"]
    log = tmp_path / "worker.log"
    env = worker_env(settings)
    proc = None
    try:
        proc = start_worker(env, log)
        ids = api.records("drill", [{"name": f"r{i}", "n": i} for i in range(CHANGES // 2)])
        r = api.post(
            "/catalogs/drill/records/batch",
            {"update": [{"id": i, "values": {"n": -1}} for i in ids[: CHANGES // 2]]},
        )
        assert r.status_code == 200, r.text
        # Kill mid-delivery: some, not all, events have reached the receiver.
        assert wait_until(lambda: len(flaky.sequences()) >= 1, 60, alive=proc), log.read_text()
        kill(proc)
        assert len(flaky.sequences()) < CHANGES, "the worker finished before it was killed"
        proc = start_worker(env, log)
        assert wait_until(lambda: len(flaky.sequences()) >= CHANGES, WAIT_S, alive=proc), (
            f"{len(flaky.sequences())}/{CHANGES} delivered\n{log.read_text()[-3000:]}"
        )
        # The worker records results after sending; let it finish before stopping it.
        assert wait_for_log(api, wh["id"], 60), log.read_text()[-3000:]
        kill(proc)
    finally:
        kill(proc)
    check_at_least_once(flaky)
    done = all_deliveries(api, wh["id"])
    assert len(done) == CHANGES
    assert {d["status"] for d in done} == {"done"}, [d for d in done if d["status"] != "done"][:3]


def wait_for_log(api: Any, webhook_id: int, seconds: float) -> bool:
    """Poll (twice a second, bounded) until every delivery is logged as done."""

    def all_done() -> bool:
        found = all_deliveries(api, webhook_id)
        return len(found) == CHANGES and all(d["status"] == "done" for d in found)

    return wait_until(all_done, seconds, interval=0.5)


def check_at_least_once(flaky: FlakyReceiver) -> None:
    """Contiguous sequences, repeats only under the same webhook-id, one per event after dedup."""
    seqs = sorted(flaky.sequences())
    assert len(seqs) == CHANGES
    assert seqs == list(range(seqs[0], seqs[0] + CHANGES)), "a sequence number is missing"
    by_id: dict[str, set[int]] = {}
    for msg_id, seq in flaky.delivered:
        by_id.setdefault(msg_id, set()).add(seq)
    assert all(len(s) == 1 for s in by_id.values()), "one webhook-id carried two events"
    assert sorted(next(iter(s)) for s in by_id.values()) == seqs  # exactly one per event

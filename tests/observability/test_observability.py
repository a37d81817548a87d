"""Metrics, request ids, structured logs and readiness (kartoteka/observability)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from support.receiver import NO_CONTENT, Receiver

from kartoteka.errors import RateLimited
from kartoteka.observability import context, heartbeat, logs, metrics
from kartoteka.security.throttle import for_workspace
from kartoteka.server import create_app
from kartoteka.storage.engine import utcnow
from kartoteka.webhooks import delivery

TOKEN = "scrape-secret"
RECORDS_ROUTE = "/api/v1/catalogs/{catalog}/records"


def sample(name: str, **labels: str) -> float:
    """A metric's current value in this process (0 when never set)."""
    metrics.REQUESTS.flush()  # what the middleware tallied and a scrape would flush
    return REGISTRY.get_sample_value(name, labels) or 0.0


def scrape(client: TestClient) -> str:
    r = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    return r.text


@pytest.fixture
def metered(instance: Any) -> Iterator[TestClient]:
    """A client of an app whose /metrics opens with TOKEN."""
    instance.settings.metrics_token = TOKEN
    with TestClient(create_app(instance.settings, instance)) as client:
        yield client


def test_metrics_are_absent_without_a_token(client: TestClient) -> None:
    assert client.get("/metrics").status_code == 404


def test_metrics_need_the_token(metered: TestClient) -> None:
    assert metered.get("/metrics").status_code == 401
    wrong = metered.get("/metrics", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401


def test_requests_are_counted_per_route_template_and_status(api: Any, metered: TestClient) -> None:
    catalog = api.catalog("Deals", [{"name": "Title", "type": "text"}])
    labels = {"method": "GET", "route": RECORDS_ROUTE, "status": "200"}
    before = sample("kartoteka_http_requests_total", **labels)
    for _ in range(3):
        assert api.get(f"/catalogs/{catalog['id']}/records").status_code == 200
    assert api.get("/catalogs/999999/records").status_code == 404
    assert sample("kartoteka_http_requests_total", **labels) == before + 3
    missing = {"method": "GET", "route": RECORDS_ROUTE, "status": "404"}
    assert sample("kartoteka_http_requests_total", **missing) >= 1
    text = scrape(metered)
    assert f'route="{RECORDS_ROUTE}"' in text  # a template, never the catalog id
    assert "kartoteka_http_request_duration_seconds_bucket" in text
    assert 'kartoteka_db_pool_connections{database="control",state="checked_out"}' in text
    assert 'kartoteka_db_pool_connections{database="loop_reads",state="size"}' in text
    ws = api.client.app.state.instance.settings.default_workspace
    assert f'kartoteka_outbox_lag_events{{consumer="webhooks",workspace="{ws}"}}' in text or (
        "kartoteka_outbox_lag_events" in text
    )


def test_outbox_lag_counts_events_past_the_consumer(api: Any, metered: TestClient) -> None:
    from kartoteka.observability.collectors import outbox_lag
    from kartoteka.webhooks import outbox

    catalog = api.catalog("Lag", [{"name": "Title", "type": "text"}])
    ws = api.client.app.state.instance.workspace(
        api.client.app.state.instance.settings.default_workspace
    )
    with ws.engine.begin() as conn:
        outbox.claim_cursor(conn, "webhooks")  # the consumer exists, at 0
    api.records(catalog["id"], [{"title": f"r{i}"} for i in range(4)])
    assert outbox_lag(ws.engine)["webhooks"] >= 4
    assert f'consumer="webhooks",workspace="{ws.name}"' in scrape(metered)


def test_request_id_is_generated_echoed_or_replaced(client: TestClient) -> None:
    made = client.get("/healthz").headers["x-request-id"]
    assert len(made) == 32 and made != client.get("/healthz").headers["x-request-id"]
    assert (
        client.get("/healthz", headers={"X-Request-ID": "abc-123"}).headers["x-request-id"]
        == "abc-123"
    )
    odd = client.get("/healthz", headers={"X-Request-ID": "a b<script>"})
    assert odd.headers["x-request-id"] != "a b<script>" and len(odd.headers["x-request-id"]) == 32


def test_access_log_line_has_the_request_fields(api: Any, caplog: pytest.LogCaptureFixture) -> None:
    catalog = api.catalog("Logged", [{"name": "Title", "type": "text"}])
    with caplog.at_level(logging.INFO, logger=logs.ACCESS_LOGGER):
        api.get(f"/catalogs/{catalog['id']}/records", headers={"X-Request-ID": "req-42"})
    record = next(r for r in caplog.records if r.name == logs.ACCESS_LOGGER)
    line = orjson.loads(logs.JSONFormatter().format(record))
    ws = api.client.app.state.instance.settings.default_workspace
    assert line["message"] == "request" and line["level"] == "info"
    assert line["method"] == "GET" and line["route"] == RECORDS_ROUTE
    assert line["status"] == 200 and line["duration_ms"] >= 0
    assert line["workspace"] == ws and isinstance(line["user_id"], int)
    text = logs.TextFormatter().format(record)
    assert f"route={RECORDS_ROUTE}" in text and "status=200" in text


def test_a_bug_is_logged_with_its_traceback_and_request_id(
    app: Any, caplog: pytest.LogCaptureFixture
) -> None:
    def broken() -> None:
        raise RuntimeError("kaput")

    app.router.routes.insert(0, APIRoute("/boom", broken))
    with (
        caplog.at_level(logging.INFO),
        TestClient(app, raise_server_exceptions=False) as client,
    ):
        r = client.get("/boom", headers={"X-Request-ID": "bug-1"})
    assert r.status_code == 500 and r.json()["error"] == "INTERNAL"
    access = next(r for r in caplog.records if r.name == logs.ACCESS_LOGGER)
    assert access.levelno == logging.ERROR and access.__dict__["status"] == 500
    traced = [orjson.loads(logs.JSONFormatter().format(r)) for r in caplog.records if r.exc_info]
    assert traced and "RuntimeError: kaput" in traced[0]["traceback"]
    assert traced[0]["request_id"] == "bug-1"


def test_rate_limit_refusals_are_counted(instance: Any) -> None:
    instance.settings.rate_limit_address = "2/30seconds"
    before = sample("kartoteka_rate_limit_refusals_total", limit="address")
    with TestClient(create_app(instance.settings, instance)) as client:
        statuses = [client.get("/api/v1/catalogs").status_code for _ in range(3)]
    assert statuses[-1] == 429
    assert sample("kartoteka_rate_limit_refusals_total", limit="address") == before + 1


def test_login_throttling_is_counted(instance: Any) -> None:
    instance.settings.login_delays = "1:60"
    throttle = for_workspace(instance.workspace(instance.settings.default_workspace))
    before = sample("kartoteka_login_throttled_total")
    throttle.begin("someone@example.com", "10.0.0.1")  # a failed check (never succeeded)
    with pytest.raises(RateLimited):
        throttle.begin("someone@example.com", "10.0.0.1")
    assert sample("kartoteka_login_throttled_total") == before + 1


def test_readyz_reports_each_check_and_needs_a_live_worker(
    client: TestClient, instance: Any
) -> None:
    control = instance.dbs.control
    with control.begin() as conn:
        conn.execute(heartbeat.worker_heartbeats.delete())
    r = client.get("/readyz")
    assert r.status_code == 503
    checks = r.json()["checks"]
    assert checks["database"] == "ok" and checks["migrations"] == "ok"
    assert "no worker" in checks["worker"] and "redis" not in checks
    heartbeat.write_beat(control, "test:1", utcnow())
    r = client.get("/readyz")
    assert r.status_code == 200, r.text
    assert r.json() == {
        "status": "ok",
        "checks": {"database": "ok", "migrations": "ok", "worker": "ok"},
    }


def test_the_in_process_worker_beats(instance: Any) -> None:
    from kartoteka.workers import start_in_process

    with instance.dbs.control.begin() as conn:
        conn.execute(heartbeat.worker_heartbeats.delete())
    stop = start_in_process(instance)
    try:
        for _ in range(200):
            if heartbeat.latest_beat(instance.dbs.control) is not None:
                break
            threading.Event().wait(0.05)
    finally:
        stop()
    assert heartbeat.latest_beat(instance.dbs.control) is not None


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """The shared loopback receiver answering 204 (overrides conftest's `allow` default)."""
    r = Receiver(default=NO_CONTENT)
    yield r
    r.close()


def test_request_webhooks_carry_the_request_id_and_are_counted(receiver: Receiver) -> None:
    url = receiver.url("/hook")
    delivered = sample("kartoteka_webhook_attempts_total", kind="request", outcome="delivered")
    refused = sample("kartoteka_webhook_attempts_total", kind="request", outcome="refused")
    token = context.set_request_id("req-77")
    try:
        with delivery.make_client() as client:
            ok = delivery.post_signed(client, url, "whsec_" + "A" * 32, "m1", b"{}", 5, True)
            no = delivery.post_signed(client, url, "whsec_" + "A" * 32, "m2", b"{}", 5, False)
    finally:
        context.reset_request_id(token)
    assert ok.ok and no.error and no.error.startswith("refused:")
    assert receiver.requests[0]["headers"]["x-request-id"] == "req-77"
    after = sample("kartoteka_webhook_attempts_total", kind="request", outcome="delivered")
    assert after == delivered + 1
    assert sample("kartoteka_webhook_attempts_total", kind="request", outcome="refused") == (
        refused + 1
    )
    assert sample("kartoteka_webhook_receiver_seconds_count", kind="request") >= 1


def test_log_format_setting_is_checked() -> None:
    from kartoteka.config import Settings

    assert Settings.from_env({"KARTOTEKA_LOG_FORMAT": "JSON"}).log_format == "json"
    assert Settings.from_env({}).log_format == ""
    with pytest.raises(ValueError, match="KARTOTEKA_LOG_FORMAT"):
        Settings.from_env({"KARTOTEKA_LOG_FORMAT": "xml"})


def test_notify_deliveries_carry_the_request_id_of_the_change(
    api: Any, instance: Any, receiver: Receiver
) -> None:
    from kartoteka.workers import run_once

    catalog = api.catalog("Deals", [{"name": "Title", "type": "text"}])
    r = api.post("/webhooks", {"url": receiver.url("/hook"), "catalog": catalog["api_name"]})
    assert r.status_code == 201, r.text
    api.post(f"/catalogs/{catalog['id']}/records", {"values": {"title": "a"}},
             headers={"X-Request-ID": "change-9"})  # fmt: skip
    api.record(catalog["id"], {"title": "b"})  # its own, generated id
    run_once(instance, instance.settings.default_workspace)
    ids = [seen["headers"].get("x-request-id") or "" for seen in receiver.requests]
    assert len(ids) == 2 and "change-9" in ids  # sent concurrently: in either order
    (other,) = set(ids) - {"change-9"}
    assert len(other) == 32  # the other write's generated id


def test_a_tallied_request_metric_equals_observing_one_by_one() -> None:
    # The tally adds to the histogram's buckets through prometheus-client's internals;
    # this pins that the pinned version exposes the same samples as plain observe().
    durations = [0.0001, 0.002, 0.002, 0.0049, 0.005, 0.3, 29.0, 31.0, 120.0]
    tally = metrics.RequestTally()
    for seconds in durations:
        tally.add("GET", "/tally-test", "200", seconds)
    tally.flush()
    for seconds in durations:
        metrics.HTTP_REQUESTS.labels("GET", "/observed-test", "200").inc()
        metrics.HTTP_DURATION.labels("GET", "/observed-test", "200").observe(seconds)

    def samples(route: str) -> dict[tuple[str, str], float]:
        found = {}
        for metric in REGISTRY.collect():
            for s in metric.samples:
                if s.labels.get("route") == route and not s.name.endswith("_created"):
                    found[(s.name, s.labels.get("le", ""))] = s.value
        return found

    tallied, observed = samples("/tally-test"), samples("/observed-test")
    # total, count, sum and a bucket per bound plus +Inf
    assert tallied == observed and len(tallied) == 4 + len(metrics.LATENCY_BUCKETS)
    assert tallied[("kartoteka_http_request_duration_seconds_bucket", "0.005")] == 5
    assert tallied[("kartoteka_http_request_duration_seconds_bucket", "+Inf")] == len(durations)


def test_the_json_access_line_written_directly_equals_the_formatters(
    api: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    catalog = api.catalog("Lined", [{"name": "Title", "type": "text"}])
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    logs.configure("json")
    # pytest's own capture handlers sit on the root logger too: leave only ours, so the
    # line takes the direct path (any other handler gets a LogRecord instead).
    root.handlers[:] = [h for h in root.handlers if isinstance(h, logs._OurHandler)]
    try:
        assert logs._only_our_json_handler(logging.getLogger(logs.ACCESS_LOGGER), logging.INFO)
        capsys.readouterr()
        api.get(f"/catalogs/{catalog['id']}/records", headers={"X-Request-ID": "req-7"})
        written = [orjson.loads(x) for x in capsys.readouterr().err.splitlines()]
        # The same line through a LogRecord and the formatter (what any other setup gets).
        access = logging.getLogger(logs.ACCESS_LOGGER)
        token = context.set_request_id("req-7")
        try:
            record = access.makeRecord(access.name, logging.INFO, "", 0, "request", (), None)
            for key, value in written[-1].items():
                if key not in ("time", "level", "logger", "message", "request_id"):
                    setattr(record, key, value)
            expected = orjson.loads(logs.JSONFormatter().format(record))
        finally:
            context.reset_request_id(token)
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
    line = next(x for x in written if x.get("logger") == logs.ACCESS_LOGGER)
    assert line["route"] == RECORDS_ROUTE and line["request_id"] == "req-7"
    assert {k: v for k, v in line.items() if k != "time"} == {
        k: v for k, v in expected.items() if k != "time"
    }
    assert line["time"].endswith("+00:00") and len(line["time"]) == len(expected["time"])

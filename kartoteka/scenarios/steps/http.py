"""`http`: call an outside service (templates, SSRF rules of webhooks, rate limit, retries)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson

from kartoteka.webhooks.delivery import CONNECT_TIMEOUT, address_problem

from ..errors import StepFailed
from ..limits import reserve_http_slot
from .base import Checker, Deferred, StepKind, StepResult

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD")
MAX_TIMEOUT = 60.0
MAX_RESPONSE = 1_000_000


class HttpRequest(StepKind):
    kind = "http"
    keys = frozenset({"method", "url", "headers", "json", "body", "timeout", "ok", "into"})
    effect = "external"
    summary = "Call a URL; the answer lands in the step output (and `into`); non-OK fails."

    def validate(self, spec: dict[str, Any], where: str, check: Checker) -> None:
        if str(spec.get("method", "GET")).upper() not in METHODS:
            check.add(f"{where}.method", "scenario_one_of", allowed=", ".join(METHODS))
        url = spec.get("url")
        if not isinstance(url, str) or not url.strip():
            check.add(f"{where}.url", "scenario_required")
        elif "{" not in url.split("//", 1)[-1].split("/", 1)[0] and urlsplit(url).scheme not in (
            "http",
            "https",
        ):
            check.add(f"{where}.url", "scenario_http_url")
        if "headers" in spec and not isinstance(spec["headers"], dict):
            check.add(f"{where}.headers", "scenario_must_be_object")
        if "json" in spec and "body" in spec:
            check.add(f"{where}.body", "scenario_http_body")
        timeout = spec.get("timeout", 10)
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
            check.add(f"{where}.timeout", "scenario_seconds")
        elif not 0 < timeout <= MAX_TIMEOUT:
            check.add(f"{where}.timeout", "scenario_above_zero", max=f"{MAX_TIMEOUT:g}")
        ok = spec.get("ok")
        if ok is not None and not (
            isinstance(ok, list) and all(isinstance(s, int) and 100 <= s < 600 for s in ok)
        ):
            check.add(f"{where}.ok", "scenario_http_ok")

    def run(self, ctx: Any, spec: dict[str, Any], instr: dict[str, Any]) -> StepResult:
        started = self.start(ctx, spec, instr)
        return started.alone() if isinstance(started, Deferred) else started

    def start(self, ctx: Any, spec: dict[str, Any], instr: dict[str, Any]) -> Any:
        request = {
            "method": str(spec.get("method", "GET")).upper(),
            "url": ctx.render("url", spec["url"]),
            "headers": ctx.render("headers", spec.get("headers") or {}),
        }
        if "json" in spec:
            request["json"] = ctx.render("json", spec["json"])
        if "body" in spec:
            request["body"] = str(ctx.render("body", spec["body"]))
        if ctx.test:
            return StepResult(output={"recorded": request}, status="recorded")
        waiting = _rate_limited(ctx, instr)
        if waiting is not None:
            return waiting
        call = HttpCall(ctx, request, float(spec.get("timeout", 10)))
        return Deferred(call, lambda outcome: _answered(spec, outcome))


def _answered(spec: dict[str, Any], outcome: Any) -> StepResult:
    """The step's result from what `_send` returned (or raised)."""
    if isinstance(outcome, BaseException):
        raise outcome
    ok = spec.get("ok")
    status = outcome["status"]
    if (status not in ok) if ok else not 200 <= status < 300:
        raise StepFailed.of("step_http_status", outcome, status=status)
    variables = {spec["into"]: outcome} if spec.get("into") else {}
    return StepResult(output=outcome, variables=variables)


@dataclass
class HttpCall:
    """One run's call, sent alone or at once with other runs' calls of a worker pass."""

    ctx: Any
    request: dict[str, Any]
    timeout: float

    def group(self) -> tuple[Any, ...]:
        """Every call of a pass goes out at once (each scenario's rate was kept before)."""
        return ("http",)

    def do(self) -> dict[str, Any]:
        """Send it now."""
        return _send(self.ctx, self.request, self.timeout)

    @staticmethod
    def do_many(works: list[Any]) -> list[Any]:
        """Send calls on the worker's threads; an answer, or the exception, for each."""
        pool = works[0].ctx.services.pool()
        if pool is None or len(works) == 1:
            return [_outcome(w) for w in works]
        return list(pool.map(_outcome, works))


def _outcome(call: HttpCall) -> Any:
    try:
        return call.do()
    except Exception as exc:  # handed to the run's step, which raises it there
        return exc


def _rate_limited(ctx: Any, instr: dict[str, Any]) -> StepResult | None:
    """Park the run until its slot when the scenario's HTTP rate is spent."""
    rate = ctx.run.options.get("http_per_second")
    if not rate:
        return None
    slots = ctx.state.setdefault("http_slots", {})
    key = str(instr["pc"])
    if key not in slots:
        slot = reserve_http_slot(ctx.ws, ctx.run.scenario_id, float(rate), ctx.now)
        slots[key] = slot.isoformat()
    slot = datetime.fromisoformat(slots[key])
    if slot > ctx.now:
        return StepResult(
            output={"rate_limited_until": slot.isoformat() + "Z"}, wait_until=slot, repeat=True
        )
    slots.pop(key, None)
    return None


def _send(ctx: Any, request: dict[str, Any], timeout: float) -> dict[str, Any]:
    url = request["url"]
    if not isinstance(url, str) or urlsplit(url).scheme not in ("http", "https"):
        raise StepFailed.of("step_http_url", url=url)
    if not ctx.services.allow_private:
        problem = address_problem(url)
        if problem:
            raise StepFailed.of("step_http_refused", reason=problem)
    headers = {str(k): str(v) for k, v in (request["headers"] or {}).items()}
    headers.setdefault("idempotency-key", ctx.idempotency_key())
    content: bytes | None = None
    if "json" in request:
        content = orjson.dumps(request["json"])
        headers.setdefault("content-type", "application/json")
    elif "body" in request:
        content = request["body"].encode()
    started = time.perf_counter()
    try:
        response = ctx.services.http_client().request(
            request["method"],
            url,
            content=content,
            headers=headers,
            timeout=httpx.Timeout(timeout, connect=min(timeout, CONNECT_TIMEOUT)),
        )
    except httpx.TimeoutException:
        raise StepFailed.of("step_http_timeout", {"timeout": True}, seconds=timeout) from None
    except httpx.HTTPError as exc:
        raise StepFailed.of(
            "step_http_network", {"network_error": True}, error=type(exc).__name__, reason=str(exc)
        ) from None
    return {
        "status": response.status_code,
        "response": _body(response),
        "headers": {k: v for k, v in response.headers.items() if k.lower() != "set-cookie"},
        "duration_ms": int((time.perf_counter() - started) * 1000),
    }


def _body(response: httpx.Response) -> Any:
    """The answer: parsed JSON when it is JSON (by type, or by its look), else text (1 MB)."""
    raw = response.content[:MAX_RESPONSE]
    declared = "json" in response.headers.get("content-type", "")
    if declared or raw.lstrip()[:1] in (b"{", b"["):
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass
    return raw.decode("utf-8", "replace")

"""Which proxy an outgoing webhook call goes through (or none), from settings and env.

`KARTOTEKA_OUTGOING_PROXY` (one proxy for http and https targets) wins over the usual
`HTTPS_PROXY` / `HTTP_PROXY` variables (either case); `NO_PROXY` names hosts called
directly: `example.com` covers it and its subdomains, `.example.com` only subdomains,
`10.0.0.0/8` addresses written as IPs, `*` everything; a `:port` suffix is ignored.
The private-address guard is applied to the target by the senders, never to the proxy.
"""

from __future__ import annotations

import functools
import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from . import http1


@dataclass(frozen=True)
class Proxies:
    """The proxies of one configuration: per target scheme, and the hosts that bypass them."""

    http: http1.Proxy | None = None
    https: http1.Proxy | None = None
    bypass: tuple[str, ...] = ()
    #: Why the configured proxy cannot be used; calls it should carry fail with it
    #: rather than quietly going around a proxy the network may require.
    problem: str | None = None

    def for_origin(self, origin: http1.Origin) -> http1.Proxy | None:
        """The proxy for a target origin (None: connect directly); ConnectError if broken."""
        if _bypassed(origin.host, self.bypass):
            return None
        if self.problem:
            raise http1.ConnectError(self.problem)
        return self.https if origin.scheme == "https" else self.http

    def for_url(self, url: str) -> http1.Proxy | None:
        """The proxy for a target URL (None: directly, or not a URL the sender accepts)."""
        if self.http is None and self.https is None and self.problem is None:
            return None
        try:
            origin, _ = http1.Origin.of(url)
        except http1.HTTPError:
            return None
        return self.for_origin(origin)

    def url_for(self, url: str) -> str | None:
        """The proxy URL (`http://[user:pass@]host:port`) for a target URL, for httpx."""
        proxy = self.for_url(url)
        return None if proxy is None else proxy.url


def _bypassed(host: str, entries: tuple[str, ...]) -> bool:
    host = host.lower().strip("[]")
    for entry in entries:
        if entry == "*":
            return True
        if "/" in entry:
            try:
                if ipaddress.ip_address(host) in ipaddress.ip_network(entry, strict=False):
                    return True
            except ValueError:
                continue
        elif entry.startswith("."):
            if host.endswith(entry):
                return True
        elif host == entry or host.endswith("." + entry):
            return True
    return False


def _entries(no_proxy: str) -> tuple[str, ...]:
    found = []
    for raw in no_proxy.split(","):
        entry = raw.strip().lower()
        if not entry:
            continue
        if "/" not in entry and entry.count(":") == 1:
            entry = entry.split(":", 1)[0]  # host:port - the port is not compared
        found.append(entry.strip("[]"))
    return tuple(found)


def _env(env: Mapping[str, str], name: str) -> str:
    return env.get(name) or env.get(name.lower()) or ""


@functools.lru_cache(maxsize=16)
def _build(configured: str, https: str, http: str, no_proxy: str) -> Proxies:
    """Parsed once per distinct configuration (the senders ask for every message)."""
    bypass = _entries(no_proxy)
    try:
        if configured:
            one = http1.Proxy.parse(configured)
            return Proxies(one, one, bypass)
        return Proxies(
            http1.Proxy.parse(http) if http else None,
            http1.Proxy.parse(https) if https else None,
            bypass,
        )
    except http1.HTTPError as exc:
        return Proxies(bypass=bypass, problem=f"proxy misconfigured: {exc}")


def proxies(settings: Any, env: Mapping[str, str] | None = None) -> Proxies:
    """The proxies in force for `settings` (`outgoing_proxy`) and the environment."""
    env = os.environ if env is None else env
    return _build(
        getattr(settings, "outgoing_proxy", None) or "",
        _env(env, "HTTPS_PROXY"),
        _env(env, "HTTP_PROXY"),
        _env(env, "NO_PROXY"),
    )

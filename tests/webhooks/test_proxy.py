"""Webhook calls through an HTTP proxy: a real proxy on loopback, CONNECT and forwarding.

The proxy below knows host names the machine cannot resolve (`receiver.test`), so a
call that reaches the receiver under such a name can only have gone through it.
"""

from __future__ import annotations

import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from support.receiver import Receiver

from kartoteka.config import Settings
from kartoteka.webhooks import delivery, http1, proxy

SECRET = "whsec_" + "QUJD" * 8
AUTH = "Basic dXNlcjpwYXNz"  # user:pass


class LoopbackProxy:
    """A small HTTP proxy: CONNECT tunnels and absolute-form forwarding, both logged."""

    def __init__(self, routes: dict[str, tuple[str, int]], auth: str | None = None) -> None:
        self.routes = routes
        self.auth = auth
        self.lines: list[str] = []
        self.auths: list[str | None] = []
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _upstream(self, authority: str) -> socket.socket:
        host, _, port = authority.rpartition(":")
        return socket.create_connection(self.routes.get(authority, (host, int(port))))

    def _serve(self, conn: socket.socket) -> None:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                conn.close()
                return
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {k.lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:])}
        self.lines.append(lines[0])
        self.auths.append(headers.get("proxy-authorization"))
        if self.auth and headers.get("proxy-authorization") != self.auth:
            with conn:
                conn.sendall(b"HTTP/1.1 407 Proxy Authentication Required\r\n\r\n")
            return
        method, target, _ = lines[0].split(" ", 2)
        if method == "CONNECT":
            up = self._upstream(target)
            conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        else:
            url = urlsplit(target)
            up = self._upstream(f"{url.hostname}:{url.port or 80}")
            up.sendall(head + b"\r\n\r\n" + rest)
        _pipe(conn, up)

    def close(self) -> None:
        self.sock.close()


def _pipe(a: socket.socket, b: socket.socket) -> None:
    def copy(src: socket.socket, dst: socket.socket) -> None:
        try:
            while chunk := src.recv(65536):
                dst.sendall(chunk)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    back = threading.Thread(target=copy, args=(b, a), daemon=True)
    back.start()
    copy(a, b)
    back.join()
    a.close()
    b.close()


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A self-signed certificate for receiver.test (key and cert in one PEM file)."""
    where = tmp_path_factory.mktemp("tls")
    pem = where / "receiver.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=receiver.test", "-addext", "subjectAltName=DNS:receiver.test",
         "-keyout", str(where / "key.pem"), "-out", str(where / "cert.pem")],
        check=True, capture_output=True,
    )  # fmt: skip
    pem.write_text((where / "cert.pem").read_text() + (where / "key.pem").read_text())
    return pem


@pytest.fixture
def servers(certificate: Path) -> Iterator[dict[str, Receiver]]:
    """A plain and a TLS receiver on loopback (the shared `Receiver`, keep-alive, 200)."""
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(certificate)
    plain = Receiver(default=(200, None, {}), keep_alive=True)
    secure = Receiver(default=(200, None, {}), keep_alive=True, tls=tls)
    yield {"http": plain, "https": secure}
    plain.close()
    secure.close()


@pytest.fixture
def receivers(servers: dict[str, Receiver]) -> dict[str, int]:
    """The two receivers' ports."""
    return {scheme: receiver.port for scheme, receiver in servers.items()}


@pytest.fixture
def loopback_proxy(receivers: dict[str, int]) -> Iterator[LoopbackProxy]:
    routes = {
        "receiver.test:80": ("127.0.0.1", receivers["http"]),
        "receiver.test:443": ("127.0.0.1", receivers["https"]),
        "public.test:80": ("127.0.0.1", receivers["http"]),
    }
    p = LoopbackProxy(routes)
    yield p
    p.close()


def _trusting(certificate: Path) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(certificate))


def _proxies(url: str, **env: str) -> proxy.Proxies:
    return proxy.proxies(Settings(outgoing_proxy=url), env)


def _send_async(pool: http1.Pool, urls: list[str], proxies: proxy.Proxies, private: bool) -> list:
    client = delivery.NotifyClient()
    client.pool = pool
    try:

        async def all_of() -> list:
            out = []
            for url in urls:
                out.append(
                    await delivery.post_signed_async(
                        pool, url, SECRET, "msg_1", b'{"a":1}', 5, private, None, proxies
                    )
                )
            return out

        return client.run(all_of())
    finally:
        client.close()


def test_notify_http_target_is_forwarded_in_absolute_form(
    loopback_proxy: LoopbackProxy, servers: dict[str, Receiver]
) -> None:
    proxies = _proxies(loopback_proxy.url.replace("http://", "http://user:pass@"))
    (outcome,) = _send_async(http1.Pool(), ["http://receiver.test/hook?x=1"], proxies, True)
    assert outcome.ok, outcome
    assert loopback_proxy.lines == ["POST http://receiver.test/hook?x=1 HTTP/1.1"]
    assert loopback_proxy.auths == [AUTH]
    (seen,) = servers["http"].requests + servers["https"].requests
    assert seen["body"] == b'{"a":1}' and seen["headers"]["webhook-id"] == "msg_1"
    assert seen["headers"]["host"] == "receiver.test"


def test_notify_https_target_goes_through_a_connect_tunnel(
    loopback_proxy: LoopbackProxy, certificate: Path, servers: dict[str, Receiver]
) -> None:
    proxies = _proxies(loopback_proxy.url)
    pool = http1.Pool(tls=_trusting(certificate))
    urls = ["https://receiver.test/hook", "https://receiver.test/hook"]
    outcomes = _send_async(pool, urls, proxies, True)
    assert all(o.ok for o in outcomes), outcomes
    # One tunnel, kept alive for the second message; TLS ran end to end through it.
    assert loopback_proxy.lines == ["CONNECT receiver.test:443 HTTP/1.1"]
    seen = servers["http"].requests + servers["https"].requests
    assert [s["path"] for s in seen] == ["/hook", "/hook"]


def test_a_proxy_refusing_the_tunnel_is_the_attempts_error(
    receivers: dict[str, int], certificate: Path
) -> None:
    guarded = LoopbackProxy({}, auth=AUTH)
    try:
        pool = http1.Pool(tls=_trusting(certificate))
        (outcome,) = _send_async(pool, ["https://receiver.test/"], _proxies(guarded.url), True)
    finally:
        guarded.close()
    assert not outcome.ok and outcome.status is None
    assert "refused the tunnel" in outcome.error and "407" in outcome.error


def test_request_webhooks_use_the_proxy_both_ways(
    loopback_proxy: LoopbackProxy, certificate: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate))  # httpx's TLS trusts the test CA
    delivery._proxied_clients.clear()
    proxies = _proxies(loopback_proxy.url)
    with delivery.make_client() as direct:
        plain = delivery.post_signed(
            direct, "http://receiver.test/a", SECRET, "m", b"{}", 5, True, proxies
        )
        secure = delivery.post_signed(
            direct, "https://receiver.test/b", SECRET, "m", b"{}", 5, True, proxies
        )
    for client in delivery._proxied_clients.values():
        client.close()
    delivery._proxied_clients.clear()
    assert plain.ok and secure.ok, (plain, secure)
    assert loopback_proxy.lines == [
        "POST http://receiver.test/a HTTP/1.1",
        "CONNECT receiver.test:443 HTTP/1.1",
    ]


def test_the_address_guard_judges_the_target_not_the_proxy(
    loopback_proxy: LoopbackProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = socket.getaddrinfo

    def resolve(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "public.test":  # a public address, reachable only through the proxy
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    delivery._address_verdicts.clear()
    proxies = _proxies(loopback_proxy.url)  # the proxy itself is on loopback
    outcomes = _send_async(
        http1.Pool(), ["http://public.test/in", "http://10.1.2.3/in"], proxies, False
    )
    delivery._address_verdicts.clear()
    assert outcomes[0].ok, outcomes[0]
    assert outcomes[1].error.startswith("refused:") and "10.1.2.3" in outcomes[1].error
    assert loopback_proxy.lines == ["POST http://public.test/in HTTP/1.1"]  # never asked


def test_no_proxy_hosts_are_called_directly(
    loopback_proxy: LoopbackProxy, receivers: dict[str, int]
) -> None:
    proxies = proxy.proxies(Settings(), {"HTTP_PROXY": loopback_proxy.url, "NO_PROXY": "127.0.0.1"})
    url = f"http://127.0.0.1:{receivers['http']}/direct"
    (outcome,) = _send_async(http1.Pool(), [url], proxies, True)
    assert outcome.ok and loopback_proxy.lines == []


def test_which_proxy_applies() -> None:
    env = {"https_proxy": "http://secure:3128", "HTTP_PROXY": "http://plain:8080",
           "NO_PROXY": "internal.example, .corp, 10.0.0.0/8, other:443"}  # fmt: skip
    found = proxy.proxies(Settings(), env)
    assert found.for_url("https://api.example.com/x").origin == http1.Origin("http", "secure", 3128)
    assert found.for_url("http://api.example.com/x").origin == http1.Origin("http", "plain", 8080)
    for direct in ("https://internal.example/", "https://a.internal.example/", "http://x.corp/",
                   "http://10.2.3.4/", "https://other/"):  # fmt: skip
        assert found.for_url(direct) is None, direct
    assert found.for_url("https://corp/") is not None  # ".corp" covers subdomains only
    mine = proxy.proxies(Settings(outgoing_proxy="http://mine:1"), env)
    assert mine.for_url("http://a.test/").origin.host == "mine"
    assert mine.for_url("https://a.internal.example/") is None
    assert proxy.proxies(Settings(), {}).for_url("https://a.test/") is None
    everything = proxy.proxies(Settings(), {"HTTPS_PROXY": "http://p:1", "NO_PROXY": "*"})
    assert everything.for_url("https://a.test/") is None


def test_a_misconfigured_proxy_fails_calls_instead_of_going_around_it() -> None:
    broken = _proxies("https://proxy.example:3128")
    (outcome,) = _send_async(http1.Pool(), ["http://receiver.test/"], broken, True)
    assert outcome.status is None and "proxy misconfigured" in outcome.error
    with delivery.make_client() as client:
        sync = delivery.post_signed(
            client, "http://receiver.test/", SECRET, "m", b"{}", 5, True, broken
        )
    assert "proxy misconfigured" in (sync.error or "")

"""The asyncio HTTP client of notify deliveries: POST only, a keep-alive pool per origin.

Why not `httpx.AsyncClient`: on this workload (thousands of small POSTs to a few
receivers) its connection pool cost 1-3 ms of CPU per request, thirty to fifty times
what the request itself costs, and the sender topped out below 500 messages/s with it;
aiohttp and an h11-based client cost 0.13-0.2 ms per request. Answers are parsed by
`httptools` (llhttp in C, the parser uvicorn serves us with): status, headers,
Content-Length, chunked bodies, keep-alive. This module adds only what deliveries need
around it: connections per origin, timeouts, TLS, the request head and a bounded body
excerpt. It never follows redirects (they could lead to private hosts). Through an HTTP
proxy (`Proxy`, chosen per target by `webhooks.proxy`) an https target is reached by a
CONNECT tunnel with TLS end to end, an http target by sending the request to the proxy
in absolute form. See docs/decisions/0010-webhook-http-client.md.

Its errors stay English text (english-ok): they are the technical detail of a delivery
attempt, stored once on the delivery like an operating system's "Connection refused",
and never raised to a user. Pages say why a message did not arrive in the reader's
language from the outcome's failure kind, the detail shown beside it.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import os
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

import httptools

#: Connections per origin (scheme, host, port); more requests wait for a free one.
MAX_CONNECTIONS = 32
MAX_HEAD = 64 * 1024
#: A longer answer is not drained for keep-alive; its connection is closed instead.
MAX_DRAIN = 1024 * 1024
USER_AGENT = "Kartoteka-Webhooks/1"
#: Seconds `Pool.aclose` waits for connections (TLS shutdowns) to close.
CLOSE_WAIT = 1.0


class HTTPError(Exception):
    """No (complete) answer came back: refused, reset, malformed or too large."""


class ConnectError(HTTPError):
    """The connection could not be opened."""


class RemoteProtocolError(HTTPError):
    """The peer closed the connection or answered something that is not HTTP/1.x."""


class ReadError(HTTPError):
    """The connection failed while the request or the answer was on its way."""


class NotStarted(Exception):
    """The request's turn came after its deadline; nothing was sent."""


@dataclass
class Response:
    """Status, headers (lower-case names) and the first `excerpt` bytes of the body."""

    status: int
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class Origin:
    """Where a connection goes: scheme, host (for Host and TLS) and port."""

    scheme: str
    host: str
    port: int

    @staticmethod
    def of(url: str) -> tuple[Origin, str]:
        """The origin of an absolute http(s) URL and its request target (path and query)."""
        return _split(url)

    def host_header(self) -> str:
        """The Host header value (the port only when it is not the scheme's default)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"


@dataclass(frozen=True)
class Proxy:
    """An HTTP proxy: where it listens and the `Proxy-Authorization` value it wants."""

    origin: Origin
    authorization: str | None = None
    #: The URL it was configured with (credentials included), for other HTTP clients.
    url: str = ""

    @staticmethod
    def parse(url: str) -> Proxy:
        """`http://[user:password@]host[:port]`; HTTPError for anything else."""
        return _parse_proxy(url)

    def authority(self, origin: Origin) -> str:
        """`host:port` of a target as CONNECT names it."""
        host = f"[{origin.host}]" if ":" in origin.host else origin.host
        return f"{host}:{origin.port}"


@functools.lru_cache(maxsize=64)
def _parse_proxy(url: str) -> Proxy:
    try:
        parts = urlsplit(url if "://" in url else f"http://{url}")
        port = parts.port or 80
    except ValueError:
        raise HTTPError(f"not a valid proxy URL: {url[:200]}") from None
    if parts.scheme != "http" or not parts.hostname:
        # TLS to the proxy itself would need TLS inside TLS for https targets, which
        # asyncio cannot do; corporate proxies listen on plain HTTP almost always.
        raise HTTPError(f"the proxy must be an http:// URL, not {url[:200]}")
    authorization = None
    if parts.username is not None:
        pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        authorization = "Basic " + base64.b64encode(pair.encode()).decode("ascii")
    return Proxy(Origin("http", parts.hostname, port), authorization, parts.geturl())


@functools.lru_cache(maxsize=1024)
def _split(url: str) -> tuple[Origin, str]:
    # Every message of a webhook has the same URL; parsing it was ~5% of a send.
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise HTTPError(f"not a valid URL: {url[:200]}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise HTTPError(f"not an absolute http(s) URL: {url[:200]}")
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Origin(parts.scheme, parts.hostname, port), target


@dataclass
class _Connection:
    origin: Origin
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    reused: bool = False
    #: Forwarding through a proxy (http targets): the request line names the whole URL
    #: and the request carries the proxy's credentials.
    forward: Proxy | None = None

    def usable(self) -> bool:
        return not self.reader.at_eof() and not self.writer.is_closing()

    def close(self) -> None:
        self.writer.close()


@dataclass
class _Slot:
    """The idle connections of one origin and the semaphore bounding all of its connections."""

    limit: asyncio.Semaphore
    idle: list[_Connection] = field(default_factory=list)


class _Body:
    """Collects the first `excerpt` bytes of a body while reading past the rest."""

    def __init__(self, excerpt: int) -> None:
        self.kept = bytearray()
        self.excerpt = excerpt
        self.total = 0

    def add(self, chunk: bytes) -> None:
        self.total += len(chunk)
        if self.total > MAX_DRAIN:
            raise RemoteProtocolError(f"the answer is longer than {MAX_DRAIN} bytes")
        room = self.excerpt - len(self.kept)
        if room > 0:
            self.kept += chunk[:room]


def _request(
    origin: Origin, target: str, headers: dict[str, str], body: bytes, forward: Proxy | None = None
) -> bytes:
    """The request head and body; a control character anywhere in the head is refused."""
    if forward is not None:
        target = f"{origin.scheme}://{origin.host_header()}{target}"  # absolute form
    lines = [f"POST {target} HTTP/1.1", f"host: {origin.host_header()}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    if forward is not None and forward.authorization:
        lines.append(f"proxy-authorization: {forward.authorization}")
    lines += [f"user-agent: {USER_AGENT}", f"content-length: {len(body)}"]
    if any(ch in line for line in lines for ch in "\r\n\0") or " " in target:
        raise HTTPError("cannot send this request: a control character in its head")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class _Answer:
    """httptools callbacks collecting the final answer (interim 1xx answers are skipped)."""

    def __init__(self, excerpt: int) -> None:
        self.parser = httptools.HttpResponseParser(self)
        self.excerpt = excerpt
        self._reset()

    def _reset(self) -> None:
        self.headers: dict[str, str] = {}
        self.body = _Body(self.excerpt)
        self.headers_done = False
        self.done = False
        self.keep_alive = False

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers[name.decode("latin-1").lower()] = value.decode("latin-1")
        if len(self.headers) > 200:
            raise RemoteProtocolError("the answer has too many headers")

    def on_headers_complete(self) -> None:
        self.headers_done = True

    def on_body(self, body: bytes) -> None:
        self.body.add(body)

    def on_message_complete(self) -> None:
        status = self.parser.get_status_code()
        if 100 <= status < 200 and status != 101:
            self._reset()  # 100 Continue, 103 Early Hints: the real answer follows
        else:
            # Asked here: llhttp answers it for the message it has just finished.
            self.keep_alive = self.parser.should_keep_alive()
            self.done = True

    def read_to_close(self) -> bool:
        """The answer's body runs until the connection closes (no length, not chunked)."""
        chunked = "chunked" in self.headers.get("transfer-encoding", "").lower()
        return self.headers_done and "content-length" not in self.headers and not chunked


def _no_delay(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    if sock is not None:
        # Head and body are one write, but a delayed ACK must never hold an answer.
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


async def _open_tunnel(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, proxy: Proxy, origin: Origin
) -> None:
    """Ask the proxy for a tunnel to `origin`; ConnectError unless it answers 2xx."""
    authority = proxy.authority(origin)
    lines = [f"CONNECT {authority} HTTP/1.1", f"host: {authority}", f"user-agent: {USER_AGENT}"]
    if proxy.authorization:
        lines.append(f"proxy-authorization: {proxy.authorization}")
    if any(ch in line for line in lines for ch in "\r\n\0"):
        raise ConnectError("cannot open a tunnel: a control character in the host")
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
    await writer.drain()
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError):
        raise ConnectError("the proxy closed the connection instead of opening a tunnel") from None
    status_line = head.split(b"\r\n", 1)[0].decode("latin-1")
    parts = status_line.split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].startswith("2"):
        raise ConnectError(f"the proxy refused the tunnel to {authority}: {status_line[:200]}")


class Pool:
    """Keep-alive connections per origin; use it from one event loop only."""

    def __init__(
        self, max_connections: int = MAX_CONNECTIONS, tls: ssl.SSLContext | None = None
    ) -> None:
        self.max_connections = max_connections
        self._slots: dict[tuple[Origin, Proxy | None], _Slot] = {}
        self._tls: ssl.SSLContext | None = tls

    def _slot(self, origin: Origin, proxy: Proxy | None) -> _Slot:
        slot = self._slots.get((origin, proxy))
        if slot is None:
            slot = self._slots[(origin, proxy)] = _Slot(asyncio.Semaphore(self.max_connections))
        return slot

    def _tls_context(self) -> ssl.SSLContext:
        if self._tls is None:
            # SSL_CERT_FILE names a company's own CA bundle (a TLS-inspecting proxy).
            cafile = os.environ.get("SSL_CERT_FILE")
            if not cafile:
                try:
                    import certifi  # lazy: only for the first TLS receiver

                    cafile = certifi.where()
                except ImportError:
                    cafile = None
            self._tls = ssl.create_default_context(cafile=cafile)
        return self._tls

    async def _connect(self, origin: Origin, timeout: float, proxy: Proxy | None) -> _Connection:
        tls = self._tls_context() if origin.scheme == "https" else None
        try:
            async with asyncio.timeout(timeout):
                if proxy is not None:
                    return await self._through(proxy, origin, tls)
                reader, writer = await asyncio.open_connection(
                    origin.host,
                    origin.port,
                    ssl=tls,
                    server_hostname=origin.host if tls else None,
                    limit=MAX_HEAD,
                )
        except OSError as exc:
            raise ConnectError(str(exc) or type(exc).__name__) from None
        _no_delay(writer)
        return _Connection(origin, reader, writer)

    async def _through(
        self, proxy: Proxy, origin: Origin, tls: ssl.SSLContext | None
    ) -> _Connection:
        """A connection to `origin` through `proxy`: a CONNECT tunnel for TLS, else forwarding."""
        reader, writer = await asyncio.open_connection(
            proxy.origin.host, proxy.origin.port, limit=MAX_HEAD
        )
        _no_delay(writer)
        if tls is None:
            return _Connection(origin, reader, writer, forward=proxy)
        try:
            await _open_tunnel(reader, writer, proxy, origin)
            await writer.start_tls(tls, server_hostname=origin.host)
        except BaseException:
            writer.close()
            raise
        return _Connection(origin, reader, writer)

    def _take_idle(self, slot: _Slot) -> _Connection | None:
        while slot.idle:
            conn = slot.idle.pop()
            if conn.usable():
                conn.reused = True
                return conn
            conn.close()
        return None

    async def post(
        self,
        url: str,
        headers: Callable[[], dict[str, str]],
        body: bytes,
        timeout: float,
        connect_timeout: float,
        excerpt: int,
        start_by: float | None = None,
        proxy: Proxy | None = None,
    ) -> Response:
        """POST `body` to `url` (through `proxy` if given) once a connection is free.

        The clock starts then, not while waiting for the turn: `timeout` bounds the
        exchange itself, and `headers()` is called at that moment (a signature's
        timestamp is the sending time). A turn that comes after `start_by`
        (time.monotonic()) raises `NotStarted` and sends nothing.
        """
        origin, target = Origin.of(url)
        slot = self._slot(origin, proxy)
        async with slot.limit:
            if start_by is not None and time.monotonic() > start_by:
                raise NotStarted("its turn came too late")
            fields = headers()
            async with asyncio.timeout(timeout):
                conn = self._take_idle(slot)
                if conn is not None:
                    try:
                        return await self._exchange(slot, conn, target, fields, body, excerpt)
                    except (RemoteProtocolError, ReadError):
                        # The receiver closed an idle keep-alive connection as we reused
                        # it: try once on a fresh one, as browsers and httpx do.
                        pass
                conn = await self._connect(origin, connect_timeout, proxy)
                return await self._exchange(slot, conn, target, fields, body, excerpt)

    async def _exchange(
        self,
        slot: _Slot,
        conn: _Connection,
        target: str,
        fields: dict[str, str],
        body: bytes,
        excerpt: int,
    ) -> Response:
        keep = False
        try:
            conn.writer.write(_request(conn.origin, target, fields, body, conn.forward))
            await conn.writer.drain()
            answer = _Answer(excerpt)
            size = 0
            while not answer.done:
                chunk = await conn.reader.read(65536)
                if not chunk:
                    if answer.read_to_close():
                        break  # the close ends the body
                    raise RemoteProtocolError(
                        "the connection closed before the answer was complete"
                    )
                size += len(chunk)
                if not answer.headers_done and size > MAX_HEAD:
                    raise RemoteProtocolError("the answer's head is too large")
                answer.parser.feed_data(chunk)
            keep = answer.done and answer.keep_alive
            return Response(
                answer.parser.get_status_code(), answer.headers, bytes(answer.body.kept)
            )
        except httptools.HttpParserError as exc:
            cause = exc.__cause__ or exc.__context__
            if isinstance(cause, RemoteProtocolError):
                raise cause from None  # raised by a callback: too long, too many headers
            raise RemoteProtocolError(f"not a valid HTTP/1.x answer: {exc}") from None
        except OSError as exc:
            raise ReadError(str(exc) or type(exc).__name__) from None
        finally:
            if keep and conn.usable():
                slot.idle.append(conn)
            else:
                conn.close()

    async def aclose(self) -> None:
        """Close every idle connection, waiting briefly for TLS ones to shut down.

        The loop may be closed right after: a TLS transport still closing then would
        hold the loop open (uvloop refuses to close it), so stragglers are aborted.
        """
        writers = [conn.writer for slot in self._slots.values() for conn in slot.idle]
        for slot in self._slots.values():
            slot.idle.clear()
        self._slots.clear()
        for writer in writers:
            writer.close()
        if not writers:
            return
        try:
            async with asyncio.timeout(CLOSE_WAIT):
                await asyncio.gather(*(w.wait_closed() for w in writers), return_exceptions=True)
        except TimeoutError:
            for writer in writers:
                writer.transport.abort()
            await asyncio.sleep(0)

"""A small asyncio HTTP/1.1 client for notify deliveries: POST only, keep-alive pool per origin.

Why not `httpx.AsyncClient`: on this workload (thousands of small POSTs to a few
receivers) its connection pool costs 1-3 ms of CPU per request, thirty to fifty times
what the request itself costs, and the sender topped out below 500 messages/s with it.
This client does what deliveries need and nothing more: HTTP/1.1 POST, keep-alive,
TLS, Content-Length, chunked and read-to-close responses. It never follows redirects
(they could lead to private hosts) and ignores proxy environment variables.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

#: Connections per origin (scheme, host, port); more requests wait for a free one.
MAX_CONNECTIONS = 32
MAX_HEAD = 64 * 1024
#: A longer answer is not drained for keep-alive; its connection is closed instead.
MAX_DRAIN = 1024 * 1024
USER_AGENT = "Kartoteka-Webhooks/1"


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
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    reused: bool = False

    def usable(self) -> bool:
        return not self.reader.at_eof() and not self.writer.is_closing()

    def close(self) -> None:
        self.writer.close()


@dataclass
class _Slot:
    """The idle connections of one origin and the semaphore bounding all of its connections."""

    limit: asyncio.Semaphore
    idle: list[_Connection] = field(default_factory=list)


def _request_head(origin: Origin, target: str, headers: dict[str, str], length: int) -> bytes:
    lines = [f"POST {target} HTTP/1.1", f"host: {origin.host_header()}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    lines += [f"user-agent: {USER_AGENT}", f"content-length: {length}", "", ""]
    return "\r\n".join(lines).encode("latin-1")


def _parse_head(head: bytes) -> tuple[str, int, dict[str, str]]:
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
        raise RemoteProtocolError(f"not an HTTP/1.x status line: {lines[0][:100]!r}")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    return parts[0], int(parts[1]), headers


class _Body:
    """Collects the first `excerpt` bytes of a body while reading past the rest."""

    def __init__(self, excerpt: int) -> None:
        self.kept = bytearray()
        self.excerpt = excerpt
        self.total = 0

    def add(self, chunk: bytes) -> None:
        self.total += len(chunk)
        if self.total > MAX_DRAIN:
            raise _TooLong
        room = self.excerpt - len(self.kept)
        if room > 0:
            self.kept += chunk[:room]


class _TooLong(Exception):
    pass


async def _read_sized(reader: asyncio.StreamReader, length: int, body: _Body) -> None:
    while length > 0:
        chunk = await reader.read(min(length, 65536))
        if not chunk:
            raise RemoteProtocolError("the connection closed in the middle of the body")
        body.add(chunk)
        length -= len(chunk)


async def _read_chunked(reader: asyncio.StreamReader, body: _Body) -> None:
    while True:
        size_line = await reader.readuntil(b"\r\n")
        try:
            size = int(size_line.split(b";", 1)[0].strip(), 16)
        except ValueError:
            raise RemoteProtocolError("a malformed chunk size") from None
        if size == 0:
            # Trailers (rare) end with an empty line like the head does.
            while (await reader.readuntil(b"\r\n")) != b"\r\n":
                pass
            return
        await _read_sized(reader, size, body)
        await reader.readexactly(2)


async def _read_to_close(reader: asyncio.StreamReader, body: _Body) -> None:
    while chunk := await reader.read(65536):
        body.add(chunk)


class Pool:
    """Keep-alive connections per origin; use it from one event loop only."""

    def __init__(self, max_connections: int = MAX_CONNECTIONS) -> None:
        self.max_connections = max_connections
        self._slots: dict[Origin, _Slot] = {}
        self._tls: ssl.SSLContext | None = None

    def _slot(self, origin: Origin) -> _Slot:
        slot = self._slots.get(origin)
        if slot is None:
            slot = self._slots[origin] = _Slot(asyncio.Semaphore(self.max_connections))
        return slot

    def _tls_context(self) -> ssl.SSLContext:
        if self._tls is None:
            try:
                import certifi

                self._tls = ssl.create_default_context(cafile=certifi.where())
            except ImportError:
                self._tls = ssl.create_default_context()
        return self._tls

    async def _connect(self, origin: Origin, timeout: float) -> _Connection:
        tls = self._tls_context() if origin.scheme == "https" else None
        try:
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_connection(
                    origin.host,
                    origin.port,
                    ssl=tls,
                    server_hostname=origin.host if tls else None,
                    limit=MAX_HEAD,
                )
        except OSError as exc:
            raise ConnectError(str(exc) or type(exc).__name__) from None
        sock = writer.get_extra_info("socket")
        if sock is not None:
            # Head and body are one write, but a delayed ACK must never hold an answer.
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return _Connection(reader, writer)

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
    ) -> Response:
        """POST `body` to `url` once a connection to its origin is free.

        The clock starts then, not while waiting for the turn: `timeout` bounds the
        exchange itself, and `headers()` is called at that moment (a signature's
        timestamp is the sending time). A turn that comes after `start_by`
        (time.monotonic()) raises `NotStarted` and sends nothing.
        """
        origin, target = Origin.of(url)
        slot = self._slot(origin)
        async with slot.limit:
            if start_by is not None and time.monotonic() > start_by:
                raise NotStarted("its turn came too late")
            request = _request_head(origin, target, headers(), len(body)) + body
            async with asyncio.timeout(timeout):
                conn = self._take_idle(slot)
                if conn is not None:
                    try:
                        return await self._exchange(slot, conn, request, excerpt)
                    except (RemoteProtocolError, ReadError):
                        # The receiver closed an idle keep-alive connection as we reused
                        # it: try once on a fresh one, as browsers and httpx do.
                        pass
                conn = await self._connect(origin, connect_timeout)
                return await self._exchange(slot, conn, request, excerpt)

    async def _exchange(
        self, slot: _Slot, conn: _Connection, request: bytes, excerpt: int
    ) -> Response:
        keep = False
        try:
            conn.writer.write(request)
            await conn.writer.drain()
            version, status, headers = await self._read_head(conn.reader)
            body = _Body(excerpt)
            keep = await self._read_body(conn.reader, status, headers, version, body)
            return Response(status, headers, bytes(body.kept))
        except asyncio.IncompleteReadError:
            raise RemoteProtocolError(
                "the connection closed before the answer was complete"
            ) from None
        except OSError as exc:
            raise ReadError(str(exc) or type(exc).__name__) from None
        except asyncio.LimitOverrunError:
            raise RemoteProtocolError("the answer's head is too large") from None
        except _TooLong:
            raise RemoteProtocolError(f"the answer is longer than {MAX_DRAIN} bytes") from None
        finally:
            if keep and conn.usable():
                slot.idle.append(conn)
            else:
                conn.close()

    async def _read_head(self, reader: asyncio.StreamReader) -> tuple[str, int, dict[str, str]]:
        while True:
            version, status, headers = _parse_head((await reader.readuntil(b"\r\n\r\n"))[:-4])
            if status >= 200 or status == 101:
                return version, status, headers
            # 1xx interim answers (100 Continue, 103 Early Hints) precede the real one.

    async def _read_body(
        self,
        reader: asyncio.StreamReader,
        status: int,
        headers: dict[str, str],
        version: str,
        body: _Body,
    ) -> bool:
        """Read the body into `body`; True when the connection may carry another request."""
        connection = headers.get("connection", "").lower()
        keep = connection != "close" and (version != "HTTP/1.0" or connection == "keep-alive")
        if status in (204, 304) or status == 101:
            # These answers have no body whatever their headers say.
            return keep and status != 101
        if "chunked" in headers.get("transfer-encoding", "").lower():
            await _read_chunked(reader, body)
        elif "content-length" in headers:
            try:
                length = int(headers["content-length"])
            except ValueError:
                raise RemoteProtocolError("a malformed Content-Length") from None
            await _read_sized(reader, length, body)
        else:
            await _read_to_close(reader, body)
            keep = False
        return keep

    async def aclose(self) -> None:
        """Close every idle connection."""
        for slot in self._slots.values():
            for conn in slot.idle:
                conn.close()
            slot.idle.clear()
        self._slots.clear()

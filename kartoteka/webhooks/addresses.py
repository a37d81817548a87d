"""SSRF guard: outbound webhook URLs must not reach private networks unless allowed."""

from __future__ import annotations

import ipaddress
import socket
from typing import Any
from urllib.parse import urlsplit

from kartoteka.messages import message


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def private_address_reason(url: str) -> tuple[str, dict[str, Any]] | None:
    """Why `url` may not be called (unresolvable or private address) as a message code
    and its parameters, or None when fine."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, ValueError, UnicodeError):
        return "host_unresolved", {"host": host}
    for info in infos:
        address = str(info[4][0])
        if not _is_public(address):
            return "host_private", {"host": host, "address": address}
    return None


def private_address_problem(url: str) -> str | None:
    """`private_address_reason` in English (the delivery log's words), or None."""
    reason = private_address_reason(url)
    return message(*reason) if reason else None

"""A real SMTP server on loopback (aiosmtpd) that keeps every message."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

from aiosmtpd.controller import Controller


class Inbox:
    """aiosmtpd handler keeping every message."""

    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append(envelope)
        return "250 OK"


def smtp_server() -> Iterator[tuple[Controller, Inbox]]:
    """Start the server on a free port; yields (controller, inbox), stops it afterwards."""
    inbox = Inbox()
    with socket.socket() as probe:  # a free loopback port (aiosmtpd needs one up front)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield controller, inbox
    controller.stop()

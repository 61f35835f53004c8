"""A real SMTP server (aiosmtpd) on a free port of this machine, for the mail tests."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller


class Inbox:
    """Keeps every message it takes. Refuses the first ``refusals`` with ``reply``
    (451: "try again later", a 5xx: "never")."""

    def __init__(self, refusals: int = 0, reply: str = "451 4.3.0 Try again later") -> None:
        self.refusals = refusals
        self.reply = reply
        self.refused = 0
        self.messages: list[EmailMessage] = []
        self.port = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refused < self.refusals:
            self.refused += 1
            return self.reply
        self.messages.append(message_from_bytes(envelope.original_content, policy=policy.default))
        return "250 2.0.0 Ok"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def smtp_server(inbox: Inbox) -> Iterator[Inbox]:
    """``inbox`` served on 127.0.0.1 at ``inbox.port`` until the block ends."""
    inbox.port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=inbox.port)
    controller.start()
    try:
        yield inbox
    finally:
        controller.stop()

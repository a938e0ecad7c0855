"""The credentials the stand-ins are started with, and a free loopback port."""

from __future__ import annotations

import socket

SIGNING_SECRET = "test-signing-secret-0123456789"
BOT_TOKEN = "xoxb-test-token"
TAVUS_KEY = "test-tavus-key"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])

"""A free TCP port on the loopback interface, for stand-ins the tests and benchmarks start."""

from __future__ import annotations

import socket


def free_port() -> int:
    """A port nothing listens on right now (the OS picks it; a race with another starter is possible
    but harmless here: the stand-in then fails to bind and its readiness wait says so)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port

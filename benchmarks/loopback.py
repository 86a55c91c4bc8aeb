"""Free loopback ports for servers that benchmarks and tests start (127.0.0.1 only)."""

from __future__ import annotations

import socket


def free_port() -> int:
    """A port on 127.0.0.1 that was free a moment ago (bound, then released for a server to take)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def free_address() -> str:
    """`127.0.0.1:PORT` with a port from `free_port`."""
    return f"127.0.0.1:{free_port()}"

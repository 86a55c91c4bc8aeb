"""Free loopback ports for servers that benchmarks and tests start (127.0.0.0/8 only)."""

from __future__ import annotations

import contextlib
import socket


def free_port() -> int:
    """A port on 127.0.0.1 that was free a moment ago (bound, then released for a server to take)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def free_address() -> str:
    """`127.0.0.1:PORT` with a port from `free_port`."""
    return f"127.0.0.1:{free_port()}"


def free_shared_port(hosts: tuple[str, ...], tries: int = 20) -> int:
    """A port free a moment ago on every one of `hosts` (loopback addresses such as 127.0.0.2):
    replicas listen on one port at different addresses, as pods of a Service do."""
    for _ in range(tries):
        with contextlib.ExitStack() as stack:
            first = stack.enter_context(socket.socket())
            first.bind((hosts[0], 0))
            port = first.getsockname()[1]
            try:
                for host in hosts[1:]:
                    stack.enter_context(socket.socket()).bind((host, port))
            except OSError:
                continue  # taken on another address: try another port
            return port
    raise OSError(f"no port free on all of {', '.join(hosts)} after {tries} tries")

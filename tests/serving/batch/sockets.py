"""The TCP sockets of a process tree, read from /proc (Linux), to prove traffic stays on loopback."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")
LISTEN = "0A"  # the TCP state code of a listening socket in /proc/net/tcp


@dataclass(frozen=True)
class Socket:
    pid: int
    name: str  # the process's command name
    local: str  # address of this end
    local_port: int
    remote: str  # address of the other end; 0.0.0.0 / :: for a listening socket
    listening: bool


def _address(hex_address: str) -> tuple[str, int]:
    host, port = hex_address.split(":")
    raw = bytes.fromhex(host)
    if len(raw) == 4:
        return str(ipaddress.IPv4Address(raw[::-1])), int(port, 16)
    words = b"".join(raw[i:i + 4][::-1] for i in range(0, 16, 4))  # four little-endian words
    address = ipaddress.IPv6Address(words)
    return str(address.ipv4_mapped or address), int(port, 16)


def _table() -> dict[str, tuple[str, int, str, bool]]:
    """Socket inode → (local address, local port, remote address, listening), every TCP socket."""
    sockets = {}
    for name in ("tcp", "tcp6"):
        lines = (PROC / "net" / name).read_text().splitlines()[1:]
        for line in lines:
            fields = line.split()
            local, port = _address(fields[1])
            sockets[fields[9]] = (local, port, _address(fields[2])[0], fields[3] == LISTEN)
    return sockets


def tcp_sockets(pids: set[int]) -> list[Socket]:
    """Every TCP socket the processes hold."""
    table = _table()
    found = []
    for pid in pids:
        try:
            name = (PROC / str(pid) / "comm").read_text().strip()
            fds = list((PROC / str(pid) / "fd").iterdir())
        except OSError:
            continue  # the process has ended
        for link in filter(None, map(_link, fds)):
            inode = link[len("socket:["):-1] if link.startswith("socket:[") else None
            if inode in table:
                found.append(Socket(pid, name, *table[inode]))
    return found


def _link(fd: Path) -> str | None:
    """What a file descriptor points to; None when it was closed since it was listed (a busy
    raylet opens and closes sockets all the time: skipping its whole fd list on one closed fd made
    the raylet look socketless)."""
    try:
        return os.readlink(fd)
    except OSError:
        return None


def is_loopback(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    return ip.is_loopback

"""The demo's settings: where the web page listens, which service it calls, when it is unsure."""

from __future__ import annotations

from dataclasses import dataclass

from serving.client.config import DEFAULT_TARGET


def check_address(name: str, address: str) -> None:
    """Raise ValueError unless `address` is HOST:PORT with a port in 0–65535."""
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise ValueError(f"{name} must be HOST:PORT (e.g. 127.0.0.1:8000), got {address!r}")


@dataclass(frozen=True)
class DemoConfig:
    """Everything `python -m demo` can set; the CLI overrides a few fields."""

    web_address: str = "127.0.0.1:8000"  # HOST:PORT of the web page; port 0 picks a free port
    target: str = DEFAULT_TARGET  # HOST:PORT of the Digits gRPC service
    sure_confidence: float = 0.6  # below this probability the page says "not sure", in (0, 1)
    timeout_s: float = 5.0  # deadline of each call to the service, seconds, > 0
    retries: int = 1  # further attempts when the service is unavailable, ≥ 0 (keeps errors quick)
    max_upload_bytes: int = 10 * 1024 * 1024  # largest request body accepted, bytes, > 0

    def __post_init__(self) -> None:
        check_address("web_address", self.web_address)
        check_address("target", self.target)
        if not 0 < self.sure_confidence < 1:
            raise ValueError(f"sure_confidence must be in (0, 1), got {self.sure_confidence}")
        if self.timeout_s <= 0:
            raise ValueError(f"timeout_s must be > 0, got {self.timeout_s}")
        if self.retries < 0:
            raise ValueError(f"retries must be ≥ 0, got {self.retries}")
        if self.max_upload_bytes <= 0:
            raise ValueError(f"max_upload_bytes must be > 0, got {self.max_upload_bytes}")

"""The client's settings: deadlines, retries with backoff, and how requests are chunked."""

from __future__ import annotations

from dataclasses import dataclass

MiB = 1024 * 1024
DEFAULT_TARGET = "127.0.0.1:50051"


@dataclass(frozen=True)
class ClientConfig:
    """How a DigitsClient talks to the server."""

    timeout_s: float = 30.0  # deadline of each RPC attempt, seconds, > 0
    retries: int = 3  # further attempts after UNAVAILABLE, ≥ 0
    backoff_initial_s: float = 0.1  # wait before the first retry, seconds; doubles per retry
    backoff_max_s: float = 2.0  # longest wait between retries, seconds
    chunk_images: int = 256  # most images per Classify or ReadNumber call, ≥ 1 (server: 1024)
    chunk_bytes: int = 3 * MiB  # most image bytes per call, ≥ 1 (server default limit: 16 MiB)
    max_receive_bytes: int = 64 * MiB  # largest response the client accepts, bytes

    def __post_init__(self) -> None:
        if self.timeout_s <= 0:
            raise ValueError(f"timeout_s must be > 0, got {self.timeout_s}")
        if self.retries < 0:
            raise ValueError(f"retries must be ≥ 0, got {self.retries}")
        if not 0 <= self.backoff_initial_s <= self.backoff_max_s:
            raise ValueError(f"need 0 ≤ backoff_initial_s ≤ backoff_max_s, got "
                             f"{self.backoff_initial_s} and {self.backoff_max_s}")
        if self.chunk_images < 1 or self.chunk_bytes < 1:
            raise ValueError(f"chunk_images and chunk_bytes must be ≥ 1, got "
                             f"{self.chunk_images} and {self.chunk_bytes}")

    def backoff_s(self, attempt: int) -> float:
        """Seconds to wait before retry number `attempt` (0-based): exponential, capped."""
        return min(self.backoff_max_s, self.backoff_initial_s * 2**attempt)

    def channel_options(self) -> list[tuple[str, int]]:
        return [("grpc.max_receive_message_length", self.max_receive_bytes),
                ("grpc.enable_retries", 0)]  # retries are ours, explicit and tested

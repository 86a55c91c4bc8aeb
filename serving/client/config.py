"""The client's settings: deadlines, retries, load balancing over replicas, request chunking."""

from __future__ import annotations

import json
from dataclasses import dataclass

MiB = 1024 * 1024
DEFAULT_TARGET = "127.0.0.1:50051"
CLASSIFIER = "digits.v1.DigitClassifier"
HEALTH = "grpc.health.v1.Health"
# Calls that are safe to send twice: they change nothing on the server. ClassifyStream is not
# retried (its results are already streaming back when it fails).
IDEMPOTENT_METHODS = ((CLASSIFIER, "Classify"), (CLASSIFIER, "ReadNumber"),
                      (CLASSIFIER, "GetModelInfo"), (HEALTH, "Check"))
LOAD_BALANCING = ("round_robin", "pick_first")
MAX_RETRIES = 4  # gRPC caps a retry policy at 5 attempts (gRFC A6)


@dataclass(frozen=True)
class ClientConfig:
    """How a DigitsClient talks to the server, or to every replica a target resolves to.

    Targets are gRPC's: `host:port`, `dns:///name:port` (every address of name, re-resolved),
    `dns://DNS_SERVER:53/name:port`, `ipv4:h1:p1,h2:p2`. Retries and load balancing are gRPC's
    own (the channel's service config), so they also cover calls made on the channel directly.
    """

    timeout_s: float = 30.0  # deadline of each call, its retries included, seconds, > 0
    retries: int = 3  # further attempts after UNAVAILABLE, 0–MAX_RETRIES (idempotent calls)
    backoff_initial_s: float = 0.1  # the first retry waits a random time up to this, s, > 0
    backoff_max_s: float = 2.0  # that bound doubles per retry up to this, seconds
    chunk_images: int = 256  # most images per Classify or ReadNumber call, ≥ 1 (server: 1024)
    chunk_bytes: int = 3 * MiB  # most image bytes per call, ≥ 1 (server default limit: 16 MiB)
    max_receive_bytes: int = 64 * MiB  # largest response the client accepts, bytes
    # "round_robin": a connection to every address of the target, calls spread over them;
    # "pick_first": one connection, to the first address that answers.
    load_balancing: str = "round_robin"
    # With round_robin: watch each address's grpc.health.v1 status of the classifier and send
    # nothing to one that is not SERVING (a replica draining before shutdown). health() then
    # raises ServiceUnavailableError when no address is SERVING; turn off to read the status.
    health_checking: bool = True
    # Shortest time between two DNS resolutions of the target, seconds, ≥ 0. gRPC resolves again
    # when a connection closes (see the server's --max-connection-age); its default is 30 s.
    dns_refresh_s: float = 1.0

    def __post_init__(self) -> None:
        if self.timeout_s <= 0:
            raise ValueError(f"timeout_s must be > 0, got {self.timeout_s}")
        if not 0 <= self.retries <= MAX_RETRIES:
            raise ValueError(f"retries must be 0 to {MAX_RETRIES} (gRPC makes at most "
                             f"{MAX_RETRIES + 1} attempts), got {self.retries}")
        if not 0 < self.backoff_initial_s <= self.backoff_max_s:
            raise ValueError(f"need 0 < backoff_initial_s ≤ backoff_max_s, got "
                             f"{self.backoff_initial_s} and {self.backoff_max_s}")
        if self.chunk_images < 1 or self.chunk_bytes < 1:
            raise ValueError(f"chunk_images and chunk_bytes must be ≥ 1, got "
                             f"{self.chunk_images} and {self.chunk_bytes}")
        if self.load_balancing not in LOAD_BALANCING:
            raise ValueError(f"load_balancing must be one of {', '.join(LOAD_BALANCING)}, got "
                             f"{self.load_balancing!r}")
        if self.dns_refresh_s < 0:
            raise ValueError(f"dns_refresh_s must be ≥ 0, got {self.dns_refresh_s}")

    def service_config(self) -> dict[str, object]:
        """gRPC's service config of the channel (gRFC A2, A6, A17): load balancing policy,
        client-side health checking and the retry policy of the idempotent calls."""
        config: dict[str, object] = {"loadBalancingConfig": [{self.load_balancing: {}}]}
        if self.health_checking:
            config["healthCheckConfig"] = {"serviceName": CLASSIFIER}
        if self.retries:
            config["methodConfig"] = [{
                "name": [{"service": service, "method": method}
                         for service, method in IDEMPOTENT_METHODS],
                "retryPolicy": {
                    "maxAttempts": self.retries + 1,
                    "initialBackoff": f"{self.backoff_initial_s:.6f}s",
                    "maxBackoff": f"{self.backoff_max_s:.6f}s",
                    "backoffMultiplier": 2,
                    "retryableStatusCodes": ["UNAVAILABLE"],
                },
            }]
        return config

    def channel_options(self) -> list[tuple[str, int | str]]:
        return [
            ("grpc.max_receive_message_length", self.max_receive_bytes),
            ("grpc.service_config", json.dumps(self.service_config())),
            # gRPC reads the service config from the target's DNS TXT records unless told not
            # to; ours is the one in force.
            ("grpc.service_config_disable_resolution", 1),
            ("grpc.enable_retries", 1),
            # gRPC can retry a call only while it still holds the whole request (default 256
            # KiB); a chunk is at most chunk_bytes of images plus ids and framing.
            ("grpc.per_rpc_retry_buffer_size", self.chunk_bytes + MiB),
            ("grpc.dns_min_time_between_resolutions_ms", round(self.dns_refresh_s * 1000)),
        ]

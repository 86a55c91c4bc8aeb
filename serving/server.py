"""The gRPC server: binding, options, health and reflection services, graceful shutdown."""

from __future__ import annotations

import logging
from concurrent import futures
from dataclasses import dataclass, field
from pathlib import Path

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from serving.engine import DigitEngine, EngineConfig
from serving.generated.digits.v1 import digits_pb2 as pb
from serving.generated.digits.v1 import digits_pb2_grpc as pb_grpc
from serving.model import DEFAULT_MODEL_PATH
from serving.servicer import DigitClassifierServicer, RequestLimits

log = logging.getLogger(__name__)

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["DigitClassifier"].full_name  # digits.v1....


class BindError(OSError):
    """The server cannot listen on the address (in use, or not a local interface)."""


@dataclass(frozen=True)
class ServerConfig:
    """Everything `python -m serving` can set; the CLI overrides a few fields."""

    address: str = "127.0.0.1:50051"  # host:port; port 0 picks a free port; 0.0.0.0 = all NICs
    model_path: Path = DEFAULT_MODEL_PATH  # model.onnx (model.json beside it) or their folder
    engine: EngineConfig = field(default_factory=EngineConfig)
    limits: RequestLimits = field(default_factory=RequestLimits)
    worker_threads: int = 64  # gRPC handler threads = RPCs served at once (others wait), ≥ 1
    grace_s: float = 10.0  # how long shutdown lets in-flight RPCs finish, seconds, ≥ 0

    def __post_init__(self) -> None:
        host, sep, port = self.address.rpartition(":")
        if not sep or not host or not port.isdigit() or int(port) > 65535:
            raise ValueError(f"address must be HOST:PORT (e.g. 127.0.0.1:50051), got "
                             f"{self.address!r}")
        if self.worker_threads < 1:
            raise ValueError(f"worker_threads must be ≥ 1, got {self.worker_threads}")
        if self.grace_s < 0:
            raise ValueError(f"grace_s must be ≥ 0, got {self.grace_s}")


class DigitsServer:
    """A bound, not yet started server with its engine; `stop()` shuts both down gracefully."""

    def __init__(self, server: grpc.Server, engine: DigitEngine,
                 health_servicer: health.HealthServicer, config: ServerConfig) -> None:
        self.engine = engine
        self.config = config
        self._server = server
        self._health = health_servicer

    def start(self) -> None:
        """Start answering; health turns SERVING (the model is already loaded and warm)."""
        self._server.start()
        for service in ("", SERVICE_NAME):
            self._health.set(service, health_pb2.HealthCheckResponse.SERVING)

    def stop(self, grace_s: float | None = None) -> None:
        """Health NOT_SERVING, refuse new RPCs, let in-flight ones finish (up to grace_s), then
        finish the batcher's queue."""
        grace = self.config.grace_s if grace_s is None else grace_s
        self._health.enter_graceful_shutdown()
        self._server.stop(grace).wait()
        self.engine.close()
        stats = self.engine.stats()
        log.info("server stopped after %d model runs on %d images; runs per batch size: %s",
                 stats.batches, stats.images, dict(sorted(stats.histogram.items())))

    def wait_for_termination(self, timeout_s: float | None = None) -> bool:
        return self._server.wait_for_termination(timeout_s)


def create_server(config: ServerConfig,
                  engine: DigitEngine | None = None) -> tuple[DigitsServer, int]:
    """Load the model (unless `engine` is given) and bind; returns the server and its port."""
    engine = engine or DigitEngine.load(config.model_path, config.engine)
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=config.worker_threads, thread_name_prefix="rpc"),
        options=[
            ("grpc.max_receive_message_length", config.limits.max_message_bytes),
            ("grpc.so_reuseport", 0),  # a second server on a used port must fail, not share it
        ],
        maximum_concurrent_rpcs=4 * config.worker_threads,
    )
    pb_grpc.add_DigitClassifierServicer_to_server(
        DigitClassifierServicer(engine, config.limits), server)
    health_servicer = health.HealthServicer()
    for service in ("", SERVICE_NAME):
        health_servicer.set(service, health_pb2.HealthCheckResponse.NOT_SERVING)
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection(
        (SERVICE_NAME, health.SERVICE_NAME, reflection.SERVICE_NAME), server)
    try:
        port = server.add_insecure_port(config.address)
    except RuntimeError as err:
        engine.close()
        raise BindError(f"cannot listen on {config.address}: {err} (port in use?)") from err
    if port == 0:
        engine.close()
        raise BindError(f"cannot listen on {config.address} (port in use?)")
    return DigitsServer(server, engine, health_servicer, config), port

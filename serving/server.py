"""The gRPC server: binding, options, health and reflection services, graceful shutdown."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from serving.engine import DigitEngine, EngineConfig
from serving.generated.digits.v1 import digits_pb2 as pb
from serving.generated.digits.v1 import digits_pb2_grpc as pb_grpc
from serving.model import DEFAULT_MODEL_PATH
from serving.servicer import DigitClassifierServicer, RequestLimits

log = logging.getLogger(__name__)

T = TypeVar("T")

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["DigitClassifier"].full_name  # digits.v1....


class BindError(OSError):
    """The server cannot listen on the address (in use, or not a local interface)."""


@dataclass(frozen=True)
class ServerConfig:
    """Everything `python -m serving` can set; the CLI overrides a few fields."""

    address: str = "127.0.0.1:50051"  # HOST:PORT; port 0 picks a free port; 0.0.0.0 or [::]: all NICs
    model_path: Path = DEFAULT_MODEL_PATH  # model.onnx (model.json beside it) or their folder
    engine: EngineConfig = field(default_factory=EngineConfig)
    limits: RequestLimits = field(default_factory=RequestLimits)
    max_concurrent_rpcs: int = 256  # RPCs handled at once; more get RESOURCE_EXHAUSTED, ≥ 1
    grace_s: float = 10.0  # how long shutdown lets in-flight RPCs finish, seconds, ≥ 0
    # Shutdown first reports health NOT_SERVING, then keeps serving this long so that clients
    # (client-side health checks) and load balancers (readiness probes) stop sending, seconds, ≥ 0.
    drain_s: float = 1.0
    # Each client connection is closed (GOAWAY) after about this long, ±10 % jitter (gRPC core);
    # the client then reconnects and re-resolves DNS, so new replicas get calls (without it, a
    # replica added to DNS got no call in 15 s: tests/serving/replicas). Seconds, > 0; None:
    # connections live until the client closes them.
    max_connection_age_s: float | None = None
    # After that GOAWAY, how long calls still running on the old connection may finish, seconds,
    # ≥ 0: long enough for a ClassifyStream job (longer streams end with UNAVAILABLE). New calls
    # already use the new connection; an idle old one closes at once.
    max_connection_age_grace_s: float = 300.0

    def __post_init__(self) -> None:
        host, sep, port = self.address.rpartition(":")
        if not sep or not host or not port.isdigit() or int(port) > 65535:
            raise ValueError(f"address must be HOST:PORT (e.g. 127.0.0.1:50051), got "
                             f"{self.address!r}")
        if self.max_concurrent_rpcs < 1:
            raise ValueError(f"max_concurrent_rpcs must be ≥ 1, got {self.max_concurrent_rpcs}")
        if self.grace_s < 0 or self.drain_s < 0:
            raise ValueError(f"grace_s and drain_s must be ≥ 0, got {self.grace_s} and "
                             f"{self.drain_s}")
        if self.max_connection_age_s is not None and self.max_connection_age_s <= 0:
            raise ValueError(f"max_connection_age_s must be > 0 (or None: no limit), got "
                             f"{self.max_connection_age_s}")
        if self.max_connection_age_grace_s < 0:
            raise ValueError(f"max_connection_age_grace_s must be ≥ 0, got "
                             f"{self.max_connection_age_grace_s}")

    def grpc_options(self) -> list[tuple[str, int]]:
        """The grpc.aio server's channel arguments."""
        options = [
            ("grpc.max_receive_message_length", self.limits.max_message_bytes),
            ("grpc.so_reuseport", 0),  # a second server on a used port must fail, not share it
        ]
        if self.max_connection_age_s is not None:
            options += [("grpc.max_connection_age_ms", round(self.max_connection_age_s * 1000)),
                        ("grpc.max_connection_age_grace_ms",
                         round(self.max_connection_age_grace_s * 1000))]
        return options


class _LoopThread:
    """An asyncio event loop running in a thread of its own; blocking callers submit to it."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="grpc-aio",
                                        daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run `coro` on the loop and wait for its result (or exception)."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join()
        self.loop.close()


class DigitsServer:
    """A bound, not yet started server with its engine; `stop()` shuts both down gracefully.

    The gRPC server is grpc.aio on an event loop thread (one thread serves every RPC; the model
    runs in the batcher's thread). Python gRPC's thread-pool server paid thread hand-offs and
    GIL contention per RPC: on 2 cores it served 32 single-image clients at 956 img/s, p99 60
    ms, this one 1,699 img/s, p99 31 ms (benchmarks/bench_serve.py, same machine and hour).
    This class keeps a blocking API for __main__ and tests.
    """

    def __init__(self, server: grpc.aio.Server, engine: DigitEngine,
                 health_servicer: health.aio.HealthServicer, config: ServerConfig,
                 loop: _LoopThread) -> None:
        self.engine = engine
        self.config = config
        self._server = server
        self._health = health_servicer
        self._loop = loop
        self._stopped = False

    def start(self) -> None:
        """Start answering; health turns SERVING (the model is already loaded and warm)."""
        self._loop.run(self._start())

    async def _start(self) -> None:
        await self._server.start()
        for service in ("", SERVICE_NAME):
            await self._health.set(service, health_pb2.HealthCheckResponse.SERVING)

    def stop(self, grace_s: float | None = None, drain_s: float | None = None) -> None:
        """Shut down in three logged steps: health NOT_SERVING while still answering for
        `drain_s` (default config.drain_s); then refuse new RPCs (GOAWAY) and let in-flight ones
        finish, up to `grace_s` (default config.grace_s); then finish the batcher's queue."""
        if self._stopped:  # a second stop (a test's cleanup, say) has nothing left to do
            return
        self._stopped = True
        grace = self.config.grace_s if grace_s is None else grace_s
        drain = self.config.drain_s if drain_s is None else drain_s
        self._loop.run(self._stop(grace, drain))
        self.engine.close()
        self._loop.close()  # after the batcher: its last done callbacks post to the loop
        stats = self.engine.stats()
        log.info("server stopped after %d model runs on %d images; runs per batch size: %s",
                 stats.batches, stats.images, dict(sorted(stats.histogram.items())))

    async def _stop(self, grace_s: float, drain_s: float) -> None:
        await self._health.enter_graceful_shutdown()
        log.info("health NOT_SERVING; still answering for %.1f s while clients and load "
                 "balancers move away", drain_s)
        await asyncio.sleep(drain_s)
        log.info("refusing new RPCs; letting in-flight ones finish (up to %.1f s)", grace_s)
        await self._server.stop(grace_s)

    def wait_for_termination(self, timeout_s: float | None = None) -> bool:
        return self._loop.run(self._server.wait_for_termination(timeout_s))


def create_server(config: ServerConfig,
                  engine: DigitEngine | None = None) -> tuple[DigitsServer, int]:
    """Load the model (unless `engine` is given) and bind; returns the server and its port."""
    engine = engine or DigitEngine.load(config.model_path, config.engine)
    loop = _LoopThread()
    try:
        server, health_servicer, port = loop.run(_bind(config, engine))
    except BaseException:
        loop.close()
        engine.close()
        raise
    return DigitsServer(server, engine, health_servicer, config, loop), port


async def _bind(config: ServerConfig, engine: DigitEngine,
                ) -> tuple[grpc.aio.Server, health.aio.HealthServicer, int]:
    """Build the grpc.aio server on the running loop (it belongs to the loop it is made on)."""
    server = grpc.aio.server(options=config.grpc_options(),
                             maximum_concurrent_rpcs=config.max_concurrent_rpcs)
    pb_grpc.add_DigitClassifierServicer_to_server(
        DigitClassifierServicer(engine, config.limits), server)
    health_servicer = health.aio.HealthServicer()
    for service in ("", SERVICE_NAME):
        await health_servicer.set(service, health_pb2.HealthCheckResponse.NOT_SERVING)
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection(
        (SERVICE_NAME, health.SERVICE_NAME, reflection.SERVICE_NAME), server)
    try:
        port = server.add_insecure_port(config.address)
    except RuntimeError as err:
        raise BindError(f"cannot listen on {config.address}: {err} (port in use?)") from err
    if port == 0:
        raise BindError(f"cannot listen on {config.address} (port in use?)")
    return server, health_servicer, port

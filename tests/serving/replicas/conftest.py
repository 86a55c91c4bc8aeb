"""Fixtures of the replica tests: two real servers (the exported model) on one port at 127.0.0.1
and 127.0.0.2, as two pods of a Service; 127.0.0.3 stays free on that port for a third."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from benchmarks.loopback import free_shared_port
from serving.batcher import BatcherConfig
from serving.engine import EngineConfig
from serving.model import DEFAULT_MODEL_PATH, RuntimeConfig
from serving.server import DigitsServer, ServerConfig, create_server

HOSTS = ("127.0.0.1", "127.0.0.2")
SPARE_HOST = "127.0.0.3"  # a replica the tests start themselves, on the same port
AGE_S = 2.0  # the servers' max connection age: clients re-resolve DNS at least this often


@dataclass(frozen=True)
class Replica:
    """One in-process server of the pair."""

    server: DigitsServer
    host: str
    port: int

    def images(self) -> int:
        """Images this replica has classified so far (one per call in these tests)."""
        return self.server.engine.stats().images


@pytest.fixture(scope="package")
def replicas() -> Iterator[tuple[Replica, ...]]:
    """Two started servers at 127.0.0.1:PORT and 127.0.0.2:PORT (one onnxruntime thread each:
    they share this machine's cores), max connection age AGE_S."""
    if not DEFAULT_MODEL_PATH.is_file():
        pytest.fail(f"{DEFAULT_MODEL_PATH} is missing: run `make export` first")
    port = free_shared_port((*HOSTS, SPARE_HOST))
    engine = EngineConfig(batcher=BatcherConfig(max_queue_delay_ms=1.0),
                          runtime=RuntimeConfig(intra_op_threads=1))
    started: list[Replica] = []
    try:
        for host in HOSTS:
            server, _ = create_server(ServerConfig(
                address=f"{host}:{port}", engine=engine, grace_s=2.0, drain_s=0.0,
                max_connection_age_s=AGE_S, max_connection_age_grace_s=1.0))
            server.start()
            started.append(Replica(server, host, port))
        yield tuple(started)
    finally:
        for replica in started:
            replica.server.stop()

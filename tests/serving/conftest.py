"""Fixtures of the serving tests: a tiny ONNX model built with onnx.helper, and a live server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from serving.batcher import BatcherConfig
from serving.generated.digits.v1 import digits_pb2_grpc as pb_grpc
from serving.server import DigitsServer
from tests.serving.fakes import start_server, write_fake_model


@pytest.fixture(scope="session")
def fake_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_fake_model(tmp_path_factory.mktemp("model"))


@pytest.fixture(scope="module")
def live_server(fake_model: Path) -> Iterator[tuple[DigitsServer, str]]:
    """A started server with the fake model and small limits; yields (server, "host:port")."""
    server, port = start_server(fake_model, BatcherConfig(max_batch_size=32,
                                                          max_queue_delay_ms=1.0))
    yield server, f"127.0.0.1:{port}"
    server.stop(grace_s=1.0)


@pytest.fixture()
def channel(live_server: tuple[DigitsServer, str]) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(live_server[1]) as channel:
        yield channel


@pytest.fixture()
def stub(channel: grpc.Channel) -> pb_grpc.DigitClassifierStub:
    return pb_grpc.DigitClassifierStub(channel)

"""Fixtures of the serving tests: tiny ONNX models built with onnx.helper, and live servers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from serving.batcher import BatcherConfig
from serving.generated.digits.v1 import digits_pb2_grpc as pb_grpc
from serving.model import DEFAULT_MODEL_PATH
from serving.server import DigitsServer
from serving.servicer import RequestLimits
from tests.serving.fakes import start_server, write_fake_model, write_not_digit_model


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


@pytest.fixture(scope="module")
def not_digit_server(tmp_path_factory: pytest.TempPathFactory,
                     ) -> Iterator[tuple[DigitsServer, str]]:
    """A started server whose fake model has the 11th output (fakes.not_digit_weights: a
    horizontal bar is not a digit); yields (server, "host:port")."""
    model = write_not_digit_model(tmp_path_factory.mktemp("not-digit-model"))
    server, port = start_server(model, BatcherConfig(max_batch_size=32, max_queue_delay_ms=1.0))
    yield server, f"127.0.0.1:{port}"
    server.stop(grace_s=1.0)


@pytest.fixture(scope="module")
def exported_server() -> Iterator[tuple[DigitsServer, str]]:
    """A started server with the exported model and the default limits."""
    if not DEFAULT_MODEL_PATH.is_file():
        pytest.fail(f"{DEFAULT_MODEL_PATH} is missing: run `make export` first")
    server, port = start_server(DEFAULT_MODEL_PATH, BatcherConfig(), RequestLimits())
    yield server, f"127.0.0.1:{port}"
    server.stop(grace_s=1.0)


@pytest.fixture()
def channel(live_server: tuple[DigitsServer, str]) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(live_server[1]) as channel:
        yield channel


@pytest.fixture()
def stub(channel: grpc.Channel) -> pb_grpc.DigitClassifierStub:
    return pb_grpc.DigitClassifierStub(channel)

"""The server's life cycle around replicas: the drain before a graceful stop, the max
connection age, and their configuration."""

from __future__ import annotations

import threading
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from serving.batcher import BatcherConfig
from serving.generated.digits.v1 import digits_pb2 as pb
from serving.generated.digits.v1 import digits_pb2_grpc as pb_grpc
from serving.server import SERVICE_NAME, ServerConfig
from tests.serving.fakes import digit_images, start_server

TIMEOUT_S = 10.0
DRAIN_S = 2.0


def test_stop_turns_health_not_serving_and_keeps_answering_during_the_drain(
        fake_model: Path) -> None:
    server, port = start_server(fake_model, BatcherConfig(max_queue_delay_ms=0))
    request = pb.ClassifyRequest(images=[pb.Image(raw=digit_images(1)[0].tobytes())])
    stopping = threading.Thread(target=server.stop, kwargs={"grace_s": 1.0, "drain_s": DRAIN_S})
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = pb_grpc.DigitClassifierStub(channel)
        watch = health_pb2_grpc.HealthStub(channel).Watch(
            health_pb2.HealthCheckRequest(service=SERVICE_NAME), timeout=TIMEOUT_S)
        assert next(watch).status == health_pb2.HealthCheckResponse.SERVING
        stopping.start()
        assert next(watch).status == health_pb2.HealthCheckResponse.NOT_SERVING
        watch.cancel()
        assert stub.Classify(request, timeout=TIMEOUT_S).results[0].status == \
            pb.RESULT_STATUS_DIGIT  # still answering: the drain lasts DRAIN_S
        stopping.join(TIMEOUT_S)
        assert not stopping.is_alive()
        with pytest.raises(grpc.RpcError) as refused:
            stub.Classify(request, timeout=TIMEOUT_S)
    assert refused.value.code() is grpc.StatusCode.UNAVAILABLE


def test_max_connection_age_becomes_grpc_options() -> None:
    options = dict(ServerConfig(max_connection_age_s=30, max_connection_age_grace_s=5)
                   .grpc_options())
    assert options["grpc.max_connection_age_ms"] == 30_000
    assert options["grpc.max_connection_age_grace_ms"] == 5_000
    assert "grpc.max_connection_age_ms" not in dict(ServerConfig().grpc_options())


@pytest.mark.parametrize(("changes", "message"), [
    ({"drain_s": -1}, "grace_s and drain_s must be ≥ 0"),
    ({"max_connection_age_s": 0}, "max_connection_age_s must be > 0"),
    ({"max_connection_age_grace_s": -1}, "max_connection_age_grace_s must be ≥ 0"),
])
def test_server_config_rejects_bad_shutdown_and_age_settings(changes: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ServerConfig(**changes)


def test_ipv6_wildcard_address_is_accepted() -> None:
    assert ServerConfig(address="[::]:50051").address == "[::]:50051"

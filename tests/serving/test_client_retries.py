"""The client's channel: its service config, and gRPC's retries on UNAVAILABLE against a flaky
server (a test double that fails its first calls)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from concurrent import futures

import grpc
import pytest

from serving.client import (
    AsyncDigitsClient,
    ClientConfig,
    DigitsClient,
    RequestRejectedError,
    ServiceUnavailableError,
)
from serving.client.config import MiB
from serving.generated.digits.v1 import digits_pb2 as pb
from serving.generated.digits.v1 import digits_pb2_grpc as pb_grpc
from tests.serving.fakes import digit_images

QUICK = ClientConfig(timeout_s=10, retries=2, backoff_initial_s=0.01, backoff_max_s=0.02)


class FlakyServicer(pb_grpc.DigitClassifierServicer):
    """Fails the first `failures` Classify calls with `code`, then answers BLANK per image."""

    def __init__(self) -> None:
        self.failures = 0
        self.code = grpc.StatusCode.UNAVAILABLE
        self.attempts = 0
        self.streams = 0

    def Classify(self, request: pb.ClassifyRequest,  # noqa: N802  (gRPC's method name)
                 context: grpc.ServicerContext) -> pb.ClassifyResponse:
        self.attempts += 1
        if self.attempts <= self.failures:
            context.abort(self.code, f"failure {self.attempts} of {self.failures}")
        return pb.ClassifyResponse(results=[pb.Result(index=i, status=pb.RESULT_STATUS_BLANK)
                                            for i in range(len(request.images))])

    def ClassifyStream(self, requests, context):  # noqa: N802
        self.streams += 1
        context.abort(grpc.StatusCode.UNAVAILABLE, "streams always fail here")


@pytest.fixture()
def flaky() -> Iterator[tuple[FlakyServicer, str]]:
    servicer = FlakyServicer()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4),
                         options=[("grpc.max_receive_message_length", 8 * MiB)])
    pb_grpc.add_DigitClassifierServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield servicer, f"127.0.0.1:{port}"
    server.stop(0)


def test_service_config_balances_round_robin_checks_health_and_retries_idempotent_calls():
    config = json.loads(dict(QUICK.channel_options())["grpc.service_config"])
    assert config["loadBalancingConfig"] == [{"round_robin": {}}]
    assert config["healthCheckConfig"] == {"serviceName": "digits.v1.DigitClassifier"}
    (method_config,) = config["methodConfig"]
    assert {(n["service"], n["method"]) for n in method_config["name"]} == {
        ("digits.v1.DigitClassifier", "Classify"), ("digits.v1.DigitClassifier", "ReadNumber"),
        ("digits.v1.DigitClassifier", "GetModelInfo"), ("grpc.health.v1.Health", "Check")}
    assert method_config["retryPolicy"] == {
        "maxAttempts": 3, "initialBackoff": "0.010000s", "maxBackoff": "0.020000s",
        "backoffMultiplier": 2, "retryableStatusCodes": ["UNAVAILABLE"]}
    options = dict(QUICK.channel_options())
    assert options["grpc.enable_retries"] == 1
    assert options["grpc.dns_min_time_between_resolutions_ms"] == 1000


def test_no_retries_and_pick_first_leave_them_out_of_the_service_config() -> None:
    config = ClientConfig(retries=0, load_balancing="pick_first", health_checking=False)
    assert config.service_config() == {"loadBalancingConfig": [{"pick_first": {}}]}


@pytest.mark.parametrize(("changes", "message"), [
    ({"retries": 5}, "retries must be 0 to 4"),
    ({"backoff_initial_s": 0}, "0 < backoff_initial_s"),
    ({"load_balancing": "grpclb"}, "load_balancing must be one of round_robin, pick_first"),
    ({"dns_refresh_s": -1}, "dns_refresh_s must be ≥ 0"),
])
def test_client_config_rejects_what_grpc_would_not_take(changes: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ClientConfig(**changes)


def test_unavailable_is_retried_until_the_call_succeeds(
        flaky: tuple[FlakyServicer, str]) -> None:
    servicer, target = flaky
    servicer.failures = 2
    with DigitsClient(target, QUICK) as client:
        results = client.classify(digit_images(3))
    assert len(results) == 3 and servicer.attempts == 3


def test_retries_run_out_then_service_unavailable(flaky: tuple[FlakyServicer, str]) -> None:
    servicer, target = flaky
    servicer.failures = 10
    with DigitsClient(target, QUICK) as client, \
            pytest.raises(ServiceUnavailableError, match="failure 3 of 10"):
        client.classify(digit_images(1))
    assert servicer.attempts == 3  # the first attempt and QUICK.retries


def test_other_errors_are_not_retried(flaky: tuple[FlakyServicer, str]) -> None:
    servicer, target = flaky
    servicer.failures, servicer.code = 1, grpc.StatusCode.INVALID_ARGUMENT
    with DigitsClient(target, QUICK) as client, pytest.raises(RequestRejectedError):
        client.classify(digit_images(1))
    assert servicer.attempts == 1


def test_a_request_of_several_mib_is_retried_too(flaky: tuple[FlakyServicer, str]) -> None:
    # gRPC keeps only 256 KiB of a request for retries unless told more (ClientConfig does).
    servicer, target = flaky
    servicer.failures = 1
    with DigitsClient(target, QUICK) as client:
        results = client.classify([bytes(2 * MiB)])
    assert len(results) == 1 and servicer.attempts == 2


def test_streams_are_not_retried(flaky: tuple[FlakyServicer, str]) -> None:
    servicer, target = flaky
    with DigitsClient(target, QUICK) as client, pytest.raises(ServiceUnavailableError):
        list(client.classify_stream(digit_images(2)))
    assert servicer.streams == 1


def test_the_async_client_is_retried_the_same_way(flaky: tuple[FlakyServicer, str]) -> None:
    servicer, target = flaky
    servicer.failures = 2

    async def run() -> int:
        async with AsyncDigitsClient(target, QUICK) as client:
            return len(await client.classify(digit_images(2)))

    assert asyncio.run(run()) == 2 and servicer.attempts == 3

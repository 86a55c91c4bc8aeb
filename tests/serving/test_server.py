"""The gRPC service end to end on a loopback port: results, limits, errors, health, reflection."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from pathlib import Path

import grpc
import numpy as np
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)
from PIL import Image

from serving import errors
from serving.batcher import BatcherConfig
from serving.generated.digits.v1 import digits_pb2 as pb
from serving.generated.digits.v1 import digits_pb2_grpc as pb_grpc
from serving.server import SERVICE_NAME, BindError, DigitsServer, ServerConfig, create_server
from serving.servicer import INTERNAL_MESSAGE
from tests.serving.fakes import (
    IMAGE_LIMITS,
    LIMITS,
    digit_images,
    reference_probabilities,
    start_server,
)

TIMEOUT_S = 10.0


def raw_request(images: np.ndarray) -> pb.ClassifyRequest:
    return pb.ClassifyRequest(images=[pb.Image(raw=i.tobytes(), id=f"img{n}")
                                      for n, i in enumerate(images)])


def png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def assert_still_serving(stub: pb_grpc.DigitClassifierStub) -> None:
    response = stub.Classify(raw_request(digit_images(1)), timeout=TIMEOUT_S)
    assert response.results[0].status == pb.RESULT_STATUS_DIGIT


def test_raw_images_are_classified_like_the_model_offline(stub: pb_grpc.DigitClassifierStub):
    images = digit_images(10)
    response = stub.Classify(raw_request(images), timeout=TIMEOUT_S)
    expected = reference_probabilities(images)
    assert [r.index for r in response.results] == list(range(10))
    assert [r.id for r in response.results] == [f"img{n}" for n in range(10)]
    assert all(r.status == pb.RESULT_STATUS_DIGIT for r in response.results)
    np.testing.assert_allclose([list(r.probabilities) for r in response.results], expected,
                               atol=1e-5)
    assert [r.digit for r in response.results] == expected.argmax(axis=1).tolist()
    assert [r.confidence for r in response.results] == pytest.approx(expected.max(axis=1))
    assert all(1 <= r.batch_size <= 32 for r in response.results)
    assert (response.model_name, response.model_version) == ("fake-digits", "0.0.1-test")


def test_one_bad_image_fails_alone(stub: pb_grpc.DigitClassifierStub) -> None:
    digit = np.zeros((60, 40), np.uint8) + 255
    digit[10:50, 18:23] = 0  # a dark "1" on white paper
    request = pb.ClassifyRequest(images=[
        pb.Image(raw=digit_images(1)[0].tobytes()),
        pb.Image(raw=bytes(100)),                          # wrong raw pixel count
        pb.Image(encoded=b"\x89PNG garbage"),              # undecodable
        pb.Image(encoded=png(digit)),                      # a real encoded digit
        pb.Image(raw=bytes(784)),                          # blank
        pb.Image(encoded=png(np.full((300, 300), 255, np.uint8))),   # too many pixels
        pb.Image(encoded=bytes(IMAGE_LIMITS.max_encoded_bytes + 1)),  # too many bytes
        pb.Image(),                                        # neither raw nor encoded
    ])
    results = stub.Classify(request, timeout=TIMEOUT_S).results
    statuses = [r.status for r in results]
    assert statuses == [pb.RESULT_STATUS_DIGIT, pb.RESULT_STATUS_ERROR, pb.RESULT_STATUS_ERROR,
                        pb.RESULT_STATUS_DIGIT, pb.RESULT_STATUS_BLANK, pb.RESULT_STATUS_ERROR,
                        pb.RESULT_STATUS_ERROR, pb.RESULT_STATUS_ERROR]
    assert "raw image has 100 bytes, expected 784" in results[1].error
    assert "cannot decode" in results[2].error
    assert not results[4].HasField("digit") and len(results[4].probabilities) == 0
    assert "300×300 = 90000 pixels; the limit is 40000" in results[5].error
    assert f"the limit is {IMAGE_LIMITS.max_encoded_bytes} bytes" in results[6].error
    assert "0 bytes" in results[7].error
    assert_still_serving(stub)


@pytest.mark.parametrize(("request_", "code", "message"), [
    (pb.ClassifyRequest(), grpc.StatusCode.INVALID_ARGUMENT, "the request has no images"),
    (raw_request(digit_images(LIMITS.max_images_per_request + 1)),
     grpc.StatusCode.INVALID_ARGUMENT, "17 images, more than the limit of 16"),
    (pb.ClassifyRequest(images=[pb.Image(encoded=bytes(8000))] * 9),
     grpc.StatusCode.RESOURCE_EXHAUSTED, "larger than max"),
], ids=["empty", "too-many-images", "message-too-large"])
def test_request_limits_give_a_status_and_message(
        stub: pb_grpc.DigitClassifierStub, request_: pb.ClassifyRequest,
        code: grpc.StatusCode, message: str) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        stub.Classify(request_, timeout=TIMEOUT_S)
    assert caught.value.code() == code
    assert message in caught.value.details()
    assert_still_serving(stub)


@pytest.mark.parametrize(("error", "code"), [
    (errors.OverloadedError("queue is full"), grpc.StatusCode.RESOURCE_EXHAUSTED),
    (errors.UnavailableError("shutting down"), grpc.StatusCode.UNAVAILABLE),
    (errors.InvalidRequestError("bad options"), grpc.StatusCode.INVALID_ARGUMENT),
    (TimeoutError("too slow"), grpc.StatusCode.DEADLINE_EXCEEDED),
])
def test_engine_errors_map_to_status_codes(
        live_server: tuple[DigitsServer, str], stub: pb_grpc.DigitClassifierStub,
        monkeypatch: pytest.MonkeyPatch, error: Exception, code: grpc.StatusCode) -> None:
    async def fail(*args: object) -> None:
        raise error

    monkeypatch.setattr(live_server[0].engine, "classify_async", fail)
    with pytest.raises(grpc.RpcError) as caught:
        stub.Classify(raw_request(digit_images(1)), timeout=TIMEOUT_S)
    assert caught.value.code() == code and caught.value.details() == str(error)


def test_unexpected_errors_are_internal_with_a_generic_message_and_logged(
        live_server: tuple[DigitsServer, str], stub: pb_grpc.DigitClassifierStub,
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    async def fail(*args: object) -> None:
        raise KeyError("secret internals")

    monkeypatch.setattr(live_server[0].engine, "classify_async", fail)
    with pytest.raises(grpc.RpcError) as caught:
        stub.Classify(raw_request(digit_images(1)), timeout=TIMEOUT_S)
    assert caught.value.code() == grpc.StatusCode.INTERNAL
    assert caught.value.details() == INTERNAL_MESSAGE
    failure = next(r for r in caplog.records if "failed unexpectedly" in r.getMessage())
    assert failure.exc_info is not None and "secret internals" in str(failure.exc_info[1])


def test_each_request_logs_one_line_with_count_and_latency(
        stub: pb_grpc.DigitClassifierStub, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO", logger="serving.servicer")
    stub.Classify(raw_request(digit_images(3)), timeout=TIMEOUT_S)
    # An earlier test's call can finish (and log) while this one runs: count this call's lines.
    lines = [r.getMessage() for r in caplog.records
             if r.name == "serving.servicer" and r.getMessage().startswith("Classify images=3 ")]
    assert len(lines) == 1, lines
    assert lines[0].startswith("Classify images=3 status=OK latency_ms=")


def test_read_number_answers_each_image_alone(stub: pb_grpc.DigitClassifierStub) -> None:
    raw = digit_images(1)
    request = pb.ReadNumberRequest(images=[
        pb.Image(raw=raw[0].tobytes(), id="raw"),
        pb.Image(encoded=b"\x89PNG garbage", id="garbage"),  # undecodable
        pb.Image(raw=bytes(100)),  # wrong raw pixel count
        pb.Image(encoded=png(np.full((40, 80), 255, np.uint8))),  # blank paper
    ])
    response = stub.ReadNumber(request, timeout=TIMEOUT_S)
    results = response.results
    assert [r.index for r in results] == [0, 1, 2, 3]
    assert [r.id for r in results] == ["raw", "garbage", "", ""]
    assert [r.status for r in results] == [pb.NUMBER_STATUS_NUMBER, pb.NUMBER_STATUS_ERROR,
                                           pb.NUMBER_STATUS_ERROR, pb.NUMBER_STATUS_BLANK]
    expected = reference_probabilities(raw)[0]
    assert results[0].number == str(expected.argmax()) and len(results[0].digits) == 1
    assert results[0].confidence == pytest.approx(expected.max())
    assert "cannot decode" in results[1].error and results[1].number == ""
    assert "raw image has 100 bytes, expected 784" in results[2].error
    assert len(results[3].digits) == 0 and results[3].error == ""
    assert (response.model_name, response.model_version) == ("fake-digits", "0.0.1-test")
    assert_still_serving(stub)


@pytest.mark.parametrize(("images", "message"), [
    ([], "the request has no images"),
    ([pb.Image(raw=bytes(784))] * (LIMITS.max_images_per_request + 1),
     "17 images, more than the limit of 16"),
], ids=["empty", "too-many-images"])
def test_read_number_request_limits_are_invalid_argument(
        stub: pb_grpc.DigitClassifierStub, images: list[pb.Image], message: str) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        stub.ReadNumber(pb.ReadNumberRequest(images=images), timeout=TIMEOUT_S)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert message in caught.value.details()


def test_read_number_engine_errors_map_to_status_codes(
        live_server: tuple[DigitsServer, str], stub: pb_grpc.DigitClassifierStub,
        monkeypatch: pytest.MonkeyPatch) -> None:
    async def fail(*args: object) -> None:
        raise errors.OverloadedError("queue is full")

    monkeypatch.setattr(live_server[0].engine, "read_number_async", fail)
    with pytest.raises(grpc.RpcError) as caught:
        stub.ReadNumber(pb.ReadNumberRequest(images=[pb.Image(raw=bytes(784))]), timeout=TIMEOUT_S)
    assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED


def stream_requests(sizes: list[int]) -> Iterator[pb.ClassifyRequest]:
    offset = 0
    for seed, size in enumerate(sizes):
        yield pb.ClassifyRequest(images=[pb.Image(raw=i.tobytes(), id=f"s{offset + n}")
                                         for n, i in enumerate(digit_images(size, seed))])
        offset += size


def test_stream_returns_every_result_tagged_with_its_index(stub: pb_grpc.DigitClassifierStub):
    sizes = [16, 5, 16, 1, 9]
    results = [r for response in stub.ClassifyStream(stream_requests(sizes), timeout=TIMEOUT_S)
               for r in response.results]
    assert sorted(r.index for r in results) == list(range(sum(sizes)))
    assert all(r.id == f"s{r.index}" for r in results)
    by_index = {r.index: r for r in results}
    expected = reference_probabilities(digit_images(5, seed=1))
    np.testing.assert_allclose([list(by_index[16 + i].probabilities) for i in range(5)],
                               expected, atol=1e-5)


def test_stream_ends_with_invalid_argument_after_earlier_results(stub):
    requests = [*stream_requests([3]), pb.ClassifyRequest()]
    responses = stub.ClassifyStream(iter(requests), timeout=TIMEOUT_S)
    seen = []
    with pytest.raises(grpc.RpcError) as caught:
        for response in responses:
            seen.extend(r.index for r in response.results)
    assert sorted(seen) == [0, 1, 2]
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_model_info_describes_model_and_limits(stub: pb_grpc.DigitClassifierStub) -> None:
    info = stub.GetModelInfo(pb.GetModelInfoRequest(), timeout=TIMEOUT_S)
    assert (info.name, info.version, info.test_accuracy) == ("fake-digits", "0.0.1-test", 0.5)
    assert (info.input.width, info.input.height, info.input.dtype) == (28, 28, "uint8")
    assert info.input.polarity == pb.POLARITY_LIGHT_ON_DARK
    assert info.max_batch_size == 32
    assert info.max_images_per_request == LIMITS.max_images_per_request
    assert info.max_message_bytes == LIMITS.max_message_bytes
    assert info.max_encoded_image_bytes == IMAGE_LIMITS.max_encoded_bytes
    assert info.max_decoded_pixels == IMAGE_LIMITS.max_pixels
    assert info.created == "2026-11-26"
    assert info.not_digit_threshold == 1.0  # the fake model has no "not a digit" output
    assert info.number_reader_version == ""  # the fake model has no number reader beside it


def test_health_is_serving(channel: grpc.Channel) -> None:
    health = health_pb2_grpc.HealthStub(channel)
    for service in ("", SERVICE_NAME):
        response = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=TIMEOUT_S)
        assert response.status == health_pb2.HealthCheckResponse.SERVING


def test_reflection_lists_the_services(channel: grpc.Channel) -> None:
    database = ProtoReflectionDescriptorDatabase(channel)
    services = set(database.get_services())
    assert {SERVICE_NAME, "grpc.health.v1.Health"} <= services
    described = database.FindFileContainingSymbol(SERVICE_NAME)
    assert described.package == "digits.v1"


def test_concurrent_requests_are_merged_into_one_model_run(fake_model: Path) -> None:
    """8 clients released together by a barrier, max_batch_size 8 and a 30 s queue delay: the
    only way to answer is one run of all 8 (the batch runs as soon as it is full)."""
    server, port = start_server(fake_model, BatcherConfig(max_batch_size=8,
                                                          max_queue_delay_ms=30_000))
    clients = 8
    barrier = threading.Barrier(clients)
    results: list[pb.Result] = []
    images = digit_images(clients)

    def send(i: int) -> None:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = pb_grpc.DigitClassifierStub(channel)
            stub.GetModelInfo(pb.GetModelInfoRequest(), timeout=TIMEOUT_S)  # connected
            barrier.wait(TIMEOUT_S)
            results.append(stub.Classify(raw_request(images[i:i + 1]),
                                         timeout=TIMEOUT_S).results[0])

    try:
        threads = [threading.Thread(target=send, args=(i,)) for i in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(TIMEOUT_S * 2)
        assert len(results) == clients
        assert [r.batch_size for r in results] == [8] * clients
        assert server.engine.stats().histogram == {8: 1}
        expected = set(reference_probabilities(images).argmax(axis=1).tolist())
        assert {r.digit for r in results} == expected
    finally:
        server.stop(grace_s=1.0)


def test_a_port_in_use_is_a_bind_error_not_a_shared_port(
        live_server: tuple[DigitsServer, str], fake_model: Path) -> None:
    with pytest.raises(BindError, match=r"cannot listen on 127\.0\.0\.1"):
        create_server(ServerConfig(address=live_server[1], model_path=fake_model))


@pytest.mark.parametrize("address", ["50051", "localhost", ":50051", "127.0.0.1:99999"])
def test_server_config_rejects_malformed_addresses(address: str) -> None:
    with pytest.raises(ValueError, match="address must be HOST:PORT"):
        ServerConfig(address=address)


def test_stop_twice_is_harmless(fake_model: Path) -> None:
    server, port = start_server(fake_model, BatcherConfig())
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        assert_still_serving(pb_grpc.DigitClassifierStub(channel))
    server.stop(grace_s=0.5)
    server.stop(grace_s=0.5)

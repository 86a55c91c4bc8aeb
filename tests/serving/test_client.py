"""DigitsClient and AsyncDigitsClient against a live server: inputs, order, chunks, errors."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import grpc
import numpy as np
import pytest
from PIL import Image

from serving.client import (
    AsyncDigitsClient,
    ClientConfig,
    DigitsClient,
    ImageInputError,
    RequestRejectedError,
    ResultStatus,
    ServiceUnavailableError,
)
from serving.server import DigitsServer
from tests.serving.fakes import (
    LIMITS,
    MINUS_BOX,
    NOT_DIGIT_THRESHOLD,
    digit_images,
    minus_page,
    reference_probabilities,
)

FAST_FAIL = ClientConfig(timeout_s=5, retries=2, backoff_initial_s=0.01, backoff_max_s=0.015)


def dark_on_light_one() -> Image.Image:
    page = np.full((60, 40), 255, np.uint8)
    page[10:50, 18:23] = 0
    return Image.fromarray(page)


def test_mixed_inputs_come_back_typed_and_in_input_order(
        live_server: tuple[DigitsServer, str], tmp_path: Path) -> None:
    raw = digit_images(2)
    photo = dark_on_light_one()
    path = tmp_path / "one.png"
    photo.save(path)
    buffer = io.BytesIO()
    photo.save(buffer, format="PNG")
    inputs = [raw[0], str(path), buffer.getvalue(), photo, np.asarray(photo), path, raw[1],
              np.zeros((28, 28), np.uint8)]
    with DigitsClient(live_server[1]) as client:
        results = client.classify(inputs)
    assert [r.index for r in results] == list(range(len(inputs)))
    assert [r.status for r in results] == [ResultStatus.DIGIT] * 7 + [ResultStatus.BLANK]
    expected = reference_probabilities(raw)
    np.testing.assert_allclose([results[0].probabilities, results[6].probabilities], expected,
                               atol=1e-5)
    assert results[0].digit == int(expected[0].argmax())
    assert results[1].id == str(path) and results[5].id == str(path)
    same_photo = {r.probabilities for r in results[1:6]}
    assert len(same_photo) == 1  # path, bytes, PIL and array of one photo are one image
    assert results[7].digit is None and results[7].probabilities == ()


def test_not_a_digit_and_box_from_a_model_with_the_11th_output(
        not_digit_server: tuple[DigitsServer, str]) -> None:
    with DigitsClient(not_digit_server[1]) as client:
        not_digit, one, raw = client.classify([minus_page(), dark_on_light_one(),
                                               digit_images(1)[0]])
        info = client.model_info()
    assert info.not_digit_threshold == NOT_DIGIT_THRESHOLD
    assert not_digit.status is ResultStatus.NOT_A_DIGIT and not_digit.digit is None
    assert not_digit.not_digit_probability >= NOT_DIGIT_THRESHOLD and not_digit.confidence == 0
    assert len(not_digit.probabilities) == 10 and not_digit.box == MINUS_BOX
    assert one.status is ResultStatus.DIGIT and one.box == (18, 10, 23, 50)
    assert one.not_digit_probability < NOT_DIGIT_THRESHOLD
    assert raw.box is None  # raw 28 × 28 images are classified as they are, not located


def test_large_lists_are_split_into_chunks_and_reassembled(
        live_server: tuple[DigitsServer, str]) -> None:
    images = digit_images(3 * LIMITS.max_images_per_request + 5)
    with DigitsClient(live_server[1], ClientConfig(chunk_images=LIMITS.max_images_per_request,
                                                   chunk_bytes=20_000)) as client:
        results = client.classify(list(images))
    assert [r.index for r in results] == list(range(len(images)))
    assert [r.digit for r in results] == reference_probabilities(images).argmax(axis=1).tolist()


def test_stream_yields_every_image_once(live_server: tuple[DigitsServer, str]) -> None:
    images = digit_images(40)
    with DigitsClient(live_server[1], ClientConfig(chunk_images=16)) as client:
        results = sorted(client.classify_stream(iter(images)), key=lambda r: r.index)
    assert [r.digit for r in results] == reference_probabilities(images).argmax(axis=1).tolist()


def test_model_info_and_health(live_server: tuple[DigitsServer, str]) -> None:
    with DigitsClient(live_server[1]) as client:
        info = client.model_info()
        assert client.health() == "SERVING"
    assert (info.name, info.input_width, info.polarity) == ("fake-digits", 28, "light_on_dark")
    assert info.max_images_per_request == LIMITS.max_images_per_request


def test_rejections_raise_client_errors_not_rpc_errors(
        live_server: tuple[DigitsServer, str]) -> None:
    with DigitsClient(live_server[1], ClientConfig(chunk_bytes=10**9)) as client, \
            pytest.raises(RequestRejectedError, match="more than the limit") as caught:
        client.classify(list(digit_images(LIMITS.max_images_per_request + 1)))
    assert caught.value.code == "INVALID_ARGUMENT"
    assert not isinstance(caught.value, grpc.RpcError)


def test_unreachable_server_raises_service_unavailable_after_the_retries(
        unused_address: str) -> None:
    with DigitsClient(unused_address, FAST_FAIL) as client, \
            pytest.raises(ServiceUnavailableError, match="is unavailable") as caught:
        client.classify([digit_images(1)[0]])
    assert caught.value.code == "UNAVAILABLE"


@pytest.mark.parametrize(("item", "message"), [
    (np.zeros((28, 28), np.float32), "arrays must be uint8"),
    (np.zeros((2, 28, 28), np.uint8), "got shape"),
    (12, "cannot send a int"),
    (Path("/nonexistent/x.png"), "cannot read image file"),
])
def test_inputs_that_cannot_be_sent_raise_image_input_error(
        item: object, message: str, unused_address: str) -> None:
    with DigitsClient(unused_address) as client, pytest.raises(ImageInputError, match=message):
        client.classify([item])  # type: ignore[list-item]


def test_async_client_matches_the_sync_one(live_server: tuple[DigitsServer, str]) -> None:
    images = digit_images(20)

    async def run() -> tuple[list, list, str, str]:
        async with AsyncDigitsClient(live_server[1], ClientConfig(chunk_images=7)) as client:
            results = await client.classify(list(images))
            streamed = [r async for r in client.classify_stream(list(images))]
            return results, streamed, (await client.model_info()).name, await client.health()

    results, streamed, name, health = asyncio.run(run())
    expected = reference_probabilities(images).argmax(axis=1).tolist()
    assert [r.digit for r in results] == expected
    assert [r.digit for r in sorted(streamed, key=lambda r: r.index)] == expected
    assert (name, health) == ("fake-digits", "SERVING")


def test_async_client_raises_its_own_unavailable_error(unused_address: str) -> None:
    async def run() -> None:
        async with AsyncDigitsClient(unused_address, FAST_FAIL) as client:
            await client.model_info()

    with pytest.raises(ServiceUnavailableError):
        asyncio.run(run())

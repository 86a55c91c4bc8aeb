"""DigitEngine: preprocessing + batching + model, each image answered alone (no gRPC)."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from serving.batcher import BatcherConfig
from serving.engine import DigitEngine, EngineConfig, ImageInput, Status
from serving.errors import InvalidRequestError, OverloadedError
from serving.model import OnnxModel
from serving.predictions import INTERNAL_IMAGE_ERROR
from serving.preprocess import PreprocessConfig
from tests.serving.fakes import digit_images, reference_probabilities


class ExplodingModel:
    """An OnnxModel stand-in whose runs all fail."""

    def __init__(self, real: OnnxModel) -> None:
        self.metadata = real.metadata

    def predict(self, images: np.ndarray) -> np.ndarray:
        raise RuntimeError("onnxruntime fault")


@pytest.fixture()
def engine(fake_model: Path) -> DigitEngine:
    engine = DigitEngine.load(fake_model)
    yield engine
    engine.close()


def raw(images: np.ndarray) -> list[ImageInput]:
    return [ImageInput(image.tobytes(), encoded=False) for image in images]


def test_each_image_gets_its_own_prediction(engine: DigitEngine) -> None:
    images = digit_images(4)
    inputs = raw(images)
    inputs.insert(1, ImageInput(bytes(784), encoded=False))
    inputs.insert(3, ImageInput(b"short", encoded=False))
    inputs.append(ImageInput(b"not an image", encoded=True))
    predictions = engine.classify(inputs, timeout_s=10)
    assert [p.status for p in predictions] == [Status.DIGIT, Status.BLANK, Status.DIGIT,
                                               Status.ERROR, Status.DIGIT, Status.DIGIT,
                                               Status.ERROR]
    digits = [p for p in predictions if p.status is Status.DIGIT]
    np.testing.assert_allclose(np.stack([p.probabilities for p in digits]),
                               reference_probabilities(images), atol=1e-5)
    assert digits[0].digit == int(np.argmax(digits[0].probabilities))
    assert "raw image has 5 bytes, expected 784" in predictions[3].error
    assert "cannot decode the image" in predictions[6].error


def test_a_failing_model_run_becomes_an_error_per_image(fake_model: Path) -> None:
    engine = DigitEngine(ExplodingModel(OnnxModel.load(fake_model)))
    try:
        predictions = engine.classify([*raw(digit_images(2)), ImageInput(bytes(784), False)], 10)
    finally:
        engine.close()
    assert [p.status for p in predictions] == [Status.ERROR, Status.ERROR, Status.BLANK]
    assert predictions[0].error == INTERNAL_IMAGE_ERROR  # no internals leak to clients


def test_overload_is_raised_for_the_whole_request(fake_model: Path) -> None:
    config = EngineConfig(batcher=BatcherConfig(max_queue_size=2))
    engine = DigitEngine.load(fake_model, config)
    try:
        with pytest.raises(OverloadedError):
            engine.submit(raw(digit_images(3)))
    finally:
        engine.close()


async def _collect(engine: DigitEngine, batches: AsyncIterator[list[ImageInput]],
                   max_in_flight: int, seen: list[int]) -> None:
    async for ready in engine.classify_stream(batches, max_in_flight, timeout_s=10):
        seen.extend(index for index, _ in ready)


def test_stream_answers_every_image_then_raises_a_bad_batch(engine: DigitEngine) -> None:
    async def batches() -> AsyncIterator[list[ImageInput]]:
        yield raw(digit_images(3))
        yield raw(digit_images(2, seed=1))
        raise InvalidRequestError("third message is bad")

    seen: list[int] = []
    with pytest.raises(InvalidRequestError, match="third message"):
        asyncio.run(_collect(engine, batches(), 4, seen))
    assert sorted(seen) == [0, 1, 2, 3, 4]


def test_stream_keeps_at_most_max_in_flight_images_unanswered(engine: DigitEngine) -> None:
    async def batches() -> AsyncIterator[list[ImageInput]]:
        for seed in range(5):
            yield raw(digit_images(3, seed))

    seen: list[int] = []
    asyncio.run(_collect(engine, batches(), 4, seen))
    assert sorted(seen) == list(range(15))
    assert max(engine.stats().histogram) <= 4


def test_stream_rejects_a_batch_larger_than_its_in_flight_window(engine: DigitEngine) -> None:
    async def batches() -> AsyncIterator[list[ImageInput]]:
        yield raw(digit_images(3))

    with pytest.raises(InvalidRequestError, match="at most 2 images"):
        asyncio.run(_collect(engine, batches(), 2, []))


def test_async_classify_matches_the_blocking_one(engine: DigitEngine) -> None:
    inputs = [*raw(digit_images(3)), ImageInput(bytes(784), encoded=False),
              ImageInput(b"not an image", encoded=True)]
    assert asyncio.run(engine.classify_async(inputs, timeout_s=10)) == \
        engine.classify(inputs, timeout_s=10)


def test_the_configured_preprocessing_finds_the_digit(fake_model: Path) -> None:
    page = np.full((200, 200), 255, np.uint8)
    page[80:140, 97:103] = 0  # the digit: a bar
    page[160:162, :] = 0  # a thin ruled line below it, which only the default removes
    buffer = io.BytesIO()
    Image.fromarray(page).save(buffer, format="PNG")
    image = ImageInput(buffer.getvalue(), encoded=True)
    boxes = {}
    for name, preprocess in (("default", PreprocessConfig()),
                             ("first", PreprocessConfig.first_version())):
        engine = DigitEngine.load(fake_model, EngineConfig(preprocess=preprocess))
        try:
            boxes[name] = engine.classify([image], timeout_s=10)[0].box
            reading = engine.read_number([image], timeout_s=10)[0]
        finally:
            engine.close()
        boxes[f"{name} number"] = reading.digits[0].box if reading.digits else None
    assert boxes["default"] == (97, 80, 103, 140)
    assert boxes["first"] == (0, 80, 200, 162)  # the first version keeps the line with the bar
    assert boxes["default number"] != boxes["first number"]

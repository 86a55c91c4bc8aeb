"""read_number end to end: MNIST test digits side by side, read by the exported model over gRPC."""

from __future__ import annotations

import asyncio
import json
import math
from pathlib import Path

import numpy as np
import pytest

from serving.client import (
    AsyncDigitsClient,
    ClientConfig,
    DigitsClient,
    NumberReading,
    NumberStatus,
)
from serving.model import DEFAULT_MODEL_PATH
from serving.number_reader import READER_METADATA_FILE
from serving.server import DigitsServer
from tests.serving.mnist_numbers import DIGIT_INDICES, NUMBERS, number_page, png
from training.mnist import MnistArrays

GAP, MARGIN = 8, 16  # of number_page


def assert_digits_sit_in_their_tiles(reading: NumberReading, page: np.ndarray) -> None:
    """Each digit's box lies in the page and is centred on the tile it was drawn from."""
    assert len(reading.digits) == len(reading.number)
    for n, digit in enumerate(reading.digits):
        left, top, right, bottom = digit.box
        assert 0 <= left < right <= page.shape[1] and 0 <= top < bottom <= page.shape[0]
        tile_left = MARGIN + n * (28 + GAP)
        assert tile_left <= (left + right) / 2 < tile_left + 28, f"digit {n} of {reading.number}"
        assert 0 < digit.confidence <= 1
    assert reading.confidence == pytest.approx(math.prod(d.confidence for d in reading.digits),
                                               rel=1e-4)


def test_numbers_of_2_4_and_8_mnist_digits_are_read_exactly(
        exported_server: tuple[DigitsServer, str], mnist: MnistArrays, tmp_path: Path) -> None:
    pages = [number_page(mnist.test_images, number, GAP, MARGIN) for number in NUMBERS]
    path = tmp_path / "first.png"
    path.write_bytes(png(pages[0]))
    raw_five = mnist.test_images[DIGIT_INDICES[5]]
    inputs = [path, png(pages[1]), pages[2], raw_five, np.full((40, 80), 255, np.uint8)]
    with DigitsClient(exported_server[1], ClientConfig(chunk_images=2)) as client:
        readings = client.read_number(inputs)  # in 3 calls
        info = client.model_info()
    reader = json.loads((DEFAULT_MODEL_PATH.parent / READER_METADATA_FILE).read_text())
    assert info.number_reader_version == reader["version"] != ""
    assert [r.index for r in readings] == list(range(len(inputs)))
    assert [r.status for r in readings] == [NumberStatus.NUMBER] * 4 + [NumberStatus.BLANK]
    assert [r.number for r in readings] == [*NUMBERS, "5", ""]
    assert readings[0].id == str(path)
    for reading, page in zip(readings, pages, strict=False):
        assert_digits_sit_in_their_tiles(reading, page)
    assert readings[3].digits[0].box == (0, 0, 28, 28)  # a raw image is one whole digit
    assert readings[4].digits == () and readings[4].confidence == 0


def test_async_client_reads_the_same_numbers(exported_server: tuple[DigitsServer, str],
                                             mnist: MnistArrays) -> None:
    pages = [png(number_page(mnist.test_images, number)) for number in NUMBERS]

    async def run() -> list[NumberReading]:
        async with AsyncDigitsClient(exported_server[1]) as client:
            return await client.read_number(pages)

    assert [r.number for r in asyncio.run(run())] == list(NUMBERS)

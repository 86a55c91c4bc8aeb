"""Tests of benchmarks.realistic: seeded, order-independent, decodable images in every style."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from benchmarks.realistic import STYLES, generate


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray]:
    """Two synthetic 28×28 digits (a ring and a bar) with labels 0 and 1; no MNIST needed."""
    rows, cols = np.indices((28, 28))
    radius = np.hypot(rows - 14, cols - 14)
    ring = np.clip(255 * (1 - np.abs(radius - 7) / 2), 0, 255).astype(np.uint8)
    bar = np.zeros((28, 28), np.uint8)
    bar[4:24, 13:16] = 255
    return np.stack([ring, bar]), np.array([0, 1])


CHEAP_STYLES = [style for style in STYLES if style != "phone_photo"]


def test_same_seed_gives_the_same_bytes(digits):
    images, labels = digits
    first = [item.data for item in generate(images, labels, [0, 1], CHEAP_STYLES, seed=7)]
    second = [item.data for item in generate(images, labels, [0, 1], CHEAP_STYLES, seed=7)]
    assert first == second


def test_other_seed_gives_other_images(digits):
    images, labels = digits
    first = [item.data for item in generate(images, labels, [0], CHEAP_STYLES, seed=7)]
    other = [item.data for item in generate(images, labels, [0], CHEAP_STYLES, seed=8)]
    assert all(a != b for a, b in zip(first, other, strict=True))


def test_an_image_does_not_depend_on_what_else_is_generated(digits):
    images, labels = digits
    alone = next(generate(images, labels, [1], ["paper_photo"], seed=3))
    batch = [item for item in generate(images, labels, [0, 1], STYLES, seed=3)
             if item.index == 1 and item.style == "paper_photo"]
    assert batch[0].data == alone.data


@pytest.mark.parametrize("style", STYLES)
def test_every_style_decodes_and_carries_its_label(digits, style):
    images, labels = digits
    item = next(generate(images, labels, [1], [style], seed=0))
    assert (item.label, item.style, item.index) == (1, style, 1)
    image = Image.open(io.BytesIO(item.data))
    image.load()
    assert min(image.size) >= 40


def test_unknown_style_is_rejected(digits):
    images, labels = digits
    with pytest.raises(ValueError, match="unknown style"):
        next(generate(images, labels, [0], ["watercolour"], seed=0))

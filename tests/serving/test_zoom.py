"""A digit small in a large image is looked at again, finer (PreprocessConfig.zoom)."""

from __future__ import annotations

import io
from dataclasses import replace

import numpy as np
import pytest
from PIL import Image

from serving.decode import DEFAULT_LIMITS, decode_gray, resize
from serving.model import DEFAULT_MODEL_PATH, OnnxModel
from serving.preprocess import (
    PreprocessConfig,
    ZoomConfig,
    prepare_array,
    prepare_decoded,
    prepare_encoded,
)

ONE_LOOK = replace(PreprocessConfig(), zoom=None)
WORK_SIDE = PreprocessConfig().work_side


def page(digit: np.ndarray, frame: int, side: int, corner: tuple[int, int]) -> np.ndarray:
    """uint8 [side, side]: the MNIST digit as dark ink in a frame² px square at `corner`."""
    big = np.asarray(Image.fromarray(digit).resize((frame, frame), Image.Resampling.BICUBIC))
    gray = np.full((side, side), 235, np.uint8)
    top, left = corner
    gray[top:top + frame, left:left + frame] = 235 - big.astype(np.float32) * 210 / 255
    return gray


def jpeg(gray: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(gray).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def read(model: OnnxModel, pixels: np.ndarray) -> int:
    return int(model.predict(pixels[None])[0][:10].argmax())


def test_a_small_digit_in_a_large_photo_is_looked_at_again_at_twice_the_work_side(mnist):
    model = OnnxModel.load(DEFAULT_MODEL_PATH)
    right = looked_again = 0
    for index in range(20):
        data = jpeg(page(mnist.test_images[index], 56, 800, (500, 130)))
        prepared = prepare_encoded(data)
        finer = prepare_decoded(*decode_gray(data, DEFAULT_LIMITS, 2 * WORK_SIDE), ONE_LOOK)
        # A digit found in the first look is looked at again: the finer look answers unless it
        # finds nothing.
        first = prepare_encoded(data, config=ONE_LOOK)
        expected = first if first.blank or finer.blank else finer
        assert np.array_equal(prepared.pixels, expected.pixels)
        assert prepared.ink_box == expected.ink_box
        looked_again += expected is finer
        if not prepared.blank:
            left, top, right_edge, bottom = prepared.ink_box
            assert 130 <= left < right_edge <= 186 and 500 <= top < bottom <= 556
            right += read(model, prepared.pixels) == mnist.test_labels[index]
    assert right >= 19 and looked_again >= 16


def test_digits_large_in_their_image_or_in_small_images_get_one_look(mnist):
    digit = mnist.test_images[0]
    for gray in (page(digit, 300, 400, (50, 50)),  # large in its image
                 page(digit, 20, 150, (60, 60))):  # small, but the image has few pixels
        both = prepare_encoded(jpeg(gray)), prepare_encoded(jpeg(gray), config=ONE_LOOK)
        assert np.array_equal(both[0].pixels, both[1].pixels)
        assert both[0].ink_box == both[1].ink_box


def test_arrays_get_the_same_second_look(mnist):
    gray = page(mnist.test_images[2], 48, 800, (200, 600))
    finer = resize(gray.astype(np.float32) / 255, 2 * WORK_SIDE / 800)
    expected = prepare_decoded(finer, 800 / max(finer.shape), ONE_LOOK)
    assert np.array_equal(prepare_array(gray).pixels, expected.pixels)
    assert not np.array_equal(prepare_array(gray, ONE_LOOK).pixels, expected.pixels)


@pytest.mark.parametrize("fields", [{"small_digit": 0.0}, {"small_digit": 1.5}, {"factor": 0},
                                    {"min_gain": 0.5}])
def test_zoom_config_rejects_senseless_values(fields):
    with pytest.raises(ValueError):
        ZoomConfig(**fields)

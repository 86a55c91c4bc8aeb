"""Ink as bright as its paper, another colour: serving.colour, and preprocessing's second try in
colour when an image's brightness shows no ink."""

from __future__ import annotations

import io
from dataclasses import replace

import numpy as np
import pytest
from PIL import Image

from serving.colour import ColourConfig, colour_contrast
from serving.decode import DEFAULT_LIMITS, decode_colour
from serving.number_layout import number_ink
from serving.preprocess import PreprocessConfig, prepare_array, prepare_encoded
from serving.segment import SegmentConfig

KRAFT = (0.78, 0.67, 0.47)  # brown paper, luma 0.68
LIGHT_BLUE = (0.47, 0.67, 1.00)  # luma 0.65: as bright as the paper
NO_COLOUR = replace(PreprocessConfig(), colour=None)


def painted(digit: np.ndarray, paper: tuple[float, ...], ink: tuple[float, ...],
            side: int = 220) -> np.ndarray:
    """float RGB [side, side, 3]: the MNIST digit (uint8 [28, 28]) enlarged in the middle, in
    `ink` on `paper`, with a little grain."""
    coverage = np.zeros((side, side), np.float32)
    big = Image.fromarray(digit).resize((150, 150), Image.Resampling.BICUBIC)
    coverage[35:185, 35:185] = np.asarray(big, np.float32) / 255
    rgb = np.float32(paper) + coverage[..., None] * (np.float32(ink) - np.float32(paper))
    noise = np.random.default_rng(0).normal(0, 0.01, rgb.shape).astype(np.float32)
    return np.clip(rgb + noise, 0, 1)


def encoded(rgb: np.ndarray, fmt: str) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.round(rgb * 255).astype(np.uint8)).save(buffer, format=fmt)
    return buffer.getvalue()


def test_ink_of_another_colour_is_darkened_by_its_distance_and_paper_keeps_its_luma():
    rgb = np.empty((40, 40, 3), np.float32)
    rgb[:] = KRAFT
    rgb[10:30, 18:22] = LIGHT_BLUE
    gray = colour_contrast(rgb, ColourConfig(floor=0.05, gain=1.0))
    paper_luma = 0.299 * KRAFT[0] + 0.587 * KRAFT[1] + 0.114 * KRAFT[2]
    assert gray is not None and gray.dtype == np.float32 and gray.shape == (40, 40)
    assert np.allclose(gray[0], paper_luma, atol=1e-5)
    # The blue difference (B − Y) × 0.564 and red difference (R − Y) × 0.713 of ink and paper:
    ink_luma = 0.299 * LIGHT_BLUE[0] + 0.587 * LIGHT_BLUE[1] + 0.114 * LIGHT_BLUE[2]
    distance = np.hypot(0.564 * ((LIGHT_BLUE[2] - ink_luma) - (KRAFT[2] - paper_luma)),
                        0.713 * ((LIGHT_BLUE[0] - ink_luma) - (KRAFT[0] - paper_luma)))
    assert gray[20, 20] == pytest.approx(ink_luma - (distance - 0.05), abs=1e-4)
    assert gray[20, 20] < paper_luma - 0.3  # now far darker than the paper


def test_on_dark_paper_ink_of_another_colour_is_lightened():
    rgb = np.empty((40, 40, 3), np.float32)
    rgb[:] = (0.15, 0.25, 0.15)  # a green board
    rgb[10:30, 18:22] = (0.35, 0.15, 0.30)  # purple chalk as dark as the board
    gray = colour_contrast(rgb, ColourConfig())
    assert gray is not None and gray[20, 20] > gray[0, 0] + 0.1


def test_an_image_without_colour_or_only_colour_noise_adds_nothing():
    rgb = np.repeat(np.linspace(0, 1, 50, dtype=np.float32)[:, None, None], 3, axis=2)
    rgb = np.repeat(rgb, 30, axis=1)  # grey shades only
    assert colour_contrast(rgb, ColourConfig()) is None
    tinted = np.array(KRAFT, np.float32) + np.random.default_rng(1).normal(0, 0.005, (30, 30, 3))
    assert colour_contrast(tinted.astype(np.float32), ColourConfig()) is None


@pytest.mark.parametrize("fields", [{"floor": -0.1}, {"floor": 1.0}, {"gain": 0.0}])
def test_colour_config_rejects_senseless_values(fields):
    with pytest.raises(ValueError):
        ColourConfig(**fields)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_a_digit_as_bright_as_its_paper_is_found_in_colour_where_brightness_sees_nothing(
        mnist, fmt):
    digit = mnist.test_images[0]  # a 7
    data = encoded(painted(digit, KRAFT, LIGHT_BLUE), fmt)
    assert prepare_encoded(data, config=NO_COLOUR).blank
    prepared = prepare_encoded(data)
    assert not prepared.blank
    left, top, right, bottom = prepared.ink_box
    # The 7's ink lies within the enlarged digit's square (35–185 px).
    assert 35 <= left < right <= 185 and 35 <= top < bottom <= 185
    dark_ink = prepare_encoded(encoded(painted(digit, KRAFT, (0.1, 0.1, 0.1)), fmt))
    assert np.corrcoef(prepared.pixels.ravel().astype(float),
                       dark_ink.pixels.ravel().astype(float))[0, 1] > 0.9


def test_arrays_get_the_same_second_try_in_colour(mnist):
    rgb = painted(mnist.test_images[1], KRAFT, LIGHT_BLUE)
    assert prepare_array(rgb, NO_COLOUR).blank
    assert not prepare_array(rgb).blank
    assert prepare_array(np.round(rgb * 255).astype(np.uint8)).pixels is not None


def test_blank_coloured_paper_and_grey_pages_stay_blank():
    paper = np.empty((200, 260, 3), np.float32)
    paper[:] = KRAFT
    paper += np.random.default_rng(2).normal(0, 0.01, paper.shape).astype(np.float32)
    paper *= np.linspace(0.8, 1.0, 260, dtype=np.float32)[None, :, None]  # uneven light
    for fmt in ("JPEG", "PNG"):
        assert prepare_encoded(encoded(np.clip(paper, 0, 1), fmt)).blank
    assert prepare_encoded(encoded(np.full((50, 50, 3), 0.9, np.float32), "PNG")).blank


def test_decode_colour_leaves_grey_and_transparent_images_to_decode_gray():
    grey = io.BytesIO()
    Image.new("L", (30, 30), 200).save(grey, format="JPEG")
    assert decode_colour(grey.getvalue(), DEFAULT_LIMITS, 192) is None
    canvas = io.BytesIO()
    Image.new("RGBA", (30, 30), (0, 0, 255, 0)).save(canvas, format="PNG")
    assert decode_colour(canvas.getvalue(), DEFAULT_LIMITS, 192) is None
    photo = io.BytesIO()
    Image.new("RGB", (400, 300), (200, 100, 50)).save(photo, format="PNG")
    rgb, to_input = decode_colour(photo.getvalue(), DEFAULT_LIMITS, 192)
    assert rgb.shape == (144, 192, 3) and rgb.dtype == np.float32 and to_input == 400 / 192
    assert np.allclose(rgb[0, 0], np.float32([200, 100, 50]) / 255)


def test_a_number_as_bright_as_its_paper_is_found_in_colour(mnist):
    strip = np.concatenate(list(mnist.test_images[:4]), axis=1)
    coverage = np.zeros((200, 640), np.float32)
    big = Image.fromarray(strip).resize((560, 140), Image.Resampling.BICUBIC)
    coverage[30:170, 40:600] = np.asarray(big, np.float32) / 255
    rgb = np.float32(KRAFT) + coverage[..., None] * (np.float32(LIGHT_BLUE) - np.float32(KRAFT))
    data = encoded(rgb, "JPEG")
    assert number_ink(data, DEFAULT_LIMITS, NO_COLOUR, SegmentConfig()) is None
    found = number_ink(data, DEFAULT_LIMITS, PreprocessConfig(), SegmentConfig())
    assert found is not None
    clean, _ = found
    columns = np.flatnonzero(clean.strokes.any(axis=0)) * clean.ink.to_input
    assert columns.min() < 100 and columns.max() > 540  # from the first digit to the last

"""Tests of serving.ink: uneven light and soft shadows are paper, not ink; the digit's ink is found."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from serving.ink import InkConfig, dark_marks_in_middle, find_ink, paper_level
from serving.preprocess import prepare_encoded

HEIGHT, WIDTH = 360, 480  # px of the photos
SHADOW_DARKNESS = 0.4  # the shadow takes 40 % of the light
SOFT_EDGE = 25.0  # px over which a shadow's edge fades (logistic scale)
PAPER, BOARD = 0.85, 0.22  # reflectance of white paper and of a dark board
PEN_INK, CHALK = 0.13, 0.9  # reflectance of dark ink and of light chalk
NOISE = 0.015  # sensor noise, std dev in full scale
CONFIG = InkConfig()


def shadow(kind: str) -> np.ndarray:
    """float [H, W] in [0, 1]: where the shadow falls (1: full shadow). Each but "none" covers a
    quarter of the page or more with at least half its darkness."""
    rows, cols = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float64)
    if kind == "side":  # the left third of the page, a soft straight edge
        return 1 / (1 + np.exp((cols - WIDTH / 3) / SOFT_EDGE))
    if kind == "corner":  # a round shadow over the top-left corner
        distance = np.hypot(cols, rows * WIDTH / HEIGHT)
        return 1 / (1 + np.exp((distance - 0.62 * WIDTH) / SOFT_EDGE))
    if kind == "blob":  # a smooth Gaussian blob left of the middle (a hand held above the page)
        return np.exp(-0.5 * (((cols - 0.4 * WIDTH) / (0.25 * WIDTH)) ** 2
                              + ((rows - 0.5 * HEIGHT) / (0.3 * HEIGHT)) ** 2))
    if kind == "diagonal":  # over half of the sheet, its edge running from top right to bottom
        return 1 / (1 + np.exp((cols + rows - 0.6 * WIDTH - HEIGHT / 2) / SOFT_EDGE))
    if kind == "none":
        return np.zeros((HEIGHT, WIDTH))
    raise ValueError(kind)


def photo(kind: str, ink_colour: str, digit: np.ndarray | None = None,
          at: tuple[int, int] = (0, 0), side: int = 0, seed: int = 0) -> bytes:
    """A JPEG of paper ("dark" ink) or a board ("light" chalk) under a left-to-right light ramp
    (75 % → 100 %) and a shadow, with an MNIST digit enlarged to side px at (row, col)."""
    coverage = np.zeros((HEIGHT, WIDTH))
    if digit is not None:
        big = Image.fromarray(digit).resize((side, side), Image.Resampling.BICUBIC)
        coverage[at[0]:at[0] + side, at[1]:at[1] + side] = np.asarray(big) / 255
    if ink_colour == "dark":
        reflectance = PAPER + coverage * (PEN_INK - PAPER)
    else:
        reflectance = BOARD + coverage * (CHALK - BOARD)
    light = np.linspace(0.75, 1.0, WIDTH)[None, :] * (1 - SHADOW_DARKNESS * shadow(kind))
    noise = np.random.default_rng(seed).normal(0, NOISE, (HEIGHT, WIDTH))
    gray = np.clip(reflectance * light + noise, 0, 1)
    buffer = io.BytesIO()
    Image.fromarray(np.round(gray * 255).astype(np.uint8)).save(buffer, "JPEG", quality=80)
    return buffer.getvalue()


def ink_box_of(digit: np.ndarray, at: tuple[int, int], side: int) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) px of the page where the enlarged digit's ink is over 25 %."""
    big = np.asarray(Image.fromarray(digit).resize((side, side), Image.Resampling.BICUBIC)) > 64
    rows, cols = np.flatnonzero(big.any(axis=1)), np.flatnonzero(big.any(axis=0))
    return (at[1] + int(cols[0]), at[0] + int(rows[0]), at[1] + int(cols[-1]) + 1,
            at[0] + int(rows[-1]) + 1)


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Best correlation of two 28×28 images over shifts of up to 2 px."""
    b = b.astype(float)
    return max(float(np.corrcoef(a.astype(float).ravel(), np.roll(b, (dy, dx), (0, 1)).ravel())[0, 1])
               for dy in range(-2, 3) for dx in range(-2, 3))


# --- paper_level ------------------------------------------------------------------------------


def test_paper_level_follows_a_light_ramp_up_to_the_edges():
    ramp = np.linspace(0.2, 0.6, 192)[None, :] * np.ones((144, 1))
    np.testing.assert_allclose(paper_level(ramp, 0.5), ramp, atol=0.01)


def test_paper_level_ignores_strokes_and_follows_a_wide_shadow():
    """A 40 % step of light (shadow over the left third) stays paper; 6 px strokes on it are not."""
    cols = np.arange(192)
    paper = np.where(cols < 64, 0.5, 0.1)[None, :] * np.ones((144, 1))  # in ink units: 1 - gray
    ink = paper.copy()
    ink[30:110, 100:106] += 0.6
    ink[30:110, 30:36] += 0.6
    level = paper_level(ink, 0.5)
    away_from_edge = np.abs(cols - 64) > 12  # the coarse grid blurs the step's edge
    np.testing.assert_allclose(level[:, away_from_edge], paper[:, away_from_edge], atol=0.02)


# --- blank pages ------------------------------------------------------------------------------


@pytest.mark.parametrize("ink_colour", ["dark", "light"])
@pytest.mark.parametrize("kind", ["side", "corner", "blob", "diagonal"])
def test_a_blank_page_under_a_soft_shadow_and_a_light_ramp_is_blank(kind, ink_colour):
    assert (shadow(kind) > 0.5).mean() >= 0.25
    data = photo(kind, ink_colour)
    assert prepare_encoded(data).blank


# --- digits under shadows ---------------------------------------------------------------------


POSITIONS = {  # (row, col) of a 100 px digit: in the shadow, across its edge, in the light
    "side": [(130, 100), (130, 120), (130, 250)],
    "corner": [(100, 150), (100, 220), (200, 300)],
    "blob": [(130, 150), (100, 230), (180, 300)],
    "diagonal": [(130, 140), (130, 190), (100, 170)],  # the page's median is in the shadow
}


@pytest.mark.parametrize("ink_colour", ["dark", "light"])
@pytest.mark.parametrize(("kind", "at"), [
    pytest.param(kind, at, id=f"{kind}-{at[0]}-{at[1]}") for kind, spots in POSITIONS.items()
    for at in spots])
def test_a_digit_under_a_soft_shadow_is_found_where_it_is(mnist, kind, at, ink_colour):
    for index in (0, 1, 2):  # a 7, a 2 and a 1
        digit = mnist.test_images[index]
        prepared = prepare_encoded(photo(kind, ink_colour, digit, at, side=100, seed=index))
        assert not prepared.blank
        assert prepared.inverted == (ink_colour == "dark")
        expected = ink_box_of(digit, at, 100)
        assert np.abs(np.subtract(prepared.ink_box, expected)).max() <= 6, (prepared.ink_box,
                                                                              expected)
        assert similarity(prepared.pixels, digit) > 0.8


@pytest.mark.parametrize("ink_colour", ["dark", "light"])
@pytest.mark.parametrize("at", [(20, 20), (250, 380), (20, 380), (250, 40)],
                         ids=["top-left", "bottom-right", "top-right", "bottom-left"])
def test_a_small_digit_near_a_corner_of_a_plain_page_is_found_with_its_polarity(
        mnist, at, ink_colour):
    """A 60 px digit outside the middle of a page under a light ramp, no shadow."""
    for index in (0, 1, 2):
        digit = mnist.test_images[index]
        prepared = prepare_encoded(photo("none", ink_colour, digit, at, side=60, seed=index))
        assert not prepared.blank and prepared.inverted == (ink_colour == "dark")
        expected = ink_box_of(digit, at, 60)
        assert np.abs(np.subtract(prepared.ink_box, expected)).max() <= 6, (prepared.ink_box,
                                                                              expected)


# --- whether a dark-ink reading is worth trying -----------------------------------------------


def test_a_canvas_of_light_strokes_on_black_has_no_dark_marks_and_paper_with_a_digit_has(mnist):
    for digit in mnist.test_images[:20]:
        canvas = np.asarray(Image.fromarray(digit).resize((64, 64), Image.Resampling.BICUBIC),
                            np.float32) / 255
        assert not dark_marks_in_middle(canvas, CONFIG)
        assert dark_marks_in_middle(0.9 - 0.8 * canvas, CONFIG)  # the same digit, dark on paper


# --- small images and configuration -----------------------------------------------------------


def test_small_images_are_analysed_enlarged_and_boxes_map_back_to_input_pixels(mnist):
    gray = mnist.test_images[0].astype(np.float32) / 255  # light ink on dark, 28 px
    found = find_ink(gray, 1.0, CONFIG)
    assert found is not None and not found.inverted
    assert found.mask.shape == (112, 112) and found.to_input == pytest.approx(0.25)
    rows, cols = np.flatnonzero(found.mask.any(axis=1)), np.flatnonzero(found.mask.any(axis=0))
    left, top, right, bottom = found.input_box((rows[0], rows[-1] + 1, cols[0], cols[-1] + 1))
    ink_rows = np.flatnonzero(mnist.test_images[0].max(axis=1) > 128)
    ink_cols = np.flatnonzero(mnist.test_images[0].max(axis=0) > 128)
    assert abs(top - ink_rows[0]) <= 1 and abs(bottom - ink_rows[-1] - 1) <= 1
    assert abs(left - ink_cols[0]) <= 1 and abs(right - ink_cols[-1] - 1) <= 1


@pytest.mark.parametrize("changes", [{"background_window": 1.0}, {"ink_fraction": 0.0},
                                     {"min_contrast": 1.5}, {"noise_sigmas": 0.0},
                                     {"min_snr": -1.0}, {"min_work_side": 0},
                                     {"strong_min_snr": 0.0}, {"strong_contrast": 0.0},
                                     {"noise_tile_px": 1}])
def test_config_rejects_values_out_of_range(changes):
    with pytest.raises(ValueError):
        InkConfig(**changes)

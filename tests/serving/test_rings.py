"""serving.rings: the digit inside a ring drawn around it, and the frame reading it gives."""

from __future__ import annotations

import io
from dataclasses import replace

import numpy as np
import pytest
from PIL import Image, ImageDraw

from serving.preprocess import PreprocessConfig, Reading, prepare_encoded
from serving.rings import RingConfig, inside_ring


def ring_mask(side: int = 100, gap: bool = False) -> np.ndarray:
    image = Image.new("L", (side, side), 0)
    ImageDraw.Draw(image).ellipse([5, 5, side - 6, side - 6], outline=255, width=4)
    mask = np.asarray(image) > 0
    if gap:
        mask = mask.copy()
        mask[40:60, :12] = False  # a 20 px opening on the left
    return mask


def test_the_strokes_inside_a_ring_are_the_digit():
    strokes = ring_mask()
    digit = np.zeros_like(strokes)
    digit[30:70, 48:53] = True  # a 1 in the middle
    digit[28:34, 40:53] = True
    assert np.array_equal(inside_ring(strokes | digit, RingConfig()), digit)


def test_a_ring_left_open_still_holds_its_digit_and_outside_marks_stay_out():
    strokes = ring_mask(gap=True)
    digit = np.zeros_like(strokes)
    digit[30:70, 48:53] = True
    outside = np.zeros_like(strokes)
    outside[0:3, 90:99] = True  # a mark beside the ring, not in it
    assert np.array_equal(inside_ring(strokes | digit | outside, RingConfig()), digit)


def test_no_ring_no_inside():
    digit = np.zeros((100, 100), bool)
    digit[20:80, 45:50] = True
    assert inside_ring(digit, RingConfig()) is None  # one piece
    zero_with_speck = ring_mask()
    zero_with_speck[50:53, 50:53] = True  # a speck in a 0 is no digit inside a ring
    assert inside_ring(zero_with_speck, RingConfig()) is None
    bar_and_dot = digit.copy()
    bar_and_dot[10:13, 60:63] = True  # two pieces, the larger no ring
    assert inside_ring(bar_and_dot, RingConfig()) is None


@pytest.mark.parametrize("fields", [{"min_hole": 0.0}, {"min_inside": 1.0}, {"min_hole": 1.5}])
def test_ring_config_rejects_senseless_values(fields):
    with pytest.raises(ValueError):
        RingConfig(**fields)


def on_page(digit: np.ndarray, ring: bool) -> bytes:
    """A JPEG of the MNIST digit written large on a 240 px page, circled or not."""
    big = np.asarray(Image.fromarray(digit).resize((130, 130), Image.Resampling.BICUBIC))
    page = np.full((240, 240), 237, np.uint8)
    page[55:185, 55:185] = 237 - big.astype(np.float32) * 212 / 255
    image = Image.fromarray(page)
    if ring:
        ImageDraw.Draw(image).ellipse([30, 30, 210, 210], outline=25, width=6)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def test_a_circled_digit_offers_the_digit_alone_as_its_frame_reading(mnist):
    for digit in mnist.test_images[:5]:
        prepared = prepare_encoded(on_page(digit, ring=True))
        assert prepared.ink_box == (30, 30, 211, 211)  # the main reading: ring and digit
        (frame,) = prepared.others.render([Reading.RING])
        alone = prepare_encoded(on_page(digit, ring=False)).pixels
        likeness = np.corrcoef(frame.pixels.ravel().astype(float), alone.ravel().astype(float))
        assert likeness[0, 1] > 0.9
        no_rings = replace(PreprocessConfig(), ring=None)
        assert prepare_encoded(on_page(digit, ring=True), config=no_rings).others.render(
            [Reading.RING]) == ()

"""training.lone_strokes: one straight stroke reads as a 1 and is never a training non-digit."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from benchmarks.real_sets import negative_set
from serving.preprocess import prepare_array, prepare_encoded
from training.extra_data import NOT_A_DIGIT, _negative_chunk
from training.lone_strokes import is_lone_stroke


def prepared(draw_on) -> np.ndarray:
    """A 280 px white canvas drawn on by `draw_on(ImageDraw)` in black, as serving prepares it."""
    canvas = Image.new("L", (280, 280), 255)
    draw_on(ImageDraw.Draw(canvas))
    pixels = prepare_array(np.asarray(canvas)).pixels
    assert pixels is not None
    return pixels


def test_a_straight_upright_or_slanted_bar_is_a_lone_stroke():
    for top, bottom, width in (((140, 30), (140, 250), 14), ((170, 30), (110, 250), 24),
                               ((120, 40), (160, 240), 8)):
        assert is_lone_stroke(prepared(
            lambda d, ends=(top, bottom), width=width: d.line(ends, fill=0, width=width)))


def test_a_dash_two_bars_a_ruler_and_a_curve_are_not():
    assert not is_lone_stroke(prepared(lambda d: d.line([(30, 140), (250, 140)], fill=0, width=14)))

    two_bars = np.zeros((28, 28), np.uint8)
    two_bars[4:24, 9:11] = two_bars[4:24, 17:19] = 255  # (preprocessing itself keeps one of them)
    assert not is_lone_stroke(two_bars)
    two_bars[4:24, 11:17] = 0
    assert is_lone_stroke(two_bars[:, :14])

    def ruler(d):
        d.line([(140, 20), (140, 260)], fill=0, width=12)
        for y in range(30, 260, 40):
            d.line([(140, y), (190, y)], fill=0, width=12)
    assert not is_lone_stroke(prepared(ruler))
    assert not is_lone_stroke(prepared(lambda d: d.arc([40, 30, 240, 250], 200, 340, fill=0, width=14)))
    assert not is_lone_stroke(np.zeros((28, 28), np.uint8))


def test_among_mnist_digits_nearly_only_ones_are_lone_strokes(mnist):
    images, labels = mnist.test_images, mnist.test_labels
    found = np.array([is_lone_stroke(image) for image in images])
    assert found[labels != 1].mean() < 0.001  # a 7 whose hook is a pixel, say
    assert found[labels == 1].mean() > 0.6  # most of MNIST's 1s are one straight stroke


def test_training_non_digits_and_the_benchmark_non_digits_leave_lone_strokes_out():
    images, labels = _negative_chunk((7, 0, 300, "train"))
    assert (labels == NOT_A_DIGIT).all() and 200 < len(images) < 300  # blanks go too
    assert not any(is_lone_stroke(image) for image in images)
    kept, lone = negative_set(120, 5, "heldout")
    assert len(kept) == 120 and 0 < len(lone) < 20
    assert not any(is_lone_stroke(pixels) for item in kept
                   if (pixels := prepare_encoded(item.data).pixels) is not None)
    assert all(is_lone_stroke(prepare_encoded(item.data).pixels) for item in lone)

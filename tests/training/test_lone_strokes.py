"""Tests of training.lone_strokes: which rendered negatives a reader would take for a 1."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from training.extra_data import NOT_A_DIGIT, ExtraImages, without_lone_strokes
from training.lone_strokes import looks_like_a_one


def _drawn(*shapes: tuple[str, tuple, int]) -> np.ndarray:
    """A 28 × 28 MNIST-convention image of PIL lines ("line") and filled boxes ("box")."""
    image = Image.new("L", (28, 28), 0)
    draw = ImageDraw.Draw(image)
    for kind, xy, width in shapes:
        if kind == "line":
            draw.line(xy, fill=255, width=width)
        else:
            draw.rectangle(xy, fill=255)
    return np.asarray(image)


UPRIGHT_BAR = _drawn(("line", (14, 4, 14, 23), 3))
SLANTED_BAR = _drawn(("line", (17, 4, 11, 23), 3))
TICKED_RULER = _drawn(("line", (12, 4, 12, 23), 2),
                      *[("line", (12, y, 17, y), 1) for y in range(5, 23, 4)])
FILLED_SQUARE = _drawn(("box", (6, 6, 21, 21), 0))
LYING_BAR = _drawn(("line", (4, 14, 23, 14), 3))
BENT_STROKE = _drawn(("line", (10, 4, 17, 13), 3), ("line", (17, 13, 10, 23), 3))
CROSS = _drawn(("line", (14, 4, 14, 23), 3), ("line", (6, 12, 22, 12), 3))


def test_a_straight_even_upright_stroke_looks_like_a_one():
    images = np.stack([UPRIGHT_BAR, SLANTED_BAR])
    assert looks_like_a_one(images).tolist() == [True, True]


def test_ticks_width_bends_and_other_strokes_do_not():
    images = np.stack([TICKED_RULER, FILLED_SQUARE, LYING_BAR, BENT_STROKE, CROSS])
    assert looks_like_a_one(images).tolist() == [False] * 5


def test_mnist_digits_other_than_one_rarely_look_like_a_one_and_many_ones_do(mnist):
    images, labels = mnist.test_images[:3000], mnist.test_labels[:3000]
    found = looks_like_a_one(images)
    assert found[labels != 1].mean() < 0.005
    assert found[labels == 1].mean() > 0.8  # such bars, as negatives, taught that a 1 is none


def test_only_negatives_that_look_like_a_one_are_left_out():
    images = np.stack([UPRIGHT_BAR, UPRIGHT_BAR, TICKED_RULER, SLANTED_BAR])
    labels = np.array([NOT_A_DIGIT, 1, NOT_A_DIGIT, NOT_A_DIGIT])
    kept = without_lone_strokes(ExtraImages(images, labels))
    assert kept.labels.tolist() == [1, NOT_A_DIGIT]
    np.testing.assert_array_equal(kept.images, np.stack([UPRIGHT_BAR, TICKED_RULER]))

"""MNIST digits become connected pointer strokes that cover the digit."""

from __future__ import annotations

import itertools

import numpy as np

from tests.demo.strokes import skeleton, strokes, to_canvas


def test_skeleton_of_a_thick_bar_is_one_pixel_wide() -> None:
    image = np.zeros((28, 28), np.uint8)
    image[6:22, 12:17] = 255
    mask = skeleton(image)
    assert mask.any()
    assert (mask.sum(axis=1) <= 1).all(), "a vertical bar thins to one pixel per row"


def test_strokes_cover_the_skeleton_of_an_mnist_digit(mnist) -> None:
    image = mnist.test_images[0]
    paths = strokes(image)
    points = np.array([point for path in paths for point in path])
    centres = np.argwhere(skeleton(image))[:, ::-1] + 0.5  # (x, y) of each skeleton pixel
    nearest = np.linalg.norm(centres[:, None] - points[None], axis=2).min(axis=1)
    assert nearest.max() <= 1.0, "every skeleton pixel lies under the pen"
    for path in paths:
        for (x0, y0), (x1, y1) in itertools.pairwise(path):
            assert np.hypot(x1 - x0, y1 - y0) <= 1.5, "consecutive points are close"


def test_to_canvas_scales_28_units_to_the_side() -> None:
    assert to_canvas([[(0.0, 0.0), (28.0, 14.0)]], 280) == [[(0.0, 0.0), (280.0, 140.0)]]

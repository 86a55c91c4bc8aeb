"""Numpy image operations: components, boxes, stroke width, rank filters, blur and quantiles."""

import numpy as np
import pytest

from serving.imageops import (
    blur,
    component_boxes,
    horizontal_runs,
    label_components,
    max_filter,
    min_filter,
    padded,
    quantiles,
    stroke_width,
)


def test_diagonal_pixels_are_one_component_and_separate_blobs_are_two():
    mask = np.zeros((6, 8), bool)
    mask[0, 0] = mask[1, 1] = mask[2, 2] = True  # a diagonal line: 8-connected
    mask[4:6, 5:8] = True  # a separate block
    labels, count = label_components(mask)
    assert count == 2
    assert labels[0, 0] == labels[2, 2] != labels[4, 5]
    assert (labels > 0).sum() == mask.sum()


def test_u_shape_merges_into_one_component():
    mask = np.zeros((5, 5), bool)
    mask[0:4, 0] = mask[0:4, 4] = mask[4, 0:5] = True  # two arms joined only at the bottom
    assert label_components(mask)[1] == 1


def test_boxes_are_top_bottom_left_right_exclusive():
    mask = np.zeros((10, 10), bool)
    mask[2:5, 3:7] = True
    labels, count = label_components(mask)
    assert component_boxes(labels, count)[1].tolist() == [2, 5, 3, 7]


def test_empty_mask_has_no_components():
    assert label_components(np.zeros((4, 4), bool))[1] == 0


def test_stroke_width_of_a_long_bar():
    mask = np.zeros((40, 200), bool)
    mask[10:14, 10:190] = True  # 4 px thick
    assert abs(stroke_width(mask) - 4) < 0.3


def test_max_then_min_filter_closes_a_one_pixel_gap():
    row = np.array([[1, 1, 0, 1, 1]], dtype=np.float32).repeat(5, axis=0)
    closed = min_filter(max_filter(row, 3), 3)
    assert closed[2].tolist() == [1, 1, 1, 1, 1]


@pytest.mark.parametrize("size", [3, 5, 7, 9, 11, 15, 17, 33])  # odd: centred windows
def test_rank_filters_match_a_brute_force_window(size):
    values = np.random.default_rng(size).random((37, 45)).astype(np.float32)
    padded = np.pad(values, size // 2, mode="edge")
    windows = np.lib.stride_tricks.sliding_window_view(padded, (size, size))[:37, :45]
    assert np.array_equal(max_filter(values, size), windows.max(axis=(2, 3)))
    assert np.array_equal(min_filter(values, size), windows.min(axis=(2, 3)))


def test_blur_is_the_binomial_kernel_and_keeps_flat_areas():
    impulse = np.zeros((9, 9), np.float32)
    impulse[4, 4] = 1
    row = np.float32([1, 4, 6, 4, 1]) / 16
    assert np.allclose(blur(impulse)[2:7, 2:7], np.outer(row, row))
    assert np.allclose(blur(np.full((6, 7), 0.3, np.float32)), 0.3)


def test_quantiles_match_percentile_within_a_bin():
    values = np.random.default_rng(0).normal(0.1, 0.2, (120, 90)).astype(np.float32)
    fractions = [0.002, 0.25, 0.5, 0.75, 0.998]
    expected = np.percentile(values, [100 * f for f in fractions])
    assert np.allclose(quantiles(values, fractions, -1, 1), expected, atol=2 / 4096)


def test_horizontal_runs_match_a_scan_of_each_row():
    mask = np.random.default_rng(3).random((9, 13)) < 0.5
    mask[0] = True  # a run from edge to edge
    mask[1] = False  # a row without ink
    expected = []
    for row in range(mask.shape[0]):
        col = 0
        while col < mask.shape[1]:
            if mask[row, col]:
                start = col
                while col < mask.shape[1] and mask[row, col]:
                    col += 1
                expected.append((row, start, col))
            col += 1
    rows, starts, ends = horizontal_runs(mask)
    assert list(zip(rows.tolist(), starts.tolist(), ends.tolist(), strict=True)) == expected
    assert all(len(part) == 0 for part in horizontal_runs(np.zeros((3, 4), bool)))


@pytest.mark.parametrize("edge", [False, True])
def test_padded_equals_numpy_pad(edge):
    values = np.random.default_rng(4).random((5, 7)).astype(np.float32)
    widths = ((2, 0), (1, 3))
    expected = np.pad(values, widths, mode="edge" if edge else "constant")
    got = padded(values, *widths[0], *widths[1], edge=edge)
    assert got.dtype == values.dtype
    np.testing.assert_array_equal(got, expected)

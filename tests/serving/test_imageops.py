"""Numpy image operations: 8-connected components, their boxes, stroke width and rank filters."""

import numpy as np

from serving.imageops import component_boxes, label_components, max_filter, min_filter, stroke_width


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

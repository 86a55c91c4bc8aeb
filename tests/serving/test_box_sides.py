"""Tests of serving.box_sides: a box's or grid's side that line removal kept is no digit."""

from __future__ import annotations

import numpy as np
import pytest

from serving.box_sides import SideConfig, box_sides
from serving.lines import LineConfig

CONFIG = SideConfig()
SHAPE = (120, 160)
LINES = LineConfig()
REACH = max(1, round(LINES.corner * max(SHAPE)))  # as remove_lines gives it


def sides_of(strokes: np.ndarray, lines: np.ndarray) -> np.ndarray:
    return box_sides(strokes, lines, LINES.box_side, REACH, CONFIG)


def _bar(col: int, top: int, bottom: int, width: int = 3) -> np.ndarray:
    mask = np.zeros(SHAPE, bool)
    mask[top:bottom, col:col + width] = True
    return mask


def _row(row: int, left: int, right: int) -> np.ndarray:
    mask = np.zeros(SHAPE, bool)
    mask[row:row + 2, left:right] = True
    return mask


def test_a_side_that_the_lines_meet_from_one_side_at_both_ends_is_found():
    side = _bar(120, 20, 100)
    lines = _row(20, 30, 121) | _row(98, 30, 121)  # top and bottom end on it: corners
    np.testing.assert_array_equal(sides_of(side, lines), side)


def test_a_grids_last_column_is_found():
    side = _bar(120, 20, 100)
    lines = np.zeros(SHAPE, bool)
    for row in range(20, 100, 16):
        lines |= _row(row, 30, 121)
    np.testing.assert_array_equal(sides_of(side, lines), side)


def test_a_one_touching_lines_that_go_on_past_it_is_kept():
    one = _bar(80, 22, 98)
    lines = _row(20, 30, 140) | _row(98, 30, 140)  # a box's top and bottom: both sides of it
    assert not sides_of(one, lines).any()


def test_a_one_that_no_line_meets_near_both_ends_is_kept():
    one = _bar(120, 20, 100)
    lines = _row(20, 30, 121)  # a line ends at its top only
    assert not sides_of(one, lines).any()
    assert not sides_of(one, np.zeros(SHAPE, bool)).any()


def test_a_wide_shape_is_no_side():
    zero = np.zeros(SHAPE, bool)
    zero[30:90, 60:100] = True
    zero[36:84, 66:94] = False
    lines = _row(28, 30, 61) | _row(88, 30, 61)
    assert not sides_of(zero, lines).any()


@pytest.mark.parametrize("bad", [{"end": 0}, {"end": 1.0}, {"min_aspect": 0.5},
                                 {"tolerance_px": -1}])
def test_bad_settings_are_refused(bad):
    with pytest.raises(ValueError):
        SideConfig(**bad)

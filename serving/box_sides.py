"""The outer side of a box or grid that line removal kept: an upright bar that the removed lines
meet from one side only, at both its ends (a corner, or a grid's rows ending on it).

Too tilted, too thick or sticking out past a corner, such a side stays ink, and alone on the
page it is a perfect 1. A 1 written in a box, on ruled paper or in a grid has lines on both
sides where it touches them, or touches none.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from serving.imageops import component_boxes, label_components, max_filter


@dataclass(frozen=True)
class SideConfig:
    """What a kept side looks like (how long it is, and how near the lines meet it, are the line
    rules' own: LineConfig.box_side and LineConfig.corner)."""

    min_aspect: float = 3.0  # a side is this many times longer than its box is wide
    end: float = 0.25  # the lines meet it within this share of its length from each of its ends
    tolerance_px: float = 1.5  # contacts within this distance beyond its edge are on neither side

    def __post_init__(self) -> None:
        if not 0 < self.end < 1:
            raise ValueError(f"end must be in (0, 1), got {self.end}")
        if self.min_aspect < 1 or self.tolerance_px < 0:
            raise ValueError("min_aspect must be ≥ 1 and tolerance_px ≥ 0")


def box_sides(strokes: np.ndarray, lines: np.ndarray, min_length: float, reach: int,
              config: SideConfig) -> np.ndarray:
    """bool mask of the components of `strokes` that are a box's or grid's kept side: at least
    `min_length` of the image's height long, met by `lines` within `reach` px."""
    sides = np.zeros_like(strokes)
    if not lines.any():
        return sides
    labels, count = label_components(strokes)
    boxes = component_boxes(labels, count)
    tall = boxes[:, 1] - boxes[:, 0]
    upright = (tall >= min_length * strokes.shape[0]) & (
        tall >= config.min_aspect * (boxes[:, 3] - boxes[:, 2]))
    for label in np.flatnonzero(upright[1:]) + 1:
        top, bottom, left, right = (int(v) for v in boxes[label])
        window = (slice(max(0, top - reach), bottom + reach),
                  slice(max(0, left - reach), right + reach))
        bar = labels[window] == label
        rows, cols = np.nonzero(bar)
        slope, intercept = np.polyfit(rows, cols, 1)
        touch_rows, touch_cols = np.nonzero(lines[window] & max_filter(bar, 2 * reach + 1))
        if touch_rows.size == 0:
            continue
        offset = touch_cols - (slope * touch_rows + intercept)
        beyond = rows.size / (rows.max() - rows.min() + 1) / 2 + config.tolerance_px  # its half
        # width: a line's pixels that run into it are on neither side
        if (offset < -beyond).any() and (offset > beyond).any():
            continue  # lines on both sides: a stroke crossing or touching them
        near = config.end * (rows.max() - rows.min() + 1)
        if touch_rows.min() <= rows.min() + near and touch_rows.max() >= rows.max() - near:
            sides[window] |= bar
    return sides

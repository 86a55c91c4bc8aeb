"""Removing long thin straight structures that are not strokes: ruled and grid lines, box borders,
comb fields, a note's edge; pixels where a stroke crosses a line are kept."""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from serving.box_sides import SideConfig, box_sides
from serving.imageops import (
    component_ends,
    in_blocks,
    label_components,
    line_search,
    mask_box,
    max_filter,
    pooled_any,
    run_lengths,
    short_runs,
    tilt_shifts,
)


@dataclass(frozen=True)
class LineConfig:
    """What counts as a line, as fractions of the image side along the line."""

    border_length: float = 0.45  # a straight run this long that reaches the image's edge is a line
    free_length: float = 0.8  # a run this long is a line wherever it is
    edge_margin: float = 0.04  # "reaches the edge": ends within this fraction of the side
    max_thickness: float = 0.025  # thickest line across, fraction of the shorter side: ink that
    # is thicker across (a stroke crossing the line, a marker stroke) is never a line
    min_thickness_px: int = 4  # ...but never less than this many px: blur and JPEG widen thin
    # lines of small images (tuning, 300 per kind: form boxes 91.0 → 91.7 % from 3 px; 5 px
    # took pencil strokes for lines)
    angles_deg: tuple[float, ...] = (-6.0, -3.0, 0.0, 3.0, 6.0)  # tilts searched, degrees
    # (phone photos tilt ruled lines by a few degrees; 3° steps leave ≤ 1.5° residual slope)
    box_side: float = 0.15  # shortest side of a box (its sides meet at corners), fraction of the
    # image side along it
    corner: float = 0.02  # a side meets another within this distance, fraction of the longer side
    box_angles_deg: tuple[float, ...] = (-3.0, 0.0, 3.0)  # tilts searched for box sides, degrees
    # (short segments: each tilt costs a pass over every row with ink)
    pool_above_px: int = 128  # images with a longer side of at least this are searched at half
    # resolution
    gap: float = 0.12  # gaps in a line up to this long are bridged (where a stroke crosses it,
    # JPEG and faint ink), fraction of the shorter side
    sides: SideConfig | None = field(default_factory=SideConfig)  # a box's or grid's side that
    # the rules above kept is removed too; None: kept

    @functools.cached_property
    def segments(self) -> LineConfig:
        """The rule for a box's sides (a form field, a comb field's cells), which need not reach
        the image's edge: a shorter straight segment is a line when both its ends meet
        perpendicular ones."""
        return replace(self, border_length=self.box_side, free_length=self.box_side,
                       angles_deg=self.box_angles_deg)

    @functools.cached_property
    def search(self) -> LineSearch:
        """The search for lines (this rule) and segments (`segments`) together, made once per
        config (replace() validates, and the tilts' table took ~25 µs per search)."""
        return LineSearch.of((self, self.segments))

    def __post_init__(self) -> None:
        for name in ("border_length", "free_length", "edge_margin", "box_side", "corner"):
            if not 0 < getattr(self, name) <= 1:
                raise ValueError(f"{name} must be in (0, 1], got {getattr(self, name)}")
        if self.min_thickness_px < 1:
            raise ValueError(f"min_thickness_px must be ≥ 1, got {self.min_thickness_px}")
        if not 0 < self.max_thickness < 1 or not 0 <= self.gap < 1:
            raise ValueError("max_thickness must be in (0, 1) and gap in [0, 1)")


@dataclass(frozen=True)
class FrameConfig:
    """What counts as the frame left around a digit (a form box's sides that line removal kept,
    thicker than a line or too short): fractions of the digit's box."""

    min_length: float = 0.7  # a straight run along the box at least this long is a side
    # (tuning, form boxes of validation digits: 0.6 / 0.7 / 0.8 / 0.9 → 94.7 / 95.0 / 94.3 / 94.0 %;
    # non-digits answered a digit ≥ 0.9, of 2000: 19 / 18 / 16 / 15)
    edge: float = 0.25  # ... when it lies within this fraction of the box from its edge
    min_part: float = 0.15  # what is left is the digit: its parts with at least this share of
    # the largest part's pixels
    min_aspect: float = 0.4  # a box narrower than this × its height (a 1, a bar) has no frame

    def __post_init__(self) -> None:
        for name in ("min_length", "min_part", "min_aspect"):
            if not 0 < getattr(self, name) <= 1:
                raise ValueError(f"{name} must be in (0, 1], got {getattr(self, name)}")
        if not 0 < self.edge <= 0.5:
            raise ValueError(f"edge must be in (0, 0.5], got {self.edge}")


def without_frame(strokes: np.ndarray, config: FrameConfig) -> np.ndarray | None:
    """The digit inside `strokes`' frame: the straight runs along the sides of their box (rows
    near its top or bottom, columns near its left or right, nearly as long as the box) taken off,
    and the small pieces they leave in the corners; None when there is no such run, or nothing
    left. A digit's own strokes can be such runs (a 7's bar): this is a reading to try, not a fix.
    """
    box = mask_box(strokes)
    if box is None:
        return None
    top, bottom, left, right = box
    height, width = bottom - top, right - left
    if width < config.min_aspect * height:
        return None
    window = strokes[top:bottom, left:right]
    rows, cols = math.ceil(config.edge * height), math.ceil(config.edge * width)
    frame = np.zeros_like(window)
    across, down = config.min_length * width, config.min_length * height  # a side's length
    for band in (np.s_[:rows], np.s_[height - rows:]):  # the top and bottom sides
        # A row holds a long run only if it holds that many pixels: a cheap test first.
        if (np.count_nonzero(window[band], axis=1) >= across).any():
            frame[band] |= run_lengths(window[band]) >= across
    for band in (np.s_[:, :cols], np.s_[:, width - cols:]):  # the left and right sides
        if (np.count_nonzero(window[band], axis=0) >= down).any():
            lengths = run_lengths(window[band].T).T  # each pixel's run down its column
            frame[band] |= lengths >= down
    if not frame.any():
        return None
    labels, count = label_components(window & ~frame)
    if count == 0:
        return None
    ink = np.bincount(labels.ravel(), minlength=count + 1)
    ink[0] = 0
    rest = np.zeros_like(strokes)
    rest[top:bottom, left:right] = np.take(ink >= config.min_part * ink.max(), labels)
    return rest


def remove_lines(mask: np.ndarray, config: LineConfig) -> tuple[np.ndarray, np.ndarray]:
    """(mask without its lines, the removed line pixels); strokes crossing a line are kept.

    A line pixel is thin across the line; a stroke crossing the line is thick across it there
    (the stroke's own length), so the crossing stays while the line's run is bridged over it.
    """
    longer, shorter = max(mask.shape), min(mask.shape)
    # Thickness and gaps scale with the writing, which the shorter side bounds: along a written
    # number (a wide image) the longer side's gap bridged one digit's stroke to the next.
    thickness = max(config.min_thickness_px, round(config.max_thickness * shorter))
    gap = round(config.gap * shorter)
    # Thin across a horizontal line: a short ink extent along the pixel's column; and the other way.
    thin_rows, thin_cols = short_runs(mask, thickness)
    # Lines, and the shorter segments that may be a box's sides (LineConfig.segments).
    (horizontal, short_h), (vertical, short_v) = _straight(thin_rows, thin_cols, gap,
                                                           config.search)
    reach = max(1, round(config.corner * longer))
    if short_h.any() and short_v.any():  # a segment's ends must meet perpendicular ones
        horizontal |= _framed(short_h, max_filter(short_v, 2 * reach + 1))
        vertical |= _framed(short_v.T, max_filter(short_h, 2 * reach + 1).T).T
    lines = (horizontal & thin_rows) | (vertical & thin_cols)
    strokes = mask & ~lines
    if config.sides is not None and lines.any():  # (sides are met by lines)
        sides = box_sides(strokes, lines, config.box_side, reach, config.sides)
        lines |= sides
        strokes &= ~sides
    return strokes, lines


def _straight(thin_rows: np.ndarray, thin_cols: np.ndarray, gap: int,
              search: LineSearch) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """(horizontal, vertical) line pixels, one mask per rule of the search."""
    longer = max(thin_rows.shape)
    # Lines are long: they are found as well at half resolution, for a quarter of the work.
    pool = 2 if longer >= search.pool_above_px else 1
    horizontal = [_in_found(thin_rows, found, pool)
                  for found in search.pixels(pooled_any(thin_rows, pool), gap // pool)]
    vertical = [_in_found(thin_cols, found.T, pool)
                for found in search.pixels(pooled_any(thin_cols, pool).T, gap // pool)]
    return horizontal, vertical


def _in_found(thin: np.ndarray, found: np.ndarray, pool: int) -> np.ndarray:
    """The pixels of `thin` in the pool × pool blocks set in `found` (most searches find none)."""
    return in_blocks(thin, found, pool) if found.any() else np.zeros(thin.shape, bool)


def _framed(segments: np.ndarray, across: np.ndarray) -> np.ndarray:
    """The near-horizontal segments (some) whose leftmost and rightmost pixels both lie on
    `across`."""
    labels, count = label_components(segments)
    ends = component_ends(labels, count)[1:]
    keep = np.zeros(count + 1, bool)
    keep[1:] = across[ends[:, 0], ends[:, 1]] & across[ends[:, 2], ends[:, 3]]
    if not keep.any():
        return np.zeros_like(segments)
    return np.take(keep, labels)  # keep[labels], a third of the time


@dataclass(frozen=True)
class LineSearch:
    """Line rules (LineConfig's lengths and tilts) searched together: at each tilt the image is
    sheared once for all rules so that lines at that tilt lie along rows, whose runs (gaps
    bridged) are lines when long enough (imageops.line_search)."""

    tans: np.ndarray  # float [tilts]: the tangent of each tilt searched, ascending
    uses: np.ndarray  # bool [tilts, rules]: which rules search each tilt
    lengths: np.ndarray  # float64 [rules, 3]: per rule (free_length, border_length, edge_margin)
    pool_above_px: int  # the first rule's: images this long are searched at half resolution

    @classmethod
    def of(cls, rules: Sequence[LineConfig]) -> LineSearch:
        angles = sorted({angle for rule in rules for angle in rule.angles_deg})
        return cls(np.array([math.tan(math.radians(angle)) for angle in angles]),
                   np.array([[angle in rule.angles_deg for rule in rules] for angle in angles]),
                   np.array([(rule.free_length, rule.border_length, rule.edge_margin)
                             for rule in rules], np.float64), rules[0].pool_above_px)

    def pixels(self, thin: np.ndarray, gap: int) -> list[np.ndarray]:
        """Per rule, the pixels of `thin` on near-horizontal straight runs that are lines, gaps
        up to `gap` px bridged."""
        return list(line_search(thin, tilt_shifts(self.tans, thin.shape[1]), gap, self.lengths,
                                self.uses))

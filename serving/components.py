"""Choosing the digit among the connected ink components of a mask."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from serving.imageops import (
    label_components,
    mask_box,
    mask_groups,
    max_filter,
    stroke_width,
    surround_shares,
)


@dataclass(frozen=True)
class ComponentConfig:
    """How strokes are grouped into a digit and which group is the digit."""

    min_extent: float = 0.04  # smallest digit, fraction of the image's longer side
    min_extent_px: int = 3  # smallest digit, px of the analysed image
    group_radius: float = 0.01  # strokes this close join one group, fraction of the longer side
    speck_fraction: float = 0.05  # groups with less ink than this share of the digit are specks
    join_margin: float = 0.25  # groups above or below the digit within this share of its size
    # join it
    join_gap: float = 0.06  # groups beside it join it only when this close, share of its size
    drop_border_fragments: bool = True  # a group cut by the image's edge is not the digit when
    # another group is (a neighbour's fragment in a crop from a number); False: the largest group
    # is the digit (the service's first version)
    fragment_share: float = 0.2  # ...unless every inner group has less ink than this share of it
    centre_weight: float = 1.0  # preference for groups near the centre (0: none)
    max_solidity: float = 0.4  # stroke width over size above which a group is a blob, not
    # strokes (MNIST digits: at most ~0.25 for the boldest; a bold marker digit on a note: 0.33;
    # tuning scenes of validation digits, 0.3 / 0.36 / 0.4 / 0.45: sticky notes 96.3 / 97.3 /
    # 97.3 / 97.3 %, phone photos 95.3 / 95.7 / 96.0 / 96.0 %, non-digits unchanged)
    max_dark_surround: float = 0.25  # share of a group's surroundings nearly as dark as its own
    # ink above which it is the rim of a desk beside a sheet, not strokes on paper (1: no test)
    dark_surround_way: float = 0.55  # "nearly as dark": this far of the way from the paper under
    # the group to its ink; a note's shadowed edge has the desk beside it, darker than the note
    # but lighter than the shadow (tuning, 300 per kind, 0.75 / 0.6 / 0.55 / 0.5: digits right
    # 2528 / 2534 / 2534 / 2534 of 2560, non-digits answered ≥ 0.9 of 1000: 8 / 8 / 8 / 9;
    # heldout notes of 900: 98.1 / 98.6 / 98.8 / 98.8 %)
    join_large_background: bool = False  # True: background groups larger than the digit may
    # join it (the service's first version)

    def __post_init__(self) -> None:
        for name in ("min_extent", "group_radius", "speck_fraction", "join_margin", "join_gap",
                     "fragment_share"):
            if not 0 < getattr(self, name) < 1:
                raise ValueError(f"{name} must be in (0, 1), got {getattr(self, name)}")
        if not 0 < self.dark_surround_way <= 1:
            raise ValueError(f"dark_surround_way must be in (0, 1], got {self.dark_surround_way}")
        if self.min_extent_px < 1 or self.centre_weight < 0:
            raise ValueError("min_extent_px must be ≥ 1 and centre_weight ≥ 0")


@dataclass(frozen=True)
class Shade:
    """An image's tones, to tell strokes on paper from the edge of a sheet."""

    tone: np.ndarray  # float32 [H, W]: the image with ink high, before its light was levelled
    contrast: np.ndarray  # float32 [H, W]: the ink above the paper; the paper's tone under
    # uneven light is tone - contrast


@dataclass(frozen=True)
class Groups:
    """Stroke groups of a mask: labels, boxes, ink and whether the image's edge cuts them."""

    labels: np.ndarray  # int32 [H, W], 0 = no ink, else group 1..count (on the mask's pixels)
    boxes: np.ndarray  # [count + 1, 4] (top, bottom, left, right), bottom/right exclusive
    ink: np.ndarray  # [count + 1] ink pixels per group
    at_border: np.ndarray  # bool [count + 1]
    background: np.ndarray  # bool [count + 1]: touches two sides of the image or spans most of
    # one: the desk around a note, a shadow, a board's frame; never a digit while a digit is there
    radius: int  # px by which strokes were joined

    @property
    def count(self) -> int:
        return len(self.ink) - 1


def stroke_groups(mask: np.ndarray, config: ComponentConfig,
                  shade: Shade | None = None) -> Groups:
    """Connected components of the mask after joining strokes closer than group_radius; with
    the image's `shade`, the groups on a sheet's edge count as background."""
    height, width = mask.shape
    radius = round(config.group_radius * max(height, width))
    joined = max_filter(mask, 2 * radius + 1) if radius else mask
    labels, count = label_components(joined)
    # Each group's mask pixels: how many, how many on the mask's boundary, and their box.
    labels, ink, edge, boxes = mask_groups(labels, mask, count)
    top, left = boxes[:, 0] == 0, boxes[:, 2] == 0
    bottom, right = boxes[:, 1] >= height, boxes[:, 3] >= width
    tall = boxes[:, 1] - boxes[:, 0] >= 0.9 * height
    wide = boxes[:, 3] - boxes[:, 2] >= 0.9 * width
    # A corner, or a strip along a side: a digit in a tight crop touches the top and the bottom,
    # never a corner. A solid blob (a shadow's core, a wedge of desk beside a sheet) is no
    # stroke: its width (2·area / boundary) is a large share of its size.
    size = np.maximum(boxes[:, 1] - boxes[:, 0], boxes[:, 3] - boxes[:, 2])
    solid = 2 * ink > config.max_solidity * np.maximum(edge, 1) * np.maximum(size, 1)
    background = (((top | bottom) & (left | right)) | ((left | right) & tall)
                  | ((top | bottom) & wide) | solid)
    if shade is not None and config.max_dark_surround < 1:
        background |= (_dark_surround(mask, labels, ink, shade, config.dark_surround_way)
                       > config.max_dark_surround)
    background[0] = False
    return Groups(labels, boxes, ink, top | bottom | left | right, background, radius)


def _dark_surround(mask: np.ndarray, labels: np.ndarray, ink: np.ndarray, shade: Shade,
                   way: float) -> np.ndarray:
    """Per group, the share of the pixels 2–3 px around it (not ink) whose tone is at least
    `way` of the way from the paper under the group to the group's own ink.

    Strokes on paper are surrounded by paper, also in a shadow, where the paper under them is
    darker too. A desk's wedge or rim beside a sheet, which levelling the light turned into
    "ink", has the desk on one side (tuning photos, at way 0.75: 0.3–0.6 of its surroundings;
    digits mostly 0, up to 0.2 beside a shadow's edge). A note's shadowed edge has the desk,
    lighter than the shadow, on one side: 0.35–0.55 at way 0.5, 0.1–0.16 at 0.75.
    """
    # The (largest) group label within 3 px; as uint8 while the labels fit (3.5× as fast).
    near = max_filter(labels.astype(np.uint8) if len(ink) <= 256 else labels, 7)  # either, in C
    return surround_shares(labels, near, max_filter(mask, 3), shade.tone, shade.contrast, ink,
                           way)


def choose_digit(mask: np.ndarray, config: ComponentConfig,
                 shade: Shade | None = None) -> np.ndarray | None:
    """The mask pixels of the digit: the main group and the groups near it, specks dropped;
    None when there is no group of digit size. `shade`: see stroke_groups."""
    groups = stroke_groups(mask, config, shade)
    if groups.count == 0:
        return None
    main = _main_group(groups, mask.shape, config)
    # Python numbers: the loop below reads single elements, which numpy makes ~10× slower.
    boxes, ink = groups.boxes.tolist(), groups.ink.tolist()
    at_border, background = groups.at_border.tolist(), groups.background.tolist()
    top, bottom, left, right = boxes[main]
    longer = max(mask.shape)
    if max(bottom - top, right - left) < max(config.min_extent * longer, config.min_extent_px):
        return None
    skip_border = config.drop_border_fragments and not at_border[main]
    kept = {main}
    changed = True
    while changed:
        changed = False
        size = max(bottom - top, right - left)
        margin, gap = config.join_margin * size, config.join_gap * size
        for label in range(1, groups.count + 1):
            if (label in kept or ink[label] < config.speck_fraction * ink[main]
                    or (skip_border and at_border[label])):
                continue
            t, b, lf, rt = boxes[label]
            if (background[label] and max(b - t, rt - lf) > size
                    and not config.join_large_background):
                continue  # a note's shadowed edge beside the digit (a broken stroke's piece
                # can look like background too, as a small blob: it is smaller than the digit)
            # A part of the digit lies above or below the rest (a 5's flag, a broken stroke) or
            # almost touches it; a form's tick or a neighbour beside it does neither.
            columns = min(rt, right) - max(lf, left) >= 0.5 * (rt - lf)
            near_rows = t < bottom + margin and b > top - margin
            close = (t < bottom + gap and b > top - gap and lf < right + gap and rt > left - gap)
            if (columns and near_rows) or close:
                kept.add(label)
                top, bottom = min(top, t), max(bottom, b)
                left, right = min(left, lf), max(right, rt)
                changed = True
    if len(kept) == 1:
        return groups.labels == main
    keep = np.zeros(groups.count + 1, bool)
    keep[list(kept)] = True
    return np.take(keep, groups.labels)  # keep[labels], a third of the time


def _main_group(groups: Groups, shape: tuple[int, int], config: ComponentConfig) -> int:
    """The group most likely to be the digit: most ink, weighted towards the centre, preferring
    groups the image's edge does not cut."""
    ink = groups.ink.astype(np.float64)
    if config.centre_weight:
        centre_y = (groups.boxes[:, 0] + groups.boxes[:, 1]) / 2 / shape[0] - 0.5
        centre_x = (groups.boxes[:, 2] + groups.boxes[:, 3]) / 2 / shape[1] - 0.5
        ink = ink / (1 + config.centre_weight * 4 * (centre_x ** 2 + centre_y ** 2))
    if config.drop_border_fragments:
        # Never the desk, a shadow or a sheet's rim while anything else is there; then prefer
        # groups the image's edge does not cut, unless they are specks beside a cut digit.
        foreground = np.where(groups.background, 0.0, ink)
        inner = np.where(groups.at_border, 0.0, foreground)
        if inner.max() > 0 and inner.max() >= config.fragment_share * foreground.max():
            return int(inner.argmax())
        if foreground.max() > 0:
            return int(foreground.argmax())
    elif not config.centre_weight:
        return int(groups.ink.argmax())
    return int(ink.argmax())


def digit_likeness(strokes: np.ndarray | None, config: ComponentConfig) -> tuple[int, float]:
    """How digit-like the chosen strokes are, to compare polarities: 0–2 points, one each for
    strokes the image's edge does not cut and for strokes that are not a solid blob; then, on
    equal points, the thinner strokes (minus stroke width over size). None (nothing found) is
    (0, -inf).

    The thinness decides between a sticky note on a dark desk read as light ink (the whole note,
    its digit a hole: width over size 0.29–0.35 on the tuning photos) and its dark digit
    (0.07–0.16).
    """
    box = None if strokes is None else mask_box(strokes)
    if strokes is None or box is None:
        return 0, -math.inf
    top, bottom, left, right = box
    height, width = strokes.shape
    inner = top > 0 and left > 0 and bottom < height and right < width
    solidity = stroke_width(strokes) / max(bottom - top, right - left, 1)
    return int(inner) + int(solidity <= config.max_solidity), -solidity

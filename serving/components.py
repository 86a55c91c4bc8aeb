"""Choosing the digit among the connected ink components of a mask."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from serving.imageops import component_boxes, label_components, max_filter


@dataclass(frozen=True)
class ComponentConfig:
    """How strokes are grouped into a digit and which group is the digit."""

    min_extent: float = 0.04  # smallest digit, fraction of the image's longer side
    min_extent_px: int = 3  # smallest digit, px of the analysed image
    group_radius: float = 0.01  # strokes this close join one group, fraction of the longer side
    speck_fraction: float = 0.05  # groups with less ink than this share of the digit are specks
    join_margin: float = 0.25  # groups within this share of the digit's size join it
    drop_border_fragments: bool = True  # a group cut by the image's edge is not the digit when
    # another group is (a neighbour's fragment in a crop from a number); False: the largest group
    # is the digit (the service's first version)
    fragment_share: float = 0.2  # ...unless every inner group has less ink than this share of it
    centre_weight: float = 1.0  # preference for groups near the centre (0: none)

    def __post_init__(self) -> None:
        for name in ("min_extent", "group_radius", "speck_fraction", "join_margin",
                     "fragment_share"):
            if not 0 < getattr(self, name) < 1:
                raise ValueError(f"{name} must be in (0, 1), got {getattr(self, name)}")
        if self.min_extent_px < 1 or self.centre_weight < 0:
            raise ValueError("min_extent_px must be ≥ 1 and centre_weight ≥ 0")


@dataclass(frozen=True)
class Groups:
    """Stroke groups of a mask: labels, boxes, ink and whether the image's edge cuts them."""

    labels: np.ndarray  # int32 [H, W], 0 = no ink, else group 1..count (on the mask's pixels)
    boxes: np.ndarray  # [count + 1, 4] (top, bottom, left, right), bottom/right exclusive
    ink: np.ndarray  # [count + 1] ink pixels per group
    at_border: np.ndarray  # bool [count + 1]
    radius: int  # px by which strokes were joined

    @property
    def count(self) -> int:
        return len(self.ink) - 1


def stroke_groups(mask: np.ndarray, config: ComponentConfig) -> Groups:
    """Connected components of the mask after joining strokes closer than group_radius."""
    height, width = mask.shape
    radius = round(config.group_radius * max(height, width))
    joined = max_filter(mask, 2 * radius + 1) if radius else mask
    labels, count = label_components(joined)
    labels = np.where(mask, labels, 0)
    ink = np.bincount(labels.ravel(), minlength=count + 1)
    ink[0] = 0
    boxes = component_boxes(labels, count)
    at_border = ((boxes[:, 0] == 0) | (boxes[:, 2] == 0) | (boxes[:, 1] >= height)
                 | (boxes[:, 3] >= width))
    return Groups(labels, boxes, ink, at_border, radius)


def choose_digit(mask: np.ndarray, config: ComponentConfig) -> np.ndarray | None:
    """The mask pixels of the digit: the main group and the groups near it, specks dropped;
    None when there is no group of digit size."""
    groups = stroke_groups(mask, config)
    if groups.count == 0:
        return None
    main = _main_group(groups, mask.shape, config)
    top, bottom, left, right = groups.boxes[main]
    longer = max(mask.shape)
    if max(bottom - top, right - left) < max(config.min_extent * longer, config.min_extent_px):
        return None
    skip_border = config.drop_border_fragments and not groups.at_border[main]
    kept = {main}
    changed = True
    while changed:
        changed = False
        margin = config.join_margin * max(bottom - top, right - left)
        for label in range(1, groups.count + 1):
            if (label in kept or groups.ink[label] < config.speck_fraction * groups.ink[main]
                    or (skip_border and groups.at_border[label])):
                continue
            t, b, lf, rt = groups.boxes[label]
            if t < bottom + margin and b > top - margin and lf < right + margin \
                    and rt > left - margin:
                kept.add(label)
                top, bottom = min(top, t), max(bottom, b)
                left, right = min(left, lf), max(right, rt)
                changed = True
    keep = np.zeros(groups.count + 1, bool)
    keep[list(kept)] = True
    return keep[groups.labels]


def _main_group(groups: Groups, shape: tuple[int, int], config: ComponentConfig) -> int:
    """The group most likely to be the digit: most ink, weighted towards the centre, preferring
    groups the image's edge does not cut."""
    ink = groups.ink.astype(np.float64)
    if config.centre_weight:
        centre_y = (groups.boxes[:, 0] + groups.boxes[:, 1]) / 2 / shape[0] - 0.5
        centre_x = (groups.boxes[:, 2] + groups.boxes[:, 3]) / 2 / shape[1] - 0.5
        ink = ink / (1 + config.centre_weight * 4 * (centre_x ** 2 + centre_y ** 2))
    if config.drop_border_fragments:
        inner = np.where(groups.at_border, 0.0, ink)
        if inner.max() >= config.fragment_share * ink.max():
            return int(inner.argmax())
    elif not config.centre_weight:
        return int(groups.ink.argmax())
    return int(ink.argmax())

"""A digit inside a ring drawn around it (a circled answer, a number in a circle): the strokes
inside the ring, offered as the digit's other reading the way a form box's inside is."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from serving.imageops import label_components, mask_box


@dataclass(frozen=True)
class RingConfig:
    """What a ring around a digit is, as shares of the ring's box."""

    min_hole: float = 0.4  # the ring's inside fills at least this share of its box
    min_inside: float = 0.25  # ... and holds strokes at least this tall or wide (of the box)

    def __post_init__(self) -> None:
        for name in ("min_hole", "min_inside"):
            if not 0 < getattr(self, name) < 1:
                raise ValueError(f"{name} must be in (0, 1), got {getattr(self, name)}")


def inside_ring(strokes: np.ndarray, config: RingConfig) -> np.ndarray | None:
    """The strokes (bool [H, W]) inside the ring that the largest of their pieces draws around
    the others; None when the largest piece is no such ring, or holds too little inside it.

    Inside is where the ring lies on at least three of the four sides (left, right, above,
    below): a ring drawn by hand is often left open, and its opening faces one way.
    """
    labels, count = label_components(strokes)
    if count < 2:
        return None
    sizes = np.bincount(labels.ravel(), minlength=count + 1)
    sizes[0] = 0
    ring = labels == int(sizes.argmax())
    top, bottom, left, right = mask_box(ring)
    height, width = bottom - top, right - left
    box = ring[top:bottom, left:right]
    sides = (np.logical_or.accumulate(box, axis=1).astype(np.uint8)
             + np.logical_or.accumulate(box[:, ::-1], axis=1)[:, ::-1]
             + np.logical_or.accumulate(box, axis=0)
             + np.logical_or.accumulate(box[::-1], axis=0)[::-1])
    enclosed = (sides >= 3) & ~box
    if enclosed.sum() < config.min_hole * height * width:
        return None
    inside = np.zeros_like(strokes)
    inside[top:bottom, left:right] = enclosed
    inside &= strokes
    found = mask_box(inside)
    if found is None or max(found[1] - found[0], found[3] - found[2]) < config.min_inside * max(
            height, width):
        return None
    return inside

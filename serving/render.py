"""The last preprocessing step: one digit's ink scaled and centred the way MNIST was made."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image

from serving.imageops import max_filter, min_filter, padded, resampled, stroke_width

MNIST_SIDE = 28  # side of an MNIST image, px


@dataclass(frozen=True)
class RenderConfig:
    """The geometry of MNIST: box, centring, and the stroke widths the model has seen."""

    box_side: int = 20  # longer side of the scaled digit, px (MNIST: 20)
    centre: float = 14.0  # centre of mass in the output, row/column index (MNIST test: 13.99/14.01)
    stroke_range: tuple[float, float] = (2.2, 6.0)  # stroke widths left alone, px at box_side
    # (MNIST test by 2·area/perimeter at threshold 0.5: p10 = 2.2, median 2.9, p99 = 5.4)
    stroke_target: tuple[float, float] = (2.6, 4.5)  # widths thin/thick strokes are brought to, px

    def __post_init__(self) -> None:
        if not 0 < self.box_side <= MNIST_SIDE:
            raise ValueError(f"box_side must be in (0, {MNIST_SIDE}], got {self.box_side}")
        if not 0 <= self.centre < MNIST_SIDE:
            raise ValueError(f"centre must be in [0, {MNIST_SIDE}), got {self.centre}")
        for name in ("stroke_range", "stroke_target"):
            low, high = getattr(self, name)
            if not 0 < low <= high:
                raise ValueError(f"{name} must be (low, high) with 0 < low <= high")


def render_digit(ink: np.ndarray, strokes: np.ndarray, box: tuple[int, int, int, int],
                 config: RenderConfig) -> np.ndarray:
    """uint8 [28, 28]: the ink (0–1, zero outside the digit) inside box = (top, bottom, left,
    right) of its stroke mask, brought to MNIST stroke width, fitted into box_side², centred by
    mass in 28²."""
    top, bottom, left, right = box
    scale = config.box_side / max(bottom - top, right - left)
    width = stroke_width(strokes[top:bottom, left:right]) * scale
    low, high = config.stroke_range
    grow = 0
    if width < low:
        grow = round((config.stroke_target[0] - width) / 2 / scale)
    elif width > high and scale < 0.5:  # eroding coarser images breaks thin parts of strokes
        grow = -min(round((width - config.stroke_target[1]) / 2 / scale),
                    round(0.15 * (width / scale)))
    margin = math.ceil(1.5 / scale) + abs(grow)
    crop = padded(ink[max(0, top - margin): bottom + margin, max(0, left - margin): right + margin],
                  max(0, margin - top), max(0, bottom + margin - ink.shape[0]),
                  max(0, margin - left), max(0, right + margin - ink.shape[1]))
    if grow > 0:
        crop = max_filter(crop, 2 * grow + 1)
        scale = config.box_side / (max(bottom - top, right - left) + 2 * grow)
    elif grow < 0:
        crop = min_filter(crop, -2 * grow + 1)
    small = resampled(crop, max(1, round(crop.shape[0] * scale)),
                      max(1, round(crop.shape[1] * scale)), Image.Resampling.LANCZOS)
    np.maximum(small, 0, out=small)  # (np.clip's Python wrapper cost more than the work)
    small = small[: MNIST_SIDE, : MNIST_SIDE] / max(float(small.max()), 1e-6)
    mass = small.sum()
    row = float(np.arange(small.shape[0]) @ small.sum(axis=1) / mass)
    col = float(np.arange(small.shape[1]) @ small.sum(axis=0) / mass)
    # Clamped with min/max: np.clip of one number costs ~10 µs.
    y = min(max(round(config.centre - row), 0), MNIST_SIDE - small.shape[0])
    x = min(max(round(config.centre - col), 0), MNIST_SIDE - small.shape[1])
    out = np.zeros((MNIST_SIDE, MNIST_SIDE), np.uint8)
    out[y: y + small.shape[0], x: x + small.shape[1]] = np.round(small * 255).astype(np.uint8)
    return out

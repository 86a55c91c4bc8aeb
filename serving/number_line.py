"""A written number as one line image of fixed height: what the sequence reader takes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from serving.imageops import mask_box, resampled

if TYPE_CHECKING:  # serving.preprocess builds CrossingLines: it imports this module
    from serving.preprocess import CleanInk

AnalysedBox = tuple[int, int, int, int]  # (top, bottom, left, right) in the analysed image,
# bottom/right exclusive (serving.numbers.Box is (left, top, right, bottom) in the input)


@dataclass(frozen=True)
class NumberLineConfig:
    """The line image's geometry."""

    height: int = 32  # px of the line image
    pad: int = 2  # empty px kept around the ink on every side
    max_width: int = 1024  # px; a wider line is squeezed to this (about 40 digits)

    def __post_init__(self) -> None:
        if self.height < 8 or not 0 <= self.pad < self.height // 4 or self.max_width < self.height:
            raise ValueError("height must be ≥ 8, pad in [0, height / 4), max_width ≥ height")


@dataclass(frozen=True)
class NumberLine:
    """The ink of a number scaled to a fixed height, and where it came from."""

    pixels: np.ndarray  # float32 [height, W], ink 0–1 on 0
    box: AnalysedBox  # the ink's box
    column_scale: float  # line px per analysed px along the line (less than across it when the
    # line was squeezed to max_width)
    pad: int
    ink_rows: np.ndarray  # int [2, box width]: per analysed column of the box, its first and
    # one-past-last ink row (analysed px); (0, 0) where the column has no ink
    to_input: float  # input image px per analysed px

    def input_box(self, start: float, stop: float) -> tuple[int, int, int, int]:
        """(left, top, right, bottom) in the input's px of the ink in line columns [start,
        stop); the columns over the line's whole height when they hold no ink."""
        left = self.box[2]
        low = int(np.clip(np.floor((start - self.pad) / self.column_scale), 0, self.ink_rows.shape[1] - 1))
        high = int(np.clip(np.ceil((stop - self.pad) / self.column_scale), low + 1, self.ink_rows.shape[1]))
        tops, bottoms = self.ink_rows[0, low:high], self.ink_rows[1, low:high]
        inked = np.flatnonzero(bottoms > tops)
        if inked.size == 0:
            box = (left + low, self.box[0], left + high, self.box[1])
        else:
            box = (left + low + inked[0], int(tops[inked].min()), left + low + inked[-1] + 1,
                   int(bottoms[inked].max()))
        return tuple(round(float(v) * self.to_input) for v in box)


def number_line(clean: CleanInk, strokes: np.ndarray,
                config: NumberLineConfig = NumberLineConfig()) -> NumberLine | None:
    """The line image of the number whose mask pixels are `strokes` (a subset of clean.strokes);
    None when they are empty."""
    box = mask_box(strokes)
    if box is None:
        return None
    top, bottom, left, right = box
    window = (slice(top, bottom), slice(left, right))
    inside = strokes[window]
    values = clean.ink_near(inside, window).astype(np.float32)
    inner = config.height - 2 * config.pad
    scale = inner / (bottom - top)
    width = max(1, round((right - left) * scale))
    width = min(width, config.max_width - 2 * config.pad)
    image = resampled(values, inner, width, Image.Resampling.BILINEAR)
    pixels = np.zeros((config.height, width + 2 * config.pad), np.float32)
    pixels[config.pad:config.pad + inner, config.pad:config.pad + width] = np.clip(
        image, 0, 1)
    inked = inside.any(axis=0)
    ink_rows = np.zeros((2, right - left), np.int64)
    ink_rows[0, inked] = top + inside.argmax(axis=0)[inked]
    ink_rows[1, inked] = bottom - inside[::-1].argmax(axis=0)[inked]
    return NumberLine(pixels, box, width / (right - left), config.pad, ink_rows,
                      clean.ink.to_input)


EDGE_PX = 2  # analysed px from a side edge within which strokes run into it


@dataclass(frozen=True)
class CrossingLine:
    """The line image of all of an image's strokes when they run into both side edges, and where
    the image's middle falls in it: a digit cropped from a number, its neighbours' fragments on
    either side (read by serving.neighbour_reading)."""

    line: NumberLine
    centre: float  # line column of the image's middle


def crossing_line(clean: CleanInk,
                  config: NumberLineConfig = NumberLineConfig()) -> CrossingLine | None:
    """The CrossingLine of an image's ink without lines; None unless its strokes run into both
    side edges."""
    strokes = clean.strokes
    if not (strokes[:, :EDGE_PX].any() and strokes[:, -EDGE_PX:].any()):
        return None
    line = number_line(clean, strokes, config)
    if line is None:
        return None
    return CrossingLine(line, (strokes.shape[1] / 2 - line.box[2]) * line.column_scale + line.pad)

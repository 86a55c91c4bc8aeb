"""Which rendered "not a digit" images are a lone upright stroke, as a written 1 can be.

The negative families draw no lone lines, but serving's preprocessing can leave one: a ruler's
edge, a box's side, the stem of a cut digit. Labelled "not a digit", such bars taught the model
that a straight 1 is not a digit (a 1 between a form box's sides, a 1 in a number). Training
leaves them out of the negatives.
"""

from __future__ import annotations

import numpy as np

INK_LEVEL = 64  # a pixel at or above this (of 255) is ink
MIN_ROWS = 12  # a stroke shorter than this many of the 28 rows is not taken for a 1
MAX_TILT = 0.8  # columns the stroke's centre moves per row, at most (a slanted 1 leans up to ~39°)
MAX_BEND_PX = 1.0  # root-mean-square distance of the row centres from their straight line
MAX_WIDTH_SD_PX = 1.0  # spread of the stroke's width over its rows (ruler ticks widen some rows)
MAX_WIDTH_SHARE = 0.4  # the stroke's median width, at most this share of its height (a filled
# square is straight and even too)
MAX_SPLIT_ROWS = 0.1  # share of rows with more than one run of ink, at most


def looks_like_a_one(images: np.ndarray) -> np.ndarray:
    """bool [N]: which uint8 MNIST-convention images [N, 28, 28] hold one straight, even,
    upright stroke."""
    return np.array([_is_upright_bar(image >= INK_LEVEL) for image in images], dtype=bool)


def _is_upright_bar(ink: np.ndarray) -> bool:
    rows = np.flatnonzero(ink.any(axis=1))
    if rows.size < MIN_ROWS:
        return False
    band = ink[rows]
    starts = np.count_nonzero(np.diff(band.astype(np.int8), axis=1) == 1, axis=1) + band[:, 0]
    if np.mean(starts > 1) > MAX_SPLIT_ROWS:
        return False
    width = band.sum(axis=1)
    if np.median(width) > MAX_WIDTH_SHARE * rows.size:
        return False
    centre = (band * np.arange(band.shape[1])).sum(axis=1) / np.maximum(width, 1)
    slope, intercept = np.polyfit(rows, centre, 1)
    if abs(slope) > MAX_TILT:
        return False
    bend = np.sqrt(np.mean((centre - (slope * rows + intercept)) ** 2))
    return bool(bend <= MAX_BEND_PX and width[2:-2].std() <= MAX_WIDTH_SD_PX)

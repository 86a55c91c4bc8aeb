"""Tests of serving.segment.central_pieces: the middle piece of strokes a neighbour carried to the
image's edge."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from serving.segment import SegmentConfig, central_pieces

CONFIG = SegmentConfig()


def strokes(ellipses: list[tuple[int, int, int, int]] = (), shape: tuple[int, int] = (100, 160),
            pen: int = 7, lines: list[list[tuple[int, int]]] = ()) -> np.ndarray:
    """A bool mask of ellipses (boxes) and polylines ((x, y) points) drawn `pen` px wide."""
    image = Image.new("1", (shape[1], shape[0]), 0)
    draw = ImageDraw.Draw(image)
    for box in ellipses:
        draw.ellipse(box, outline=1, width=pen)
    for line in lines:
        draw.line(line, fill=1, width=pen)
    return np.asarray(image, bool)


def test_a_zero_touching_a_neighbour_cut_by_the_edge_gives_the_zero_as_the_middle_piece():
    zero = strokes([(55, 15, 105, 85)])
    # A "7" joined to the zero by a stroke of the pen, running off the right edge.
    neighbour = strokes(lines=[[(100, 50), (125, 50)], [(125, 15), (165, 15), (140, 85)]])
    pieces = central_pieces(zero | neighbour, CONFIG)
    assert pieces, "strokes reaching the edge and twice as wide as high were not cut"
    best = max(pieces, key=lambda piece: np.count_nonzero(piece & zero)
               - np.count_nonzero(piece & neighbour & ~zero))
    assert np.count_nonzero(best & zero) >= 0.8 * np.count_nonzero(zero)
    assert np.count_nonzero(best & neighbour & ~zero) <= 0.2 * np.count_nonzero(neighbour & ~zero)
    for piece in pieces:
        assert not (piece & ~(zero | neighbour)).any()


def test_strokes_clear_of_the_side_edges_or_narrow_enough_are_not_cut():
    assert central_pieces(strokes([(30, 15, 80, 85), (75, 15, 130, 85)]), CONFIG) == []
    assert central_pieces(strokes([(-20, 15, 40, 85)]), CONFIG) == []  # one digit, cut by the edge
    assert central_pieces(np.zeros((100, 160), bool), CONFIG) == []

"""Tests of serving.segment: the middle piece of strokes a neighbour carried to the image's edge,
and the lattice of a written number's possible digits."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from serving.imageops import label_components
from serving.segment import SegmentConfig, central_pieces, lattice_of

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
    # Cut by the edge, but narrower than central_split_aspect × its height: a 1, not a pair.
    assert central_pieces(strokes(lines=[[(0, 15), (8, 85)]]), CONFIG) == []
    assert central_pieces(strokes([(-20, 15, 40, 85)]),
                          SegmentConfig(central_split_aspect=0.9)) == []
    assert central_pieces(np.zeros((100, 160), bool), CONFIG) == []


def slanted(mask: np.ndarray, shear: float) -> np.ndarray:
    """The mask sheared like italic writing: each row moved right by shear × its height above
    the middle row."""
    out = np.zeros_like(mask)
    middle = mask.shape[0] // 2
    for row in range(mask.shape[0]):
        out[row] = np.roll(mask[row], round(shear * (middle - row)))
    return out


def test_the_lattice_of_three_slanted_ones_joined_at_the_foot_offers_each_one_as_a_piece():
    # Upright, the strokes are 30 px apart; slanted, each spans 35 px of columns and the pen 6,
    # so no straight cut down the image separates them.
    bars = [strokes(lines=[[(x, 15), (x, 85)]], pen=6) for x in (40, 70, 100)]
    foot = strokes(lines=[[(40, 84), (100, 84)]], pen=4) & ~np.logical_or.reduce(bars)
    bars, foot = [slanted(bar, 0.5) for bar in bars], slanted(foot, 0.5)
    lattice = lattice_of(np.logical_or.reduce(bars) | foot, CONFIG)
    assert label_components(lattice.groups.labels > 0)[1] == 1
    path, at = [], 0
    for bar in bars:
        others = np.logical_or.reduce([b for b in bars if b is not bar])
        step = [r for r in lattice.readings if r.start == at
                and np.count_nonzero(lattice.piece(r) & bar) >= 0.9 * np.count_nonzero(bar)
                and np.count_nonzero(lattice.piece(r) & others) <= 0.1 * np.count_nonzero(bar)]
        assert step, f"no piece from node {at} holds bar {len(path) + 1} alone"
        path.append(step[0])
        at = step[0].stop
    assert at == lattice.end


def test_upright_columns_stand_slanted_strokes_up():
    bar = slanted(strokes(lines=[[(80, 10), (80, 90)]], pen=5), 0.3)
    lattice = lattice_of(bar, CONFIG)
    columns = lattice.upright[bar]
    assert columns.max() - columns.min() <= 6  # the pen's width, not the slant's 24 px
    assert lattice.end == 1 and len(lattice.readings) == 1  # one narrow unit, read whole

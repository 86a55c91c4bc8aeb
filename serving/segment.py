"""Splitting a written number into digit candidates: stroke groups left to right, and for groups
too wide for one digit, the ways to cut them where digits touch."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from itertools import pairwise

import numpy as np

from serving.components import ComponentConfig, Groups, stroke_groups
from serving.imageops import mask_box

Columns = tuple[int, int]  # [start, stop) columns of the analysed image


@dataclass(frozen=True)
class SegmentConfig:
    """What a digit of a number looks like, relative to the number's height."""

    components: ComponentConfig = field(default_factory=lambda: ComponentConfig(
        group_radius=0.005, drop_border_fragments=False))  # neighbours closer than 1 % of the
    # image would join one group with the wider radius of single digits
    speck_height: float = 0.3  # groups lower than this share of the tallest group are specks
    # (dots, dashes, noise) unless they sit above or below a digit (5's flag, 7's bar)
    split_aspect: float = 0.9  # units wider than this × the digit height may hold touching
    # digits (one MNIST digit is at most about as wide as it is high; tuning numbers, training
    # digits: 1.05 → 75.2 %, 0.9 → 77.6 %, 0.8 → 78.1 % with piece_cost 1)
    digit_aspect: float = 0.42  # typical digit width over height, for the number of digits of a
    # wide group (MNIST training digits: median 0.62 without 1s; touching digits overlap)
    cut_window: float = 0.3  # a cut is sought within this share of a digit's width of the even
    # split, at the column with the least ink
    max_digits: int = 16  # most digits one number may have
    extra_cuts: int = 4  # besides the cut at the least ink, this many other local minima of
    # ink are tried as the cut of a unit into two digits (tuning numbers: 0 → 76.9 %, 2 → 78.6 %,
    # 4 → 79.7 %, 8 → 78.9 %)
    merge_aspect: float = 0.9  # two neighbouring units this narrow together may be one digit
    piece_cost: float = 1.0  # log-prior cost of each extra piece a unit is cut into: a cut
    # must make the pieces clearly surer digits than the whole (tuning numbers: 2.5 → 74.8 %,
    # 1.5 → 75.2 %, 1.0 → 76.2 %)

    def __post_init__(self) -> None:
        for name in ("speck_height", "cut_window"):
            if not 0 < getattr(self, name) < 1:
                raise ValueError(f"{name} must be in (0, 1), got {getattr(self, name)}")
        if self.extra_cuts < 0:
            raise ValueError(f"extra_cuts must be ≥ 0, got {self.extra_cuts}")
        if self.split_aspect <= 0 or self.digit_aspect <= 0 or self.max_digits < 1:
            raise ValueError("split_aspect, digit_aspect and max_digits must be positive")


@dataclass(frozen=True)
class Unit:
    """Stroke groups that share columns: one digit, several touching digits, or part of a digit
    whose strokes the pen did not join."""

    labels: tuple[int, ...]  # group labels of Groups
    box: tuple[int, int, int, int]  # (top, bottom, left, right) of the analysed image


@dataclass(frozen=True)
class Reading:
    """One way to read units [start, stop): as digits cut at `pieces`."""

    start: int
    stop: int
    labels: tuple[int, ...]  # the group labels of those units
    pieces: tuple[Columns, ...]  # absolute columns of each digit, left to right


@dataclass(frozen=True)
class Lattice:
    """Every way to read a number: a path of Readings from unit 0 to unit `units` is a reading
    of the whole number."""

    groups: Groups
    units: int
    readings: tuple[Reading, ...]
    digit_height: float  # median height of the number's digits, analysed px


def lattice_of(mask: np.ndarray, config: SegmentConfig) -> Lattice:
    """The units of a number's mask, left to right (specks dropped), and their readings: each
    unit alone (whole, or cut into 2, 3... digits when wide) and each pair of neighbouring
    units as one digit when together they are no wider than a digit."""
    groups = stroke_groups(mask, config.components)
    units = _units(groups, config)
    if not units:
        return Lattice(groups, 0, (), 0.0)
    heights = [u.box[1] - u.box[0] for u in units]
    digit_height = float(np.median([h for h in heights if h >= 0.5 * max(heights)]))
    readings = []
    for i, unit in enumerate(units):
        top, bottom, left, right = unit.box
        member = np.isin(groups.labels[top:bottom, left:right], unit.labels)
        for split in _splits(member, digit_height, config):
            readings.append(Reading(i, i + 1, unit.labels,
                                    tuple((left + a, left + b) for a, b in split)))
        if i + 1 < len(units):
            after = units[i + 1]
            width = max(right, after.box[3]) - min(left, after.box[2])
            if width <= config.merge_aspect * digit_height:
                readings.append(Reading(i, i + 2, unit.labels + after.labels,
                                        ((min(left, after.box[2]), max(right, after.box[3])),)))
    return Lattice(groups, len(units), tuple(readings), digit_height)


def _units(groups: Groups, config: SegmentConfig) -> list[Unit]:
    if groups.count == 0:
        return []
    heights = groups.boxes[1:, 1] - groups.boxes[1:, 0]
    tall = heights >= config.speck_height * heights.max()
    order = sorted(range(1, groups.count + 1), key=lambda g: groups.boxes[g, 2])
    merged: list[list[int]] = []
    for label in order:
        lf, rt = groups.boxes[label, 2:]
        if merged:
            last = merged[-1]
            left = min(groups.boxes[g, 2] for g in last)
            right = max(groups.boxes[g, 3] for g in last)
            overlap = min(right, rt) - max(left, lf)
            # A detached part of a digit (a 5's flag, a 4's stem) lies mostly within its
            # columns; a slanted neighbour overlaps only a little.
            if overlap > 0.7 * min(rt - lf, right - left):
                last.append(label)
                continue
        merged.append([label])
    units = []
    for labels in merged:
        if not any(tall[g - 1] for g in labels):
            continue  # a dot, a dash or noise between digits
        boxes = groups.boxes[labels]
        units.append(Unit(tuple(labels), (int(boxes[:, 0].min()), int(boxes[:, 1].max()),
                                          int(boxes[:, 2].min()), int(boxes[:, 3].max()))))
    return units


def _splits(member: np.ndarray, digit_height: float,
            config: SegmentConfig) -> tuple[tuple[Columns, ...], ...]:
    """The cuts of one cluster (its mask `member`, box-sized) into 1, 2, ... pieces."""
    height, width = member.shape
    height = max(height, digit_height)
    whole = ((0, width),)
    if width <= config.split_aspect * height:
        return (whole,)
    most = min(config.max_digits, max(2, math.ceil(width / (config.digit_aspect * height))))
    ink = member.sum(axis=0)
    options = [whole]
    for pieces in range(2, most + 1):
        step = width / pieces
        reach = max(1, round(config.cut_window * step))
        cuts = []
        for j in range(1, pieces):
            centre = round(j * step)
            low, high = max(1, centre - reach), min(width - 1, centre + reach + 1)
            cuts.append(low + int(np.argmin(ink[low:high])))
        edges = [0, *sorted(set(cuts)), width]
        if len(edges) - 1 == pieces:
            options.append(tuple(pairwise(edges)))
        if pieces == 2:  # two touching digits: the next-best cuts too (the least ink can mislead)
            centre = round(step)
            low, high = max(1, centre - reach), min(width - 1, centre + reach + 1)
            for cut in _other_cuts(ink[low:high], cuts[0] - low, config.extra_cuts):
                options.append(((0, low + cut), (low + cut, width)))
    return tuple(options)


def _other_cuts(ink: np.ndarray, taken: int, count: int) -> list[int]:
    """Up to `count` more columns of local minima of `ink`, least ink first, each at least 3 px
    from `taken` and from each other."""
    chosen = [taken]
    for column in np.argsort(ink, kind="stable"):
        if len(chosen) > count:
            break
        left = ink[column - 1] if column > 0 else np.inf
        right = ink[column + 1] if column + 1 < len(ink) else np.inf
        if ink[column] <= min(left, right) and all(abs(column - c) >= 3 for c in chosen):
            chosen.append(int(column))
    return chosen[1:]


def central_pieces(strokes: np.ndarray, config: SegmentConfig) -> list[np.ndarray]:
    """When a digit's strokes run into the image's left or right edge and are too wide for one
    digit (a neighbour in a crop from a number touches it): for each way to cut them into 2, 3...
    pieces, the strokes of the piece nearest the image's middle; [] otherwise."""
    box = mask_box(strokes)
    if box is None or (box[2] > 0 and box[3] < strokes.shape[1]):
        return []
    top, bottom, left, right = box
    middle = strokes.shape[1] / 2 - left
    pieces = []
    for split in _splits(strokes[top:bottom, left:right], bottom - top, config)[1:]:
        start, stop = min(split, key=lambda piece: abs((piece[0] + piece[1]) / 2 - middle))
        piece = np.zeros_like(strokes)
        piece[:, left + start:left + stop] = strokes[:, left + start:left + stop]
        if piece.any():
            pieces.append(piece)
    return pieces


def piece_prior(width: int, height: int, digit_height: float, config: SegmentConfig) -> float:
    """Log-prior of one piece being a single digit: wider than split_aspect + 0.3 times the digit
    height (touching digits) or lower than half of it (a fragment, a dash) is unlikely; each
    piece also costs piece_cost."""
    wide = width / max(digit_height, 1) - config.split_aspect - 0.3
    low = 0.5 - height / max(digit_height, 1)
    return -8.0 * max(0.0, wide) - 8.0 * max(0.0, low) - config.piece_cost

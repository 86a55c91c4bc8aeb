"""Splitting a written number into digit candidates: stroke groups left to right, stood upright,
and for groups too wide for one digit, the places where touching digits may meet; every piece
between two such places is a candidate, and the model's scores choose the path through them."""

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
    split_aspect: float = 0.7  # units wider than this × the digit height may hold touching
    # digits: a 1 beside its neighbour makes a narrow pair, which the model reads as "not a
    # digit" whole (one MNIST digit is at most about as wide as it is high). With the lattice
    # of pieces and piece_cost, a digit is cut only when its pieces are surer digits than the
    # whole. 350 heldout numbers, seeds 11 / 12, 0.9 / 0.8 / 0.7 / 0.65 / 0.6 / 0.5: 82.6 / 83.1
    # / 83.7 / 83.7 / – / 83.7 % and 84.0 / 84.9 / 85.4 / 85.1 / 85.1 / 85.1 %; 700 tuning numbers
    # 86.4 → 87.6 % from 0.9 to 0.7 (an earlier sweep, before the rest of the lattice was
    # settled: 0.7 → 81.3 %, 0.9 → 86.1 %; with the paper window of then, 0.5: 86.1 → 87.3 %)
    digit_aspect: float = 0.42  # typical digit width over height, for the number of digits of a
    # wide group (MNIST training digits: median 0.62 without 1s; touching digits overlap)
    cut_window: float = 0.3  # a cut is sought within this share of a digit's width of the even
    # split, at the column with the least ink
    max_digits: int = 16  # most digits one number may have
    extra_cuts: int = 4  # central_pieces: besides the cut at the least ink, this many other
    # local minima of ink are tried as the cut of strokes into two digits (tuning neighbour
    # crops: 83.3 → 87.7 % with the central pieces)
    central_split_aspect: float = 0.3  # central_pieces: strokes running into a side edge
    # are cut for their middle piece when wider than this × their height (a 1 touching its
    # neighbour is a narrow pair; tuning neighbour crops: 0.9 → 89.0 %, 0.6 → 90.0 %, 0.4 →
    # 91.3 %, 0.3 → 91.7 %; tuning non-digits answered a digit ≥ 0.9: 0.50 → 0.60 %)
    max_piece_aspect: float = 1.4  # a piece between two cuts is at most this × the digit
    # height wide (tuning numbers: 1.2 → 85.9 %, 1.4 → 86.1 %)
    min_piece: float = 0.08  # cuts keep this share of the digit height from a unit's sides
    cuts_per_digit: int = 3  # places to cut a wide unit, per digit it may hold (tuning
    # numbers: 2 → 85.0 %, 3 → 86.1 %, 5 → 86.1 %)
    slants: tuple[float, ...] = tuple(round(0.05 * k, 2) for k in range(-8, 11))  # shears
    # (columns per row) tried to stand slanted writing upright (tuning numbers, piece_cost 1:
    # upright only 84.9 %, these 85.9 %)
    widest_digit: float = 1.2  # pieces wider than this × the digit height are unlikely digits
    # (tuning numbers: 1.0 → 80.1 %, 1.2 → 86.1 %)
    merge_aspect: float = 0.9  # two neighbouring units this narrow together may be one digit
    piece_cost: float = 0.5  # log-prior cost of each digit of a reading: a cut must make the
    # pieces surer digits than the whole (tuning numbers: 0 → 84.7 %, 0.5 → 86.1 %, 1 → 85.9 %,
    # 2 → 84.7 %)

    def __post_init__(self) -> None:
        for name in ("speck_height", "cut_window"):
            if not 0 < getattr(self, name) < 1:
                raise ValueError(f"{name} must be in (0, 1), got {getattr(self, name)}")
        if self.extra_cuts < 0:
            raise ValueError(f"extra_cuts must be ≥ 0, got {self.extra_cuts}")
        if (self.split_aspect <= 0 or self.central_split_aspect <= 0 or self.digit_aspect <= 0
                or self.max_digits < 1):
            raise ValueError("split_aspect, central_split_aspect, digit_aspect and max_digits "
                             "must be positive")


@dataclass(frozen=True)
class Unit:
    """Stroke groups that share columns: one digit, several touching digits, or part of a digit
    whose strokes the pen did not join."""

    labels: tuple[int, ...]  # group labels of Groups
    box: tuple[int, int, int, int]  # (top, bottom, left, right) of the analysed image
    columns: Columns  # its upright columns (Lattice.upright)


@dataclass(frozen=True)
class Reading:
    """One candidate digit: the ink of groups `labels` in upright columns `columns`, read as
    the number's digits from lattice node `start` to node `stop`."""

    start: int
    stop: int
    labels: tuple[int, ...]  # the group labels of its units
    columns: Columns


@dataclass(frozen=True)
class Lattice:
    """Every way to read a number: a path of Readings from node 0 to node `end` is a reading
    of the whole number, one digit per Reading. Nodes are the units' left edges and the places
    where touching digits may be cut, left to right."""

    groups: Groups
    end: int
    readings: tuple[Reading, ...]
    digit_height: float  # median height of the number's digits, analysed px
    upright: np.ndarray  # int32 [H, W]: each pixel's column once the writing's slant is undone

    def strokes(self) -> np.ndarray:
        """bool [H, W]: the pixels of every unit (the number's ink, specks dropped)."""
        labels = sorted({label for reading in self.readings for label in reading.labels})
        return np.isin(self.groups.labels, labels)

    def piece(self, reading: Reading) -> np.ndarray | None:
        """The mask pixels of a reading's digit (image-sized); None when it has no ink."""
        boxes = self.groups.boxes[list(reading.labels)]
        window = (slice(int(boxes[:, 0].min()), int(boxes[:, 1].max())),
                  slice(int(boxes[:, 2].min()), int(boxes[:, 3].max())))
        columns = self.upright[window]
        inside = (np.isin(self.groups.labels[window], reading.labels)
                  & (columns >= reading.columns[0]) & (columns < reading.columns[1]))
        if not inside.any():
            return None
        piece = np.zeros(self.groups.labels.shape, bool)
        piece[window] = inside
        return piece


def lattice_of(mask: np.ndarray, config: SegmentConfig) -> Lattice:
    """The units of a number's mask, left to right (specks dropped), and their readings: each
    unit whole, the pieces between the places where a wide unit may be cut (touching digits),
    and each pair of neighbouring units as one digit when together they are no wider than a
    digit. Columns are taken upright: slanted writing is sheared straight first, so that a cut
    between slanted touching digits follows their slant."""
    groups = stroke_groups(mask, config.components)
    upright = _upright_columns(mask, config)
    units = _units(groups, upright, config)
    if not units:
        return Lattice(groups, 0, (), 0.0, upright)
    heights = [u.box[1] - u.box[0] for u in units]
    digit_height = float(np.median([h for h in heights if h >= 0.5 * max(heights)]))
    readings: list[Reading] = []
    firsts = []  # the node at each unit's left edge
    node = 0
    longest = config.max_piece_aspect * digit_height
    for unit in units:
        firsts.append(node)
        cuts = _cuts(groups, upright, unit, digit_height, config)
        points = [unit.columns[0], *cuts, unit.columns[1]]
        for a in range(len(points) - 1):
            for b in range(a + 1, len(points)):
                whole = a == 0 and b == len(points) - 1
                if whole or points[b] - points[a] <= longest:
                    readings.append(Reading(node + a, node + b, unit.labels,
                                            (points[a], points[b])))
        node += len(points) - 1
    firsts.append(node)
    for i in range(len(units) - 1):
        unit, after = units[i], units[i + 1]
        columns = (min(unit.columns[0], after.columns[0]), max(unit.columns[1], after.columns[1]))
        if columns[1] - columns[0] <= config.merge_aspect * digit_height:
            readings.append(Reading(firsts[i], firsts[i + 2], unit.labels + after.labels, columns))
    return Lattice(groups, node, tuple(readings), digit_height, upright)


def _upright_columns(mask: np.ndarray, config: SegmentConfig) -> np.ndarray:
    """int32 [H, W]: each pixel's column after shearing the mask by the slant (of
    config.slants) that makes its column profile sharpest: upright strokes stack in few
    columns. 0 is the leftmost column any pixel can take."""
    height, width = mask.shape
    rows, cols = np.nonzero(mask)
    centre = height / 2
    best, sharpest = 0.0, -1.0
    if rows.size:
        for slant in config.slants:
            shifted = np.floor(cols - slant * (rows - centre)).astype(np.int64)
            profile = np.bincount(shifted - shifted.min()).astype(np.float64)
            sharpness = float(profile @ profile)
            if sharpness > sharpest * 1.0001 or (sharpness >= sharpest and abs(slant) < abs(best)):
                best, sharpest = slant, sharpness
    grid_rows = np.arange(height, dtype=np.float64)[:, None] - centre
    upright = np.floor(np.arange(width)[None, :] - best * grid_rows)
    return (upright - upright.min()).astype(np.int32)


def _units(groups: Groups, upright: np.ndarray, config: SegmentConfig) -> list[Unit]:
    if groups.count == 0:
        return []
    heights = groups.boxes[1:, 1] - groups.boxes[1:, 0]
    tall = heights >= config.speck_height * heights.max()
    inked = groups.labels > 0
    which, columns = groups.labels[inked], upright[inked]
    lefts = np.full(groups.count + 1, np.iinfo(np.int32).max)
    rights = np.zeros(groups.count + 1, np.int64)
    np.minimum.at(lefts, which, columns)
    np.maximum.at(rights, which, columns + 1)
    order = sorted(range(1, groups.count + 1), key=lambda g: lefts[g])
    merged: list[list[int]] = []
    for label in order:
        lf, rt = lefts[label], rights[label]
        if merged:
            last = merged[-1]
            left = min(lefts[g] for g in last)
            right = max(rights[g] for g in last)
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
                                          int(boxes[:, 2].min()), int(boxes[:, 3].max())),
                          (int(lefts[labels].min()), int(rights[labels].max()))))
    return units


def _cuts(groups: Groups, upright: np.ndarray, unit: Unit, digit_height: float,
          config: SegmentConfig) -> list[int]:
    """Upright columns inside a unit wider than one digit where touching digits may meet: the
    columns of least ink near each even split into 2, 3... digits, and the local minima of its
    ink, least ink first, up to cuts_per_digit per digit it may hold; [] for a narrow unit.
    (Adding the notches of its outline as cuts did not help: tuning numbers 86.1 → 85.4 %.)"""
    top, bottom, left, right = unit.box
    height = max(bottom - top, digit_height)
    width = unit.columns[1] - unit.columns[0]
    if width <= config.split_aspect * height:
        return []
    member = np.isin(groups.labels[top:bottom, left:right], unit.labels)
    ink = np.bincount(upright[top:bottom, left:right][member] - unit.columns[0], minlength=width)
    most = _most_digits(width, height, config)
    chosen: set[int] = set()
    for split in _even_splits(ink, most, config):
        chosen.update(cut for _, cut in split[:-1])
    edge = max(2, round(config.min_piece * height))
    chosen.update(_local_minima(ink, sorted(chosen), config.cuts_per_digit * most - len(chosen),
                                edge, width - edge))
    return sorted(unit.columns[0] + c for c in chosen if edge <= c <= width - edge)


def _splits(member: np.ndarray, digit_height: float,
            config: SegmentConfig) -> tuple[tuple[Columns, ...], ...]:
    """The cuts of one cluster (its mask `member`, box-sized) into 1, 2, ... pieces, when it is
    wider than central_split_aspect × its height."""
    height, width = member.shape
    height = max(height, digit_height)
    whole = ((0, width),)
    if width <= config.central_split_aspect * height:
        return (whole,)
    most = _most_digits(width, height, config)
    ink = member.sum(axis=0)
    options = [whole, *_even_splits(ink, most, config)]
    # Two touching digits: the next-best cuts too (the least ink can mislead).
    low, high = _cut_range(width, 2, 1, config)
    if low >= high:
        return tuple(options)
    taken = low + int(np.argmin(ink[low:high]))
    for cut in _local_minima(ink[low:high], [taken - low], config.extra_cuts):
        options.append(((0, low + cut), (low + cut, width)))
    return tuple(options)


def _most_digits(width: int, height: float, config: SegmentConfig) -> int:
    """The most touching digits `width` columns of writing `height` px high may hold (≥ 2)."""
    return min(config.max_digits, max(2, math.ceil(width / (config.digit_aspect * height))))


def _even_splits(ink: np.ndarray, most: int, config: SegmentConfig) -> list[tuple[Columns, ...]]:
    """For 2, 3... `most` pieces: the columns of the pieces when cut at the least `ink` within
    cut_window of each even split (a count is left out when two of its cuts coincide)."""
    width = len(ink)
    options = []
    for pieces in range(2, most + 1):
        cuts = set()
        for j in range(1, pieces):
            low, high = _cut_range(width, pieces, j, config)
            if low < high:  # a unit a few px wide has no column left to cut at
                cuts.add(low + int(np.argmin(ink[low:high])))
        if len(cuts) == pieces - 1:
            options.append(tuple(pairwise([0, *sorted(cuts), width])))
    return options


def _cut_range(width: int, pieces: int, j: int, config: SegmentConfig) -> Columns:
    """The columns where the j-th cut of `width` columns into `pieces` is sought."""
    step = width / pieces
    reach = max(1, round(config.cut_window * step))
    centre = round(j * step)
    return max(1, centre - reach), min(width - 1, centre + reach + 1)


def _local_minima(ink: np.ndarray, taken: list[int], count: int, start: int = 0,
                  stop: int | None = None) -> list[int]:
    """Up to `count` columns in [start, stop) of local minima of `ink` (beyond its ends counts
    as more ink), least ink first, each at least 3 px from the columns `taken` and from each
    other."""
    chosen = list(taken)
    found: list[int] = []
    for column in np.argsort(ink[start:stop], kind="stable") + start:
        if len(found) >= count:
            break
        left = ink[column - 1] if column > 0 else np.inf
        right = ink[column + 1] if column + 1 < len(ink) else np.inf
        if ink[column] <= min(left, right) and all(abs(column - c) >= 3 for c in chosen):
            chosen.append(int(column))
            found.append(int(column))
    return found


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
    """Log-prior of one piece being a single digit: wider than widest_digit times the digit
    height (touching digits) or lower than half of it (a fragment, a dash) is unlikely; each
    piece also costs piece_cost."""
    wide = width / max(digit_height, 1) - config.widest_digit
    low = 0.5 - height / max(digit_height, 1)
    return -8.0 * max(0.0, wide) - 8.0 * max(0.0, low) - config.piece_cost

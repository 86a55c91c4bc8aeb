"""Splitting a written number into digit candidates: stroke groups left to right, and for groups
too wide for one digit, the ways to cut them where digits touch."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from itertools import pairwise

import numpy as np

from serving.components import ComponentConfig, Groups, stroke_groups

Columns = tuple[int, int]  # [start, stop) columns of the analysed image


@dataclass(frozen=True)
class SegmentConfig:
    """What a digit of a number looks like, relative to the number's height."""

    components: ComponentConfig = field(default_factory=lambda: ComponentConfig(
        group_radius=0.005, drop_border_fragments=False))  # neighbours closer than 1 % of the
    # image would join one group with the wider radius of single digits
    speck_height: float = 0.3  # groups lower than this share of the tallest group are specks
    # (dots, dashes, noise) unless they sit above or below a digit (5's flag, 7's bar)
    split_aspect: float = 1.05  # clusters wider than this × the digit height may hold touching
    # digits (one MNIST digit is at most about as wide as it is high)
    digit_aspect: float = 0.42  # typical digit width over height, for the number of digits of a
    # wide group (MNIST training digits: median 0.62 without 1s; touching digits overlap)
    cut_window: float = 0.3  # a cut is sought within this share of a digit's width of the even
    # split, at the column with the least ink
    max_digits: int = 16  # most digits one number may have
    piece_cost: float = 1.5  # log-prior cost of each extra piece a cluster is cut into: a cut
    # must make the pieces clearly surer digits than the whole

    def __post_init__(self) -> None:
        for name in ("speck_height", "cut_window"):
            if not 0 < getattr(self, name) < 1:
                raise ValueError(f"{name} must be in (0, 1), got {getattr(self, name)}")
        if self.split_aspect <= 0 or self.digit_aspect <= 0 or self.max_digits < 1:
            raise ValueError("split_aspect, digit_aspect and max_digits must be positive")


@dataclass(frozen=True)
class Segment:
    """One candidate digit: the columns of one stroke cluster."""

    cluster: int  # index of its cluster in NumberLayout.clusters
    columns: Columns


@dataclass(frozen=True)
class Cluster:
    """Stroke groups that share columns (a digit, or several touching digits)."""

    labels: tuple[int, ...]  # group labels of Groups
    box: tuple[int, int, int, int]  # (top, bottom, left, right) of the analysed image
    splits: tuple[tuple[Columns, ...], ...]  # the ways to cut it: 1 piece, 2 pieces, ...


def clusters_of(mask: np.ndarray, config: SegmentConfig) -> tuple[Groups, list[Cluster]]:
    """The stroke clusters of a number's mask, left to right, specks dropped, with their cuts."""
    groups = stroke_groups(mask, config.components)
    if groups.count == 0:
        return groups, []
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
    clusters = []
    digit_height = float(np.median([groups.boxes[labels, 1].max() - groups.boxes[labels, 0].min()
                                    for labels in merged if any(tall[g - 1] for g in labels)]))
    for labels in merged:
        if not any(tall[g - 1] for g in labels):
            continue  # a dot, a dash or noise between digits
        boxes = groups.boxes[labels]
        box = (int(boxes[:, 0].min()), int(boxes[:, 1].max()), int(boxes[:, 2].min()),
               int(boxes[:, 3].max()))
        member = np.isin(groups.labels[box[0]:box[1], box[2]:box[3]], labels)
        clusters.append(Cluster(tuple(labels), box, _splits(member, digit_height, config)))
    return groups, clusters


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
    return tuple(options)


def aspect_penalty(width: int, height: int, config: SegmentConfig) -> float:
    """Log-prior of one piece being a single digit: 0 up to split_aspect × height wide, then
    falling (wide pieces are touching digits); each piece also costs piece_cost."""
    excess = width / max(height, 1) - config.split_aspect
    return -8.0 * max(0.0, excess) - config.piece_cost

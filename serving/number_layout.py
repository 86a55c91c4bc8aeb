"""A written number as digit candidates for the model, and the reading chosen from their scores."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from serving.decode import ImageLimits
from serving.model import NOT_DIGIT_CLASS, NUM_CLASSES
from serving.numbers import Box, DigitReading, NumberReading, NumberStatus
from serving.preprocess import (
    DEFAULT_CONFIG,
    MNIST_SIDE,
    PreprocessConfig,
    clean_ink,
    decode_gray,
    prepare_raw,
)
from serving.segment import SegmentConfig, aspect_penalty, clusters_of


@dataclass(frozen=True)
class NumberLayout:
    """Every candidate digit of one image, and which candidates make each way of reading it."""

    pixels: np.ndarray  # uint8 [K, 28, 28]: the candidates, as the model takes them
    boxes: tuple[Box, ...]  # [K] where each candidate is in the input image
    priors: tuple[float, ...]  # [K] log-prior of each candidate being one digit (its shape)
    clusters: tuple[tuple[tuple[int, ...], ...], ...]  # left to right: per cluster, its ways to be
    # cut (1 piece, 2 pieces...), each a tuple of candidate indices left to right


def layout_raw(data: bytes) -> NumberLayout | None:
    """A raw 28 × 28 image is one digit; None when blank."""
    prepared = prepare_raw(data)
    if prepared.pixels is None:
        return None
    return NumberLayout(prepared.pixels[None], ((0, 0, MNIST_SIDE, MNIST_SIDE),), (0.0,),
                        (((0,),),))


def layout_encoded(data: bytes, limits: ImageLimits, config: PreprocessConfig = DEFAULT_CONFIG,
                   segment: SegmentConfig | None = None) -> NumberLayout | None:
    """The digit candidates of an image file; None when blank. Raises as prepare_encoded."""
    segment = segment or SegmentConfig()
    # A number is wide: analysing it at a single digit's resolution would leave each digit a
    # few pixels; the longer side gets room for several digits.
    gray, to_input = decode_gray(data, limits, config.work_side * 2)
    clean = clean_ink(gray, to_input, config)
    if clean is None:
        return None
    groups, clusters = clusters_of(clean.strokes, segment)
    pixels: list[np.ndarray] = []
    boxes: list[Box] = []
    priors: list[float] = []
    ways_per_cluster = []
    for cluster in clusters:
        top, bottom, left, right = cluster.box
        member = np.zeros_like(clean.strokes)
        member[top:bottom, left:right] = np.isin(groups.labels[top:bottom, left:right],
                                                 cluster.labels)
        ways = []
        for split in cluster.splits:
            indices = []
            for start, stop in split:
                piece = np.zeros_like(member)
                piece[:, left + start: left + stop] = member[:, left + start: left + stop]
                rows = np.flatnonzero(piece.any(axis=1))
                if rows.size == 0:
                    break
                indices.append(len(pixels))
                pixels.append(clean.digit_pixels(piece, config.render))
                boxes.append(clean.ink.input_box((rows[0], rows[-1] + 1, left + start,
                                                  left + stop)))
                priors.append(aspect_penalty(stop - start, bottom - top, segment))
            else:
                ways.append(tuple(indices))
        if ways:
            ways_per_cluster.append(tuple(ways))
    if not pixels:
        return None
    return NumberLayout(np.stack(pixels), tuple(boxes), tuple(priors), tuple(ways_per_cluster))


def read_layout(layout: NumberLayout, probabilities: Sequence[np.ndarray],
                threshold: float) -> NumberReading:
    """The most probable reading: per cluster, the cut whose pieces are most surely digits; pieces
    that are not digits (a letter, a dash) are left out; NOT_A_NUMBER when no digit is left."""
    rows = np.stack(probabilities).astype(np.float64)
    digit_p = rows[:, :NUM_CLASSES]
    not_digit = rows[:, NOT_DIGIT_CLASS] if rows.shape[1] > NOT_DIGIT_CLASS else np.zeros(len(rows))
    best_p = digit_p.max(axis=1)
    readings: list[DigitReading] = []
    for ways in layout.clusters:
        def score(way: tuple[int, ...]) -> float:
            return sum(math.log(max(best_p[i], 1e-9)) + layout.priors[i] for i in way)

        chosen = max(ways, key=score)
        for i in chosen:
            if not_digit[i] >= threshold:
                continue
            digit = int(digit_p[i].argmax())
            readings.append(DigitReading(digit, float(digit_p[i, digit]), layout.boxes[i]))
    if not readings:
        return NumberReading(NumberStatus.NOT_A_NUMBER)
    confidence = math.prod(r.confidence for r in readings)
    return NumberReading(NumberStatus.NUMBER, tuple(readings), confidence)

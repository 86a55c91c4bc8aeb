"""Seeded images of multi-digit numbers written by hand (paper photos, canvas drawings) from MNIST."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image

from benchmarks.realistic import canvas_png, ink_on_paper, stroke_coverage
from benchmarks.scene_kit import (
    Box,
    Rng,
    distance_to_lines,
    paper_colour,
    pen_ink,
    photo_or_scan,
    tight_crop,
)

SURFACES = ("paper", "canvas")
MNIST_INK = 20 / 28  # MNIST scales each digit's longer side to 20 px of its 28 px frame
TOUCHING_NUMBERS = 0.35  # share of numbers written with at least one touching pair; a pair set to
# touch is moved apart again when it would swallow its neighbour: 28 % touch (700 numbers, seed 1001)


@dataclass(frozen=True)
class NumberScene:
    """One image of a handwritten number and where each of its digits is."""

    data: bytes  # the encoded file: JPEG (paper) or RGBA PNG (canvas)
    digit_boxes: tuple[Box, ...]  # (left, top, right, bottom) px of each digit's ink, left to right
    text: str  # the digits' labels in reading order, leading zeros kept
    touching: bool  # the strokes of at least one pair of neighbouring digits touch or overlap


@dataclass(frozen=True)
class LabelledNumber:
    """One generated number and the MNIST images it was written with."""

    text: str  # the number, e.g. "0417"
    surface: str  # one of SURFACES
    indices: tuple[int, ...]  # indices of its digits in the images given to generate_numbers
    scene: NumberScene


@dataclass(frozen=True)
class Strip:
    """Digits written side by side on one line, before any slant or background."""

    coverage: np.ndarray  # float32 [H, W] in [0, 1]: the ink of all digits
    inks: tuple[np.ndarray, ...]  # per digit, left to right: float32 [K, 2] (x, y) ink pixel centres
    touching: bool  # the strokes of at least one pair of neighbouring digits touch or overlap


def generate_numbers(
    images: np.ndarray, labels: np.ndarray, count: int, seed: int,
    lengths: Sequence[int] = range(2, 9),
) -> Iterator[LabelledNumber]:
    """Write `count` numbers with random images (uint8 [N, 28, 28]) and their labels.

    Lengths and surfaces take turns, so each is equally common; number k uses its own generator
    (seed, k), so it does not depend on count.
    """
    lengths = tuple(lengths)
    if not lengths or min(lengths) < 1:
        raise ValueError(f"lengths must be a non-empty list of positive digit counts, got {lengths}")
    for k in range(count):
        rng = np.random.default_rng([seed, k])
        surface = SURFACES[(k // len(lengths)) % len(SURFACES)]
        indices = tuple(int(i) for i in rng.integers(0, len(images), lengths[k % len(lengths)]))
        text = "".join(str(int(labels[i])) for i in indices)
        scene = render_number([images[i] for i in indices], text, rng, surface)
        yield LabelledNumber(text=text, surface=surface, indices=indices, scene=scene)


def render_number(digits: Sequence[np.ndarray], text: str, rng: Rng, surface: str) -> NumberScene:
    """Write MNIST digits (uint8 [28, 28]) as one number on a surface ("paper" or "canvas").

    text holds their labels. Spacing, touching pairs, size, baseline and slant vary with rng.
    """
    if surface not in SURFACES:
        raise ValueError(f"unknown surface {surface!r}; choose from {', '.join(SURFACES)}")
    if len(text) != len(digits) or not text.isdigit():
        raise ValueError(f"text must hold one digit character per image ({len(digits)}), got {text!r}")
    touch = [False] * (len(digits) - 1)
    if touch and rng.random() < TOUCHING_NUMBERS:
        touch = [bool(rng.random() < 0.5) for _ in touch]
        touch[int(rng.integers(0, len(touch)))] = True
    floats = [np.asarray(d, np.float32) / 255 for d in digits]
    spacing = rng.uniform(0.05, 0.35)  # box gap, fraction of the digit height
    if surface == "paper":
        height = rng.uniform(30, 100)
        strip = write_digits(floats, rng, height, touch, spacing, rng.uniform(0.35, 0.55))
        strip = slant(strip, np.tan(rng.uniform(-0.15, 0.3)), rng.uniform(-0.05, 0.05))
        return _on_paper(strip, rng, height, text)
    height = rng.uniform(50, 140)
    strip = write_digits(floats, rng, height, touch, spacing, rng.uniform(0.35, 0.5),
                         grow=rng.uniform(0.2, 0.6))
    strip = slant(strip, np.tan(rng.uniform(-0.15, 0.3)), 0.0)
    margins = np.round(rng.uniform(0.05, 0.5, 4) * height).astype(int)  # left, top, right, bottom
    alpha = np.pad(strip.coverage, ((margins[1], margins[3]), (margins[0], margins[2])))
    boxes = boxes_of(strip.inks, (margins[0], margins[1]), alpha.shape)
    return NumberScene(data=canvas_png(alpha, rng), digit_boxes=boxes, text=text,
                       touching=strip.touching)


def _on_paper(strip: Strip, rng: Rng, height: float, text: str) -> NumberScene:
    """A phone photo of the strip written in pen on paper, maybe ruled, as JPEG."""
    margins = np.round(rng.uniform(0.3, 1.2, 4) * height).astype(int)  # left, top, right, bottom
    cover = np.pad(strip.coverage, ((margins[1], margins[3]), (margins[0], margins[2])))
    shape = cover.shape
    boxes = boxes_of(strip.inks, (margins[0], margins[1]), shape)
    paper = np.broadcast_to(paper_colour(rng), (*shape, 3))
    if rng.random() < 0.3:
        # Faint ruled lines, one near the number's baseline, as in a notebook.
        pitch = rng.uniform(1.2, 1.8) * height
        baseline = max(box[3] for box in boxes) + rng.uniform(-0.05, 0.15) * height
        rows = np.arange(shape[0], dtype=np.float32)[:, None]
        ruling = np.clip(1.2 - distance_to_lines(rows - baseline, pitch), 0, 1) * rng.uniform(0.2, 0.45)
        paper = ink_on_paper(paper, np.array([0.45, 0.6, 0.85]), np.broadcast_to(ruling, shape))
    rgb = ink_on_paper(paper, pen_ink(rng), cover * rng.uniform(0.75, 1.0))
    data = photo_or_scan(rgb, rng, scan=False)
    return NumberScene(data=data, digit_boxes=boxes, text=text, touching=strip.touching)


def write_digits(
    digits: Sequence[np.ndarray], rng: Rng, height: float, touch: Sequence[bool], spacing: float,
    threshold: float, grow: float = 0.0,
) -> Strip:
    """Lay MNIST digits (float [28, 28] in [0, 1]) side by side on one line.

    Each digit's ink is height px ±10 % tall (at most 1.2 × height wide). Pair i (digits i and
    i+1) touches when touch[i]: strokes meet or overlap by up to 4 % of the height, unless that
    pushes one box more than 30 % of the narrower digit into the other. Other pairs' boxes are
    about spacing × height apart. Bottoms share a baseline ±3 % of the height.
    """
    if len(touch) != len(digits) - 1:
        raise ValueError(f"touch needs one flag per neighbouring pair ({len(digits) - 1})")
    pieces = [tight_crop(stroke_coverage(d, _frame(d, height * rng.uniform(0.9, 1.1)), threshold, grow))
              for d in digits]
    pad = round(0.1 * height) + 2
    bottom = pad + max(p.shape[0] for p in pieces) + round(0.1 * height)
    tops = [bottom - p.shape[0] + int(np.clip(rng.normal(0, 0.03), -0.06, 0.06) * height)
            for p in pieces]
    rows = bottom + round(0.1 * height) + pad
    right_ink = np.full(rows, -np.inf)  # per row, the rightmost stroke column written so far
    lefts, touching, box_right = [], False, 0
    for i, (piece, top) in enumerate(zip(pieces, tops, strict=True)):
        strokes = piece > 0.5
        first = np.where(strokes.any(axis=1), strokes.argmax(axis=1), np.iinfo(np.int32).max)
        if i == 0:
            left = pad
        elif touch[i - 1]:
            reach = right_ink[top: top + piece.shape[0]] - first
            overlap = rng.uniform(0, 0.04) * height
            left = int(np.ceil(reach.max() + 1 - overlap)) if np.isfinite(reach.max()) else box_right
            # Boxes overlapping deeper than this hid one digit inside the other (contact sheets).
            left = max(left, box_right - round(0.3 * min(pieces[i - 1].shape[1], piece.shape[1])))
        else:
            left = box_right + max(1, round(spacing * height * rng.uniform(0.6, 1.4)))
        touching |= bool(i > 0 and np.any(right_ink[top: top + piece.shape[0]] >= left + first - 1))
        last = np.where(strokes.any(axis=1), piece.shape[1] - 1 - strokes[:, ::-1].argmax(axis=1),
                        -np.inf)
        band = right_ink[top: top + piece.shape[0]]
        np.maximum(band, left + last, out=band)
        lefts.append(left)
        box_right = max(box_right, left + piece.shape[1])
    coverage = np.zeros((rows, box_right + pad), np.float32)
    inks = []
    for piece, top, left in zip(pieces, tops, lefts, strict=True):
        window = coverage[top: top + piece.shape[0], left: left + piece.shape[1]]
        np.maximum(window, piece, out=window)
        ys, xs = np.nonzero(piece > 0.25)
        inks.append(np.stack([xs + left + 0.5, ys + top + 0.5], axis=1).astype(np.float32))
    return Strip(coverage=coverage, inks=tuple(inks), touching=touching)


def _frame(digit: np.ndarray, height: float) -> int:
    """The frame side (px) that makes the digit's ink height px tall (at most 1.2 × height wide).

    MNIST sizes digits by their longer side, which shrank flat 2s and 7s to half the height of
    their neighbours, unlike a person writing on a line.
    """
    rows = np.flatnonzero(digit.max(axis=1) > 0.3)
    cols = np.flatnonzero(digit.max(axis=0) > 0.3)
    if rows.size == 0:
        return max(1, round(height / MNIST_INK))
    ink_height, ink_width = (rows[-1] - rows[0] + 1) / 28, (cols[-1] - cols[0] + 1) / 28
    return max(1, round(min(height / ink_height, 1.2 * height / ink_width)))


def slant(strip: Strip, shear: float, angle: float) -> Strip:
    """Shear the strip (italic for shear > 0), turn it by angle radians counter-clockwise.

    The result sits on a canvas just large enough to hold it; ink points move with the pixels.
    """
    height, width = strip.coverage.shape
    cos, sin = np.cos(angle), np.sin(angle)
    forward = np.array([[cos, sin], [-sin, cos]]) @ np.array([[1.0, -shear], [0.0, 1.0]])
    corners = np.array([[0, 0], [width, 0], [0, height], [width, height]], float) @ forward.T
    origin = corners.min(axis=0)
    size = np.ceil(corners.max(axis=0) - origin).astype(int)
    inverse = np.linalg.inv(forward)
    # Pillow wants the output → input map: input = inverse · (output + origin).
    shift = inverse @ origin
    coefficients = (inverse[0, 0], inverse[0, 1], shift[0], inverse[1, 0], inverse[1, 1], shift[1])
    image = Image.fromarray(strip.coverage).transform(
        (int(size[0]), int(size[1])), Image.Transform.AFFINE, coefficients, Image.Resampling.BILINEAR)
    inks = tuple((ink @ forward.T - origin).astype(np.float32) for ink in strip.inks)
    return Strip(coverage=np.asarray(image), inks=inks, touching=strip.touching)


def boxes_of(
    inks: Sequence[np.ndarray], shift: tuple[float, float], shape: tuple[int, int],
) -> tuple[Box, ...]:
    """Integer ink boxes of the digits' ink points moved by shift (x, y), clipped to shape (H, W)."""
    boxes = []
    for ink in inks:
        # Points are pixel centres: the box reaches half a pixel beyond them.
        low = np.floor(ink.min(axis=0) - 0.5 + shift).astype(int)
        high = np.ceil(ink.max(axis=0) + 0.5 + shift).astype(int)
        boxes.append((max(0, int(low[0])), max(0, int(low[1])), min(shape[1], int(high[0])),
                      min(shape[0], int(high[1]))))
    return tuple(boxes)

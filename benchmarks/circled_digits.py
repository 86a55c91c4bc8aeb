"""How Digits reads a digit with a ring drawn around it (a circled answer), through the service.

Usage: python -m benchmarks.circled_digits [--per-row 100] [--split test|tune|heldout] [--model PATH]

Rows: digits circled by hand (an ellipse a little off round, the pen's width, sometimes left a
little open), at a distance from the digit or close to it, and plain digits as the control; each
a phone photo (70 %) or scan (benchmarks.scene_kit's paper, pen, light, grain, blur, JPEG). Two
loopback servers serve the same model: today's preprocessing ("Digits") and the same without
rings (PreprocessConfig.ring = None). Prints, per row and server, the share read right.
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from benchmarks.realistic import place
from benchmarks.scene_kit import handwriting, paper_colour, pen_ink, photographed
from benchmarks.served_rows import (
    RowImages,
    RowScore,
    print_rights,
    rows_command_line,
    served_rows,
)
from serving.engine import EngineConfig
from serving.preprocess import PreprocessConfig

ROWS = {  # row name → the ring's margin around the digit's square, share of the square (None: no ring)
    "circled, ring apart": 0.25,
    "circled, ring close": 0.08,
    "plain (control)": None,
}
PIPELINES = {
    "no rings": EngineConfig(preprocess=replace(PreprocessConfig(), ring=None)),
    "Digits": EngineConfig(),
}


def ring_coverage(shape: tuple[int, int], centre: tuple[float, float], radii: tuple[float, float],
                  width: float, rng: np.random.Generator) -> np.ndarray:
    """float [H, W] 0–1: a hand-drawn ring, its radius wandering ±4 %, open over 0–15° in a
    third of them."""
    opening = rng.uniform(0, 15) if rng.random() < 1 / 3 else 0.0
    start = rng.uniform(0, 360)
    angles = np.radians(np.linspace(start + opening, start + 360, 90))
    wobble = 1 + 0.04 * np.sin(angles * rng.integers(2, 4) + rng.uniform(0, 2 * math.pi))
    points = [(centre[1] + radii[1] * w * math.cos(a), centre[0] + radii[0] * w * math.sin(a))
              for a, w in zip(angles, wobble, strict=True)]
    image = Image.new("L", (shape[1], shape[0]), 0)
    ImageDraw.Draw(image).line(points, fill=255, width=max(1, round(width)), joint="curve")
    return np.asarray(image, np.float32) / 255


def photo(digit: np.ndarray, margin: float | None, rng: np.random.Generator) -> bytes:
    """A photo or scan of `digit` (uint8 [28, 28]), circled with `margin` (None: not circled)."""
    frame = int(rng.integers(90, 180))
    side = int(frame * rng.uniform(2.0, 2.6))
    shape = (side, int(side * rng.uniform(0.9, 1.2)))
    top, left = (shape[0] - frame) // 2, (shape[1] - frame) // 2
    coverage = place(shape, handwriting(digit.astype(np.float32) / 255, frame, rng, 0.3), top, left)
    if margin is not None:
        radius = frame * (0.5 + margin) * rng.uniform(0.95, 1.05)
        radii = (radius, radius * rng.uniform(0.85, 1.15))
        ring = ring_coverage(shape, (shape[0] / 2, shape[1] / 2), radii, frame * 0.05, rng)
        coverage = np.maximum(coverage, ring)
    paper, ink = paper_colour(rng), pen_ink(rng)
    return photographed(coverage, paper, ink, rng)


def row_images(row_index: int, images: np.ndarray, labels: np.ndarray, per_row: int,
               seed: int) -> RowImages:
    """The photos of one row: digits row_index × per_row on."""
    margin = list(ROWS.values())[row_index]
    indices = [(row_index * per_row + i) % len(labels) for i in range(per_row)]
    return RowImages([photo(images[index], margin, np.random.default_rng([seed, row_index, i]))
                      for i, index in enumerate(indices)],
                     [int(labels[index]) for index in indices])


def measure(model: Path, images: np.ndarray, labels: np.ndarray, per_row: int,
            seed: int) -> dict[str, dict[str, RowScore]]:
    """Per row, per server: its score (benchmarks.served_rows)."""
    return served_rows(model, PIPELINES, {
        name: row_images(r, images, labels, per_row, seed) for r, name in enumerate(ROWS)})


def main(argv: list[str] | None = None) -> int:
    run = rows_command_line("python -m benchmarks.circled_digits", __doc__, "--per-row", 100,
                            argv)
    print_rights(run, measure(run.model, run.images, run.labels, run.count, run.split.seed), 24)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

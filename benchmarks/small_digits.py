"""How Digits reads a digit that is small in a large photo, through the service, by the digit's
size: a second, finer look at small digits against one look.

Usage: python -m benchmarks.small_digits [--per-size 100] [--split test|tune|heldout] [--model PATH]

Each row: `per-size` photos (70 %) or scans of MNIST digits written in a square of the given share
of the photo's longer side (the ink itself is about 0.7 of that square), anywhere on pages of
400–1,200 px (benchmarks.scene_kit's paper, pen, light, grain, blur and JPEG). Two loopback servers
serve the same model: today's preprocessing ("Digits") and the same with one look only
(PreprocessConfig.zoom = None). Prints, per size and server, the share read right.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from benchmarks.realistic import place, random_spot
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

SIZES = (0.05, 0.06, 0.08, 0.1, 0.15, 0.3)  # the digit's square, share of the longer side
PIPELINES = {
    "one look": EngineConfig(preprocess=replace(PreprocessConfig(), zoom=None)),
    "Digits": EngineConfig(),
}


def photo(digit: np.ndarray, size: float, rng: np.random.Generator) -> bytes:
    """A photo or scan of `digit` (uint8 [28, 28]) in a square of `size` × the longer side."""
    longer = int(rng.integers(400, 1201))
    shape = (int(longer * rng.uniform(0.7, 1.0)), longer)
    frame = max(8, round(size * longer))
    top, left = random_spot(rng, shape, frame)
    coverage = place(shape, handwriting(digit.astype(np.float32) / 255, frame, rng, 0.3), top, left)
    paper, ink = paper_colour(rng), pen_ink(rng)
    return photographed(coverage, paper, ink, rng)


def size_images(size_index: int, images: np.ndarray, labels: np.ndarray, per_size: int,
                seed: int) -> RowImages:
    """The photos of one size: digits size_index × per_size on."""
    indices = [(size_index * per_size + i) % len(labels) for i in range(per_size)]
    return RowImages([photo(images[index], SIZES[size_index],
                            np.random.default_rng([seed, size_index, i]))
                      for i, index in enumerate(indices)],
                     [int(labels[index]) for index in indices])


def measure(model: Path, images: np.ndarray, labels: np.ndarray, per_size: int,
            seed: int) -> dict[str, dict[str, RowScore]]:
    """Per size (row name), per server: its score (benchmarks.served_rows)."""
    return served_rows(model, PIPELINES, {
        row_name(size): size_images(s, images, labels, per_size, seed)
        for s, size in enumerate(SIZES)})


def row_name(size: float) -> str:
    return f"digit {size:.0%} of the photo"


def main(argv: list[str] | None = None) -> int:
    run = rows_command_line("python -m benchmarks.small_digits", __doc__, "--per-size", 100, argv)
    print_rights(run, measure(run.model, run.images, run.labels, run.count, run.split.seed), 28)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

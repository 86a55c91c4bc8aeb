"""How Digits reads a digit whose ink is as bright as its paper, only another colour (light blue
on brown paper, yellow on a blue note, a highlighter on white), through the service.

Usage: python -m benchmarks.colour_ink [--per-pair 50] [--split test|tune|heldout] [--model PATH]

For each pair of paper and ink, `per-pair` phone photos or scans of MNIST digits (the split's
digits and seed; benchmarks.scene_kit's paper unevenness, light, grain, blur and JPEG), and as
many blank pages of that paper. Two loopback servers serve the same model: today's preprocessing
("Digits") and the same without its second try in colour ("brightness only",
PreprocessConfig.colour = None). Prints, per pair and server, the digits read right and the blank
pages answered BLANK. Dark inks on the same papers are the control: colour must not change them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from benchmarks.realistic import place, random_spot
from benchmarks.scene_kit import handwriting, photographed
from benchmarks.served_rows import RowImages, RowScore, rows_command_line, served_rows
from serving.engine import EngineConfig
from serving.preprocess import PreprocessConfig

Rng = np.random.Generator


@dataclass(frozen=True)
class Pair:
    """A paper and an ink colour, RGB 0–1 as a camera sees them in daylight."""

    name: str
    paper: tuple[float, float, float]
    ink: tuple[float, float, float]


# The first six: ink within 0.07 of its paper's luma (BT.601); the last two: the control.
PAIRS = (
    Pair("light blue on brown paper", (0.78, 0.67, 0.47), (0.47, 0.67, 1.00)),
    Pair("orange on brown paper", (0.78, 0.67, 0.47), (1.00, 0.59, 0.00)),
    Pair("yellow on a blue note", (0.59, 0.78, 0.94), (0.94, 0.78, 0.00)),
    Pair("highlighter on white", (0.96, 0.96, 0.94), (0.98, 0.98, 0.24)),
    Pair("green on a pink note", (1.00, 0.70, 0.80), (0.55, 0.90, 0.50)),
    Pair("pink on a green note", (0.70, 0.90, 0.60), (1.00, 0.65, 0.85)),
    Pair("blue pen on white (control)", (0.93, 0.93, 0.90), (0.10, 0.12, 0.45)),
    Pair("black on a yellow note (control)", (0.98, 0.90, 0.45), (0.08, 0.08, 0.08)),
)
PIPELINES = {
    "brightness only": EngineConfig(preprocess=replace(PreprocessConfig(), colour=None)),
    "Digits": EngineConfig(),
}


def luma(rgb: tuple[float, float, float]) -> float:
    return 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]


def photo(pair: Pair, digit: np.ndarray | None, rng: Rng) -> bytes:
    """A photo (70 %) or scan of `digit` (uint8 [28, 28]; None: a blank page) in the pair's ink
    on its paper, both colours jittered a little."""
    frame = int(rng.integers(90, 200))
    side = int(frame * rng.uniform(1.3, 1.9))
    shape = (side, int(side * rng.uniform(0.8, 1.3)))
    jitter = rng.uniform(-0.03, 0.03, (2, 3)).astype(np.float32)
    paper = np.clip(np.float32(pair.paper) + jitter[0], 0, 1)
    ink = np.clip(np.float32(pair.ink) + jitter[1], 0, 1)
    coverage = np.zeros(shape, np.float32)
    if digit is not None:
        top, left = random_spot(rng, shape, frame)
        coverage = place(shape, handwriting(digit.astype(np.float32) / 255, frame, rng, 0.3),
                         top, left)
    return photographed(coverage, paper, ink, rng)


def pair_images(pair_index: int, images: np.ndarray, labels: np.ndarray, per_pair: int,
                seed: int) -> RowImages:
    """The digit photos and blank pages of one pair: digits pair_index × per_pair on."""
    start = pair_index * per_pair
    digits, truth, blanks = [], [], []
    for i in range(per_pair):
        index = (start + i) % len(labels)
        digits.append(photo(PAIRS[pair_index], images[index],
                            np.random.default_rng([seed, pair_index, i, 0])))
        truth.append(int(labels[index]))
        blanks.append(photo(PAIRS[pair_index], None, np.random.default_rng([seed, pair_index, i, 1])))
    return RowImages(digits, truth, blanks)


def measure(model: Path, images: np.ndarray, labels: np.ndarray, per_pair: int,
            seed: int) -> dict[str, dict[str, RowScore]]:
    """Per pair name, per server: its score (benchmarks.served_rows)."""
    return served_rows(model, PIPELINES, {
        pair.name: pair_images(p, images, labels, per_pair, seed) for p, pair in enumerate(PAIRS)})


def main(argv: list[str] | None = None) -> int:
    run = rows_command_line("python -m benchmarks.colour_ink", __doc__, "--per-pair", 50, argv)
    shares = measure(run.model, run.images, run.labels, run.count, run.split.seed)
    names = list(PIPELINES)
    print(f"{run.count} digits and {run.count} blank pages per pair, split {run.split.name!r}, "
          f"model {run.model}")
    print(f"{'paper and ink':34s} {'luma gap':>8s}  " +
          "  ".join(f"{n + ': right / blank':>28s}" for n in names))
    for pair in PAIRS:
        cells = "  ".join(f"{score.right:>18.1%} / {score.blank:>6.1%}"
                          for score in (shares[pair.name][n] for n in names))
        print(f"{pair.name:34s} {abs(luma(pair.ink) - luma(pair.paper)):8.2f}  {cells}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

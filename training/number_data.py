"""Line images of written numbers for the sequence reader, generated from MNIST training digits.

Each number is written by benchmarks.number_scenes (paper photos and canvas drawings, spaced and
touching digits), encoded as the file a user would send, and taken through the service's own
preprocessing (serving.number_layout.number_ink, serving.number_line): the reader learns on
exactly what it is given when serving.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from serving.decode import ImageLimits
from serving.number_layout import number_ink
from serving.number_line import NumberLineConfig, number_line
from serving.preprocess import DEFAULT_CONFIG
from serving.segment import SegmentConfig


@dataclass(frozen=True)
class NumberLines:
    """Line images and their digit strings."""

    pixels: list[np.ndarray]  # float16 [height, W_i]
    texts: list[str]

    def save(self, path: Path) -> None:
        """Write to one .npz (pixels concatenated along the width)."""
        widths = np.array([p.shape[1] for p in self.pixels], np.int64)
        tmp = path.with_suffix(".tmp.npz")
        np.savez(tmp, pixels=np.concatenate(self.pixels, axis=1), widths=widths,
                 texts=np.array(self.texts))
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path) -> NumberLines:
        with np.load(path) as data:
            ends = np.cumsum(data["widths"])
            pixels = np.split(data["pixels"], ends[:-1], axis=1)
            return cls(list(pixels), [str(t) for t in data["texts"]])


def line_of_file(data: bytes, config: NumberLineConfig) -> np.ndarray | None:
    """float16 line image of one encoded number image through the serving path; None if blank."""
    found = number_ink(data, ImageLimits(), DEFAULT_CONFIG, SegmentConfig())
    if found is None:
        return None
    clean, lattice = found
    line = number_line(clean, lattice.strokes(), config)
    return None if line is None else line.pixels.astype(np.float16)


def _chunk(args: tuple[np.ndarray, np.ndarray, int, int, tuple[int, ...],
                       NumberLineConfig]) -> tuple[list[np.ndarray], list[str]]:
    from benchmarks.number_scenes import generate_numbers  # the number generator

    images, labels, count, seed, lengths, config = args
    pixels, texts = [], []
    for number in generate_numbers(images, labels, count, seed, lengths):
        line = line_of_file(number.scene.data, config)
        if line is not None:
            pixels.append(line)
            texts.append(number.text)
    return pixels, texts


def generate_lines(images: np.ndarray, labels: np.ndarray, count: int, seed: int,
                   lengths: Sequence[int], config: NumberLineConfig, workers: int = 2,
                   chunk: int = 500) -> NumberLines:
    """`count` numbers (lengths take turns) written with `images`, as line images."""
    # Chunk i writes its numbers with seed (seed, i) of generate_numbers' own (seed, k) scheme.
    jobs = [(images, labels, min(chunk, count - start), seed * 100_000 + start // chunk,
             tuple(lengths), config) for start in range(0, count, chunk)]
    pixels: list[np.ndarray] = []
    texts: list[str] = []
    with ProcessPoolExecutor(max_workers=workers) as pool:
        for done, (p, t) in enumerate(pool.map(_chunk, jobs), 1):
            pixels += p
            texts += t
            print(f"number lines: {len(texts)}/{count} ({done}/{len(jobs)} chunks)", flush=True)
    return NumberLines(pixels, texts)

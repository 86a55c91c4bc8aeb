"""Rows of images read through loopback servers that differ in one setting: the comparison that
the small benchmarks (colour_ink, small_digits, circled_digits) print, and their command line."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchmarks.bench_real import loopback_servers
from benchmarks.scenes import SPLITS, Split, split_digits
from serving.client import DigitsClient, ResultStatus
from serving.engine import EngineConfig
from serving.model import DEFAULT_MODEL_PATH
from training.mnist import MnistSource, add_data_dir_argument, load_mnist


@dataclass(frozen=True)
class RowImages:
    """One row's images: digits with their labels, and pages that hold no digit (may be none)."""

    digits: Sequence[bytes]
    labels: Sequence[int]
    blanks: Sequence[bytes] = ()


@dataclass(frozen=True)
class RowScore:
    right: float  # share of the digits answered DIGIT with their label
    blank: float | None  # share of the blank pages answered BLANK; None without blank pages


def served_rows(model: Path, pipelines: dict[str, EngineConfig],
                rows: dict[str, RowImages]) -> dict[str, dict[str, RowScore]]:
    """Per row, per pipeline: its score, every image through DigitsClient → gRPC →
    preprocessing → onnxruntime of a loopback server with that pipeline and `model`."""
    scores: dict[str, dict[str, RowScore]] = {row: {} for row in rows}
    with loopback_servers(model, pipelines) as addresses:
        for name, address in addresses.items():
            with DigitsClient(address) as client:
                for row, images in rows.items():
                    answers = client.classify(images.digits)
                    right = sum(a.status == ResultStatus.DIGIT and a.digit == label
                                for a, label in zip(answers, images.labels, strict=True))
                    blank = None
                    if images.blanks:
                        blank = sum(a.status == ResultStatus.BLANK
                                    for a in client.classify(images.blanks)) / len(images.blanks)
                    scores[row][name] = RowScore(right / len(images.digits), blank)
    return scores


@dataclass(frozen=True)
class RowsRun:
    """What a rows benchmark's command line asked for."""

    count: int  # images per row
    split: Split  # the MNIST digits and seed (benchmarks.scenes.SPLITS)
    model: Path
    images: np.ndarray  # uint8 [N, 28, 28]: the split's digits
    labels: np.ndarray  # int [N]


def rows_command_line(prog: str, doc: str, count_flag: str, count_default: int,
                      argv: list[str] | None) -> RowsRun:
    """Parse a rows benchmark's flags (`count_flag`, --split, --model, --data-dir) and load the
    split's MNIST digits."""
    parser = argparse.ArgumentParser(prog=prog, description=doc,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(count_flag, dest="count", type=int, default=count_default,
                        help="images per row")
    parser.add_argument("--split", choices=sorted(SPLITS), default="test",
                        help="MNIST test digits (reported), or a twin to tune on")
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL_PATH)
    add_data_dir_argument(parser)
    args = parser.parse_args(argv)
    if args.count < 1:
        parser.error(f"{count_flag} must be ≥ 1")
    split = SPLITS[args.split]
    images, labels = split_digits(load_mnist(MnistSource.from_env(args.data_dir)), split)
    return RowsRun(args.count, split, args.model, images, labels)


def print_rights(run: RowsRun, scores: dict[str, dict[str, RowScore]], label_width: int) -> None:
    """The share read right per row (lines) and pipeline (columns)."""
    names = list(next(iter(scores.values())))
    print(f"{run.count} photos per row, split {run.split.name!r}, model {run.model}")
    print(" " * label_width + "".join(f"{name:>16s}" for name in names))
    for row, by_pipeline in scores.items():
        print(f"{row:{label_width}s}" + "".join(f"{by_pipeline[n].right:>16.1%}" for n in names))

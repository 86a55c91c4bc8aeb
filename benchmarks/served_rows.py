"""Rows of images read through loopback servers that differ in one setting: the comparison that
the small benchmarks (colour_ink, small_digits) print."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from benchmarks.bench_real import loopback_servers
from serving.client import DigitsClient, ResultStatus
from serving.engine import EngineConfig


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

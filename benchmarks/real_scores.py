"""Scores of `make bench-real`: digit accuracy, exact numbers, non-digit AUROC and preprocessing time."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from benchmarks.served_preprocessing import MainReader, served_preparation
from serving.client import Classification, NumberReading, NumberStatus, ResultStatus
from serving.preprocess import PreprocessConfig

CONFIDENT = 0.9  # a non-digit answered DIGIT with at least this confidence is a confident mistake


@dataclass(frozen=True)
class DigitScore:
    """Answers to images that each show one digit; every answer but the right digit is wrong."""

    images: int
    correct: int  # answered DIGIT with the right digit
    blank: int  # answered BLANK (counted as wrong)
    not_a_digit: int  # answered NOT_A_DIGIT (counted as wrong)
    errors: int  # answered ERROR (counted as wrong; a sign of a bug, not of a hard image)

    @property
    def accuracy(self) -> float:
        return self.correct / self.images if self.images else float("nan")


def score_digits(answers: Sequence[Classification], labels: Sequence[int]) -> DigitScore:
    """DigitScore of classify() answers to images showing `labels` (same order)."""
    if len(answers) != len(labels):
        raise ValueError(f"got {len(answers)} answers for {len(labels)} images")
    statuses = [a.status for a in answers]
    correct = sum(a.status is ResultStatus.DIGIT and a.digit == label
                  for a, label in zip(answers, labels, strict=True))
    return DigitScore(len(answers), correct, statuses.count(ResultStatus.BLANK),
                      statuses.count(ResultStatus.NOT_A_DIGIT), statuses.count(ResultStatus.ERROR))


@dataclass(frozen=True)
class NumberScore:
    """read_number() answers to images of written numbers; only the exact digit string counts."""

    exact: dict[int, int]  # per number length (digits): numbers read exactly
    total: dict[int, int]  # per number length: numbers sent
    not_read: int  # answered BLANK, NOT_A_NUMBER or ERROR (counted as wrong)

    @property
    def accuracy(self) -> float:
        total = sum(self.total.values())
        return sum(self.exact.values()) / total if total else float("nan")

    def length_accuracy(self, length: int) -> float:
        return self.exact[length] / self.total[length]


def score_numbers(answers: Sequence[NumberReading], texts: Sequence[str]) -> NumberScore:
    """NumberScore of read_number() answers to images of `texts` (same order, zeros kept)."""
    if len(answers) != len(texts):
        raise ValueError(f"got {len(answers)} answers for {len(texts)} images")
    exact: dict[int, int] = {}
    total: dict[int, int] = {}
    for answer, text in zip(answers, texts, strict=True):
        total[len(text)] = total.get(len(text), 0) + 1
        exact[len(text)] = exact.get(len(text), 0) + int(
            answer.status is NumberStatus.NUMBER and answer.number == text)
    not_read = sum(a.status is not NumberStatus.NUMBER for a in answers)
    return NumberScore(dict(sorted(exact.items())), dict(sorted(total.items())), not_read)


def no_digit_score(answer: Classification) -> float:
    """How surely the service said "no digit here": its not-a-digit probability, or 1 when it
    gave no digit without running the model (BLANK, ERROR): both for digit and non-digit images,
    so that a blank verdict helps on a non-digit exactly as much as it hurts on a digit."""
    if answer.status in (ResultStatus.BLANK, ResultStatus.ERROR):
        return 1.0
    return answer.not_digit_probability


def auroc(positives: Sequence[float], negatives: Sequence[float]) -> float:
    """Area under the ROC curve: the chance that a random positive scores above a random
    negative, ties counting half (Mann–Whitney U with average ranks)."""
    pos, neg = np.asarray(positives, np.float64), np.asarray(negatives, np.float64)
    if pos.size == 0 or neg.size == 0:
        raise ValueError("auroc needs at least one positive and one negative score")
    scores = np.concatenate([pos, neg])
    order = np.argsort(scores, kind="stable")
    _, first, counts = np.unique(scores[order], return_index=True, return_counts=True)
    ranks = np.empty(scores.size)
    ranks[order] = np.repeat(first + (counts + 1) / 2, counts)  # 1-based average rank per tie run
    u = ranks[: pos.size].sum() - pos.size * (pos.size + 1) / 2
    return float(u / (pos.size * neg.size))


@dataclass(frozen=True)
class NonDigitScore:
    """Answers to non-digit images, against the answers to digit images."""

    images: int
    auroc: float  # of no_digit_score, non-digits positive, all digit images negative
    confident_digits: int  # non-digits answered DIGIT with confidence ≥ CONFIDENT
    digits: int  # non-digits answered DIGIT at any confidence
    rejected: int  # non-digits answered NOT_A_DIGIT or BLANK

    @property
    def confident_share(self) -> float:
        return self.confident_digits / self.images if self.images else float("nan")


def score_non_digits(answers: Sequence[Classification],
                     digit_answers: Sequence[Classification]) -> NonDigitScore:
    """NonDigitScore of classify() answers to non-digits, ranked against `digit_answers`."""
    digits = [a for a in answers if a.status is ResultStatus.DIGIT]
    return NonDigitScore(
        images=len(answers),
        auroc=auroc([no_digit_score(a) for a in answers], [no_digit_score(a) for a in digit_answers]),
        confident_digits=sum(a.confidence >= CONFIDENT for a in digits), digits=len(digits),
        rejected=sum(a.status in (ResultStatus.NOT_A_DIGIT, ResultStatus.BLANK) for a in answers))


@dataclass(frozen=True)
class Timing:
    """Preprocessing time per image, in-process, one thread."""

    images: int
    ms_mean: float  # mean CPU time of prepare_encoded per image (and the other readings), ms
    ms_p95: float  # 95th percentile of the same, ms
    decode_ms_mean: float  # of ms_mean, decoding the file (serving.decode.decode_gray), ms

    @property
    def after_decoding_ms_mean(self) -> float:
        """Mean CPU time of the pipeline after decoding: ink, lines, digit, rendering, ms."""
        return self.ms_mean - self.decode_ms_mean


def preprocessing_ms(data: Sequence[bytes], configs: Sequence[PreprocessConfig],
                     reader: MainReader) -> tuple[np.ndarray, np.ndarray]:
    """CPU ms of the service's preprocessing per config and image (benchmarks.
    served_preprocessing: prepare_encoded, and the other readings where the main one is open to
    them), and of it, decoding the file: two float [len(configs), len(data)].

    Thread CPU time, not wall time: other processes on the machine (a training run) stretch wall
    time but not the work an image costs. The configs take turns on each image, so that a slow
    spell of the machine (caches, clock) falls on all of them alike.
    """
    totals = np.empty((len(configs), len(data)))
    decoding = np.empty_like(totals)
    for i, item in enumerate(data):
        for c, config in enumerate(configs):
            spent = served_preparation(item, config, reader)[1]
            totals[c, i], decoding[c, i] = spent.total_ms, spent.decode_ms
    return totals, decoding


def timing_of(totals: np.ndarray, decoding: np.ndarray) -> Timing:
    """Timing of per-image total and decoding ms (the same images, in the same order)."""
    if totals.size == 0:
        raise ValueError("no times to summarise")
    return Timing(int(totals.size), float(totals.mean()), float(np.percentile(totals, 95)),
                  float(decoding.mean()))


@dataclass(frozen=True)
class PipelineResult:
    """Everything measured through one server (one preprocessing)."""

    digits: dict[str, DigitScore]  # per scene kind, then "continental"
    numbers: NumberScore
    non_digits: NonDigitScore
    outside: dict[str, DigitScore]  # outside checks; empty with --tune
    mnist_test: DigitScore | None  # raw MNIST test bytes; None with --tune
    timing: dict[str, Timing]  # per set, and "photos": every scene kind together
    lone_strokes: NonDigitScore | None = None  # non-digits that preprocessing renders as one
    # straight stroke (left out of non_digits); None when the sets had none

"""The goals of `make bench-real` and its one table: a row per measure, a column per pipeline."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from benchmarks.real_scores import CONFIDENT, DigitScore, PipelineResult, Timing
from benchmarks.real_sets import CONTINENTAL
from serving.client import ModelInfo

PREVIOUS_MNIST_TEST = 0.9963  # MNIST test accuracy of the model before it learnt "not a digit"
# (digits-cnn 1.0.0+default.e15, README "Results")

Row = tuple[str, ...]  # measure, one cell per pipeline, goal, verdict


@dataclass(frozen=True)
class Goals:
    """The issue's goals; each judges the last pipeline column (Digits)."""

    kind_accuracy: float = 0.97  # accuracy on each scene kind, at least, in [0, 1]
    continental: float = 0.98  # accuracy on continental forms, at least
    numbers: float = 0.95  # share of numbers read exactly, at least
    auroc: float = 0.99  # non-digits against digit images, at least
    confident_share: float = 0.01  # non-digits answered DIGIT with confidence ≥ 0.9, at most
    mnist_test: float = PREVIOUS_MNIST_TEST - 0.0005  # at most 0.05 points below the old model
    photo_ms: float = 1.0  # mean preprocessing CPU ms per scene photo, at most ("about 1 ms")


def _pct(value: float) -> str:
    return f"{100 * value:.2f} %"


def _goal_pct(value: float) -> str:
    return f"{100 * value:.4g} %"


def _verdict(passed: bool) -> str:
    return "PASS" if passed else "FAIL"


def _digit_cell(score: DigitScore) -> str:
    """Accuracy and the wrong answers that were no digit at all: b(lank), n(ot a digit), e(rror)."""
    errors = f" e{score.errors}" if score.errors else ""
    return f"{_pct(score.accuracy)} b{score.blank} n{score.not_a_digit}{errors}"


def _timing_cell(timing: Timing) -> str:
    return f"{timing.ms_mean:.2f} (p95 {timing.ms_p95:.2f})"


def _cells(results: dict[str, PipelineResult],
           cell: Callable[[PipelineResult], str]) -> tuple[str, ...]:
    return tuple(cell(result) for result in results.values())


def _reading_rows(results: dict[str, PipelineResult], goals: Goals) -> list[Row]:
    """Digits per scene kind and continental form, numbers, non-digits."""
    judged = list(results.values())[-1]
    rows: list[Row] = []
    for name, score in judged.digits.items():
        goal = goals.continental if name == CONTINENTAL else goals.kind_accuracy
        label = "continental forms" if name == CONTINENTAL else name
        rows.append((f"{label} ({score.images})",
                     *_cells(results, lambda r, n=name: _digit_cell(r.digits[n])),
                     f"≥ {_goal_pct(goal)}", _verdict(score.accuracy >= goal)))
    numbers = judged.numbers
    rows.append((f"numbers read exactly ({sum(numbers.total.values())})",
                 *_cells(results, lambda r: _pct(r.numbers.accuracy)),
                 f"≥ {_goal_pct(goals.numbers)}", _verdict(numbers.accuracy >= goals.numbers)))
    for length, total in numbers.total.items():
        rows.append((f"  {length} digits ({total})",
                     *_cells(results, lambda r, n=length: _pct(r.numbers.length_accuracy(n))),
                     "", ""))
    non = judged.non_digits
    rows.append((f"non-digits: AUROC ({non.images} vs all digit images)",
                 *_cells(results, lambda r: f"{r.non_digits.auroc:.4f}"), f"≥ {goals.auroc}",
                 _verdict(non.auroc >= goals.auroc)))
    rows.append((f"non-digits: answered a digit ≥ {CONFIDENT}",
                 *_cells(results, lambda r: _pct(r.non_digits.confident_share)),
                 f"≤ {_goal_pct(goals.confident_share)}",
                 _verdict(non.confident_share <= goals.confident_share)))
    lone = judged.lone_strokes
    if lone is not None:
        rows.append((f"  left out as lone strokes ({lone.images}): answered a digit ≥ {CONFIDENT}",
                     *_cells(results, lambda r: _pct(r.lone_strokes.confident_share)), "shown",
                     ""))
        rows.append((f"  all {non.images + lone.images} with them: answered a digit ≥ {CONFIDENT}",
                     *_cells(results, _with_lone_strokes), "shown", ""))
    return rows


def _with_lone_strokes(result: PipelineResult) -> str:
    """The share of non-digits answered a digit ≥ CONFIDENT, lone strokes included."""
    non, lone = result.non_digits, result.lone_strokes
    return _pct((non.confident_digits + lone.confident_digits) / (non.images + lone.images))


def _check_rows(results: dict[str, PipelineResult], goals: Goals) -> list[Row]:
    """Outside checks, MNIST test and preprocessing time."""
    judged = list(results.values())[-1]
    skipped = ("skipped (--tune)",) * len(results)  # outside checks stay out of tuning
    rows: list[Row] = []
    sklearn = judged.outside.get("sklearn_digits")
    if sklearn is None:
        rows.append(("sklearn digits, outside check", *skipped, "outside check", ""))
    else:
        rows.append((f"sklearn digits ({sklearn.images}), outside check",
                     *_cells(results, lambda r: _digit_cell(r.outside["sklearn_digits"])),
                     "outside check", ""))
    rows.append(("Fashion-MNIST, outside check", *("not available offline",) * len(results),
                 "outside check", ""))
    mnist, mnist_goal = judged.mnist_test, f"≥ {_goal_pct(goals.mnist_test)}"
    if mnist is None:
        rows.append(("MNIST test, served (raw bytes)", *skipped, mnist_goal, ""))
    else:
        rows.append((f"MNIST test, served (raw bytes, {mnist.images})",
                     *_cells(results, lambda r: _pct(r.mnist_test.accuracy)), mnist_goal,
                     _verdict(mnist.accuracy >= goals.mnist_test)))
    photos = judged.timing["photos"]
    rows.append((f"preprocessing CPU ms/image, scene photos ({photos.images})",
                 *_cells(results, lambda r: _timing_cell(r.timing["photos"])),
                 f"≤ ~{goals.photo_ms:g} ms", _verdict(photos.ms_mean <= goals.photo_ms)))
    rows.append(("  of it, decoding the file (mean)",
                 *_cells(results, lambda r: f"{r.timing['photos'].decode_ms_mean:.2f}"), "", ""))
    rows.append(("  of it, the pipeline after decoding (mean)",
                 *_cells(results, lambda r: f"{r.timing['photos'].after_decoding_ms_mean:.2f}"),
                 "", ""))
    rows += [(f"  {name} ({timing.images})",
              *_cells(results, lambda r, n=name: _timing_cell(r.timing[n])), "", "")
             for name, timing in judged.timing.items() if name != "photos"]
    return rows


def table(results: dict[str, PipelineResult], model: ModelInfo, split: str,
          goals: Goals | None = None) -> str:
    """The whole comparison as aligned text: a row per measure, a column per pipeline (the last
    one judged against the goals), then a legend."""
    goals = goals or Goals()
    rows = [("measure", *results, "goal", "verdict"), *_reading_rows(results, goals),
            *_check_rows(results, goals)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
             for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines += [
        "",
        "b / n / e: images answered BLANK / NOT_A_DIGIT / ERROR, all counted wrong. Verdicts judge "
        f"the {list(results)[-1]} column.",
        f"model {model.name} {model.version}: MNIST test in model.json {_pct(model.test_accuracy)}, "
        f"not-a-digit threshold {model.not_digit_threshold:.3f}; split '{split}'.",
    ]
    return "\n".join(lines)

"""Classification metrics from predictions: confusion matrix, per-class precision and recall."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

NUM_CLASSES = 10  # rows of the report: the digits; a prediction of 10 means "not a digit"


@dataclass(frozen=True)
class ClassificationReport:
    accuracy: float  # in [0, 1]
    confusion: np.ndarray  # int64 [10 or 11]²: rows are true labels, columns predictions (the
    # 11th: "not a digit")
    precision: np.ndarray  # float [10]
    recall: np.ndarray  # float [10]

    @property
    def errors(self) -> int:
        return int(self.confusion.sum() - np.trace(self.confusion))


def classification_report(predictions: np.ndarray, labels: np.ndarray) -> ClassificationReport:
    size = max(NUM_CLASSES, int(predictions.max(initial=0)) + 1, int(labels.max(initial=0)) + 1)
    confusion = np.zeros((size, size), dtype=np.int64)
    np.add.at(confusion, (labels, predictions), 1)
    hits = np.diag(confusion).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.nan_to_num(hits / confusion.sum(axis=0))
        recall = np.nan_to_num(hits / confusion.sum(axis=1))
    return ClassificationReport(
        accuracy=float(hits.sum() / max(1, len(labels))),
        confusion=confusion,
        precision=precision,
        recall=recall,
    )


def format_report(report: ClassificationReport, title: str) -> str:
    """A plain-text report: accuracy, per-class precision/recall, and the confusion matrix."""
    total = int(report.confusion.sum())
    lines = [title, f"accuracy {report.accuracy:.2%} ({total - report.errors}/{total}, "
             f"{report.errors} errors)", "", "class  precision  recall  support"]
    for digit in range(NUM_CLASSES):
        lines.append(f"  {digit}    {report.precision[digit]:8.2%} {report.recall[digit]:8.2%} "
                     f"{int(report.confusion[digit].sum()):7d}")
    lines += ["", "confusion matrix (rows: true digit, columns: predicted)",
              "     " + "".join(f"{d if d < NUM_CLASSES else 'none':>6}"
                              for d in range(report.confusion.shape[1]))]
    for digit in range(NUM_CLASSES):
        lines.append(f"  {digit}  " + "".join(f"{n:>6}" for n in report.confusion[digit]))
    return "\n".join(lines)

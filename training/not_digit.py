"""Choosing the "not a digit" threshold on validation images, and the serving accuracy under it."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from serving.model import NOT_DIGIT_CLASS, decide

# Rejecting a real digit costs more than accepting a non-digit: the goal allows MNIST test
# accuracy to drop by at most 0.05 points, so digits weigh this much more in the choice.
DIGIT_WEIGHT = 5.0
CANDIDATES = np.round(np.arange(0.05, 0.96, 0.025), 3)  # thresholds tried


@dataclass(frozen=True)
class ThresholdChoice:
    threshold: float  # not-a-digit probability at or above which an image is not a digit
    digits: int  # validation digits
    digits_rejected: int  # ... judged not a digit under `threshold`
    non_digits: int  # validation non-digits
    non_digits_accepted: int  # ... judged a digit under `threshold`

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)


def serving_accuracy(probabilities: np.ndarray, labels: np.ndarray, threshold: float) -> float:
    """Share of images answered right as the service answers: a digit label needs the right
    digit and "is a digit"; the not-a-digit label needs "not a digit"."""
    digits, is_digit = decide(probabilities, threshold)
    right = np.where(labels == NOT_DIGIT_CLASS, ~is_digit, is_digit & (digits == labels))
    return float(right.mean()) if len(labels) else 0.0


def choose_threshold(probabilities: np.ndarray, labels: np.ndarray) -> ThresholdChoice:
    """The candidate threshold with the fewest weighted validation mistakes; when several tie,
    the middle one (the widest margin on both sides)."""
    negative = labels == NOT_DIGIT_CLASS
    choices = []
    for threshold in CANDIDATES:
        _, is_digit = decide(probabilities, float(threshold))
        rejected = int((~is_digit & ~negative).sum())
        accepted = int((is_digit & negative).sum())
        choices.append((DIGIT_WEIGHT * rejected + accepted,
                        ThresholdChoice(float(threshold), int((~negative).sum()), rejected,
                                        int(negative.sum()), accepted)))
    lowest = min(cost for cost, _ in choices)
    best = [choice for cost, choice in choices if cost == lowest]
    return best[len(best) // 2]

"""Temperature scaling: makes the exported model's confidences honest probabilities.

Label smoothing (0.1) trains the network to cap its confidence near 0.9 even on clear digits, so
raw softmax outputs understate certainty. One temperature T, fitted on the validation split by
minimising negative log-likelihood (Guo et al. 2017, "On Calibration of Modern Neural Networks"),
rescales the logits (softmax(logits / T)) without changing any prediction.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

# Candidate temperatures, log-spaced: a grid search is exact enough and cannot diverge.
TEMPERATURE_GRID = np.geomspace(0.05, 5.0, 400)
ECE_BINS = 15  # confidence bins of the expected calibration error


@dataclass(frozen=True)
class Calibration:
    temperature: float  # divide logits by this before the softmax
    nll_before: float  # validation negative log-likelihood at T = 1
    nll_after: float  # ... at the fitted T
    ece_before: float  # validation expected calibration error at T = 1, in [0, 1]
    ece_after: float  # ... at the fitted T
    images: int  # validation images used

    def to_dict(self) -> dict[str, float | int | str]:
        return {"method": "temperature scaling, NLL on the validation split", **vars(self)}


def _nll(logits: torch.Tensor, labels: torch.Tensor, temperature: float) -> float:
    return F.cross_entropy(logits / temperature, labels).item()


def expected_calibration_error(probabilities: torch.Tensor, labels: torch.Tensor,
                               bins: int = ECE_BINS) -> float:
    """Mean |accuracy - confidence| over equal-width confidence bins, weighted by bin size."""
    confidence, predicted = probabilities.max(dim=1)
    correct = (predicted == labels).float()
    edges = torch.linspace(0, 1, bins + 1)
    error = 0.0
    for low, high in itertools.pairwise(edges.tolist()):
        in_bin = (confidence > low) & (confidence <= high)
        if in_bin.any():
            error += in_bin.float().mean().item() * abs(
                correct[in_bin].mean().item() - confidence[in_bin].mean().item())
    return error


def fit_temperature(logits: torch.Tensor, labels: torch.Tensor) -> Calibration:
    """The temperature that minimises validation NLL, with before/after calibration figures."""
    losses = [_nll(logits, labels, float(t)) for t in TEMPERATURE_GRID]
    best = float(TEMPERATURE_GRID[int(np.argmin(losses))])
    return Calibration(
        temperature=best,
        nll_before=_nll(logits, labels, 1.0),
        nll_after=min(losses),
        ece_before=expected_calibration_error(torch.softmax(logits, dim=1), labels),
        ece_after=expected_calibration_error(torch.softmax(logits / best, dim=1), labels),
        images=len(labels),
    )

"""REFERENCE, not Digits: the classic PyTorch MNIST example recipe (pytorch/examples mnist/main.py).

Reimplemented as the baseline for `make bench-train`: two 3x3 convolutions (32, 64 channels, ReLU),
2x2 max-pool, dropout 0.25, a 128-unit fully connected layer, dropout 0.5, log-softmax; Adadelta
lr 1.0 with StepLR gamma 0.7 per epoch; batch 64; inputs normalised with mean 0.1307, std 0.3081;
test accuracy checked after every epoch. Data is held in memory (no DataLoader workers), which
only makes the reference faster than the original.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from training.dataset import LabelledImages

MEAN, STD = 0.1307, 0.3081
BATCH_SIZE = 64
TEST_BATCH_SIZE = 1000
LR = 1.0
GAMMA = 0.7


class ClassicNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, 1)
        self.conv2 = nn.Conv2d(32, 64, 3, 1)
        self.dropout1 = nn.Dropout(0.25)
        self.dropout2 = nn.Dropout(0.5)
        self.fc1 = nn.Linear(9216, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.conv1(x))
        x = F.relu(self.conv2(x))
        x = self.dropout1(F.max_pool2d(x, 2))
        x = self.dropout2(F.relu(self.fc1(torch.flatten(x, 1))))
        return F.log_softmax(self.fc2(x), dim=1)


def _normalised(images: torch.Tensor) -> torch.Tensor:
    return (images.float() / 255.0 - MEAN) / STD


@torch.no_grad()
def test_accuracy(model: nn.Module, test: LabelledImages) -> float:
    model.eval()
    correct = 0
    for start in range(0, len(test), TEST_BATCH_SIZE):
        x = _normalised(test.images[start : start + TEST_BATCH_SIZE])
        correct += int((model(x).argmax(1) == test.labels[start : start + TEST_BATCH_SIZE]).sum())
    return correct / len(test)


@dataclass(frozen=True)
class EpochResult:
    epoch: int
    test_accuracy: float
    elapsed_s: float  # wall time since training started, including every test pass so far


def train_until(train: LabelledImages, test: LabelledImages, target: float, max_epochs: int,
                seed: int = 1, on_epoch: Callable[[EpochResult], None] | None = None
                ) -> list[EpochResult]:
    """Train the classic recipe until test accuracy reaches `target` or `max_epochs` pass."""
    torch.manual_seed(seed)
    model = ClassicNet()
    optimizer = torch.optim.Adadelta(model.parameters(), lr=LR)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=GAMMA)
    results: list[EpochResult] = []
    started = time.perf_counter()
    for epoch in range(1, max_epochs + 1):
        model.train()
        order = torch.randperm(len(train))
        for start in range(0, len(train), BATCH_SIZE):
            index = order[start : start + BATCH_SIZE]
            optimizer.zero_grad()
            loss = F.nll_loss(model(_normalised(train.images[index])), train.labels[index])
            loss.backward()
            optimizer.step()
        scheduler.step()
        result = EpochResult(epoch, test_accuracy(model, test), time.perf_counter() - started)
        results.append(result)
        if on_epoch is not None:
            on_epoch(result)
        if result.test_accuracy >= target:
            break
    return results

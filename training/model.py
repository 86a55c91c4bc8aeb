"""The Digits CNN: three conv stages with pooling, a fully connected head, 10 or 11 logits."""

from __future__ import annotations

import torch
from torch import nn

from training.config import ModelConfig

IMAGE_SIZE = 28  # MNIST images are 28 x 28 pixels, one channel


class ConvBnRelu(nn.Sequential):
    """3x3 convolution (same padding, no bias) -> BatchNorm -> ReLU."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__(
            nn.Conv2d(cin, cout, kernel_size=3, padding=1, bias=False),
            nn.BatchNorm2d(cout),
            nn.ReLU(inplace=True),
        )


class ConvStage(nn.Sequential):
    """Two ConvBnRelu blocks then 2x2 max-pooling: halves the spatial size."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__(ConvBnRelu(cin, cout), ConvBnRelu(cout, cout), nn.MaxPool2d(2))


class DigitNet(nn.Module):
    """28x28 -> 14x14 -> 7x7 -> 3x3 feature maps, then FC(hidden) -> FC(classes) logits.

    Takes float images normalised with the MNIST mean and std, shape [N, 1, 28, 28].
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        w1, w2, w3 = config.widths
        self.features = nn.Sequential(ConvStage(1, w1), ConvStage(w1, w2), ConvStage(w2, w3))
        self.head = nn.Sequential(
            nn.Flatten(),
            nn.Linear(w3 * 3 * 3, config.hidden, bias=False),
            nn.BatchNorm1d(config.hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(config.dropout),
            nn.Linear(config.hidden, config.classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def multiply_adds(config: ModelConfig) -> int:
    """Multiply-accumulate operations for one image through DigitNet (convs and linears)."""
    w1, w2, w3 = config.widths
    macs = 0
    size = IMAGE_SIZE
    for cin, cout in ((1, w1), (w1, w2), (w2, w3)):
        macs += size * size * 9 * (cin * cout + cout * cout)
        size //= 2
    return macs + w3 * 9 * config.hidden + config.hidden * config.classes

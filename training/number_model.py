"""The number reader: a CNN over a line image, read frame by frame with CTC.

A line image [N, 1, 32, W] (serving.number_line) becomes W / 2 frames; each frame scores
"no new digit here" (class 0, CTC's blank) and the digits 0–9 (classes 1–10). Convolutions
along the line give each frame the context of about one digit on either side, so touching
digits are read without cutting them apart first.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from serving.number_reader import frame_digits

FRAME_STRIDE = 2  # line columns per frame


@dataclass(frozen=True)
class ReaderConfig:
    """Shape of the reader; saved in every checkpoint to rebuild the model from the file."""

    height: int = 32  # px of the line image (serving.number_line.NumberLineConfig.height)
    widths: tuple[int, int, int, int] = (24, 48, 64, 96)  # channels of the four conv stages
    hidden: int = 160  # channels per frame along the line
    context_layers: int = 3  # residual convolutions along the line (kernel 5 frames each)
    dropout: float = 0.1

    def __post_init__(self) -> None:
        if self.height % 16:
            raise ValueError(f"height must be a multiple of 16, got {self.height}")
        if len(self.widths) != 4 or min(self.widths) <= 0 or self.hidden <= 0:
            raise ValueError("widths must be four positive channel counts, hidden positive")
        if self.context_layers < 0 or not 0 <= self.dropout < 1:
            raise ValueError("context_layers must be ≥ 0 and dropout in [0, 1)")


def _stage(cin: int, cout: int, pool: tuple[int, int]) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout),
                         nn.ReLU(inplace=True), nn.MaxPool2d(pool))


class _Context(nn.Module):
    """One residual convolution along the line."""

    def __init__(self, channels: int, dropout: float) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv1d(channels, channels, 5, padding=2, bias=False),
                                  nn.BatchNorm1d(channels), nn.ReLU(inplace=True),
                                  nn.Dropout(dropout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class NumberReader(nn.Module):
    """[N, 1, height, W] ink 0–1 → [N, 11, W // 2] frame logits (blank, then digits 0–9)."""

    def __init__(self, config: ReaderConfig) -> None:
        super().__init__()
        w1, w2, w3, w4 = config.widths
        self.features = nn.Sequential(_stage(1, w1, (2, FRAME_STRIDE)), _stage(w1, w2, (2, 1)),
                                      _stage(w2, w3, (2, 1)), _stage(w3, w4, (2, 1)))
        rows = config.height // 16
        self.frames = nn.Sequential(nn.Conv1d(w4 * rows, config.hidden, 1, bias=False),
                                    nn.BatchNorm1d(config.hidden), nn.ReLU(inplace=True))
        self.context = nn.Sequential(*(_Context(config.hidden, config.dropout)
                                       for _ in range(config.context_layers)))
        self.out = nn.Conv1d(config.hidden, 11, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = self.features(x)  # [N, C, rows, T]
        frames = features.flatten(1, 2)  # [N, C · rows, T]
        return self.out(self.context(self.frames(frames)))


def greedy_decode(logits: torch.Tensor, lengths: torch.Tensor) -> list[str]:
    """The digit strings of [N, 11, T] frame scores (logits or probabilities), frames beyond
    each length ignored: serving's own greedy decoding (serving.number_reader.frame_digits)."""
    rows = logits.detach().float().numpy()
    return ["".join(str(d.digit) for d in frame_digits(row[:, :length]))
            for row, length in zip(rows, lengths.tolist(), strict=True)]

"""MNIST as in-memory tensors: the seeded train/validation split and pixel normalisation."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from training.mnist import MnistArrays, validation_split

# Mean and std of the 60,000 training pixels scaled to [0, 1] (shared/data/mnist/README.md).
MNIST_MEAN = 0.1307
MNIST_STD = 0.3081


@dataclass(frozen=True)
class LabelledImages:
    """uint8 images [N, 1, 28, 28] (0 = background) with int64 labels [N]."""

    images: torch.Tensor
    labels: torch.Tensor

    def __post_init__(self) -> None:
        if self.images.dtype != torch.uint8 or self.images.shape[1:] != (1, 28, 28):
            raise ValueError(f"images must be uint8 [N, 1, 28, 28], got {self.images.dtype} "
                             f"{tuple(self.images.shape)}")
        if self.labels.shape != (self.images.shape[0],):
            raise ValueError("labels must have one entry per image")

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def to(self, device: torch.device) -> LabelledImages:
        """The same images and labels on `device` (a GPU trains from its own memory)."""
        return LabelledImages(self.images.to(device), self.labels.to(device))

    @classmethod
    def from_numpy(cls, images: np.ndarray, labels: np.ndarray) -> LabelledImages:
        return cls(torch.from_numpy(np.ascontiguousarray(images)).unsqueeze(1),
                   torch.from_numpy(labels.astype(np.int64)))


@dataclass(frozen=True)
class Splits:
    train: LabelledImages
    val: LabelledImages
    test: LabelledImages


def split_mnist(arrays: MnistArrays, val_size: int, seed: int, train_limit: int = 0) -> Splits:
    """Hold `val_size` training images out for validation, chosen by `seed` alone.

    The test images are passed through untouched: they are only ever reported on.
    """
    val_idx, train_idx = validation_split(len(arrays.train_labels), val_size, seed)
    if train_limit:
        train_idx = train_idx[:train_limit]
    return Splits(
        train=LabelledImages.from_numpy(arrays.train_images[train_idx], arrays.train_labels[train_idx]),
        val=LabelledImages.from_numpy(arrays.train_images[val_idx], arrays.train_labels[val_idx]),
        test=LabelledImages.from_numpy(arrays.test_images, arrays.test_labels),
    )


def to_unit_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 pixels -> float32 in [0, 1], the input scale before normalisation."""
    return images.float() / 255.0


def normalise(unit: torch.Tensor) -> torch.Tensor:
    """[0, 1] pixels -> zero-mean, unit-variance network input (MNIST statistics)."""
    return (unit - MNIST_MEAN) / MNIST_STD


def with_extra(data: LabelledImages, images: np.ndarray, labels: np.ndarray) -> LabelledImages:
    """`data` followed by more uint8 images [N, 28, 28] with int64 labels [N]."""
    if not len(labels):
        return data
    extra = LabelledImages.from_numpy(images, labels)
    return LabelledImages(torch.cat([data.images, extra.images]),
                          torch.cat([data.labels, extra.labels]))

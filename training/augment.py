"""Batched random affine augmentation of digit images, driven by an explicit random generator."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from training.config import AugmentConfig


def _uniform(n: int, bound: float, generator: torch.Generator) -> torch.Tensor:
    return (torch.rand(n, generator=generator) * 2 - 1) * bound


def random_affine(
    images: torch.Tensor, config: AugmentConfig, generator: torch.Generator
) -> torch.Tensor:
    """Rotate, scale, shear and shift each image of a float batch [N, 1, H, W] independently.

    Background stays 0 (pixels from outside the image are zeros), so apply it before normalising.
    """
    if not config.enabled:
        return images
    n, _, height, width = images.shape
    angle = _uniform(n, math.radians(config.max_rotation_deg), generator)
    scale = 1 + _uniform(n, config.max_scale, generator)
    shear = _uniform(n, config.max_shear, generator)
    # affine_grid works in [-1, 1] coordinates: one pixel is 2 / size.
    shift_x = _uniform(n, config.max_shift_px * 2 / width, generator)
    shift_y = _uniform(n, config.max_shift_px * 2 / height, generator)
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack(
        [
            torch.stack([cos, -sin + shear * cos, shift_x], dim=1),
            torch.stack([sin, cos + shear * sin, shift_y], dim=1),
        ],
        dim=1,
    ).to(images.device)  # drawn on the CPU generator, so a GPU run draws the same distortions
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)

"""Ink that differs from the paper in colour rather than brightness (light blue on brown paper, a
yellow marker on white, orange on a blue note): a grey image in which it shows.

Preprocessing works on brightness (luma), which is enough for nearly every photo and costs the
least to decode. Ink as bright as its paper vanishes in luma, so an image whose luma shows no ink
at all is tried once more through colour_contrast (serving.preprocess.prepare_encoded).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# ITU-R BT.601, as Pillow and JPEG use them: luma, and the blue and red colour differences.
_LUMA = np.float32([0.299, 0.587, 0.114])
_BLUE_DIFFERENCE = np.float32(0.564)
_RED_DIFFERENCE = np.float32(0.713)


@dataclass(frozen=True)
class ColourConfig:
    """How far from the paper's colour a pixel must be to count as ink, and how strongly."""

    floor: float = 0.05  # colour distance from the paper (Cb, Cr on a 0–1 scale) that is still
    # paper: its own unevenness, a tint of the light, JPEG's colour noise
    gain: float = 1.0  # grey levels of contrast per unit of colour distance beyond the floor

    def __post_init__(self) -> None:
        if not 0 <= self.floor < 1:
            raise ValueError(f"floor must be in [0, 1), got {self.floor}")
        if self.gain <= 0:
            raise ValueError(f"gain must be positive, got {self.gain}")


def colour_contrast(rgb: np.ndarray, config: ColourConfig) -> np.ndarray | None:
    """float32 [H, W] grey 0–1 of float [H, W, 3] RGB 0–1: its luma, with every pixel that
    differs from the paper's colour (the median colour) by more than the floor moved away from
    the paper's brightness by the excess (darker on light paper, lighter on dark paper); None
    when no pixel differs so much, so colour adds nothing to the luma."""
    luma = rgb @ _LUMA
    blue = (rgb[..., 2] - luma) * _BLUE_DIFFERENCE
    red = (rgb[..., 0] - luma) * _RED_DIFFERENCE
    blue -= np.median(blue)
    red -= np.median(red)
    excess = np.hypot(blue, red) - np.float32(config.floor)
    if not (excess > 0).any():
        return None
    shift = np.maximum(excess, 0) * np.float32(config.gain)
    gray = luma - shift if np.median(luma) >= 0.5 else luma + shift
    return np.clip(gray, 0, 1, out=gray).astype(np.float32, copy=False)

"""Finding the ink of a grey image: polarity, the paper's uneven light, noise, and the ink mask."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image

from serving.components import Shade
from serving.decode import resize
from serving.imageops import (
    blur,
    centred_spread,
    max_filter,
    odd_reflected,
    quantiles,
    rank_filter,
    resampled,
    stroke_ink,
)

DARK_LEAN = 0.6  # dark ink wins unless light ink stands out this much more from the median
# (shadowed phone photos, tuning split: dark ink 0.24–0.32 below the median, lit paper 0.38–0.42
# above it; boards and MNIST-style canvases: dark side < 0.05)
DARK_MARK = 0.01  # marks in the middle this much darker than the image's median make a dark-ink
# reading worth trying (tuning scenes whose dark reading was right: 0.014–0.23; MNIST digits
# on black canvases: 0)
SHEET_CONTRAST = 0.12  # a sheet in the middle this much brighter than the image's median paper is
# the paper (a note on a desk: 0.15–0.6 brighter on the tuning photos; a digit off the centre of a
# board: ~0)


@dataclass(frozen=True)
class InkConfig:
    """When a pixel is ink, and when an image is a blank page."""

    min_work_side: int = 112  # smaller images are enlarged to this longer side first, px, so the
    # 1–2 px noise filters stay fine relative to the strokes (worst in/out similarity of 200
    # MNIST digits through prepare_array: 0.69 without, 0.78 with)
    background_window: float = 0.3  # paper-estimate opening width, fraction of the shorter side:
    # wider than any stroke, narrow enough to follow a shadow's curved edge (with 0.5 the dark
    # side of the edge stayed "ink" and joined the digit). Heldout / tuning twins, all kinds:
    # 0.5 96.96 / 96.96, 0.4 97.29 / 97.12, 0.35 97.38 / 97.50, 0.3 97.42 / 97.54, 0.25 97.54 /
    # 97.38, 0.2 97.12 / 96.75 %; heldout phone photos (600) 93.2 → 97.2 % from 0.5 to 0.3
    noise_sigmas: float = 4.0  # ink must stand this many noise std devs above the paper
    ink_fraction: float = 0.35  # ink mask threshold, fraction of the strongest ink contrast
    min_contrast: float = 0.08  # weakest ink that is not a blank page, fraction of full scale
    min_snr: float = 7.0  # weakest ink that is not a blank page, in noise std devs
    strong_contrast: float = 0.3  # ink at least this strong (a pen's; a shadow's or a paper's
    # texture left after levelling: below 0.12) needs only strong_min_snr: the lines of dense
    # grid paper raise the noise estimate (tuning digits on grids: 5.8–6.8 σ, "blank" at 7)
    strong_min_snr: float = 5.0
    noise_tile_px: int = 12  # tiles whose median spread estimates the noise when strong ink
    # would otherwise make a blank page (see find_ink)

    def __post_init__(self) -> None:
        for name in ("background_window", "ink_fraction", "min_contrast"):
            if not 0 < getattr(self, name) < 1:
                raise ValueError(f"{name} must be in (0, 1), got {getattr(self, name)}")
        if (self.noise_sigmas <= 0 or self.min_snr <= 0 or self.strong_min_snr <= 0
                or self.min_work_side < 1 or self.noise_tile_px < 2):
            raise ValueError("noise_sigmas, min_snr, strong_min_snr and min_work_side must be "
                             "positive, noise_tile_px at least 2")
        if not 0 < self.strong_contrast <= 1:
            raise ValueError(f"strong_contrast must be in (0, 1], got {self.strong_contrast}")


@dataclass(frozen=True)
class InkMap:
    """Where the ink of one image is, at the analysed resolution."""

    ink: np.ndarray  # float32 [H, W]: ink contrast above the paper (light-on-dark), ~0 on paper
    mask: np.ndarray  # bool [H, W]: pixels that are surely ink (noise-filtered, thresholded)
    noise: float  # robust std dev of the paper, in ink units
    to_input: float  # input image px per analysed px
    inverted: bool  # True: the input had dark ink on light paper
    tone: np.ndarray  # float32 [H, W]: the image with ink high (1 - grey for dark ink), before
    # the paper's light was levelled

    @property
    def shade(self) -> Shade:
        """The tones of the image and of its paper (ink is their difference)."""
        return Shade(tone=self.tone, contrast=self.ink)

    def input_box(self, box: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
        """(left, top, right, bottom) in the input's pixels of (top, bottom, left, right) here."""
        return input_box(box, self.to_input)


def input_box(box: tuple[int, int, int, int], to_input: float) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) in the input's pixels of (top, bottom, left, right) in an
    analysed image with `to_input` input px per px."""
    top, bottom, left, right = box
    return tuple(round(float(v) * to_input) for v in (left, top, right, bottom))


def digit_ink(ink: np.ndarray, noise: float, strokes: np.ndarray) -> np.ndarray:
    """The ink (InkMap.ink, or a window of it) of the pixels near `strokes` (ink-mask pixels of
    the same window), scaled to 0–1, zero elsewhere; `noise` is the paper's (InkMap.noise).

    Antialiased stroke edges lie below the mask threshold: ink within 2 px of a stroke is kept.
    """
    # level: the strokes' median ink; floor: max(2 noise, 0.15 level); the ink between them
    # scaled to 0–1 near the strokes (imageops.stroke_ink).
    return stroke_ink(ink, strokes, max_filter(strokes, 5), noise)


def find_ink(gray: np.ndarray, to_input: float, config: InkConfig,
             dark: bool | None = None) -> InkMap | None:
    """The ink of a grey image (0–1, either polarity: `dark` ink, or the likely one of
    `polarities`); None for a blank page."""
    if max(gray.shape) < config.min_work_side:
        factor = math.ceil(config.min_work_side / max(gray.shape))
        gray = np.clip(resampled(gray, gray.shape[0] * factor, gray.shape[1] * factor,
                                 Image.Resampling.BICUBIC), 0, 1)
        to_input /= factor
    inverted = polarities(gray)[0] if dark is None else dark
    tone = 1 - gray if inverted else gray
    ink = tone - paper_level(tone, config.background_window)
    smooth = blur(ink)
    paper = float(quantiles(smooth, [0.5], -1, 1)[0])
    # Robust std (median absolute deviation) of the whole image and of its middle, the lower:
    # a desk's wood grain around a note raised the first until thin strokes were "blank"; a
    # digit filling the middle of a small image raises the second. Floor: 8-bit quantisation.
    ink -= paper  # the same array as `- paper`, without a new one
    spread, middle_spread, peak = centred_spread(smooth, paper)  # smooth -= paper, in place
    noise = 1.4826 * min(spread, middle_spread) + 1e-3
    snr = config.strong_min_snr if peak >= config.strong_contrast else config.min_snr
    if peak < max(config.min_contrast, snr * noise) and peak >= config.strong_contrast:
        # Strong ink, yet "blank": the desk framing a note is narrower than paper_level's
        # window, so it stays in `ink`; when it fills about half of the photo, the spread of
        # levels is desk against note, not noise. Small tiles lie on one or the other. (Tuning
        # notes that were blank: 11 of 16 found right with this.)
        noise = min(noise, 1.4826 * _tile_deviation(smooth, config.noise_tile_px) + 1e-3)
    if peak < max(config.min_contrast, snr * noise):
        return None
    mask = smooth > max(config.noise_sigmas * noise, config.ink_fraction * peak)
    return InkMap(ink=ink, mask=mask, noise=noise, to_input=to_input, inverted=bool(inverted),
                  tone=tone)


def polarities(gray: np.ndarray) -> tuple[bool, ...]:
    """Whether ink is dark: (the answer,) or, when the image is ambiguous, (light, dark) (on a tie
    the first is taken).

    Paper is the median (ink is the minority), ink the farther extreme from it, with a lean
    towards dark ink on paper: a hand's shadow over half of a sheet held the median between lit
    paper and ink. When that says "light ink" but the middle of the image holds a much brighter
    sheet with dark marks (a note on a darker desk, where the desk held the median), both are
    possible: a bold light digit filling the middle of a dark image looks the same by these
    statistics. Coarse-block lighting estimates failed on thick strokes, whose blocks hold more
    ink than paper.
    """
    smooth = blur(gray)
    low, paper, high = quantiles(smooth, [0.002, 0.5, 0.998], 0, 1)
    if paper - low > DARK_LEAN * (high - paper):
        return (True,)
    middle_low, middle_paper, middle_high = quantiles(_middle(smooth), [0.002, 0.5, 0.998], 0, 1)
    if (middle_paper - middle_low > middle_high - middle_paper
            and middle_paper - paper > SHEET_CONTRAST):
        return (False, True)
    return (False,)


def dark_marks_in_middle(gray: np.ndarray, config: InkConfig) -> bool:
    """Whether the middle of a grey image (0–1) holds marks darker than the image's paper (its
    median) and at least min_contrast darker than the middle's own paper: a dark-ink reading is
    worth trying. A canvas of light strokes on black holds none."""
    smooth = blur(gray)
    paper = quantiles(smooth, [0.5], 0, 1)[0]
    low, middle_paper = quantiles(_middle(smooth), [0.002, 0.5], 0, 1)
    return bool(paper - low >= DARK_MARK and middle_paper - low >= config.min_contrast)


def _tile_deviation(values: np.ndarray, side: int) -> float:
    """The median over side × side tiles of each tile's median absolute deviation (edge rows
    and columns that fill no tile are left out)."""
    height, width = (values.shape[0] // side) * side, (values.shape[1] // side) * side
    tiles = values[:height, :width].reshape(height // side, side, width // side, side)
    tiles = tiles.transpose(0, 2, 1, 3).reshape(-1, side * side)
    centre = np.median(tiles, axis=1, keepdims=True)
    return float(np.median(np.median(np.abs(tiles - centre), axis=1)))


def _middle(image: np.ndarray) -> np.ndarray:
    """The central 60 % × 60 % of an image."""
    height, width = image.shape
    return image[height // 5: height - height // 5, width // 5: width - width // 5]


def paper_level(ink: np.ndarray, window: float) -> np.ndarray:
    """Paper brightness under uneven light: a grey opening wider than any stroke, on a coarse grid.

    An opening keeps linear and bowl-shaped lighting exactly and removes anything narrower than
    its window, which the ink is.
    """
    height, width = ink.shape
    factor = min(1.0, 64 / min(height, width))
    coarse = resize(ink, factor)
    half = max(1, round(window * min(coarse.shape) / 2))
    # Extending the image linearly (odd reflection) keeps a lighting ramp exact up to the edges;
    # with replicated edges the paper was underestimated by slope × half a window there, which
    # made a blank 0.55–0.95 ramp photo show "ink" along its bright side.
    padded = odd_reflected(coarse, 2 * half)
    opened = rank_filter(rank_filter(padded, 2 * half + 1, np.minimum, pad=False),
                         2 * half + 1, np.maximum, pad=False)
    return resampled(opened, height, width, Image.Resampling.BILINEAR)

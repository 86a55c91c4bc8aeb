"""Turns user images (encoded files, raw MNIST bytes, arrays) into MNIST-like 28×28 uint8 digits."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps

from serving.decode import (
    DECODE_ERRORS,
    DEFAULT_LIMITS,
    FORMATS_TEXT,
    ImageLimits,
    array_to_unit,
    composite,
    open_image,
    pil_to_gray,
    resize,
)
from serving.errors import InvalidImageError
from serving.imageops import (
    blur,
    component_boxes,
    label_components,
    max_filter,
    min_filter,
    quantiles,
    rank_filter,
    stroke_width,
)

MNIST_SIDE = 28  # side of an MNIST image, px
RAW_BYTES = MNIST_SIDE * MNIST_SIDE  # bytes of one raw MNIST-convention image
@dataclass(frozen=True)
class PreprocessConfig:
    """How the digit is found and normalised; the geometry follows how MNIST itself was made."""

    box_side: int = 20  # longer side of the scaled digit, px (MNIST: 20)
    centre: float = 14.0  # centre of mass in the output, row/column index (MNIST test: 13.99/14.01)
    work_side: int = 192  # longer side images are reduced to before analysis, px: the pipeline's
    # cost grows with its pixels (512: 15–30 ms per image); tuning split, 300 per style: 512 →
    # 99.18 %, 256 → 99.34 %, 192 → 99.34 %, 160 → 99.29 %
    min_work_side: int = 112  # smaller images are enlarged to this longer side first, px, so the
    # 1–2 px noise filters stay fine relative to the strokes (worst in/out similarity of 200
    # MNIST digits through prepare_array: 0.69 without, 0.78 with)
    background_window: float = 0.5  # paper-estimate opening width, fraction of the shorter side
    noise_sigmas: float = 4.0  # ink must stand this many noise std devs above the paper
    ink_fraction: float = 0.35  # ink mask threshold, fraction of the strongest ink contrast
    min_contrast: float = 0.08  # weakest ink that is not a blank page, fraction of full scale
    min_snr: float = 7.0  # weakest ink that is not a blank page, in noise std devs
    min_extent: float = 0.04  # smallest digit, fraction of the image's longer side
    min_extent_px: int = 3  # smallest digit, px of the analysed image
    group_radius: float = 0.01  # strokes this close join one digit, fraction of the longer side
    speck_fraction: float = 0.05  # groups with less ink than this share of the largest are specks
    stroke_range: tuple[float, float] = (2.2, 6.0)  # stroke widths left alone, px at box_side
    # (MNIST test by 2·area/perimeter at threshold 0.5: p10 = 2.2, median 2.9, p99 = 5.4)
    stroke_target: tuple[float, float] = (2.6, 4.5)  # widths thin/thick strokes are brought to, px
    raw_ink_level: int = 64  # a raw pixel at or above this uint8 value is ink
    raw_min_ink_pixels: int = 5  # fewer ink pixels make a raw image blank (MNIST minimum: 26)

    def __post_init__(self) -> None:
        if not MNIST_SIDE <= self.min_work_side <= self.work_side:
            raise ValueError(f"min_work_side must be in [{MNIST_SIDE}, work_side], got "
                             f"{self.min_work_side}")
        if not 0 < self.box_side <= MNIST_SIDE:
            raise ValueError(f"box_side must be in (0, {MNIST_SIDE}], got {self.box_side}")
        if not 0 <= self.centre < MNIST_SIDE:
            raise ValueError(f"centre must be in [0, {MNIST_SIDE}), got {self.centre}")
        if self.work_side < MNIST_SIDE:
            raise ValueError(f"work_side must be >= {MNIST_SIDE}, got {self.work_side}")
        fractions = ("background_window", "ink_fraction", "min_contrast", "min_extent",
                     "group_radius", "speck_fraction")
        for name in fractions:
            if not 0 < getattr(self, name) < 1:
                raise ValueError(f"{name} must be in (0, 1), got {getattr(self, name)}")
        if self.noise_sigmas <= 0 or self.min_snr <= 0 or self.min_extent_px < 1:
            raise ValueError("noise_sigmas and min_snr must be positive, min_extent_px >= 1")
        for name in ("stroke_range", "stroke_target"):
            low, high = getattr(self, name)
            if not 0 < low <= high:
                raise ValueError(f"{name} must be (low, high) with 0 < low <= high")
        if not 0 <= self.raw_ink_level <= 255 or self.raw_min_ink_pixels < 1:
            raise ValueError("raw_ink_level must be in [0, 255] and raw_min_ink_pixels >= 1")


DEFAULT_CONFIG = PreprocessConfig()


@dataclass(frozen=True)
class PreparedImage:
    """One image ready for the model, or the finding that it holds no digit."""

    pixels: np.ndarray | None  # uint8 [28, 28], light ink on dark (0 = background); None if blank
    blank: bool  # True: no ink found (blank page); report it as blank, don't guess
    ink_box: tuple[int, int, int, int] | None = None  # (left, top, right, bottom) px of the input
    inverted: bool = False  # True: the input had dark ink on light paper

    def __post_init__(self) -> None:
        if self.blank != (self.pixels is None):
            raise ValueError("pixels must be None exactly when the image is blank")
        if self.pixels is not None and (
            self.pixels.shape != (MNIST_SIDE, MNIST_SIDE) or self.pixels.dtype != np.uint8
        ):
            raise ValueError(f"pixels must be uint8 [28, 28], got {self.pixels.dtype} "
                             f"{self.pixels.shape}")


BLANK = PreparedImage(pixels=None, blank=True)


def prepare_raw(pixels: bytes, config: PreprocessConfig = DEFAULT_CONFIG) -> PreparedImage:
    """Use 784 bytes already in MNIST convention unchanged; blank when they hold no ink."""
    if len(pixels) != RAW_BYTES:
        raise InvalidImageError(
            f"raw image has {len(pixels)} bytes, expected {RAW_BYTES} (28×28 uint8, row-major, "
            f"0 = background); send other sizes as an encoded image"
        )
    image = np.frombuffer(pixels, dtype=np.uint8).reshape(MNIST_SIDE, MNIST_SIDE).copy()
    if np.count_nonzero(image >= config.raw_ink_level) < config.raw_min_ink_pixels:
        return BLANK
    image.flags.writeable = False
    return PreparedImage(pixels=image, blank=False)


def prepare_encoded(
    data: bytes, limits: ImageLimits = DEFAULT_LIMITS, config: PreprocessConfig = DEFAULT_CONFIG
) -> PreparedImage:
    """Decode one PNG/JPEG/BMP/GIF/WebP/TIFF file and prepare its digit.

    Raises InvalidImageError for empty or undecodable data, ImageTooLargeError beyond `limits`.
    """
    image = open_image(data, limits)
    original_side = max(image.size)
    try:
        if image.format in ("JPEG", "MPO"):
            # The JPEG decoder can scale by 1/2, 1/4 or 1/8 while decoding: far less work.
            factor = config.work_side / original_side
            if factor < 1:
                size = (math.ceil(image.width * factor), math.ceil(image.height * factor))
                image.draft("L", size)
        image = ImageOps.exif_transpose(image)
        gray = pil_to_gray(image, config.work_side)
    except DECODE_ERRORS as err:
        raise InvalidImageError(f"the image file is damaged or truncated ({FORMATS_TEXT} "
                                f"expected): {type(err).__name__}") from err
    return _prepare_gray(gray, original_side / max(gray.shape), config)


def prepare_array(image: np.ndarray, config: PreprocessConfig = DEFAULT_CONFIG) -> PreparedImage:
    """Prepare a decoded image: [H, W] gray or [H, W, 1–4] gray/gray+alpha/RGB/RGBA, any size.

    uint8 and other integers are 0–255, uint16 is 0–65535, floats are 0–1, bool is 0/1.
    """
    values = array_to_unit(np.asarray(image))
    if values.ndim == 3:
        channels = values.shape[2]
        luma = values[..., 0] if channels <= 2 else values[..., :3] @ np.float32([.299, .587, .114])
        gray = composite(luma, values[..., -1]) if channels in (2, 4) else luma
    else:
        gray = values
    original_side = max(gray.shape)
    gray = resize(gray, config.work_side / original_side)
    return _prepare_gray(gray, original_side / max(gray.shape), config)


# --- finding the ink ------------------------------------------------------------------------


def _prepare_gray(gray: np.ndarray, to_input: float, config: PreprocessConfig) -> PreparedImage:
    """The pipeline after decoding: polarity, paper removal, blank test, crop, scale, centre."""
    if max(gray.shape) < config.min_work_side:
        factor = math.ceil(config.min_work_side / max(gray.shape))
        size = (gray.shape[1] * factor, gray.shape[0] * factor)
        gray = np.clip(np.asarray(Image.fromarray(gray.astype(np.float32)).resize(
            size, Image.Resampling.BICUBIC)), 0, 1)
        to_input /= factor
    inverted = _ink_is_dark(gray)
    ink = 1 - gray if inverted else gray
    ink = ink - _paper_level(ink, config.background_window)
    smooth = blur(ink)
    paper = float(quantiles(smooth, [0.5], -1, 1)[0])
    # Robust std (median absolute deviation); floor: 8-bit quantisation.
    noise = 1.4826 * float(quantiles(np.abs(smooth - paper), [0.5], 0, 1)[0]) + 1e-3
    ink, smooth = ink - paper, smooth - paper
    peak = float(smooth.max())
    if peak < max(config.min_contrast, config.min_snr * noise):
        return BLANK
    strokes = _digit_strokes(smooth > max(config.noise_sigmas * noise, config.ink_fraction * peak),
                             config)
    if strokes is None:
        return BLANK
    rows, cols = np.flatnonzero(strokes.any(axis=1)), np.flatnonzero(strokes.any(axis=0))
    top, bottom, left, right = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    level = float(quantiles(ink[strokes], [0.75], -1, 1)[0])
    floor = max(2 * noise, 0.15 * level)
    # Antialiased stroke edges lie below the mask threshold: keep ink within 2 px of a stroke.
    near = max_filter(strokes, 5)
    ink = np.clip((ink - floor) / max(level - floor, 1e-6), 0, 1) * near
    pixels = _scale_and_centre(ink, strokes, (top, bottom, left, right), config)
    box = tuple(round(float(v) * to_input) for v in (left, top, right, bottom))
    pixels.flags.writeable = False
    return PreparedImage(pixels=pixels, blank=False, ink_box=box, inverted=bool(inverted))


def _ink_is_dark(gray: np.ndarray) -> bool:
    """Polarity: paper is the median (ink is the minority), ink the farther extreme from it.

    Coarse-block lighting estimates failed on thick strokes, whose blocks hold more ink than paper.
    """
    low, paper, high = quantiles(blur(gray), [0.002, 0.5, 0.998], 0, 1)
    return paper - low > high - paper


def _paper_level(ink: np.ndarray, window: float) -> np.ndarray:
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
    padded = np.pad(coarse, 2 * half, mode="reflect", reflect_type="odd")
    opened = rank_filter(rank_filter(padded, 2 * half + 1, np.minimum, pad=False),
                          2 * half + 1, np.maximum, pad=False)
    return np.asarray(Image.fromarray(opened.astype(np.float32)).resize(
        (width, height), Image.Resampling.BILINEAR))


def _digit_strokes(mask: np.ndarray, config: PreprocessConfig) -> np.ndarray | None:
    """The mask pixels of the digit: nearby stroke groups around the largest, specks dropped."""
    longer = max(mask.shape)
    radius = round(config.group_radius * longer)
    labels, count = label_components(max_filter(mask, 2 * radius + 1) if radius else mask)
    if count == 0:
        return None
    ink = np.bincount(labels[mask], minlength=count + 1)
    boxes = component_boxes(labels, count)
    main = int(ink[1:].argmax()) + 1
    top, bottom, left, right = boxes[main]
    if max(bottom - top, right - left) - 2 * radius < max(config.min_extent * longer,
                                                            config.min_extent_px):
        return None
    kept = {main}
    changed = True
    while changed:
        changed = False
        margin = 0.25 * max(bottom - top, right - left)
        for label in range(1, count + 1):
            if label in kept or ink[label] < config.speck_fraction * ink[main]:
                continue
            t, b, lf, rt = boxes[label]
            near_rows = t < bottom + margin and b > top - margin
            if near_rows and lf < right + margin and rt > left - margin:
                kept.add(label)
                top, bottom = min(top, t), max(bottom, b)
                left, right = min(left, lf), max(right, rt)
                changed = True
    keep = np.zeros(count + 1, bool)
    keep[list(kept)] = True
    return mask & keep[labels]


# --- scaling and centring -------------------------------------------------------------------


def _scale_and_centre(
    ink: np.ndarray, strokes: np.ndarray, box: tuple[int, int, int, int],
    config: PreprocessConfig,
) -> np.ndarray:
    """Bring strokes to MNIST width, fit the stroke box into box_side², centre by mass in 28²."""
    top, bottom, left, right = box
    scale = config.box_side / max(bottom - top, right - left)
    width = stroke_width(strokes[top:bottom, left:right]) * scale
    low, high = config.stroke_range
    grow = 0
    if width < low:
        grow = round((config.stroke_target[0] - width) / 2 / scale)
    elif width > high and scale < 0.5:  # eroding coarser images breaks thin parts of strokes
        grow = -min(round((width - config.stroke_target[1]) / 2 / scale),
                    round(0.15 * (width / scale)))
    margin = math.ceil(1.5 / scale) + abs(grow)
    crop = np.pad(ink, margin)[top: bottom + 2 * margin, left: right + 2 * margin]
    if grow > 0:
        crop = max_filter(crop, 2 * grow + 1)
        scale = config.box_side / (max(bottom - top, right - left) + 2 * grow)
    elif grow < 0:
        crop = min_filter(crop, -2 * grow + 1)
    size = (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale)))
    small = np.asarray(Image.fromarray(crop.astype(np.float32)).resize(
        size, Image.Resampling.LANCZOS))
    small = np.clip(small, 0, None)
    small = small[: MNIST_SIDE, : MNIST_SIDE] / max(float(small.max()), 1e-6)
    mass = small.sum()
    row = float(np.arange(small.shape[0]) @ small.sum(axis=1) / mass)
    col = float(np.arange(small.shape[1]) @ small.sum(axis=0) / mass)
    y = int(np.clip(round(config.centre - row), 0, MNIST_SIDE - small.shape[0]))
    x = int(np.clip(round(config.centre - col), 0, MNIST_SIDE - small.shape[1]))
    out = np.zeros((MNIST_SIDE, MNIST_SIDE), np.uint8)
    out[y: y + small.shape[0], x: x + small.shape[1]] = np.round(small * 255).astype(np.uint8)
    return out

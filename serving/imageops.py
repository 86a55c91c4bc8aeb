"""Image operations on numpy arrays, their per-pixel loops in C (serving/_imagecore.c; this module
is the only one that calls it): components and their boxes, ends and statistics, runs, stroke
width, rank filters, blur, quantiles, resampling, block pooling, and the line search."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image

from serving import _imagecore  # the per-pixel loops, in C (serving/_imagecore.c)


def label_components(mask: np.ndarray) -> tuple[np.ndarray, int]:
    """8-connected components of a bool mask: (labels with 0 = background, count), numbered in
    the order of each component's first pixel in row-major order."""
    mask = np.ascontiguousarray(mask, dtype=bool)
    labels = np.empty(mask.shape, np.int32)
    count = _imagecore.label(mask, *mask.shape, labels)
    return labels, count


def padded(values: np.ndarray, top: int, bottom: int, left: int, right: int,
           edge: bool = False) -> np.ndarray:
    """A 2-D array grown by the given rows and columns: zeros, or with `edge` its edge values
    repeated (np.pad's "constant" and "edge", at a fraction of its per-call cost, which
    dominated on small images)."""
    height, width = values.shape
    out = np.zeros((height + top + bottom, width + left + right), values.dtype)
    out[top:top + height, left:left + width] = values
    if edge:
        out[:top, left:left + width] = values[:1]
        out[top + height:, left:left + width] = values[-1:]
        out[:, :left] = out[:, left:left + 1]
        out[:, left + width:] = out[:, left + width - 1:left + width]
    return out


def odd_reflected(values: np.ndarray, pad: int) -> np.ndarray:
    """A 2-D array grown by `pad` on every side, extended linearly: np.pad's "reflect" with
    reflect_type "odd" (2 × edge - mirror image), rows first, at a fraction of its per-call cost
    (in C for float32)."""
    height, width = values.shape
    if pad >= min(height, width):  # more than one reflection: np.pad repeats them
        return np.pad(values, pad, mode="reflect", reflect_type="odd")
    if pad <= 0:
        return values.copy()
    out = np.empty((height + 2 * pad, width + 2 * pad), values.dtype)
    if values.dtype == np.float32:
        _imagecore.odd_reflect(np.ascontiguousarray(values), height, width, pad, out)
        return out
    rows = np.empty((height + 2 * pad, width), values.dtype)
    rows[pad:pad + height] = values
    rows[:pad] = 2 * values[:1] - values[pad:0:-1]
    rows[pad + height:] = 2 * values[-1:] - values[-2:-pad - 2:-1]
    out[:, pad:pad + width] = rows
    out[:, :pad] = 2 * rows[:, :1] - rows[:, pad:0:-1]
    out[:, pad + width:] = 2 * rows[:, -1:] - rows[:, -2:-pad - 2:-1]
    return out


def pooled_any(mask: np.ndarray, factor: int) -> np.ndarray:
    """bool [H // factor, W // factor]: whether any pixel of each factor × factor block of a bool
    mask is set (the rows and columns beyond the last whole block dropped)."""
    mask = np.ascontiguousarray(mask, dtype=bool)
    out = np.empty((mask.shape[0] // factor, mask.shape[1] // factor), bool)
    _imagecore.pool_any(mask, *mask.shape, factor, out)
    return out


def in_blocks(mask: np.ndarray, blocks: np.ndarray, factor: int) -> np.ndarray:
    """The pixels of a bool mask whose factor × factor block is set in `blocks` (bool, at most
    the mask's whole blocks); the rows and columns beyond the blocks: never."""
    mask = np.ascontiguousarray(mask, dtype=bool)
    blocks = np.ascontiguousarray(blocks, dtype=bool)
    out = np.empty(mask.shape, bool)
    _imagecore.in_blocks(mask, *mask.shape, blocks, *blocks.shape, factor, out)
    return out


def component_boxes(labels: np.ndarray, count: int) -> np.ndarray:
    """[count + 1, 4] (top, bottom, left, right) of each label, bottom/right exclusive (row 0, the
    background, is (max, 0, max, 0))."""
    labels = np.ascontiguousarray(labels, dtype=np.int32)
    boxes = np.empty((count + 1, 4), np.int64)
    _imagecore.boxes(labels, *labels.shape, count, boxes)
    return boxes


def component_ends(labels: np.ndarray, count: int) -> np.ndarray:
    """int64 [count + 1, 4]: per label, (row, column) of its leftmost pixel (the topmost of
    those) and of its rightmost pixel (the bottommost of those); -1s for label 0."""
    labels = np.ascontiguousarray(labels, dtype=np.int32)
    out = np.empty((count + 1, 4), np.int64)
    _imagecore.ends(labels, *labels.shape, count, out)
    return out


def mask_box(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    """(top, bottom, left, right) of a bool mask's True pixels, bottom/right exclusive; None if
    it has none."""
    mask = np.ascontiguousarray(mask, dtype=bool)
    return _imagecore.mask_box(mask, *mask.shape)


def boundary(mask: np.ndarray) -> np.ndarray:
    """The pixels of a bool mask with a 4-neighbour outside it (the image's edge counts as out)."""
    return _boundary(mask)[0]


def stroke_width(mask: np.ndarray) -> float:
    """Mean stroke width, px: 2·area / boundary length (exact for long uniform strokes)."""
    mask = np.ascontiguousarray(mask, dtype=bool)
    return 2 * np.count_nonzero(mask) / max(_boundary(mask)[1], 1)


def _boundary(mask: np.ndarray) -> tuple[np.ndarray, int]:
    """(boundary pixels of a bool mask, how many)."""
    mask = np.ascontiguousarray(mask, dtype=bool)
    out = np.empty(mask.shape, bool)
    return out, _imagecore.boundary(mask, *mask.shape, out)


def mask_groups(labels: np.ndarray, mask: np.ndarray,
                count: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Groups of a bool `mask` labelled on a grown copy of it (strokes joined), `labels` 0..count:
    (the labels where the mask is set, 0 elsewhere; per label, int64 [count + 1]: its mask pixels,
    those on the mask's boundary (a 4-neighbour outside it or the image), and [count + 1, 4] their
    box as component_boxes gives it). Label 0 counts nothing. `labels` as label_components gives
    them (int32, C-ordered) are changed in place and returned; others are copied first."""
    kept = np.require(labels, np.int32, ["C_CONTIGUOUS", "WRITEABLE"])
    mask = np.ascontiguousarray(mask, dtype=bool)
    pixels, edges = np.empty(count + 1, np.int64), np.empty(count + 1, np.int64)
    boxes = np.empty((count + 1, 4), np.int64)
    _imagecore.mask_groups(kept, mask, *kept.shape, count, pixels, edges, boxes)
    return kept, pixels, edges, boxes


def surround_shares(labels: np.ndarray, near: np.ndarray, covered: np.ndarray, tone: np.ndarray,
                    contrast: np.ndarray, ink: np.ndarray, way: float) -> np.ndarray:
    """float64 [count + 1]: per label, the share of its surroundings (the pixels whose `near`
    label it is, not `covered`) whose tone is above paper + way × (level - paper), level and
    paper being the label's mean tone and paper (tone - contrast) over its own pixels (`ink` of
    them). `near` may be uint8 (fewer than 256 labels) or int32."""
    labels = np.ascontiguousarray(labels, dtype=np.int32)
    ink = np.ascontiguousarray(ink, dtype=np.int64)
    near = np.ascontiguousarray(near)
    if near.dtype != np.uint8:
        near = near.astype(np.int32)
    shares = np.empty(ink.size, np.float64)
    _imagecore.surround_shares(labels, near, "B" if near.dtype == np.uint8 else "i",
                               np.ascontiguousarray(covered, dtype=bool),
                               np.ascontiguousarray(tone, dtype=np.float32),
                               np.ascontiguousarray(contrast, dtype=np.float32), *labels.shape,
                               ink.size - 1, ink, float(way), shares)
    return shares


def run_lengths(mask: np.ndarray) -> np.ndarray:
    """For each True pixel, the length of the horizontal run of True it belongs to (0 elsewhere)."""
    mask = np.ascontiguousarray(mask, dtype=bool)
    out = np.empty(mask.shape, np.int32)
    _imagecore.run_lengths(mask, *mask.shape, out)
    return out


def short_runs(mask: np.ndarray, longest: int) -> tuple[np.ndarray, np.ndarray]:
    """(the pixels of a bool mask whose vertical run of set pixels is at most `longest` long,
    those whose horizontal run is): mask & (run_lengths(mask.T).T <= longest) and
    mask & (run_lengths(mask) <= longest), in one pass each way."""
    mask = np.ascontiguousarray(mask, dtype=bool)
    down, across = np.empty(mask.shape, bool), np.empty(mask.shape, bool)
    _imagecore.short_runs(mask, *mask.shape, longest, down, across)
    return down, across


def tilt_shifts(tans: np.ndarray, width: int) -> np.ndarray:
    """int64 [tilts, width]: per tilt (its tangent), how many rows column x moves down so that
    lines at that tilt lie along rows: round(x · tan), less the least of the row (line_search's
    `shifts`)."""
    tans = np.ascontiguousarray(tans, dtype=np.float64)
    out = np.empty((tans.size, width), np.int64)
    _imagecore.tilt_shifts(tans, tans.size, width, out)
    return out


def line_search(thin: np.ndarray, shifts: np.ndarray, gap: int,
                lengths: Sequence[tuple[float, float, float]], uses: np.ndarray) -> np.ndarray:
    """bool [rules, H, W]: per rule, the pixels of `thin` (bool [H, W]) on straight lines at the
    tilts it uses.

    Tilt k moves column x down by shifts[k, x] ≥ 0 rows, so that lines at that tilt lie along
    rows, each row ORed with the one below (a tilted thin line steps rows, not breaks). Rule r,
    lengths[r] = (free_length, border_length, edge_margin), looks at the tilts k where uses[k, r]:
    there the row runs, gaps up to `gap` px bridged, are lines when at least free_length × W
    long, or border_length × W long and ending within edge_margin × W of a side (skipped at
    once when no row holds min(free, border) × W pixels with `gap` to spare)."""
    thin = np.ascontiguousarray(thin, dtype=bool)
    shifts = np.ascontiguousarray(shifts, dtype=np.int64)
    uses = np.ascontiguousarray(uses, dtype=bool)
    flat = np.ascontiguousarray(lengths, dtype=np.float64)
    if shifts.shape != (uses.shape[0], thin.shape[1]) or flat.shape != (uses.shape[1], 3):
        raise ValueError("shifts must be [tilts, W], lengths [rules, 3] and uses [tilts, rules]")
    out = np.empty((len(flat), *thin.shape), bool)
    _imagecore.line_search(thin, *thin.shape, gap, len(shifts), shifts, len(flat), flat, uses, out)
    return out


def max_filter(values: np.ndarray, size: int) -> np.ndarray:
    """Grey (or binary) dilation by a size×size square, edges replicated."""
    return rank_filter(values, size, np.maximum)


def min_filter(values: np.ndarray, size: int) -> np.ndarray:
    """Grey (or binary) erosion by a size×size square, edges replicated."""
    return rank_filter(values, size, np.minimum)


def rank_filter(values: np.ndarray, size: int, pair: np.ufunc, pad: bool = True) -> np.ndarray:
    """Separable size×size min or max (`pair` is np.minimum or np.maximum) of a bool, uint8,
    int32 or float array; without `pad` the result shrinks by size - 1 ("valid")."""
    if pair not in (np.minimum, np.maximum):
        raise ValueError(f"pair must be np.minimum or np.maximum, got {pair}")
    if size <= 1:
        return values
    values = np.ascontiguousarray(values)
    kind = _RANK_KINDS.get(values.dtype)
    if kind is None:
        raise TypeError(f"rank filters take {', '.join(map(str, _RANK_KINDS))}, got {values.dtype}")
    lead = size // 2 if pad else 0  # edge pixels repeated on every side
    height, width = values.shape
    out = np.empty((max(0, height + 2 * lead - size + 1), max(0, width + 2 * lead - size + 1)),
                   values.dtype)
    if out.size:
        _imagecore.rank(values, kind, height, width, size, pair is np.maximum, lead, out)
    return out


_RANK_KINDS = {np.dtype(bool): "B", np.dtype(np.uint8): "B", np.dtype(np.int32): "i",
               np.dtype(np.float32): "f", np.dtype(np.float64): "d"}  # element kinds in C


def blur(values: np.ndarray) -> np.ndarray:
    """Binomial 5×5 blur (σ ≈ 1 px) that suppresses pixel noise before thresholding, float32:
    [1, 4, 6, 4, 1] is [1, 1] applied four times, down and then across."""
    values = np.ascontiguousarray(values, dtype=np.float32)
    out = np.empty(values.shape, np.float32)
    if out.size:
        _imagecore.pair_sums(values, *values.shape, out)
    return out


def quantiles(values: np.ndarray, fractions: list[float], low: float, high: float,
              bins: int = 4096) -> np.ndarray:
    """Quantiles (0–1) of values within [low, high] from a histogram, linear inside a bin.

    Error ≤ (high - low) / bins. np.percentile partitions float32 at ~11 ns per value (540 µs
    for the median of 256×192); the histogram takes ~20 µs. Values outside the range count in
    the end bins.
    """
    values = np.ascontiguousarray(values)
    if values.dtype not in (np.float32, np.float64):
        values = values.astype(np.float64)
    fractions = np.asarray(fractions, dtype=np.float64)
    out = np.empty(fractions.shape, np.float64)
    _imagecore.quantiles(values, "f" if values.dtype == np.float32 else "d", low, high, bins,
                         fractions, out)
    return out


def centred_spread(smooth: np.ndarray, paper: float) -> tuple[float, float, float]:
    """Subtracts `paper` from the float32 C-ordered image `smooth` in place (as numpy's -=) and
    returns (the median of |smooth|, that of its middle 60 % × 60 % (rows h // 5 to h - h // 5,
    columns likewise), the largest value of smooth), the medians as quantiles over [0, 1]."""
    if smooth.dtype != np.float32 or not smooth.flags.c_contiguous or smooth.ndim != 2:
        raise ValueError("smooth must be a C-ordered float32 image, changed in place")
    out = np.empty(3, np.float64)
    _imagecore.centred_spread(smooth, *smooth.shape, float(paper), out)
    return float(out[0]), float(out[1]), float(out[2])


def stroke_ink(ink: np.ndarray, strokes: np.ndarray, near: np.ndarray, noise: float) -> np.ndarray:
    """float32: a digit's `ink` scaled to 0–1 between its floor and its level, where `near`, 0
    elsewhere. level is the median ink over the bool `strokes` (quantiles over [-1, 1]), floor
    max(2 · noise, 0.15 · level): np.clip((ink - floor) / max(level - floor, 1e-6), 0, 1) * near
    in one pass, bit for bit."""
    ink = np.ascontiguousarray(ink, dtype=np.float32)
    strokes = np.ascontiguousarray(strokes, dtype=bool)
    near = np.ascontiguousarray(near, dtype=bool)
    if not ink.shape == strokes.shape == near.shape:
        raise ValueError(f"ink, strokes and near differ in shape: {ink.shape}, {strokes.shape}, "
                         f"{near.shape}")
    out = np.empty(ink.shape, np.float32)
    _imagecore.stroke_ink(ink, strokes, near, *ink.shape, float(noise), out)
    return out


_KERNELS = {Image.Resampling.BOX: 0, Image.Resampling.BILINEAR: 1, Image.Resampling.BICUBIC: 2,
            Image.Resampling.LANCZOS: 3}  # Pillow's filters → serving/_imagecore.c's kernels


def resampled(values: np.ndarray, height: int, width: int,
              kernel: Image.Resampling = Image.Resampling.BOX) -> np.ndarray:
    """float32 [height, width]: a float image resized as Pillow's resize does with `kernel` (box,
    bilinear, bicubic or Lanczos, widened when shrinking), without converting to an Image."""
    if kernel not in _KERNELS:
        raise ValueError(f"kernel must be one of {', '.join(k.name for k in _KERNELS)}, got {kernel}")
    values = np.ascontiguousarray(values, dtype=np.float32)
    out = np.empty((height, width), np.float32)
    _imagecore.resample(values, *values.shape, _KERNELS[kernel], out, height, width)
    return out

"""Small numpy image operations: components, boxes, stroke width, rank filters, blur, quantiles."""

from __future__ import annotations

import numpy as np


def label_components(mask: np.ndarray) -> tuple[np.ndarray, int]:
    """8-connected components of a bool mask: (labels with 0 = background, count).

    Works on horizontal runs: runs in consecutive rows that touch are merged by min-label
    propagation with pointer jumping, all in numpy.
    """
    width = mask.shape[1]
    run_row, run_start, run_end = horizontal_runs(mask)
    labels = np.zeros(mask.shape, np.int32)
    if run_row.size == 0:
        return labels, 0
    stride = width + 2
    # Run b in the next row touches run a (8-connected) iff start_b <= end_a and start_a <= end_b.
    first = np.searchsorted(run_row * stride + run_end, (run_row + 1) * stride + run_start)
    last = np.searchsorted(run_row * stride + run_start, (run_row + 1) * stride + run_end, "right")
    a, b = expand_ranges(first, np.maximum(last - first, 0))
    parent = np.arange(run_row.size)
    while True:
        low = np.minimum(parent[a], parent[b])
        new = parent.copy()
        np.minimum.at(new, a, low)
        np.minimum.at(new, b, low)
        new = new[new]
        if np.array_equal(new, parent):
            break
        parent = new
    _, component = np.unique(parent, return_inverse=True)
    run_index, cols = expand_ranges(run_start, run_end - run_start)
    labels[run_row[run_index], cols] = component[run_index] + 1
    return labels, int(component.max()) + 1


def horizontal_runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(row, first column, one past the last column) of each horizontal run of True in a bool
    mask, in row-major order."""
    framed = np.zeros((mask.shape[0], mask.shape[1] + 2), bool)
    framed[:, 1:-1] = mask
    rows, cols = np.nonzero(framed[:, 1:] != framed[:, :-1])
    # Each run's start and end alternate along its row (one pass instead of one per kind).
    return rows[0::2], cols[0::2], cols[1::2]


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


def expand_ranges(starts: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For ranges [start, start + count): (index of the range, value) for every member."""
    owner = np.repeat(np.arange(starts.size), counts)
    offsets = np.arange(owner.size) - np.repeat(np.cumsum(counts) - counts, counts)
    return owner, starts[owner] + offsets


def component_boxes(labels: np.ndarray, count: int) -> np.ndarray:
    """[count + 1, 4] (top, bottom, left, right) of each label, bottom/right exclusive."""
    rows, cols = np.nonzero(labels)
    which = labels[rows, cols]
    boxes = np.zeros((count + 1, 4), np.int64)
    boxes[:, 0] = boxes[:, 2] = np.iinfo(np.int64).max
    np.minimum.at(boxes[:, 0], which, rows)
    np.maximum.at(boxes[:, 1], which, rows + 1)
    np.minimum.at(boxes[:, 2], which, cols)
    np.maximum.at(boxes[:, 3], which, cols + 1)
    return boxes


def mask_box(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    """(top, bottom, left, right) of a bool mask's True pixels, bottom/right exclusive; None if
    it has none."""
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask.any(axis=0))
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


def boundary(mask: np.ndarray) -> np.ndarray:
    """The pixels of a bool mask with a 4-neighbour outside it (the image's edge counts as out)."""
    framed = padded(mask, 1, 1, 1, 1)
    inner = (framed[1:-1, 1:-1] & framed[:-2, 1:-1] & framed[2:, 1:-1]
             & framed[1:-1, :-2] & framed[1:-1, 2:])
    return mask & ~inner


def stroke_width(mask: np.ndarray) -> float:
    """Mean stroke width, px: 2·area / boundary length (exact for long uniform strokes)."""
    return 2 * np.count_nonzero(mask) / max(np.count_nonzero(boundary(mask)), 1)


def max_filter(values: np.ndarray, size: int) -> np.ndarray:
    """Grey (or binary) dilation by a size×size square, edges replicated."""
    return rank_filter(values, size, np.maximum)


def min_filter(values: np.ndarray, size: int) -> np.ndarray:
    """Grey (or binary) erosion by a size×size square, edges replicated."""
    return rank_filter(values, size, np.minimum)


def rank_filter(values: np.ndarray, size: int, pair: np.ufunc, pad: bool = True) -> np.ndarray:
    """Separable size×size min or max (`pair` is np.minimum or np.maximum); without `pad` the
    result shrinks by size - 1 ("valid").
    """
    if size <= 1:
        return values
    half = size // 2
    grown = padded(values, half, half, half, half, edge=True) if pad else values
    return _window_reduce(_window_reduce(grown, size, pair, 0), size, pair, 1)


def _window_reduce(values: np.ndarray, size: int, pair: np.ufunc, axis: int) -> np.ndarray:
    """min/max over every run of `size` along `axis` ("valid"), by doubling spans.

    ~log2(size) whole-array ufunc calls instead of a size-wide sliding window: an 11-px dilation
    of a 512² mask took 12 ms with sliding_window_view + np.max, 0.7 ms this way (same output).
    """
    def part(array: np.ndarray, start: int, stop: int) -> np.ndarray:
        return array[start:stop] if axis == 0 else array[:, start:stop]

    length = values.shape[axis]
    span = 1
    while 2 * span <= size:
        values = pair(part(values, 0, length - span), part(values, span, length))
        length -= span
        span *= 2
    # Runs of `span` starting at i and at i + size - span together cover exactly [i, i + size).
    count = length - (size - span)
    return pair(part(values, 0, count), part(values, size - span, size - span + count))


def blur(values: np.ndarray) -> np.ndarray:
    """Binomial 5×5 blur (σ ≈ 1 px) that suppresses pixel noise before thresholding.

    [1, 4, 6, 4, 1] is [1, 1] applied four times: 8 shifted adds instead of 10 weighted sums
    (512²: 2.3 ms instead of 5.4 ms).
    """
    out = padded(values.astype(np.float32, copy=False), 2, 2, 2, 2, edge=True)
    for _ in range(4):
        out = out[1:] + out[:-1]
    for _ in range(4):
        out = out[:, 1:] + out[:, :-1]
    out *= np.float32(1 / 256)
    return out


def quantiles(values: np.ndarray, fractions: list[float], low: float, high: float,
              bins: int = 4096) -> np.ndarray:
    """Quantiles (0–1) of values within [low, high] from a histogram, linear inside a bin.

    Error ≤ (high - low) / bins. np.percentile partitions float32 at ~11 ns per value (540 µs
    for the median of 256×192); the histogram takes ~0.1 ms. Values outside the range count in
    the end bins.
    """
    scale = bins / (high - low)
    index = np.clip((values.ravel() - low) * scale, 0, bins - 1).astype(np.intp)
    counts = np.bincount(index, minlength=bins)
    cdf = np.cumsum(counts)
    rank = np.asarray(fractions, dtype=np.float64) * values.size
    found = np.minimum(np.searchsorted(cdf, rank), bins - 1)
    before = cdf[found] - counts[found]
    within = (rank - before) / np.maximum(counts[found], 1)
    return low + (found + within) / scale

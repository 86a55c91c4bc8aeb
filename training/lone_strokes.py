"""Is a prepared image one straight stroke, that is, what a person reads as a 1?

A rendered non-digit can come out of preprocessing as a lone straight bar: a ruler or a box whose
lines were taken out leaves one side, a rule or a dash drawn upright. Labelled "not a digit", such
images taught the model to refuse a 1 drawn as one straight stroke (a canvas 1 came back "not a
digit" in 16 of 16 tries). The training negatives and the held-out non-digit set leave them out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from serving.imageops import label_components

INK = 128  # a pixel at or above this (of 255) is a stroke pixel when measuring edges
TRACE = 64  # ... at or above this, it joins the pieces when counting them (faint links count)


@dataclass(frozen=True)
class StrokeRule:
    """What makes one piece of ink a straight, upright stroke of even width."""

    max_thinness: float = 0.3  # the ink's spread across its axis / along it (standard deviations)
    max_tilt_deg: float = 45.0  # the axis's angle from vertical; a flatter bar is a dash, not a 1
    max_edge_px: float = 1.0  # either edge's largest distance from its own straight line, px:
    # 67 % of MNIST's training 1s and none of 17,719 other training digits (of the first 20,000)
    # pass. At 1.5 px, 87 % and 8 would, and so would rulers whose ticks came out as 1 px bumps,
    # which the model can still tell from a 1.
    min_length_px: int = 10  # a shorter piece is a dot or a blob, not a stroke


DEFAULT_RULE = StrokeRule()


def is_lone_stroke(pixels: np.ndarray, rule: StrokeRule = DEFAULT_RULE) -> bool:
    """True when uint8 `pixels` [H, W] (ink bright, as preprocessing renders) hold one connected
    piece of ink that is a straight, upright stroke of even width."""
    ink = pixels >= INK
    if not ink.any() or label_components(pixels >= TRACE)[1] != 1:
        return False
    weights = pixels.astype(np.float64)
    ys, xs = np.indices(pixels.shape, dtype=np.float64)
    total = weights.sum()
    centre_y, centre_x = (weights * ys).sum() / total, (weights * xs).sum() / total
    dy, dx = ys - centre_y, xs - centre_x
    covariance = np.array([[(weights * dy * dy).sum(), (weights * dy * dx).sum()],
                           [(weights * dy * dx).sum(), (weights * dx * dx).sum()]]) / total
    spreads, axes = np.linalg.eigh(covariance)  # ascending: across, then along
    if np.sqrt(max(spreads[0], 0.0) / spreads[1]) > rule.max_thinness:
        return False
    along_axis, across_axis = axes[:, 1], axes[:, 0]
    if np.degrees(np.arctan2(abs(along_axis[1]), abs(along_axis[0]))) > rule.max_tilt_deg:
        return False
    along = dy[ink] * along_axis[0] + dx[ink] * along_axis[1]
    across = dy[ink] * across_axis[0] + dx[ink] * across_axis[1]
    return _edges_straight(np.round(along).astype(np.int64), across, rule)


def _edges_straight(slices: np.ndarray, across: np.ndarray, rule: StrokeRule) -> bool:
    """Both edges of the stroke (the least and greatest `across` in each 1 px slice along it,
    leaving out two slices at each end, the caps) lie within rule.max_edge_px of a straight line."""
    present, index = np.unique(slices, return_inverse=True)
    if present.size < rule.min_length_px:
        return False
    low = np.full(present.size, np.inf)
    high = np.full(present.size, -np.inf)
    np.minimum.at(low, index, across)
    np.maximum.at(high, index, across)
    inner = slice(2, -2)  # without the caps
    low, high, present = low[inner], high[inner], present[inner]
    for edge in (low, high):
        fitted = np.polyval(np.polyfit(present, edge, 1), present)
        if np.abs(edge - fitted).max() > rule.max_edge_px:
            return False
    return True

"""Drawing helpers of the non-digit images: pen strokes, filled shapes and splines as masks in
object space, points fitted to a unit box, and a mask's rotation and slant."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw

Rng = np.random.Generator
OBJECT_PX = 192  # drawings are made at this size (object space) and resampled onto the canvas


def polylines(strokes: Sequence[np.ndarray], pen: float, closed: bool = False) -> Image.Image:
    """White strokes ([K, 2] arrays of x, y in object px) on black, round caps and joints."""
    pad = pen + 2
    points = np.vstack(strokes)
    low = points.min(axis=0) - pad
    size = np.ceil(points.max(axis=0) + pad - low).astype(int) + 1
    mask = Image.new("L", (int(size[0]), int(size[1])), 0)
    draw = ImageDraw.Draw(mask)
    radius = pen / 2
    for stroke in strokes:
        xy = [(float(x), float(y)) for x, y in stroke - low]
        if closed:
            xy.append(xy[0])
        if len(xy) > 1:
            draw.line(xy, fill=255, width=max(1, round(pen)))
        for x, y in xy:  # round joints: a PIL line's corners are mitred or gapped
            draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=255)
    return mask


def polygon(points: np.ndarray) -> Image.Image:
    """A filled polygon ([K, 2] object px) on black."""
    low = points.min(axis=0) - 2
    size = np.ceil(points.max(axis=0) + 2 - low).astype(int) + 1
    mask = Image.new("L", (int(size[0]), int(size[1])), 0)
    ImageDraw.Draw(mask).polygon([(float(x), float(y)) for x, y in points - low], fill=255)
    return mask


def spline(points: np.ndarray, per_segment: int = 10) -> np.ndarray:
    """Catmull–Rom curve through the points [K, 2] (a smooth hand-drawn path)."""
    p = np.vstack([points[:1], points, points[-1:]])
    t = np.linspace(0, 1, per_segment, endpoint=False)[:, None]
    parts = [
        0.5 * (2 * p1 + (p2 - p0) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t**2
               + (3 * p1 - p0 - 3 * p2 + p3) * t**3)
        for p0, p1, p2, p3 in zip(p[:-3], p[1:-2], p[2:-1], p[3:], strict=True)
    ]
    return np.vstack([*parts, points[-1:]])


def unit_box(points: Sequence[tuple[float, float]] | np.ndarray, rng: Rng, jitter: float) -> np.ndarray:
    """Unit-box points in object px, each nudged by jitter (fraction of the box) like a hand."""
    array = np.asarray(points, dtype=np.float64)
    return (array + rng.normal(0, jitter, array.shape)) * OBJECT_PX


def fit(strokes: Sequence[np.ndarray | Sequence[tuple[float, float]]]) -> list[np.ndarray]:
    """The strokes moved and scaled together so that their box's longer side spans [0, 1]; the
    pen width callers get is meant for a drawing of that size."""
    arrays = [np.asarray(s, dtype=np.float64) for s in strokes]
    points = np.vstack(arrays)
    low, extent = points.min(axis=0), max(float(np.ptp(points, axis=0).max()), 1e-9)
    return [(a - low) / extent for a in arrays]


def ring(count: int, radius: np.ndarray | float, phase: float) -> np.ndarray:
    angles = phase + np.arange(count) * 2 * np.pi / count
    return np.stack([0.5 + radius * np.cos(angles) / 2, 0.5 + radius * np.sin(angles) / 2], axis=1)


def transform(mask: Image.Image, rotation_deg: float, shear: float) -> Image.Image:
    """The mask sheared (x += shear·y, an italic lean) then rotated, canvas grown to fit."""
    w, h = mask.size
    angle = math.radians(rotation_deg)
    cos, sin = math.cos(angle), math.sin(angle)
    forward = np.array([[cos, -sin], [sin, cos]]) @ np.array([[1, shear], [0, 1]])
    corners = np.array([[0, 0], [w, 0], [0, h], [w, h]], dtype=np.float64) @ forward.T
    low, high = corners.min(axis=0), corners.max(axis=0)
    inverse = np.linalg.inv(forward)
    offset = inverse @ low
    data = (inverse[0, 0], inverse[0, 1], offset[0], inverse[1, 0], inverse[1, 1], offset[1])
    size = tuple(int(v) + 1 for v in np.ceil(high - low))
    return mask.transform(size, Image.Transform.AFFINE, data, resample=Image.Resampling.BILINEAR)

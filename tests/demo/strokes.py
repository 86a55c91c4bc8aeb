"""Pointer strokes from MNIST digits: threshold, thin to a skeleton, walk it into paths."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageDraw

Stroke = list[tuple[float, float]]  # points (x, y) in 28×28 pixel units

_NEIGHBOURS = ((-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1), (-1, -1))  # P2..P9


def skeleton(image: np.ndarray, threshold: int = 100) -> np.ndarray:
    """Zhang–Suen thinning of `image >= threshold`: a bool mask one pixel wide."""
    mask = np.pad(image >= threshold, 1)
    while True:
        removed = False
        for step in (0, 1):
            rows, cols = np.nonzero(mask)
            ring = np.stack([mask[rows + dy, cols + dx] for dy, dx in _NEIGHBOURS], axis=1)
            count = ring.sum(axis=1)
            transitions = (~ring & np.roll(ring, -1, axis=1)).sum(axis=1)
            p2, p4, p6, p8 = ring[:, 0], ring[:, 2], ring[:, 4], ring[:, 6]
            if step == 0:
                keep_a, keep_b = p2 & p4 & p6, p4 & p6 & p8
            else:
                keep_a, keep_b = p2 & p4 & p8, p2 & p6 & p8
            delete = (count >= 2) & (count <= 6) & (transitions == 1) & ~keep_a & ~keep_b
            if delete.any():
                mask[rows[delete], cols[delete]] = False
                removed = True
        if not removed:
            return mask[1:-1, 1:-1]


def _neighbours(point: tuple[int, int], pixels: set[tuple[int, int]]) -> list[tuple[int, int]]:
    y, x = point
    # 4-neighbours first, so walks follow the stroke rather than cutting its corners.
    order = ((-1, 0), (0, 1), (1, 0), (0, -1), (-1, 1), (1, 1), (1, -1), (-1, -1))
    return [(y + dy, x + dx) for dy, dx in order if (y + dy, x + dx) in pixels]


def strokes(image: np.ndarray, threshold: int = 100) -> list[Stroke]:
    """Ordered pointer paths covering the digit's skeleton; each starts at an end point when
    there is one, and a path that branches off an earlier one starts on it, so they join."""
    pixels = {(int(y), int(x)) for y, x in zip(*np.nonzero(skeleton(image, threshold)), strict=True)}
    unvisited = set(pixels)
    paths: list[Stroke] = []
    while unvisited:
        ends = sorted(p for p in unvisited if len(_neighbours(p, pixels)) == 1)
        start = ends[0] if ends else min(unvisited)
        path = [start]
        joined = [p for p in _neighbours(start, pixels) if p not in unvisited]
        if joined:
            path.insert(0, joined[0])
        unvisited.discard(start)
        current = start
        while True:
            ahead = [p for p in _neighbours(current, pixels) if p in unvisited]
            if not ahead:
                closing = [p for p in _neighbours(current, pixels) if p != path[-2:][0]]
                if closing and len(path) > 3 and closing[0] in path[:-3]:
                    path.append(closing[0])  # close loops such as a 0 or an 8
                break
            current = ahead[0]
            unvisited.discard(current)
            path.append(current)
        if len(path) >= 2 or not paths:
            paths.append(_smooth([(x + 0.5, y + 0.5) for y, x in path]))
    return paths


def _smooth(path: Stroke) -> Stroke:
    """A [1, 2, 1] / 4 average of each inner point with its neighbours: a pen, not a staircase."""
    if len(path) < 3:
        return path
    inner = [((a[0] + 2 * b[0] + c[0]) / 4, (a[1] + 2 * b[1] + c[1]) / 4)
             for a, b, c in zip(path, path[1:], path[2:], strict=False)]
    return [path[0], *inner, path[-1]]


def to_canvas(paths: list[Stroke], side: float, margin: float = 0.0) -> list[Stroke]:
    """Scale 28×28 strokes onto a square of `side` px (e.g. the page's canvas, CSS px)."""
    scale = (side - 2 * margin) / 28
    return [[(margin + x * scale, margin + y * scale) for x, y in path] for path in paths]


def render_png(paths: list[Stroke], side: int = 280) -> bytes:
    """The strokes drawn dark on white like the page's canvas (pen width side/14), as PNG bytes."""
    image = Image.new("L", (side, side), 255)
    pen = ImageDraw.Draw(image)
    radius = side / 28
    for path in to_canvas(paths, side):
        pen.line(path, fill=30, width=round(2 * radius), joint="curve")
        for x, y in (path[0], path[-1]):
            pen.ellipse([x - radius, y - radius, x + radius, y + radius], fill=30)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()

"""The drawn families of non-digit images (letters, symbols, scribbles, shapes, boxes, rulers,
signatures) and paper textures; each draws white ink on black in object space."""

from __future__ import annotations

import math
import string
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from training.fonts import fonts_for, glyphs, load_font
from training.pen import (
    OBJECT_PX,
    Rng,
    fit,
    polygon,
    polylines,
    ring,
    spline,
    unit_box,
)

# Characters a person could read as a digit are never drawn: labelled "not a digit" they would
# teach the model to reject real digits. O o Q D C c U u ° look like 0; I l i j J L | ! / \ ( ) [ ]
# like a 1 (a bracket is a 1 with flag and foot); T like 7; Z z like 2; S s $ § like 5; b G δ ∂
# like 6; B β ∞ like 8; g q y like 9 (y also like an open 4); - _ . , : ; ' " ` are a lone line or
# speck. The drawn families leave out circles, ellipses and open loops (0, 6, 9) and lone lines.
AMBIGUOUS_CHARACTERS = "OoQDCcUu°IlijJL|!/\\()[]TZzSs$§bGδ∂Bβ∞gqy-_.,:;'\"`"
LETTERS = "".join(c for c in string.ascii_letters if c not in AMBIGUOUS_CHARACTERS)
SYMBOLS = "".join(c for c in "+×÷=≠±%&@#?*<>^~{}€£¥πΣΩαλ√≈∆∇" if c not in AMBIGUOUS_CHARACTERS)

# Hand-drawn capitals and lowercase letters as polylines in a unit box (x right, y down): fonts
# alone are print, while users mostly send handwriting.
HAND_LETTERS: dict[str, tuple[tuple[tuple[float, float], ...], ...]] = {
    "A": (((0, 1), (0.5, 0), (1, 1)), ((0.22, 0.6), (0.78, 0.6))),
    "E": (((1, 0), (0, 0), (0, 1), (1, 1)), ((0, 0.5), (0.75, 0.5))),
    "F": (((1, 0), (0, 0), (0, 1)), ((0, 0.48), (0.7, 0.48))),
    "H": (((0, 0), (0, 1)), ((1, 0), (1, 1)), ((0, 0.5), (1, 0.5))),
    "K": (((0, 0), (0, 1)), ((1, 0), (0, 0.55)), ((0.3, 0.4), (1, 1))),
    "M": (((0, 1), (0.1, 0), (0.5, 0.7), (0.9, 0), (1, 1)),),
    "N": (((0, 1), (0, 0), (1, 1), (1, 0)),),
    "P": (((0, 1), (0, 0), (0.7, 0), (0.95, 0.13), (0.95, 0.37), (0.7, 0.5), (0, 0.5)),),
    "R": (((0, 1), (0, 0), (0.7, 0), (0.95, 0.12), (0.95, 0.35), (0.7, 0.48), (0, 0.48)),
          ((0.4, 0.48), (1, 1))),
    "V": (((0, 0), (0.5, 1), (1, 0)),),
    "W": (((0, 0), (0.25, 1), (0.5, 0.35), (0.75, 1), (1, 0)),),
    "X": (((0, 0), (1, 1)), ((1, 0), (0, 1))),
    "Y": (((0, 0), (0.5, 0.5), (1, 0)), ((0.5, 0.5), (0.5, 1))),
    "h": (((0, 0), (0, 1)), ((0, 0.6), (0.3, 0.42), (0.7, 0.42), (1, 0.6), (1, 1))),
    "m": (((0, 0.4), (0, 1)), ((0, 0.55), (0.2, 0.4), (0.45, 0.45), (0.5, 1)),
          ((0.5, 0.55), (0.7, 0.4), (0.95, 0.45), (1, 1))),
    "n": (((0, 0.4), (0, 1)), ((0, 0.6), (0.3, 0.4), (0.7, 0.4), (1, 0.6), (1, 1))),
    "k": (((0, 0), (0, 1)), ((0.9, 0.4), (0, 0.75)), ((0.35, 0.65), (1, 1))),
}


def _letters(rng: Rng, pen: float, split: str) -> Image.Image:
    if rng.random() < 0.35:
        return _hand_letters(rng, pen)
    return _text(rng, LETTERS, int(rng.choice([1, 1, 1, 2, 2, 3])), split)


def _symbols(rng: Rng, pen: float, split: str) -> Image.Image:
    return _text(rng, SYMBOLS, int(rng.choice([1, 1, 1, 1, 2])), split)


def _text(rng: Rng, alphabet: str, length: int, split: str) -> Image.Image:
    """length characters of the alphabet in a font of the split, with a random pen weight."""
    fonts = fonts_for(split) or (None,)
    path = fonts[int(rng.integers(len(fonts)))]
    chars = glyphs(path, alphabet)
    text = "".join(chars[int(i)] for i in rng.integers(len(chars), size=length))
    weight = rng.random()
    stroke = int(rng.integers(2, 9)) if weight < 0.3 else 0  # a felt pen thickens the outline
    font = load_font(path)
    left, top, right, bottom = font.getbbox(text, stroke_width=stroke)
    mask = Image.new("L", (right - left + 8, bottom - top + 8), 0)
    ImageDraw.Draw(mask).text((4 - left, 4 - top), text, font=font, fill=255, stroke_width=stroke,
                              stroke_fill=255)
    if weight > 0.8:  # a fine pen: erode, unless that erases a thin face
        thin = mask.filter(ImageFilter.MinFilter(5))
        if np.count_nonzero(np.asarray(thin)) > 0.4 * np.count_nonzero(np.asarray(mask)):
            return thin
    return mask


def _hand_letters(rng: Rng, pen: float) -> Image.Image:
    """One or two hand-drawn letters, a little wobbly, side by side."""
    names = list(HAND_LETTERS)
    strokes: list[np.ndarray] = []
    for slot in range(int(rng.choice([1, 1, 2]))):
        width = rng.uniform(0.5, 0.9)
        for stroke in HAND_LETTERS[names[int(rng.integers(len(names)))]]:
            points = np.asarray(stroke, dtype=np.float64) * [width, 1] + [slot * 1.1, 0]
            strokes.append(points)
    return polylines([unit_box(s, rng, 0.02) for s in fit(strokes)], pen)


def _scribbles(rng: Rng, pen: float, split: str) -> Image.Image:
    kind = rng.integers(3)
    if kind == 0:  # a tangled path through many points: too many turns to be any digit
        path = spline(rng.uniform(0, 1, (int(rng.integers(9, 20)), 2)))
    elif kind == 1:  # a scratch-out: zigzag hatching
        count = int(rng.integers(6, 16))
        ys = np.linspace(0, 1, count) + rng.normal(0, 0.02, count)
        xs = np.where(np.arange(count) % 2 == 0, 0, 1) + rng.normal(0, 0.05, count)
        path = np.stack([xs, ys * rng.uniform(0.4, 1.0)], axis=1)
    else:  # a ball of yarn: a few mixed frequencies traced over several turns
        t = np.linspace(0, 2 * np.pi * rng.uniform(2, 4), 400)
        freq, phase = rng.uniform(1, 4, (2, 3)), rng.uniform(0, 2 * np.pi, (2, 3))
        path = np.stack([np.sin(f[:, None] * t + p[:, None]).sum(axis=0)
                         for f, p in zip(freq, phase, strict=True)], axis=1) / 6 + 0.5
    return polylines([unit_box(path, rng, 0.003)], pen)


def _shapes(rng: Rng, pen: float, split: str) -> Image.Image:
    """An icon, turned by at most FAMILIES' 15°: a check mark or arrow turned further becomes a 7
    or an L, and an upright arrow reads as a 1 (seen on the contact sheets), so arrows point left
    or right."""
    kind = ("arrow", "star", "heart", "triangle", "square", "cross", "check", "smiley")[
        int(rng.integers(8))]
    if kind == "arrow":
        bend = rng.normal(0, 0.08)
        # Jitter the curve's few control points, not its many samples, or the shaft wobbles.
        shaft = spline(np.array([[0, 0.5], [0.5, 0.5 + bend], [1, 0.5]]) + rng.normal(0, 0.01, (3, 2)))
        head = rng.uniform(0.15, 0.35)
        tips = [np.array([[1 - head, 0.5 - head * 0.8], [1, 0.5], [1 - head, 0.5 + head * 0.8]])]
        if rng.random() < 0.25:  # double-headed
            tips.append(np.array([[head, 0.5 - head * 0.8], [0, 0.5], [head, 0.5 + head * 0.8]]))
        strokes = [unit_box(shaft, rng, 0.0)] + [unit_box(t, rng, 0.01) for t in tips]
        if rng.random() < 0.5:  # pointing left
            strokes = [[OBJECT_PX, 0] + [-1, 1] * s for s in strokes]
        return polylines(strokes, pen)
    if kind == "cross":  # + or ×
        arm = rng.uniform(0.8, 1.0) / 2
        ends = np.array([[[-0.5, 0], [0.5, 0]], [[0, -arm], [0, arm]]])
        if rng.random() < 0.5:
            ends = ends @ (np.array([[1, -1], [1, 1]]) / math.sqrt(2))
        return polylines([unit_box(e + 0.5, rng, 0.02) for e in ends], pen)
    if kind == "check":
        return polylines([unit_box([(0, 0.55), (0.35, 0.95), (1, 0)], rng, 0.03)], pen)
    if kind == "smiley":
        return _smiley(rng, pen)
    if kind == "star":
        points = int(rng.choice([4, 5, 5, 5, 6, 8]))
        outline = ring(2 * points, np.tile([1.0, rng.uniform(0.35, 0.55)], points), -np.pi / 2)
    elif kind == "heart":
        t = np.linspace(0, 2 * np.pi, 60, endpoint=False)
        x, y = 16 * np.sin(t) ** 3, 13 * np.cos(t) - 5 * np.cos(2 * t) - 2 * np.cos(3 * t) - np.cos(4 * t)
        outline = np.stack([x / 34 + 0.5, 0.45 - y / 34], axis=1)
    elif kind == "triangle":
        outline = ring(3, rng.uniform(0.8, 1.0, 3), rng.uniform(0, 2 * np.pi))
    else:
        # Near-square: a tall narrow frame is a boxy 0.
        outline = np.array([[0, 0], [1, 0], [1, 1], [0, 1]]) * [rng.uniform(0.85, 1.0), 1]
    # Dense outlines get less per-point jitter, or they turn into a wobbly thread.
    corners = unit_box(outline, rng, 0.003 if len(outline) > 20 else 0.015)
    return polygon(corners) if rng.random() < 0.3 else polylines([corners], pen, closed=True)


def _smiley(rng: Rng, pen: float) -> Image.Image:
    """A face with big eyes and mouth: the features keep the round outline from reading as 0."""
    face = ring(48, 1.0, 0)
    mouth_angles = np.linspace(0.15, 0.85, 16) * np.pi
    curve = rng.choice([1.0, 1.0, 1.0, -1.0])  # mostly smiles, some frowns
    mouth = np.stack([0.5 + 0.3 * np.cos(mouth_angles),
                      0.62 - 0.1 * curve + curve * 0.2 * np.sin(mouth_angles)], axis=1)
    eye = rng.uniform(0.06, 0.14)  # eyes are dashes this long (round pen tips make them dots)
    eyes = [np.array([[x, 0.38 - eye / 2], [x, 0.38 + eye / 2]]) for x in (0.35, 0.65)]
    return polylines([unit_box(p, rng, 0.005) for p in [face, mouth, *eyes]], max(pen, 0.03 * OBJECT_PX))


def _boxes(rng: Rng, pen: float, split: str) -> Image.Image:
    kind = rng.integers(3)
    if kind == 0:  # an empty tick box or frame
        corners = np.array([[0, 0], [1, 0], [1, 1], [0, 1]]) * [rng.uniform(0.9, 1.6), 1]
        return polylines([unit_box(c, rng, 0.01) for c in fit([corners])], pen, closed=True)
    width, height = rng.uniform(1.0, 2.0), 1.0
    rows = int(rng.integers(3, 12))
    lines = [[(0, y), (width, y)] for y in np.linspace(0, height, rows)]
    if kind == 1:  # a grid or table
        lines += [[(x, 0), (x, height)] for x in np.linspace(0, width, int(rng.integers(3, 10)))]
    elif rng.random() < 0.5:  # lined paper, with a margin rule
        margin = rng.uniform(0.1, 0.3)
        lines.append([(margin, 0), (margin, height)])
    return polylines([unit_box(line, rng, 0.004) for line in fit(lines)], pen)


def _rulers(rng: Rng, pen: float, split: str) -> Image.Image:
    """A ruler edge: a base line and ticks every unit, longer every 5th and 10th (no numbers)."""
    ticks = int(rng.integers(12, 41))
    length, height = 3.0, rng.uniform(0.2, 0.5)
    strokes: list[list[tuple[float, float]]] = [[(0, 0), (length, 0)]]
    for i in range(ticks):
        x = length * i / (ticks - 1)
        tick = height if i % 10 == 0 else height * (0.7 if i % 5 == 0 else 0.4)
        strokes.append([(x, 0), (x, tick)])
    if rng.random() < 0.5:  # the far edge of the ruler's body
        strokes.append([(0, height * 1.6), (length, height * 1.6)])
    return polylines([unit_box(s, rng, 0.002) for s in fit(strokes)], pen)


def _signature_piece(rng: Rng, capital: bool) -> np.ndarray:
    """One cursive letter as a path from (0, 0) to (width, 0) on the baseline (y up is negative):
    an ascender loop, a small loop, an arch, a cup or a descender loop."""
    kind = 0 if capital else int(rng.integers(5))
    height = rng.uniform(0.9, 1.4) if capital else rng.uniform(0.25, 0.8)
    width = rng.uniform(0.25, 0.5)
    if kind in (0, 1, 4):  # loops: a prolate cycloid arc (the pen swings back while advancing)
        t = np.linspace(0, 2 * np.pi, 24)
        height = rng.uniform(0.2, 0.35) if kind == 1 else height
        x = width * t / (2 * np.pi) - rng.uniform(0.12, 0.25) * np.sin(t)
        y = (0.6 if kind == 4 else -1) * height * (1 - np.cos(t)) / 2
    elif kind == 2:  # an arch with cusps, as in n and m
        t = np.linspace(0, np.pi, 12)
        x, y = width * t / np.pi, -height * 0.6 * np.sin(t)
    else:  # a cup, as in u and w
        t = np.linspace(0, 2 * np.pi, 16)
        x, y = width * t / (2 * np.pi), -height * 0.5 * (1 - np.cos(t)) / 2
    return np.stack([x, y], axis=1)


def _signatures(rng: Rng, pen: float, split: str) -> Image.Image:
    """One or two scrawled words of random cursive pieces, maybe a flourish underneath."""
    strokes, start = [], 0.0
    for word in range(int(rng.choice([1, 1, 2]))):
        parts, x = [], start
        for i in range(int(rng.integers(5, 10))):  # at least 5: a long scrawl, no lone 6/8/9 loop
            piece = _signature_piece(rng, capital=i == 0 and (word == 0 or rng.random() < 0.5))
            parts.append(piece + np.array([x, 0.0]))
            x += piece[-1, 0]
        path = np.vstack(parts)
        path[:, 1] += rng.uniform(-0.15, 0.15) * (path[:, 0] - start)  # a drifting baseline
        strokes.append(path)
        start = x + rng.uniform(0.3, 0.6)
    if rng.random() < 0.4:  # the flourish back under the name
        end = strokes[-1][-1]
        strokes.append(spline(np.array([end, [end[0] * 0.6, 0.35], [0, rng.uniform(0.25, 0.45)]])))
    return polylines([unit_box(s, rng, 0.002) for s in fit(strokes)], pen)


def _smooth_field(rng: Rng, shape: tuple[int, int], cells: int) -> np.ndarray:
    """Low-frequency noise in about [-1, 1]: a random grid upsampled bicubically."""
    grid = rng.normal(0, 0.5, (cells, cells)).astype(np.float32)
    return np.asarray(Image.fromarray(grid).resize((shape[1], shape[0]), Image.Resampling.BICUBIC))


def texture(rng: Rng, shape: tuple[int, int]) -> np.ndarray:
    """A photo-like surface in [0, 1]: noise, wood grain, woven fabric or gradient with blobs."""
    ys, xs = np.mgrid[0:shape[0], 0:shape[1]].astype(np.float32) / max(shape)
    kind = rng.integers(4)
    if kind == 0:
        field = _smooth_field(rng, shape, int(rng.integers(2, 30))) + rng.normal(0, 0.2, shape)
    elif kind == 1:
        angle = rng.uniform(0, np.pi)  # wood: rings that darken gradually and end sharply, plus grain
        across = np.cos(angle) * xs + np.sin(angle) * ys + 0.1 * _smooth_field(rng, shape, 4)
        field = np.mod(rng.uniform(2, 8) * across, 1.0) ** 2 + rng.normal(0, 0.15, shape)
    elif kind == 2:
        fx, fy = rng.uniform(8, 40, 2)
        field = np.abs(np.sin(np.pi * fx * xs)) + np.abs(np.sin(np.pi * fy * ys))
        field = field + rng.normal(0, 0.3, shape)
    else:
        angle = rng.uniform(0, 2 * np.pi)
        field = np.cos(angle) * xs + np.sin(angle) * ys
        for _ in range(int(rng.integers(2, 7))):
            cy, cx, radius = rng.uniform(0, 1, 3) * [shape[0] / max(shape), shape[1] / max(shape), 0.3]
            field = field + rng.choice([-1, 1]) * np.exp(-((ys - cy) ** 2 + (xs - cx) ** 2) / (
                2 * (radius + 0.03) ** 2))
    field = (field - field.min()) / max(float(np.ptp(field)), 1e-6)
    # 1 in 10 textures is nearly flat, the rest well contrasted.
    contrast = rng.uniform(0.05, 0.15) if rng.random() < 0.1 else rng.uniform(0.3, 0.8)
    return rng.uniform(0, 1 - contrast) + contrast * field


@dataclass(frozen=True)
class Family:
    """How a drawn family is made and placed."""

    draw: Callable[[Rng, float, str], Image.Image]  # (rng, pen in object px, split) → mask
    max_rotation_deg: float  # turned uniformly within ±this, degrees
    max_shear: float  # leaned uniformly within ±this, x shift per unit of y
    pen: tuple[float, float]  # pen width range, fraction of the drawing's longer side
    fill: tuple[float, float] = (0.4, 0.95)  # drawing size range, fraction of the canvas


FAMILIES: dict[str, Family] = {
    "letters": Family(_letters, 20, 0.35, (0.03, 0.12)),  # the pen of hand-drawn letters only
    "symbols": Family(_symbols, 12, 0.25, (0.0, 0.0)),  # < > ^ turned further make a 7
    "scribbles": Family(_scribbles, 180, 0.2, (0.01, 0.08)),
    "shapes": Family(_shapes, 15, 0.15, (0.02, 0.1)),
    "boxes": Family(_boxes, 8, 0.1, (0.005, 0.04), fill=(0.9, 1.0)),
    # Ruler ticks are 1/40 of the length apart at the closest; wider pens merge them.
    "rulers": Family(_rulers, 180, 0.0, (0.003, 0.012)),
    "signatures": Family(_signatures, 12, 0.4, (0.006, 0.025)),
}

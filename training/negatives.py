"""Seeded generator of images that are not digits (letters, symbols, shapes, paper, textures)."""

from __future__ import annotations

import functools
import math
import string
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

Rng = np.random.Generator

# Characters a person could read as a digit are never drawn: labelled "not a digit" they would
# teach the model to reject real digits. O o Q D C c U u ° look like 0; I l i j J L | ! / \ ( ) [ ]
# like a 1 (a bracket is a 1 with flag and foot); T like 7; Z z like 2; S s $ § like 5; b G δ ∂
# like 6; B β ∞ like 8; g q y like 9 (y also like an open 4); - _ . , : ; ' " ` are a lone line or
# speck. The drawn families leave out circles, ellipses and open loops (0, 6, 9) and lone lines.
AMBIGUOUS_CHARACTERS = "OoQDCcUu°IlijJL|!/\\()[]TZzSs$§bGδ∂Bβ∞gqy-_.,:;'\"`"
LETTERS = "".join(c for c in string.ascii_letters if c not in AMBIGUOUS_CHARACTERS)
SYMBOLS = "".join(c for c in "+×÷=≠±%&@#?*<>^~{}€£¥πΣΩαλ√≈∆∇" if c not in AMBIGUOUS_CHARACTERS)

NEGATIVE_FAMILIES: tuple[str, ...] = (
    "letters", "symbols", "scribbles", "shapes", "boxes", "rulers", "signatures", "textures",
)
SPLITS = ("train", "heldout")
FONT_DIR = Path("/usr/share/fonts/truetype")  # searched recursively for fonts at run time
HELDOUT_SHARE = 4  # a font is held out when crc32(file name) % HELDOUT_SHARE == 0: about 1 in 4

CANVAS_PX = (28, 200)  # canvas height and width range, px; width/height stays in [0.5, 2]
OBJECT_PX = 192  # drawings are made at this size (object space) and resampled onto the canvas
FONT_PX = 144  # glyph size in object space, px
LIGHT_ON_DARK_SHARE = 0.15  # share of images with light ink on dark ground (boards, screens)
INK_CONTRAST = (0.45, 0.9)  # |ink − paper| in units of full scale: never a blank page

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


# --- fonts ----------------------------------------------------------------------------------
# The lookups below are memoised: fonts on disk do not change during a run, and loading a face
# takes about 1 ms (measured here), half the time budget of a whole image.


@functools.cache
def font_files() -> tuple[Path, ...]:
    """Every TrueType/OpenType file under FONT_DIR, sorted; empty when there are none."""
    return tuple(sorted(p for p in FONT_DIR.rglob("*") if p.suffix.lower() in (".ttf", ".otf")))


def fonts_for(split: str) -> tuple[Path, ...]:
    """The fonts of split "train" or "heldout", disjoint so held-out images use unseen faces.

    "heldout" gets the files whose name hashes into HELDOUT_SHARE, "train" all others. Empty means
    PIL's default font (used when no font is installed; then both splits share it).
    """
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; choose from {', '.join(SPLITS)}")
    held = split == "heldout"
    return tuple(p for p in font_files() if (zlib.crc32(p.name.encode()) % HELDOUT_SHARE == 0) == held)


@functools.cache
def _font(path: Path | None) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(FONT_PX) if path is None else ImageFont.truetype(str(path), FONT_PX)


@functools.cache
def _glyphs(path: Path | None, chars: str) -> str:
    """The chars the font draws: a missing glyph renders like a private-use code point (tofu)."""
    font = _font(path)
    tofu = font.getmask("\ue000")
    drawn = []
    for char in chars:
        mask = font.getmask(char)
        if mask.getbbox() and (mask.size != tofu.size or bytes(mask) != bytes(tofu)):
            drawn.append(char)
    return "".join(drawn)


# --- drawing helpers ------------------------------------------------------------------------


def _polylines(strokes: Sequence[np.ndarray], pen: float, closed: bool = False) -> Image.Image:
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


def _polygon(points: np.ndarray) -> Image.Image:
    """A filled polygon ([K, 2] object px) on black."""
    low = points.min(axis=0) - 2
    size = np.ceil(points.max(axis=0) + 2 - low).astype(int) + 1
    mask = Image.new("L", (int(size[0]), int(size[1])), 0)
    ImageDraw.Draw(mask).polygon([(float(x), float(y)) for x, y in points - low], fill=255)
    return mask


def _spline(points: np.ndarray, per_segment: int = 10) -> np.ndarray:
    """Catmull–Rom curve through the points [K, 2] (a smooth hand-drawn path)."""
    p = np.vstack([points[:1], points, points[-1:]])
    t = np.linspace(0, 1, per_segment, endpoint=False)[:, None]
    parts = [
        0.5 * (2 * p1 + (p2 - p0) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t**2
               + (3 * p1 - p0 - 3 * p2 + p3) * t**3)
        for p0, p1, p2, p3 in zip(p[:-3], p[1:-2], p[2:-1], p[3:], strict=True)
    ]
    return np.vstack([*parts, points[-1:]])


def _unit(points: Sequence[tuple[float, float]] | np.ndarray, rng: Rng, jitter: float) -> np.ndarray:
    """Unit-box points in object px, each nudged by jitter (fraction of the box) like a hand."""
    array = np.asarray(points, dtype=np.float64)
    return (array + rng.normal(0, jitter, array.shape)) * OBJECT_PX


def _fit(strokes: Sequence[np.ndarray | Sequence[tuple[float, float]]]) -> list[np.ndarray]:
    """The strokes moved and scaled together so that their box's longer side spans [0, 1]; the
    pen width callers get is meant for a drawing of that size."""
    arrays = [np.asarray(s, dtype=np.float64) for s in strokes]
    points = np.vstack(arrays)
    low, extent = points.min(axis=0), max(float(np.ptp(points, axis=0).max()), 1e-9)
    return [(a - low) / extent for a in arrays]


def _ring(count: int, radius: np.ndarray | float, phase: float) -> np.ndarray:
    angles = phase + np.arange(count) * 2 * np.pi / count
    return np.stack([0.5 + radius * np.cos(angles) / 2, 0.5 + radius * np.sin(angles) / 2], axis=1)


def _transform(mask: Image.Image, rotation_deg: float, shear: float) -> Image.Image:
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


# --- families: each draws white ink on black in object space ---------------------------------


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
    chars = _glyphs(path, alphabet)
    text = "".join(chars[int(i)] for i in rng.integers(len(chars), size=length))
    weight = rng.random()
    stroke = int(rng.integers(2, 9)) if weight < 0.3 else 0  # a felt pen thickens the outline
    font = _font(path)
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
    return _polylines([_unit(s, rng, 0.02) for s in _fit(strokes)], pen)


def _scribbles(rng: Rng, pen: float, split: str) -> Image.Image:
    kind = rng.integers(3)
    if kind == 0:  # a tangled path through many points: too many turns to be any digit
        path = _spline(rng.uniform(0, 1, (int(rng.integers(9, 20)), 2)))
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
    return _polylines([_unit(path, rng, 0.003)], pen)


def _shapes(rng: Rng, pen: float, split: str) -> Image.Image:
    """An icon, turned by at most _FAMILIES' 15°: a check mark or arrow turned further becomes a 7
    or an L, and an upright arrow reads as a 1 (seen on the contact sheets), so arrows point left
    or right."""
    kind = ("arrow", "star", "heart", "triangle", "square", "cross", "check", "smiley")[
        int(rng.integers(8))]
    if kind == "arrow":
        bend = rng.normal(0, 0.08)
        # Jitter the curve's few control points, not its many samples, or the shaft wobbles.
        shaft = _spline(np.array([[0, 0.5], [0.5, 0.5 + bend], [1, 0.5]]) + rng.normal(0, 0.01, (3, 2)))
        head = rng.uniform(0.15, 0.35)
        tips = [np.array([[1 - head, 0.5 - head * 0.8], [1, 0.5], [1 - head, 0.5 + head * 0.8]])]
        if rng.random() < 0.25:  # double-headed
            tips.append(np.array([[head, 0.5 - head * 0.8], [0, 0.5], [head, 0.5 + head * 0.8]]))
        strokes = [_unit(shaft, rng, 0.0)] + [_unit(t, rng, 0.01) for t in tips]
        if rng.random() < 0.5:  # pointing left
            strokes = [[OBJECT_PX, 0] + [-1, 1] * s for s in strokes]
        return _polylines(strokes, pen)
    if kind == "cross":  # + or ×
        arm = rng.uniform(0.8, 1.0) / 2
        ends = np.array([[[-0.5, 0], [0.5, 0]], [[0, -arm], [0, arm]]])
        if rng.random() < 0.5:
            ends = ends @ (np.array([[1, -1], [1, 1]]) / math.sqrt(2))
        return _polylines([_unit(e + 0.5, rng, 0.02) for e in ends], pen)
    if kind == "check":
        return _polylines([_unit([(0, 0.55), (0.35, 0.95), (1, 0)], rng, 0.03)], pen)
    if kind == "smiley":
        return _smiley(rng, pen)
    if kind == "star":
        points = int(rng.choice([4, 5, 5, 5, 6, 8]))
        outline = _ring(2 * points, np.tile([1.0, rng.uniform(0.35, 0.55)], points), -np.pi / 2)
    elif kind == "heart":
        t = np.linspace(0, 2 * np.pi, 60, endpoint=False)
        x, y = 16 * np.sin(t) ** 3, 13 * np.cos(t) - 5 * np.cos(2 * t) - 2 * np.cos(3 * t) - np.cos(4 * t)
        outline = np.stack([x / 34 + 0.5, 0.45 - y / 34], axis=1)
    elif kind == "triangle":
        outline = _ring(3, rng.uniform(0.8, 1.0, 3), rng.uniform(0, 2 * np.pi))
    else:
        # Near-square: a tall narrow frame is a boxy 0.
        outline = np.array([[0, 0], [1, 0], [1, 1], [0, 1]]) * [rng.uniform(0.85, 1.0), 1]
    # Dense outlines get less per-point jitter, or they turn into a wobbly thread.
    corners = _unit(outline, rng, 0.003 if len(outline) > 20 else 0.015)
    return _polygon(corners) if rng.random() < 0.3 else _polylines([corners], pen, closed=True)


def _smiley(rng: Rng, pen: float) -> Image.Image:
    """A face with big eyes and mouth: the features keep the round outline from reading as 0."""
    face = _ring(48, 1.0, 0)
    mouth_angles = np.linspace(0.15, 0.85, 16) * np.pi
    curve = rng.choice([1.0, 1.0, 1.0, -1.0])  # mostly smiles, some frowns
    mouth = np.stack([0.5 + 0.3 * np.cos(mouth_angles),
                      0.62 - 0.1 * curve + curve * 0.2 * np.sin(mouth_angles)], axis=1)
    eye = rng.uniform(0.06, 0.14)  # eyes are dashes this long (round pen tips make them dots)
    eyes = [np.array([[x, 0.38 - eye / 2], [x, 0.38 + eye / 2]]) for x in (0.35, 0.65)]
    return _polylines([_unit(p, rng, 0.005) for p in [face, mouth, *eyes]], max(pen, 0.03 * OBJECT_PX))


def _boxes(rng: Rng, pen: float, split: str) -> Image.Image:
    kind = rng.integers(3)
    if kind == 0:  # an empty tick box or frame
        corners = np.array([[0, 0], [1, 0], [1, 1], [0, 1]]) * [rng.uniform(0.9, 1.6), 1]
        return _polylines([_unit(c, rng, 0.01) for c in _fit([corners])], pen, closed=True)
    width, height = rng.uniform(1.0, 2.0), 1.0
    rows = int(rng.integers(3, 12))
    lines = [[(0, y), (width, y)] for y in np.linspace(0, height, rows)]
    if kind == 1:  # a grid or table
        lines += [[(x, 0), (x, height)] for x in np.linspace(0, width, int(rng.integers(3, 10)))]
    elif rng.random() < 0.5:  # lined paper, with a margin rule
        margin = rng.uniform(0.1, 0.3)
        lines.append([(margin, 0), (margin, height)])
    return _polylines([_unit(line, rng, 0.004) for line in _fit(lines)], pen)


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
    return _polylines([_unit(s, rng, 0.002) for s in _fit(strokes)], pen)


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
        strokes.append(_spline(np.array([end, [end[0] * 0.6, 0.35], [0, rng.uniform(0.25, 0.45)]])))
    return _polylines([_unit(s, rng, 0.002) for s in _fit(strokes)], pen)


def _smooth_field(rng: Rng, shape: tuple[int, int], cells: int) -> np.ndarray:
    """Low-frequency noise in about [-1, 1]: a random grid upsampled bicubically."""
    grid = rng.normal(0, 0.5, (cells, cells)).astype(np.float32)
    return np.asarray(Image.fromarray(grid).resize((shape[1], shape[0]), Image.Resampling.BICUBIC))


def _texture(rng: Rng, shape: tuple[int, int]) -> np.ndarray:
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
class _Family:
    """How a drawn family is made and placed."""

    draw: Callable[[Rng, float, str], Image.Image]  # (rng, pen in object px, split) → mask
    max_rotation_deg: float  # turned uniformly within ±this, degrees
    max_shear: float  # leaned uniformly within ±this, x shift per unit of y
    pen: tuple[float, float]  # pen width range, fraction of the drawing's longer side
    fill: tuple[float, float] = (0.4, 0.95)  # drawing size range, fraction of the canvas


_FAMILIES: dict[str, _Family] = {
    "letters": _Family(_letters, 20, 0.35, (0.03, 0.12)),  # the pen of hand-drawn letters only
    "symbols": _Family(_symbols, 12, 0.25, (0.0, 0.0)),  # < > ^ turned further make a 7
    "scribbles": _Family(_scribbles, 180, 0.2, (0.01, 0.08)),
    "shapes": _Family(_shapes, 15, 0.15, (0.02, 0.1)),
    "boxes": _Family(_boxes, 8, 0.1, (0.005, 0.04), fill=(0.9, 1.0)),
    # Ruler ticks are 1/40 of the length apart at the closest; wider pens merge them.
    "rulers": _Family(_rulers, 180, 0.0, (0.003, 0.012)),
    "signatures": _Family(_signatures, 12, 0.4, (0.006, 0.025)),
}


# --- the canvas -----------------------------------------------------------------------------


def _canvas_shape(rng: Rng, wide: bool) -> tuple[int, int]:
    """(height, width) px within CANVAS_PX; clipping pulls the aspect towards 1, so it stays in
    [0.5, 2] (wide: at least 1.4 unless the height is near the upper bound)."""
    height = int(rng.integers(CANVAS_PX[0], CANVAS_PX[1] + 1))
    aspect = rng.uniform(1.4, 2.0) if wide else rng.uniform(0.5, 2.0)
    return height, int(np.clip(round(height * aspect), *CANVAS_PX))


def _lighting(rng: Rng, shape: tuple[int, int]) -> np.ndarray:
    """Multiplicative uneven light: a linear falloff in a random direction."""
    ys = np.linspace(-1, 1, shape[0], dtype=np.float32)[:, None]
    xs = np.linspace(-1, 1, shape[1], dtype=np.float32)[None, :]
    angle = rng.uniform(0, 2 * np.pi)
    return 1 - rng.uniform(0.1, 0.4) * (np.cos(angle) * xs + np.sin(angle) * ys + 1.5) / 3


def _coverage(mask: Image.Image, rng: Rng, shape: tuple[int, int], fill: float) -> np.ndarray:
    """Ink coverage [H, W] in [0, 1]: the mask fitted into fill × the canvas at a random spot."""
    box = mask.getbbox()
    if box is None:
        raise RuntimeError("a negative drawing came out empty")  # a bug in a family renderer
    mask = mask.crop(box)
    scale = min(fill * shape[1] / mask.width, fill * shape[0] / mask.height)
    size = (max(1, round(mask.width * scale)), max(1, round(mask.height * scale)))
    small = np.asarray(mask.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0), np.float32)
    top = int(rng.integers(0, shape[0] - size[1] + 1))
    left = int(rng.integers(0, shape[1] - size[0] + 1))
    cover = np.zeros(shape, np.float32)
    cover[top: top + size[1], left: left + size[0]] = small / max(float(small.max()), 1.0)
    return cover


def render_negative(family: str, rng: Rng, split: str = "train") -> np.ndarray:
    """One non-digit image of the family: uint8 gray [H, W], H and W in 28–200, aspect 0.5–2.

    Mostly dark ink on light paper (light on dark in LIGHT_ON_DARK_SHARE), at a random size,
    place, pen width, slant and rotation, with mild blur and noise and sometimes uneven light.
    split ("train" or "heldout") picks the fonts (see fonts_for).
    """
    if family not in NEGATIVE_FAMILIES:
        raise ValueError(f"unknown family {family!r}; choose from {', '.join(NEGATIVE_FAMILIES)}")
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; choose from {', '.join(SPLITS)}")
    shape = _canvas_shape(rng, wide=family in ("signatures", "rulers"))
    if family == "textures":
        gray = _texture(rng, shape)
    else:
        spec = _FAMILIES[family]
        fill = rng.uniform(*spec.fill)
        # The drawing's longer side lands between fill × the canvas's shorter and longer side;
        # the pen stays at least 1 px wide even at the shorter one.
        pen = max(rng.uniform(*spec.pen), min(1.0 / (fill * min(shape)), spec.pen[1]))
        mask = spec.draw(rng, pen * OBJECT_PX, split)
        mask = _transform(mask, rng.uniform(-spec.max_rotation_deg, spec.max_rotation_deg),
                          rng.uniform(-spec.max_shear, spec.max_shear))
        cover = _coverage(mask, rng, shape, fill) * rng.uniform(0.85, 1.0)
        light_on_dark = rng.random() < LIGHT_ON_DARK_SHARE
        paper = rng.uniform(0.0, 0.3) if light_on_dark else rng.uniform(0.7, 1.0)
        ink = paper + (1 if light_on_dark else -1) * rng.uniform(*INK_CONTRAST)
        gray = paper + (np.clip(ink, 0, 1) - paper) * cover
    if rng.random() < 0.4:
        gray = gray * _lighting(rng, shape)
    image = Image.fromarray(np.round(np.clip(gray, 0, 1) * 255).astype(np.uint8))
    if rng.random() < 0.5:
        image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.0)))
    noisy = np.asarray(image, np.float32) + rng.normal(0, rng.uniform(0, 10), shape)
    return np.clip(np.round(noisy), 0, 255).astype(np.uint8)


def generate_negatives(
    count: int, seed: int, families: Sequence[str] = NEGATIVE_FAMILIES, split: str = "train",
    start: int = 0,
) -> Iterator[tuple[np.ndarray, str]]:
    """count (image, family) pairs with indices start, start + 1, ..., families in turn; image i
    comes from its own generator seeded by (seed, i, split), so it does not depend on count or
    start. Held-out sets use split="heldout" and seeds never used for training."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; choose from {', '.join(SPLITS)}")
    families = tuple(families)
    if not families:
        raise ValueError("families is empty; pass at least one of NEGATIVE_FAMILIES")
    for family in families:
        if family not in NEGATIVE_FAMILIES:
            raise ValueError(f"unknown family {family!r}; choose from {', '.join(NEGATIVE_FAMILIES)}")
    for index in range(start, start + count):
        family = families[index % len(families)]
        rng = np.random.default_rng([seed, index, SPLITS.index(split)])
        yield render_negative(family, rng, split), family

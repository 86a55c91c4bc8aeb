"""Stroke-drawn continental digit forms MNIST lacks (open 4, flagged 1, crossed 7, Z-like 2, …).

Each form is a few pen strokes (polylines and Bézier curves) in a unit box, shaped by a synthetic
writer's style and a per-image random wobble, drawn at 8× with round pen tips and reduced like
MNIST: light ink on black, the longer side 20 px, the centre of mass at (14, 14) of 28 × 28.
Train on TRAIN_WRITERS, test on TEST_WRITERS with other seeds: no test writer is seen in training.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

Rng = np.random.Generator
Strokes = list[np.ndarray]  # each [K, 2]: x right, y down; the digit is about 1 tall

TRAIN_WRITERS = range(0, 400)  # writer ids for training images
TEST_WRITERS = range(1000, 1100)  # writer ids for test images only; never in TRAIN_WRITERS
MNIST_SIDE = 28  # output side, px
BOX_PX = 20  # longer side of the digit's ink box, px (as MNIST)
CENTRE = 14.0  # centre of mass, row/column index (MNIST test: 13.99 / 14.01)
# Strokes are drawn at SCALE × and box-reduced (area antialiasing). That alone matches MNIST's
# edges: over 300 test digits each of 1, 2, 4, 7, 9, MNIST has median stroke 2.6 px (2·area /
# perimeter at 0.5) and 65 % of its ink pixels partial; a 2.2 px pen gives 2.6 px and 66 %, while a
# Gaussian blur of 1.5 (3) px at 8× before reducing raises the partial share to 76 % (93 %).
SCALE = 8
_VISIBLE = 32  # an 8× pixel this bright or more can make its reduced pixel nonzero (≥ 0.5 / 255)
_WRITER_SALT = 0xC0417  # keeps writer styles apart from image streams seeded by the same ints


@dataclass(frozen=True)
class WriterStyle:
    """How one synthetic person writes; sizes are fractions of the digit's height unless noted."""

    slant_deg: float  # lean of upright strokes to the right, degrees, in [-10, 30]
    aspect: float  # width of a 4, 7 or 2 over its height, in [0.45, 0.95]
    pen_px: float  # pen width, px at MNIST scale (2.2 draws MNIST's median stroke), in [1.2, 5]
    jitter: float  # amplitude of the smooth hand wobble, fraction of the height, in [0, 0.05]
    roundness: float  # 0 = angular, 1 = round humps and curved stems, in [0, 1]
    bar_length: float  # crossbar of 7 and Z-like 2, fraction of the digit's width, in [0.2, 0.9]
    flag_length: float  # the 1's flag, fraction of the height, in [0.15, 0.6]
    flag_drop_deg: float  # the 1's flag angle below horizontal, degrees, in [10, 70]
    loop_size: float  # radius of the 2's starting curl, fraction of the height, in [0.04, 0.16]
    curl_turns: float  # how far the 2's starting curl goes round, turns, in [0.4, 1.2]
    tail_length: float  # the 9's hooked tail, leftward reach as a fraction of width, in [0.2, 1]
    serif_7: bool  # starts the 7's top bar with a short downward tick

    def __post_init__(self) -> None:
        ranges = {
            "slant_deg": (-10, 30), "aspect": (0.45, 0.95), "pen_px": (1.2, 5.0),
            "jitter": (0.0, 0.05), "roundness": (0.0, 1.0), "bar_length": (0.2, 0.9),
            "flag_length": (0.15, 0.6), "flag_drop_deg": (10, 70), "loop_size": (0.04, 0.16),
            "curl_turns": (0.4, 1.2), "tail_length": (0.2, 1.0),
        }
        for name, (low, high) in ranges.items():
            if not low <= getattr(self, name) <= high:
                raise ValueError(f"{name} must be in [{low}, {high}], got {getattr(self, name)}")


def writer_style(writer_id: int) -> WriterStyle:
    """The style of writer writer_id: always the same for the same id."""
    rng = np.random.default_rng([_WRITER_SALT, writer_id])
    return WriterStyle(
        slant_deg=float(np.clip(rng.normal(8, 8), -10, 30)),
        aspect=rng.uniform(0.5, 0.85),
        pen_px=float(np.clip(rng.lognormal(math.log(2.2), 0.22), 1.5, 3.6)),
        jitter=rng.uniform(0.005, 0.03),
        roundness=rng.uniform(0, 1),
        bar_length=rng.uniform(0.35, 0.75),
        flag_length=rng.uniform(0.25, 0.5),
        flag_drop_deg=rng.uniform(35, 65),
        loop_size=rng.uniform(0.09, 0.15),
        curl_turns=rng.uniform(0.5, 1.1),
        tail_length=rng.uniform(0.45, 0.9),
        serif_7=bool(rng.random() < 0.3),
    )


# --- geometry of the forms, in the unit box ---------------------------------------------------


def _bezier(p0: Sequence[float], p1: Sequence[float], p2: Sequence[float], p3: Sequence[float],
            count: int = 20) -> np.ndarray:
    t = np.linspace(0, 1, count)[:, None]
    p = [np.asarray(v, dtype=np.float64) for v in (p0, p1, p2, p3)]
    return (1 - t) ** 3 * p[0] + 3 * (1 - t) ** 2 * t * p[1] + 3 * (1 - t) * t**2 * p[2] + t**3 * p[3]


def _arc(centre: Sequence[float], radii: Sequence[float], start: float, stop: float,
         count: int = 32) -> np.ndarray:
    """Points on an ellipse from angle start to stop (radians; with y down, increasing angles turn
    clockwise on the page)."""
    angles = np.linspace(start, stop, count)[:, None]
    return np.asarray(centre) + np.asarray(radii) * np.hstack([np.cos(angles), np.sin(angles)])


def _line(*points: Sequence[float]) -> np.ndarray:
    return np.asarray(points, dtype=np.float64)


def _open_4(s: WriterStyle, rng: Rng) -> Strokes:
    """Down-stroke and bar in one stroke, then the stem, which the first stroke never reaches."""
    w = s.aspect
    bar_y = rng.uniform(0.55, 0.7)
    bend = _line((rng.uniform(0.05, 0.35) * w, rng.uniform(0.0, 0.1)),
                 (rng.uniform(0.0, 0.08) * w, bar_y),
                 (rng.uniform(0.95, 1.1) * w, bar_y + rng.uniform(-0.04, 0.02)))
    stem_x = rng.uniform(0.65, 0.8) * w
    stem = _line((stem_x + rng.uniform(0, 0.04), rng.uniform(0.0, 0.08)), (stem_x, 1.0))
    return [bend, stem]


def _flag_1(s: WriterStyle, rng: Rng, foot: bool = False) -> Strokes:
    """Up the flag from the lower left, down the stem; with foot, a bar under the stem.

    The flag's angle is kept on the page: the slant applied later would flatten it, and a flat flag
    on a leaning stem reads as a 7 (seen on the contact sheets)."""
    drop = math.radians(s.flag_drop_deg)
    flag = s.flag_length * rng.uniform(0.9, 1.1)
    top = (0.0, 0.0)
    unslant = flag * math.sin(drop) * math.tan(math.radians(s.slant_deg))
    start = (-flag * math.cos(drop) + unslant, flag * math.sin(drop))
    strokes = [np.vstack([_line(start), _bezier(top, (0, 0.3), (0, 0.7), (0, 1.0), 12)])]
    if foot:
        half = rng.uniform(0.15, 0.28)
        strokes.append(_line((-half * rng.uniform(0.8, 1.2), 1.0), (half * rng.uniform(0.8, 1.2), 1.0)))
    return strokes


def _crossed_7(s: WriterStyle, rng: Rng) -> Strokes:
    """Top bar and stem in one stroke (maybe after a serif tick), then a bar across the stem."""
    w = s.aspect
    foot_x = rng.uniform(0.15, 0.45) * w
    bulge = (s.roundness - 0.3) * 0.12  # a round writer bows the stem outwards
    stem = _bezier((w, 0), (w - 0.2 * w + bulge, 0.35), (foot_x + 0.1 * w + bulge, 0.7), (foot_x, 1.0))
    top = [(0.0, rng.uniform(0, 0.06))]
    if s.serif_7:
        top.insert(0, (rng.uniform(-0.03, 0.02), rng.uniform(0.1, 0.16)))
    seven = np.vstack([_line(*top), stem])
    bar_y = rng.uniform(0.45, 0.58)
    centre_x = float(np.interp(bar_y, stem[:, 1], stem[:, 0])) + rng.uniform(-0.03, 0.03)
    half = s.bar_length * w * rng.uniform(0.4, 0.55)
    tilt = rng.uniform(-0.03, 0.03)
    return [seven, _line((centre_x - half, bar_y + tilt), (centre_x + half, bar_y - tilt))]


def _z_2(s: WriterStyle, rng: Rng, crossed: bool = False) -> Strokes:
    """A hump (flatter for angular writers, but always dropping to the left, so it is no Z), a
    straight diagonal, a sharp corner and a flat base; crossed: a short bar through the diagonal."""
    w = s.aspect
    start_y = 0.15 + 0.2 * s.roundness + rng.uniform(-0.03, 0.03)
    shoulder = (w * rng.uniform(0.9, 1.0), 0.18 + 0.12 * s.roundness)
    hump = _bezier((rng.uniform(0.0, 0.1) * w, start_y), (0.1 * w, -0.06), (w * 1.02, -0.06), shoulder)
    corner = (rng.uniform(0.0, 0.08) * w, 1.0)
    base_end = (rng.uniform(1.0, 1.12) * w, 1.0 + rng.uniform(-0.04, 0.02))
    strokes = [np.vstack([hump, _line(corner, base_end)])]
    if crossed:
        t = rng.uniform(0.45, 0.6)
        mid = (1 - t) * np.asarray(shoulder) + t * np.asarray(corner)
        half = s.bar_length * w * rng.uniform(0.3, 0.45)
        strokes.append(_line((mid[0] - half, mid[1]), (mid[0] + half, mid[1] - rng.uniform(0, 0.04))))
    return strokes


def _curl_2(s: WriterStyle, rng: Rng) -> Strokes:
    """A 2 that starts with a small curl (hook or loop) at the top left, then hump, neck, base."""
    w = s.aspect
    r = s.loop_size * rng.uniform(0.85, 1.15)
    centre = (0.05 * w + r, 0.22 + r * 0.5)
    turns = s.curl_turns * 2 * math.pi
    curl = _arc(centre, (r, r), 1.5 * math.pi - turns, 1.5 * math.pi, 20)  # ends on top, heading right
    top = curl[-1]
    shoulder_y = 0.25 + 0.1 * s.roundness
    hump = _bezier(top, (top[0] + 0.25 * w, -0.12), (w * 1.05, -0.05), (w, shoulder_y))
    neck = _bezier((w, shoulder_y), (w * 0.95, 0.5), (0.3 * w, 0.75), (0.0, 1.0))
    base = _line((0.0, 1.0), (rng.uniform(0.95, 1.1) * w, 1.0 + rng.uniform(-0.04, 0.02)))
    return [np.vstack([curl, hump[1:], neck[1:], base[1:]])]


def _hooked_9(s: WriterStyle, rng: Rng) -> Strokes:
    """A closed head drawn anticlockwise, the stem down its right side, a tail hooking left."""
    w = s.aspect
    rx, ry = 0.5 * w * rng.uniform(0.8, 0.95), rng.uniform(0.17, 0.22)
    centre = (rx, ry)
    start = -0.15 * math.pi
    head = _arc(centre, (rx, ry), start, start - 2.1 * math.pi, 40)
    stem_x = centre[0] + rx * math.cos(start)
    bottom_x = stem_x - 0.1 * w * s.roundness
    reach = s.tail_length * w
    stem = _bezier(head[-1], (stem_x + 0.02, 0.5), (bottom_x, 0.7), (bottom_x, 0.85), 14)
    tail = _bezier((bottom_x, 0.85), (bottom_x, 1.02), (bottom_x - 0.5 * reach, 1.04),
                   (bottom_x - reach, 0.9 - 0.1 * s.roundness), 14)
    return [np.vstack([head, stem[1:], tail[1:]])]


_FORMS: dict[str, Callable[[WriterStyle, Rng], Strokes]] = {
    "open_4": _open_4,
    "flag_1": _flag_1,
    "flag_foot_1": lambda s, rng: _flag_1(s, rng, foot=True),
    "crossed_7": _crossed_7,
    "z_2": _z_2,
    "crossed_z_2": lambda s, rng: _z_2(s, rng, crossed=True),
    "curl_2": _curl_2,
    "hooked_9": _hooked_9,
}
CONTINENTAL_FORMS: dict[str, int] = {
    "open_4": 4, "flag_1": 1, "flag_foot_1": 1, "crossed_7": 7,
    "z_2": 2, "crossed_z_2": 2, "curl_2": 2, "hooked_9": 9,
}


def _strokes(form: str, writer: WriterStyle, rng: Rng) -> Strokes:
    """The form's strokes, slanted, slightly turned and wobbled smoothly like a hand."""
    if form not in _FORMS:
        raise ValueError(f"unknown form {form!r}; choose from {', '.join(CONTINENTAL_FORMS)}")
    strokes = _FORMS[form](writer, rng)
    slant = math.tan(math.radians(writer.slant_deg + rng.normal(0, 3)))
    turn = math.radians(rng.normal(0, 3))
    cos, sin = math.cos(turn), math.sin(turn)
    waves = rng.uniform(1.5, 4.0, (2, 2)), rng.uniform(0, 2 * math.pi, (2, 2))
    out = []
    for stroke in strokes:
        x = stroke[:, 0] + (1 - stroke[:, 1]) * slant
        y = stroke[:, 1]
        x, y = cos * x - sin * y, sin * x + cos * y
        # A smooth displacement field: nearby points move together, so curves stay curves.
        x = x + writer.jitter * np.sin(waves[0][0, 0] * y + waves[0][0, 1] * x + waves[1][0, 0])
        y = y + writer.jitter * np.sin(waves[0][1, 0] * x + waves[0][1, 1] * y + waves[1][1, 0])
        out.append(np.stack([x, y], axis=1))
    return out


def _draw(strokes: Strokes, pen: float, size: tuple[int, int]) -> Image.Image:
    """White strokes (px) on black, with round tips and joints: a disc at every vertex."""
    mask = Image.new("L", size, 0)
    draw = ImageDraw.Draw(mask)
    radius = pen / 2
    for stroke in strokes:
        xy = [(float(x), float(y)) for x, y in stroke]
        draw.line(xy, fill=255, width=max(1, round(pen)))
        for x, y in xy:
            draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=255)
    return mask


def _place(strokes: Strokes, longer_px: float, pen: float, offset: Sequence[float]) -> Strokes:
    """The strokes scaled so their skeleton's longer side is longer_px, moved to offset."""
    points = np.vstack(strokes)
    low = points.min(axis=0)
    scale = longer_px / float(np.ptp(points, axis=0).max())
    return [(s - low) * scale + np.asarray(offset) + pen / 2 for s in strokes]


def render_form(form: str, writer: WriterStyle, rng: Rng) -> np.ndarray:
    """The form as an MNIST digit: uint8 [28, 28], ink 255 on 0, the ink's box 20 px on its
    longer side, moved by whole pixels so its centre of mass is nearest (14, 14), as MNIST was."""
    strokes = _strokes(form, writer, rng)
    pen = writer.pen_px * SCALE * rng.uniform(0.9, 1.1)
    box = BOX_PX * SCALE
    placed = _place(strokes, box - pen, pen, (2, 2))
    extent = np.ceil(np.vstack(placed).max(axis=0) + pen / 2 + 4).astype(int)
    mask = _draw(placed, pen, (int(extent[0]), int(extent[1])))
    # Fit the visible ink (what survives reducing) to the box, as MNIST fitted its ink to 20 px.
    mask = mask.crop(mask.point(lambda v: 255 if v >= _VISIBLE else 0).getbbox())
    scale = box / max(mask.size)
    size = (min(box, max(1, round(mask.width * scale))), min(box, max(1, round(mask.height * scale))))
    grid = Image.new("L", tuple(-(-v // SCALE) * SCALE for v in size), 0)
    grid.paste(mask.resize(size, Image.Resampling.BILINEAR),
               ((grid.width - size[0]) // 2, (grid.height - size[1]) // 2))
    digit = np.asarray(grid.reduce(SCALE), np.float64)
    rows, cols = np.arange(digit.shape[0]), np.arange(digit.shape[1])
    total = digit.sum()
    top = round(CENTRE - (digit.sum(axis=1) @ rows) / total)
    left = round(CENTRE - (digit.sum(axis=0) @ cols) / total)
    out = np.zeros((MNIST_SIDE, MNIST_SIDE), np.uint8)
    top, left = min(max(top, 0), MNIST_SIDE - digit.shape[0]), min(max(left, 0), MNIST_SIDE - digit.shape[1])
    out[top: top + digit.shape[0], left: left + digit.shape[1]] = np.round(digit).astype(np.uint8)
    return out


def render_form_image(form: str, writer: WriterStyle, rng: Rng, side: int) -> np.ndarray:
    """The form as a photo-like picture: uint8 gray [side, side], dark ink on light paper, the
    digit 45–80 % of the side at a random spot, with uneven light, blur and noise."""
    if side < 16:
        raise ValueError(f"side must be at least 16 px, got {side}")
    strokes = _strokes(form, writer, rng)
    supersample = 4 if side <= 256 else 2
    longer = side * rng.uniform(0.45, 0.8) * supersample
    pen = writer.pen_px / BOX_PX * longer * rng.uniform(0.8, 1.2)
    placed = _place(strokes, longer - pen, pen, (0, 0))
    free = side * supersample - (np.vstack(placed).max(axis=0) + pen / 2)
    shift = rng.uniform(0, 1, 2) * np.maximum(free, 0)
    placed = [s + shift for s in placed]
    mask = _draw(placed, pen, (side * supersample,) * 2).reduce(supersample)
    cover = np.asarray(mask, np.float32) / 255 * rng.uniform(0.8, 1.0)
    paper, ink = rng.uniform(0.7, 1.0), rng.uniform(0.0, 0.3)
    gray = paper + (ink - paper) * cover
    ys = np.linspace(-1, 1, side, dtype=np.float32)[:, None]
    xs = np.linspace(-1, 1, side, dtype=np.float32)[None, :]
    angle = rng.uniform(0, 2 * np.pi)
    gray = gray * (1 - rng.uniform(0, 0.35) * (np.cos(angle) * xs + np.sin(angle) * ys + 1.5) / 3)
    image = Image.fromarray(np.round(np.clip(gray, 0, 1) * 255).astype(np.uint8))
    image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.2, 1.0) * side / 100))
    noisy = np.asarray(image, np.float32) + rng.normal(0, rng.uniform(1, 8), (side, side))
    return np.clip(np.round(noisy), 0, 255).astype(np.uint8)


def generate_continental(
    count: int, seed: int, writers: Sequence[int],
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """count MNIST-style images (uint8 [N, 28, 28]), their digit labels (int64 [N]) and form
    names; forms take turns (balanced), writers are drawn from writers; image i has its own
    generator seeded by (seed, i), so it does not depend on count."""
    if not writers:
        raise ValueError("writers is empty; pass e.g. TRAIN_WRITERS or TEST_WRITERS")
    forms = list(CONTINENTAL_FORMS)
    styles = {w: writer_style(w) for w in writers}
    images = np.empty((count, MNIST_SIDE, MNIST_SIDE), np.uint8)
    names = [forms[i % len(forms)] for i in range(count)]
    for i, form in enumerate(names):
        rng = np.random.default_rng([seed, i])
        images[i] = render_form(form, styles[writers[int(rng.integers(len(writers)))]], rng)
    labels = np.array([CONTINENTAL_FORMS[n] for n in names], dtype=np.int64)
    return images, labels, names

"""Seeded generator of realistic user images (photos, canvas drawings, boards) from MNIST digits."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFilter

from serving.imageops import max_filter, min_filter

Rng = np.random.Generator
_MORPH_SCALE = 8  # strokes are shaped at 8× MNIST resolution (224 px)


@dataclass(frozen=True)
class RealisticImage:
    """One generated user image and the MNIST digit it was made from."""

    data: bytes  # the encoded file (PNG, JPEG, GIF, BMP or WebP)
    label: int  # digit class 0–9 of the source MNIST image
    style: str  # one of STYLES
    index: int  # index of the source image in the MNIST test set


def generate(
    images: np.ndarray, labels: np.ndarray, indices: Iterable[int], styles: Iterable[str],
    seed: int,
) -> Iterator[RealisticImage]:
    """Render MNIST images[i] (uint8 [N, 28, 28]) in every style; one generator per (seed, i, style)

    so an image does not depend on which others are generated with it.
    """
    styles = tuple(styles)
    for style in styles:
        if style not in STYLES:
            raise ValueError(f"unknown style {style!r}; choose from {', '.join(STYLES)}")
    for index in indices:
        for style in styles:
            rng = np.random.default_rng([seed, int(index), list(STYLES).index(style)])
            data = STYLES[style](images[index].astype(np.float32) / 255, rng)
            yield RealisticImage(data=data, label=int(labels[index]), style=style, index=int(index))


# --- strokes --------------------------------------------------------------------------------


def stroke_coverage(
    digit: np.ndarray, frame: int, threshold: float, grow: float = 0.0, pen: float = 0.0,
) -> np.ndarray:
    """Ink coverage in [0, 1] of the 28×28 digit drawn as pen strokes over a frame² px square.

    The digit is upscaled 8× bicubically and thresholded (smooth pen-like outlines); with pen > 0
    it is thinned to its centre line and redrawn `pen` MNIST px wide (a fine pen that keeps every
    stroke, unlike erosion); then dilated (grow > 0) or eroded (grow < 0) by |grow| MNIST px,
    redrawn at 2× the frame and averaged down so the edges are antialiased.
    """
    side = _MORPH_SCALE * 28
    field = Image.fromarray(digit).resize((side, side), Image.Resampling.BICUBIC)
    binary = np.asarray(field) > threshold
    if pen:
        binary = _skeleton(binary)
        grow += pen / 2
    radius = round(abs(grow) * _MORPH_SCALE)
    if radius:
        # Separable doubling min/max: the same pixels as Pillow's MaxFilter/MinFilter (the digit
        # has empty margins, so edge handling never matters), 7–14 ms → under 1 ms per digit.
        binary = (max_filter if grow > 0 else min_filter)(binary, 2 * radius + 1)
    mask = Image.fromarray((binary * 255).astype(np.uint8))
    if radius:
        mask = mask.filter(ImageFilter.GaussianBlur(radius / 2))
    smooth = mask.filter(ImageFilter.GaussianBlur(1.5)).resize(
        (2 * frame, 2 * frame), Image.Resampling.BICUBIC)
    sharp = Image.fromarray(((np.asarray(smooth) > 127) * 255).astype(np.uint8))
    return np.asarray(sharp.resize((frame, frame), Image.Resampling.BOX), np.float32) / 255


def _skeleton(mask: np.ndarray) -> np.ndarray:
    """Zhang–Suen thinning of a bool mask to 1-px centre lines (Zhang & Suen, CACM 1984)."""
    image = np.pad(mask, 1).astype(np.uint8)
    while True:
        changed = False
        for step in (0, 1):
            p = [image[1:-1, 1:-1]] + [
                image[1 + dy: image.shape[0] - 1 + dy, 1 + dx: image.shape[1] - 1 + dx]
                for dy, dx in ((-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1), (-1, -1))
            ]
            ring = p[1:] + p[1:2]  # P2..P9, P2
            neighbours = sum(p[1:])
            transitions = sum((ring[i] == 0) & (ring[i + 1] == 1) for i in range(8))
            if step == 0:
                side = (p[1] * p[3] * p[5] == 0) & (p[3] * p[5] * p[7] == 0)
            else:
                side = (p[1] * p[3] * p[7] == 0) & (p[1] * p[5] * p[7] == 0)
            remove = (p[0] == 1) & (neighbours >= 2) & (neighbours <= 6) & (transitions == 1) & side
            if remove.any():
                image[1:-1, 1:-1][remove] = 0
                changed = True
        if not changed:
            return image[1:-1, 1:-1].astype(bool)


def place(canvas_shape: tuple[int, int], coverage: np.ndarray, top: int, left: int) -> np.ndarray:
    """The coverage pasted into an all-zero canvas of canvas_shape at (top, left)."""
    out = np.zeros(canvas_shape, np.float32)
    out[top: top + coverage.shape[0], left: left + coverage.shape[1]] = coverage
    return out


def random_spot(rng: Rng, canvas: tuple[int, int], frame: int) -> tuple[int, int]:
    """A uniformly random (top, left) at which a frame² px square fits inside the canvas."""
    return int(rng.integers(0, canvas[0] - frame + 1)), int(rng.integers(0, canvas[1] - frame + 1))


def smooth_field(rng: Rng, shape: tuple[int, int], cells: int, amplitude: float) -> np.ndarray:
    """Low-frequency noise (blotches, smudges): a random cells-wide grid upsampled bicubically."""
    grid = rng.normal(0, amplitude, (cells, cells)).astype(np.float32)
    return np.asarray(Image.fromarray(grid).resize((shape[1], shape[0]), Image.Resampling.BICUBIC))


def lighting(rng: Rng, shape: tuple[int, int], gradient: float, vignette: float) -> np.ndarray:
    """Multiplicative light: a linear falloff in a random direction times a radial vignette."""
    height, width = shape
    ys = np.linspace(-1, 1, height, dtype=np.float32)[:, None]
    xs = np.linspace(-1, 1, width, dtype=np.float32)[None, :]
    angle = rng.uniform(0, 2 * np.pi)
    ramp = (np.cos(angle) * xs + np.sin(angle) * ys + 1.5) / 3  # in [0, 1]
    cy, cx = rng.uniform(-0.4, 0.4, 2)
    radius2 = ((xs - cx) ** 2 + (ys - cy) ** 2) / 2
    return (1 - gradient * ramp) * (1 - vignette * np.clip(radius2, 0, 1))


def encode(image: Image.Image, fmt: str, **options: object) -> bytes:
    """The image as a file of format fmt ("PNG", "JPEG"…), with Pillow's save options."""
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def to_rgb_image(rgb: np.ndarray) -> Image.Image:
    """A float RGB [H, W, 3] array in [0, 1] (clipped) as an 8-bit Pillow image."""
    return Image.fromarray(np.round(np.clip(rgb, 0, 1) * 255).astype(np.uint8))


def ink_on_paper(paper: np.ndarray, ink: np.ndarray, coverage: np.ndarray) -> np.ndarray:
    """RGB [H, W, 3]: paper (a colour (3,) or an RGB image) with ink colour (3,) laid on where
    coverage [H, W] > 0."""
    cover = coverage[..., None]
    return np.asarray(paper) * (1 - cover) + np.asarray(ink) * cover


# --- styles ---------------------------------------------------------------------------------


def _photo(digit: np.ndarray, rng: Rng, shape: tuple[int, int]) -> bytes:
    """Pen on off-white paper: uneven light, paper grain, slight blur, JPEG quality 40–85."""
    frame = int(rng.uniform(0.35, 0.8) * min(shape))
    cover = stroke_coverage(digit, frame, rng.uniform(0.35, 0.6)) * rng.uniform(0.75, 1.0)
    cover = place(shape, cover, *random_spot(rng, shape, frame))
    paper = rng.uniform(0.7, 0.95) + rng.uniform(-0.04, 0.04, 3)
    ink = np.array([rng.uniform(0.05, 0.25), rng.uniform(0.05, 0.25), rng.uniform(0.05, 0.45)])
    rgb = ink_on_paper(paper, ink, cover)
    light = lighting(rng, shape, rng.uniform(0.1, 0.45), rng.uniform(0.0, 0.35))
    grain = smooth_field(rng, shape, 12, 0.02) + rng.normal(0, rng.uniform(0.005, 0.03), shape)
    rgb = rgb * light[..., None] + grain[..., None].astype(np.float32)
    image = to_rgb_image(rgb).filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.5)))
    return encode(image, "JPEG", quality=int(rng.integers(40, 86)))


def paper_photo(digit: np.ndarray, rng: Rng) -> bytes:
    """(a) A phone-sized crop of a photographed page, 480–1280 px, either orientation."""
    long_side = int(rng.integers(480, 1281))
    short_side = long_side * 3 // 4
    shape = (short_side, long_side) if rng.random() < 0.5 else (long_side, short_side)
    return _photo(digit, rng, shape)


def phone_photo(digit: np.ndarray, rng: Rng) -> bytes:
    """(a) A full-resolution 4000×3000 phone photo (decode and downscale speed)."""
    return _photo(digit, rng, (3000, 4000) if rng.random() < 0.5 else (4000, 3000))


def canvas_rgba(digit: np.ndarray, rng: Rng) -> bytes:
    """(b) A browser-canvas drawing: thick brush strokes on alpha = 0, exported as RGBA PNG."""
    frame = int(rng.integers(200, 401))
    alpha = stroke_coverage(digit, frame, rng.uniform(0.35, 0.5), grow=rng.uniform(0.2, 0.7))
    return canvas_png(alpha, rng)


def canvas_png(alpha: np.ndarray, rng: Rng) -> bytes:
    """Brush coverage [H, W] in [0, 1] as a browser-canvas export: one random colour, RGBA PNG."""
    # Canvas exports store transparent pixels as black (0, 0, 0, 0); some tools use white.
    background = 255 if rng.random() < 0.3 else 0
    colour = rng.integers(0, 90, 3) if rng.random() < 0.8 else rng.integers(0, 256, 3)
    rgba = np.empty((*alpha.shape, 4), np.uint8)
    rgba[..., :3] = np.where(alpha[..., None] > 0, colour, background)
    rgba[..., 3] = np.round(alpha * 255)
    return encode(Image.fromarray(rgba, "RGBA"), "PNG")


def small_offcentre(digit: np.ndarray, rng: Rng) -> bytes:
    """(c) A 40–60 px digit near a corner of a 400×300 white canvas with a few dust specks."""
    shape = (300, 400)
    frame = int(rng.integers(40, 61))
    top = int(rng.integers(5, 40)) if rng.random() < 0.5 else shape[0] - frame - int(
        rng.integers(5, 40))
    left = int(rng.integers(5, 60)) if rng.random() < 0.5 else shape[1] - frame - int(
        rng.integers(5, 60))
    gray = 1 - place(shape, stroke_coverage(digit, frame, 0.5), top, left) * rng.uniform(0.7, 1.0)
    for _ in range(int(rng.integers(0, 4))):
        y, x = int(rng.integers(0, shape[0] - 2)), int(rng.integers(0, shape[1] - 2))
        size = int(rng.integers(1, 3))
        gray[y: y + size, x: x + size] = rng.uniform(0.2, 0.6)
    image = Image.fromarray(np.round(gray * 255).astype(np.uint8))
    fmt = ("PNG", "GIF", "BMP")[int(rng.integers(0, 3))]
    return encode(image.convert("RGB") if fmt == "BMP" else image, fmt)


def chalkboard(digit: np.ndarray, rng: Rng) -> bytes:
    """(d) White chalk on a dark green or black board: grainy strokes, smudges, JPEG."""
    long_side = int(rng.integers(400, 1001))
    shape = (long_side * 3 // 4, long_side)
    frame = int(rng.uniform(0.4, 0.8) * min(shape))
    cover = stroke_coverage(digit, frame, rng.uniform(0.35, 0.55), grow=0.3)
    grain = np.clip(rng.uniform(0.55, 1.0, cover.shape), 0, 1).astype(np.float32)
    cover = place(shape, cover * grain, *random_spot(rng, shape, frame))
    board = np.array([0.12, 0.22, 0.16]) if rng.random() < 0.6 else np.array([0.1, 0.1, 0.1])
    board = board * rng.uniform(0.7, 1.3)
    rgb = ink_on_paper(board, np.full(3, rng.uniform(0.8, 0.95)), cover)
    smudge = np.abs(smooth_field(rng, shape, 6, 0.06))
    light = lighting(rng, shape, rng.uniform(0.0, 0.3), rng.uniform(0.0, 0.3))
    rgb = (rgb + smudge[..., None]) * light[..., None]
    rgb = rgb + rng.normal(0, 0.015, shape)[..., None].astype(np.float32)
    image = to_rgb_image(rgb).filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.0)))
    return encode(image, "JPEG", quality=int(rng.integers(50, 91)))


def thin_pen(digit: np.ndarray, rng: Rng) -> bytes:
    """(e) A fine pen: strokes a third to a half of MNIST's width, on white, PNG or WebP."""
    frame = int(rng.integers(200, 501))
    shape = (int(frame * rng.uniform(1.1, 1.6)),) * 2
    cover = stroke_coverage(digit, frame, 0.5, pen=rng.uniform(0.8, 1.4))
    gray = 1 - place(shape, cover, *random_spot(rng, shape, frame)) * rng.uniform(0.8, 1.0)
    image = Image.fromarray(np.round(gray * 255).astype(np.uint8))
    if rng.random() < 0.5:
        return encode(image, "PNG")
    return encode(image, "WEBP", quality=int(rng.integers(60, 91)))


def thick_marker(digit: np.ndarray, rng: Rng) -> bytes:
    """(e) A fat marker: strokes about 1.5–2× MNIST's relative width, PNG or BMP.

    Fatter strokes (threshold 0.2–0.35, grow 0.5–1.0) closed the loops of 3, 5, 8 and 9 into
    blobs a person cannot read either (4.3 % of seed-1 images misread).
    """
    frame = int(rng.integers(150, 401))
    shape = (int(frame * rng.uniform(1.1, 1.6)),) * 2
    cover = stroke_coverage(digit, frame, rng.uniform(0.3, 0.4), grow=rng.uniform(0.3, 0.7))
    gray = 1 - place(shape, cover, *random_spot(rng, shape, frame))
    image = Image.fromarray(np.round(gray * 255).astype(np.uint8))
    return encode(image, "PNG" if rng.random() < 0.5 else "BMP")


STYLES: dict[str, Callable[[np.ndarray, Rng], bytes]] = {
    "paper_photo": paper_photo,
    "canvas_rgba": canvas_rgba,
    "small_offcentre": small_offcentre,
    "chalkboard": chalkboard,
    "thin_pen": thin_pen,
    "thick_marker": thick_marker,
    "phone_photo": phone_photo,
}

"""The Scene type and the scene generators' building blocks: pens, papers, boxes, warps, finishing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from benchmarks.realistic import encode, ink_on_paper, lighting, stroke_coverage, to_rgb_image

Rng = np.random.Generator
Box = tuple[int, int, int, int]  # (left, top, right, bottom) px; right and bottom exclusive
Shape = tuple[int, int]  # (height, width) px


@dataclass(frozen=True)
class Scene:
    """One encoded photo of a digit and where its ink is."""

    data: bytes  # the encoded file, PNG or JPEG
    box: Box  # (left, top, right, bottom) px of the image around the digit's ink, right/bottom excl.


# A scene kind: (digit float [28, 28] in [0, 1], generator, neighbour digits uint8 [2, 28, 28] or
# None) → Scene.
Renderer = Callable[[np.ndarray, Rng, np.ndarray | None], Scene]


def random_shape(rng: Rng, low: int, high: int) -> Shape:
    """A random (height, width) with height in [low, high] px and width 0.8–1.4 × height."""
    height = int(rng.integers(low, high + 1))
    return height, int(height * rng.uniform(0.8, 1.4))


def ink_box(mask: np.ndarray, level: float = 0.25) -> Box:
    """The bounding box of the pixels of mask [H, W] above level."""
    rows = np.flatnonzero((mask > level).any(axis=1))
    cols = np.flatnonzero((mask > level).any(axis=0))
    if rows.size == 0:
        raise ValueError(f"no ink above {level}: the digit is blank or was drawn outside the image")
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


def distance_to_lines(coordinate: np.ndarray, pitch: float) -> np.ndarray:
    """Distance (px) from each coordinate to the nearest multiple of pitch (ruled lines)."""
    return np.abs((coordinate + pitch / 2) % pitch - pitch / 2)


def tight_crop(coverage: np.ndarray, level: float = 0.02) -> np.ndarray:
    """The coverage cut down to the rows and columns that hold ink above level."""
    left, top, right, bottom = ink_box(coverage, level)
    return coverage[top:bottom, left:right]


def handwriting(digit: np.ndarray, frame: int, rng: Rng, fine_share: float) -> np.ndarray:
    """Ink coverage of the digit (float [28, 28]) written with a pen in a frame² px square.

    MNIST's own stroke width, or with probability fine_share a fine pen 0.8–1.4 MNIST px wide
    (thresholding higher instead broke thin strokes apart).
    """
    if rng.random() < fine_share:
        return stroke_coverage(digit, frame, 0.5, pen=rng.uniform(0.8, 1.4))
    return stroke_coverage(digit, frame, rng.uniform(0.35, 0.55))


def pen_ink(rng: Rng) -> np.ndarray:
    """A ballpoint or fountain-pen colour between black and blue (RGB in [0, 1])."""
    return np.array([rng.uniform(0.05, 0.25), rng.uniform(0.05, 0.25), rng.uniform(0.05, 0.5)],
                    np.float32)


def paper_colour(rng: Rng) -> np.ndarray:
    """White to cream office or notebook paper, as a camera sees it (RGB in [0, 1])."""
    return np.float32(rng.uniform(0.8, 0.97)) + np.array([0.01, 0.0, -rng.uniform(0.0, 0.06)], np.float32)


def mottle(rng: Rng, shape: Shape) -> np.ndarray:
    """Low-frequency unevenness of paper and boards (±1.5 % brightness), float32 [H, W] around 0."""
    cells = rng.normal(0, 0.006, (10, 10)).astype(np.float32)
    return np.asarray(Image.fromarray(cells).resize((shape[1], shape[0]), Image.Resampling.BICUBIC))


def soft_shape(shape: Shape, polygon: np.ndarray | None, ellipse: tuple[float, ...] | None,
               blur: float) -> np.ndarray:
    """A filled polygon [K, 2] (x, y) or ellipse (x0, y0, x1, y1), blurred by blur px, [H, W].

    Values are in [0, 1]. Wide blurs are drawn at a reduced scale (about 4 px of blur there)
    and enlarged: the same soft edge for a fraction of the cost on 1000 px photos.
    """
    factor = float(np.clip(4 / max(blur, 1e-3), 1 / 8, 1))
    small = (max(2, round(shape[1] * factor)), max(2, round(shape[0] * factor)))
    image = Image.new("L", small)
    draw = ImageDraw.Draw(image)
    if polygon is not None:
        draw.polygon([(float(x) * factor, float(y) * factor) for x, y in polygon], fill=255)
    if ellipse is not None:
        draw.ellipse([v * factor for v in ellipse], fill=255)
    if blur > 0:
        image = image.filter(ImageFilter.GaussianBlur(float(blur * factor)))
    if small != (shape[1], shape[0]):
        image = image.resize((shape[1], shape[0]), Image.Resampling.BILINEAR)
    return np.asarray(image, np.float32) / 255


def scribbles(rng: Rng, shape: Shape, count: int, length: float, width: int) -> np.ndarray:
    """count smooth random pen strokes about length px long and width px wide, [H, W] in [0, 1]."""
    image = Image.new("L", (shape[1], shape[0]))
    draw = ImageDraw.Draw(image)
    for _ in range(count):
        point = rng.uniform((0, 0), (shape[1], shape[0]))
        heading, turn = rng.uniform(0, 2 * np.pi), rng.normal(0, 0.15)
        points = [tuple(point)]
        for _ in range(10):
            turn += rng.normal(0, 0.1)
            heading += turn
            point = point + length / 10 * np.array([np.cos(heading), np.sin(heading)])
            points.append(tuple(point))
        draw.line(points, fill=255, width=max(1, width), joint="curve")
    return np.asarray(image.filter(ImageFilter.GaussianBlur(0.6)), np.float32) / 255


def rotate_about(points: np.ndarray, angle: float, centre: np.ndarray) -> np.ndarray:
    """Points [K, 2] (x, y) turned by angle radians about centre, as Pillow's rotate turns pixels."""
    cos, sin = np.cos(angle), np.sin(angle)
    # Image y points down, so a counter-clockwise turn on screen is (x, y) → (x·c + y·s, −x·s + y·c).
    offset = points - centre
    return centre + offset @ np.array([[cos, -sin], [sin, cos]])


def perspective_coefficients(output_quad: np.ndarray, input_quad: np.ndarray) -> tuple[float, ...]:
    """The 8 coefficients of the perspective map that sends output_quad [4, 2] to input_quad.

    Pillow's PERSPECTIVE transform samples the input at ((a·x + b·y + c) / (g·x + h·y + 1), …)
    for output pixel (x, y); with the quads swapped the map runs forward (see map_points).
    """
    rows, rhs = [], []
    for (x, y), (u, v) in zip(output_quad, input_quad, strict=True):
        rows += [[x, y, 1, 0, 0, 0, -u * x, -u * y], [0, 0, 0, x, y, 1, -v * x, -v * y]]
        rhs += [u, v]
    return tuple(float(c) for c in np.linalg.solve(np.array(rows), np.array(rhs)))


def map_points(points: np.ndarray, coefficients: tuple[float, ...]) -> np.ndarray:
    """Points [K, 2] (x, y) sent through the perspective map of 8 coefficients (see above)."""
    a, b, c, d, e, f, g, h = coefficients
    x, y = points[:, 0], points[:, 1]
    scale = g * x + h * y + 1
    return np.stack([(a * x + b * y + c) / scale, (d * x + e * y + f) / scale], axis=1)


def enlarge(field: np.ndarray, shape: Shape) -> np.ndarray:
    """A float32 [h, w] field resized bilinearly to shape (slow light and shadow, cheaply)."""
    image = Image.fromarray(np.asarray(field, np.float32))
    return np.asarray(image.resize((shape[1], shape[0]), Image.Resampling.BILINEAR))


def finish(rgb: np.ndarray, rng: Rng, blur: float, noise: float, quality: int | None) -> bytes:
    """The photo, float RGB [H, W, 3], encoded with sensor noise and lens blur.

    noise: std dev of the grey noise, fraction of full scale; blur: box radius, px (one pass:
    11 ms on a 1000×750 photo against 28 ms for a Gaussian); quality: JPEG quality, None for PNG.
    """
    if noise > 0:
        rgb = rgb + rng.standard_normal(rgb.shape[:2], dtype=np.float32)[..., None] * np.float32(noise)
    image = to_rgb_image(rgb)
    if blur > 0:
        image = image.filter(ImageFilter.BoxBlur(blur))
    if quality is None:
        # Fastest deflate: noisy scans took 8 ms each at the default level; decoders don't care.
        return encode(image, "PNG", compress_level=1)
    return encode(image, "JPEG", quality=quality)


def photographed(coverage: np.ndarray, paper: np.ndarray, ink: np.ndarray, rng: Rng) -> bytes:
    """`ink` (RGB) laid on `paper` (RGB) where coverage [H, W] > 0, the paper a little uneven,
    then photographed (70 %) or scanned (photo_or_scan)."""
    rgb = ink_on_paper(paper, ink, coverage) + mottle(rng, coverage.shape)[..., None]
    return photo_or_scan(rgb, rng, scan=rng.random() < 0.3)


def photo_or_scan(rgb: np.ndarray, rng: Rng, scan: bool) -> bytes:
    """A flatbed scan (even light, PNG) or a phone photo (uneven light, grain, JPEG) of rgb."""
    shape = rgb.shape[:2]
    if scan:
        return finish(rgb, rng, rng.uniform(0.0, 0.6), 0.004, None)
    light = lighting(rng, shape, rng.uniform(0.05, 0.35), rng.uniform(0.0, 0.3))
    rgb = rgb * light[..., None] + mottle(rng, shape)[..., None]
    return finish(rgb, rng, rng.uniform(0.3, 1.0), rng.uniform(0.005, 0.02), int(rng.integers(55, 93)))

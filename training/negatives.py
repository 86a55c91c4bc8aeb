"""Seeded generator of images that are not digits (letters, symbols, shapes, paper, textures)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
from PIL import Image, ImageFilter

from training.fonts import SPLITS
from training.negative_families import FAMILIES, texture
from training.pen import OBJECT_PX, Rng, transform

NEGATIVE_FAMILIES: tuple[str, ...] = (
    "letters", "symbols", "scribbles", "shapes", "boxes", "rulers", "signatures", "textures",
)
CANVAS_PX = (28, 200)  # canvas height and width range, px; width/height stays in [0.5, 2]
LIGHT_ON_DARK_SHARE = 0.15  # share of images with light ink on dark ground (boards, screens)
INK_CONTRAST = (0.45, 0.9)  # |ink − paper| in units of full scale: never a blank page


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
        gray = texture(rng, shape)
    else:
        spec = FAMILIES[family]
        fill = rng.uniform(*spec.fill)
        # The drawing's longer side lands between fill × the canvas's shorter and longer side;
        # the pen stays at least 1 px wide even at the shorter one.
        pen = max(rng.uniform(*spec.pen), min(1.0 / (fill * min(shape)), spec.pen[1]))
        mask = spec.draw(rng, pen * OBJECT_PX, split)
        mask = transform(mask, rng.uniform(-spec.max_rotation_deg, spec.max_rotation_deg),
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

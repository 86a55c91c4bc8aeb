"""Contact sheets (captioned image grids) for looking at generated training images by eye.

Usage: python -m benchmarks.contact_sheet negatives|continental --out DIR [--per-sheet 100]
writes one PNG per negative family or continental form.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from training.continental import (
    CONTINENTAL_FORMS,
    TEST_WRITERS,
    TRAIN_WRITERS,
    render_form,
    render_form_image,
    writer_style,
)
from training.negatives import NEGATIVE_FAMILIES, generate_negatives

CAPTION_PX = 12  # height of the caption strip under each cell, px
GAP_PX = 2  # space between cells, px
SHEET_SEED = 20240  # generation seed of the sheets (fixed so sheets can be compared across edits)


def contact_sheet(
    images: Sequence[np.ndarray], labels: Sequence[str], columns: int, cell: int,
) -> Image.Image:
    """An RGB grid of the images (uint8 gray [H, W] or RGB [H, W, 3]), each fitted into a cell×cell
    square without changing its aspect, with its label written under it."""
    if len(images) != len(labels):
        raise ValueError(f"got {len(images)} images but {len(labels)} labels")
    if columns < 1 or cell < 1:
        raise ValueError(f"columns and cell must be positive, got {columns} and {cell}")
    rows = max(1, -(-len(images) // columns))
    pitch_x, pitch_y = cell + GAP_PX, cell + CAPTION_PX + GAP_PX
    sheet = Image.new("RGB", (columns * pitch_x + GAP_PX, rows * pitch_y + GAP_PX), (128, 128, 160))
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default()
    for i, (array, label) in enumerate(zip(images, labels, strict=True)):
        image = Image.fromarray(np.asarray(array, np.uint8)).convert("RGB")
        scale = cell / max(image.size)
        # Nearest for enlarging keeps MNIST-sized pixels visible; antialiased for shrinking.
        resample = Image.Resampling.NEAREST if scale >= 1 else Image.Resampling.LANCZOS
        image = image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))),
                             resample)
        x, y = GAP_PX + (i % columns) * pitch_x, GAP_PX + (i // columns) * pitch_y
        sheet.paste(image, (x + (cell - image.width) // 2, y + (cell - image.height) // 2))
        draw.text((x + 1, y + cell), str(label)[: max(1, cell // 6)], fill=(255, 255, 255), font=font)
    return sheet


def negative_sheets(out: Path, per_sheet: int, split: str) -> list[Path]:
    """One sheet per negative family; captions give the image size."""
    written = []
    for family in NEGATIVE_FAMILIES:
        images = [image for image, _ in generate_negatives(per_sheet, SHEET_SEED, (family,), split)]
        labels = [f"{im.shape[1]}x{im.shape[0]}" for im in images]
        written.append(out / f"negatives-{family}-{split}.png")
        contact_sheet(images, labels, 10, 96).save(written[-1])
    return written


def continental_sheets(out: Path, per_sheet: int, split: str) -> list[Path]:
    """One sheet per continental form, MNIST-style 28×28, captioned with the writer id; plus one
    sheet of the photo-like versions of every form."""
    writers = TRAIN_WRITERS if split == "train" else TEST_WRITERS
    written = []
    for f, form in enumerate(CONTINENTAL_FORMS):
        images, labels = [], []
        for i in range(per_sheet):
            writer = writers[i % len(writers)]
            rng = np.random.default_rng([SHEET_SEED, f, i])
            images.append(render_form(form, writer_style(writer), rng))
            labels.append(f"w{writer}")
        written.append(out / f"continental-{form}-{split}.png")
        contact_sheet(images, labels, 10, 56).save(written[-1])
    photos, names = [], []
    for i in range(per_sheet):
        form = list(CONTINENTAL_FORMS)[i % len(CONTINENTAL_FORMS)]
        rng = np.random.default_rng([SHEET_SEED, 99, i])
        photos.append(render_form_image(form, writer_style(writers[i]), rng, int(rng.integers(40, 200))))
        names.append(form)
    written.append(out / f"continental-photos-{split}.png")
    contact_sheet(photos, names, 10, 96).save(written[-1])
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=("negatives", "continental"))
    parser.add_argument("--out", type=Path, required=True, help="folder the PNG sheets go to")
    parser.add_argument("--per-sheet", type=int, default=100, help="images per sheet")
    parser.add_argument("--split", choices=("train", "heldout"), default="train",
                        help="fonts (negatives) or writers (continental) to draw with")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    make = negative_sheets if args.kind == "negatives" else continental_sheets
    for path in make(args.out, args.per_sheet, args.split):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

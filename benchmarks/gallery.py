"""A gallery of hard cases: each image with the ink the service chose, the 28 × 28 the model saw, and
its answer.

Usage: python -m benchmarks.gallery --out plots/hard_cases.png [--per-group 4] [--candidates 40]
    [--model exported/model.onnx] [--data-dir DIR]
draws a few images of every scene kind, continental forms, numbers and non-digits from the TUNING
sets (benchmarks.real_sets, split "tune"), wrong answers first; the reported sets stay unseen.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from benchmarks.real_sets import REAL_SPLITS, SetSizes, build_sets
from benchmarks.scenes import outlined
from serving.engine import DigitEngine, ImageInput, Status
from serving.model import DEFAULT_MODEL_PATH, REPO_ROOT
from serving.number_layout import layout_encoded
from serving.numbers import NumberStatus
from serving.preprocess import prepare_encoded

NOT_A_DIGIT = "not a digit"  # the truth of a non-digit image
TIMEOUT_S = 120.0  # deadline of one engine call, s (one image; generous for a busy machine)
CAPTION_PX = 30  # two caption lines under each cell, px
SEEN_PX = 56  # side of the 28 × 28 the model saw, drawn at 2×, px (smaller when many)
GAP_PX = 4
WRONG, RIGHT = (255, 90, 90), (230, 230, 230)  # caption colours

Label = int | str | None  # a digit, a number's text ("0417"), or None for a non-digit


@dataclass(frozen=True)
class Case:
    """One image with the service's answer and what the model was shown."""

    data: bytes  # the encoded image file
    group: str  # what kind of image it is (scene kind, "numbers", a non-digit family...)
    truth: str  # the digit, the number, or NOT_A_DIGIT
    answer: str  # the digit or number read, or the status ("not a digit", "blank"...)
    confidence: float  # of the answer, in [0, 1]; 0 unless a digit or number was read
    boxes: tuple[tuple[int, int, int, int], ...]  # the ink classified, in the image's pixels
    seen: tuple[np.ndarray, ...]  # uint8 [28, 28] per classified piece, as the model got it; for
    # a number read by the number reader, its line image [32, W] as the reader got it
    wrong: bool  # the answer is not the truth (for a non-digit: any digit answer is wrong)


def case_of(engine: DigitEngine, data: bytes, label: Label, group: str) -> Case:
    """Ask the engine (the served path without gRPC) about one image; a str label reads a number."""
    image = ImageInput(data, encoded=True)
    if isinstance(label, str):
        reading = engine.read_number([image], TIMEOUT_S)[0]
        read = reading.status is NumberStatus.NUMBER
        number = "".join(str(d.digit) for d in reading.digits)
        boxes = tuple(d.box for d in reading.digits)
        layout = layout_encoded(data, engine.config.image_limits, engine.config.preprocess)
        if layout is None:
            seen: tuple[np.ndarray, ...] = ()
        elif engine.reader is not None and layout.line is not None:
            seen = (np.round(layout.line.pixels * 255).astype(np.uint8),)
        else:
            seen = tuple(layout.pixels[layout.boxes.index(box)] for box in boxes)
        return Case(data, group, label, number if read else reading.status.value.replace("_", " "),
                    reading.confidence if read else 0.0, boxes, seen, number != label)
    prediction = engine.classify([image], TIMEOUT_S)[0]
    prepared = prepare_encoded(data, engine.config.image_limits, engine.config.preprocess)
    is_digit = prediction.status is Status.DIGIT
    answer = str(prediction.digit) if is_digit else prediction.status.value.replace("_", " ")
    truth = NOT_A_DIGIT if label is None else str(label)
    return Case(data, group, truth, answer, prediction.confidence,
                (prediction.box,) if prediction.box else (),
                () if prepared.pixels is None else (prepared.pixels,),
                is_digit if label is None else answer != truth)


def _cell(case: Case, width: int, font: ImageFont.ImageFont | ImageFont.FreeTypeFont) -> Image.Image:
    """The image with its boxes (top), what the model saw (middle), the answer (bottom)."""
    photo = Image.fromarray(outlined(case.data, case.boxes))
    scale = min(width / photo.width, width * 3 / 4 / photo.height)
    # Nearest when enlarging keeps a tiny image's pixels visible; antialiased when shrinking.
    photo = photo.resize((max(1, round(photo.width * scale)), max(1, round(photo.height * scale))),
                         Image.Resampling.NEAREST if scale > 1 else Image.Resampling.LANCZOS)
    side = min(SEEN_PX, (width - GAP_PX) // max(1, len(case.seen)) - GAP_PX)
    cell = Image.new("RGB", (width, photo.height + side + CAPTION_PX + 2 * GAP_PX), (40, 40, 60))
    cell.paste(photo, ((width - photo.width) // 2, 0))
    left = 0
    for pixels in case.seen:  # pieces are square; a number's line keeps its proportions
        size = (min(width - left, round(side * pixels.shape[1] / pixels.shape[0])), side)
        seen = Image.fromarray(pixels).resize(size, Image.Resampling.NEAREST)
        cell.paste(seen.convert("RGB"), (left, photo.height + GAP_PX))
        left += size[0] + GAP_PX
    confidence = f" ({case.confidence:.2f})" if case.confidence else ""
    draw = ImageDraw.Draw(cell)
    top = photo.height + side + 2 * GAP_PX
    draw.text((2, top), case.group, fill=RIGHT, font=font)
    draw.text((2, top + CAPTION_PX // 2), f"{case.truth} -> {case.answer}{confidence}",
              fill=WRONG if case.wrong else RIGHT, font=font)
    return cell


def render(rows: Sequence[Sequence[Case]], width: int = 180) -> Image.Image:
    """A sheet with one row of cells per sequence of cases (e.g. one row per kind)."""
    font = ImageFont.load_default(size=12)
    cells = [[_cell(case, width, font) for case in row] for row in rows]
    heights = [max((c.height for c in row), default=0) for row in cells]
    columns = max((len(row) for row in cells), default=0)
    sheet = Image.new("RGB", (max(1, columns * (width + GAP_PX) + GAP_PX),
                              max(1, sum(heights) + GAP_PX * (len(cells) + 1))), (128, 128, 160))
    y = GAP_PX
    for row, height in zip(cells, heights, strict=True):
        for i, cell in enumerate(row):
            sheet.paste(cell, (GAP_PX + i * (width + GAP_PX), y))
        y += height + GAP_PX
    return sheet


def gallery(images: Sequence[tuple[bytes, Label]], engine: DigitEngine, columns: int = 4,
            width: int = 180) -> Image.Image:
    """A sheet of (encoded image, label) pairs as the engine answers them, `columns` per row."""
    groups = {type(None): "non-digit", int: "digit", str: "number"}
    cases = [case_of(engine, data, label, groups[type(label)]) for data, label in images]
    return render([cases[i:i + columns] for i in range(0, len(cases), columns)], width)


def hardest(cases: Sequence[Case], count: int) -> list[Case]:
    """`count` cases, wrong answers first, otherwise in the order given."""
    return sorted(cases, key=lambda case: not case.wrong)[:count]


def hard_cases(engine: DigitEngine, data_dir: Path | None, per_group: int,
               candidates: int) -> list[list[Case]]:
    """Per group of the tuning sets, `per_group` of its first `candidates` images, wrong first."""
    from training.mnist import MnistSource, load_mnist  # MNIST loading lives on the training side

    default = None if os.environ.get("MNIST_DIR") else REPO_ROOT.parent / "shared/data/mnist"
    mnist = load_mnist(MnistSource.from_env(data_dir or default))
    sets = build_sets(mnist, REAL_SPLITS["tune"], SetSizes(candidates, candidates, candidates,
                                                           candidates))
    rows = [hardest([case_of(engine, item.data, item.label, group) for item in items], per_group)
            for group, items in sets.digits.items()]
    rows.append(hardest([case_of(engine, item.scene.data, item.text, "numbers")
                         for item in sets.numbers], per_group))
    rows.append(hardest([case_of(engine, item.data, None, f"non-digit: {item.group}")
                         for item in sets.negatives], per_group))
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    from training.mnist import add_data_dir_argument

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="the PNG to write")
    parser.add_argument("--per-group", type=int, default=4, help="images shown per group")
    parser.add_argument("--candidates", type=int, default=40,
                        help="images per group that wrong answers are looked for in")
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL_PATH)
    add_data_dir_argument(parser)
    args = parser.parse_args(argv)
    if min(args.per_group, args.candidates) < 1:
        parser.error("--per-group and --candidates must be ≥ 1")
    engine = DigitEngine.load(args.model)
    try:
        rows = hard_cases(engine, args.data_dir, args.per_group, args.candidates)
    finally:
        engine.close()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    render(rows).save(args.out)
    wrong = sum(case.wrong for row in rows for case in row)
    print(f"wrote {args.out}: {sum(map(len, rows))} images, {wrong} answered wrong")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

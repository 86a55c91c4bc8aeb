"""Scenes of a digit written on paper: ruled and dotted pages, form boxes, pencil, number crops."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from benchmarks.number_scenes import MNIST_INK, boxes_of, slant, write_digits
from benchmarks.realistic import (
    ink_on_paper,
    place,
    random_spot,
    smooth_field,
)
from benchmarks.scene_kit import (
    Box,
    Rng,
    Scene,
    Shape,
    distance_to_lines,
    handwriting,
    ink_box,
    paper_colour,
    pen_ink,
    photo_or_scan,
    random_shape,
    scribbles,
    soft_shape,
)

RULING_COLOURS = {"blue": (0.35, 0.55, 0.9), "grey": (0.5, 0.5, 0.52), "red": (0.9, 0.35, 0.35),
                  "green": (0.35, 0.65, 0.45), "dark": (0.28, 0.3, 0.38)}
FORM_LABELS = ("Amount", "Postcode", "Date", "Account no.", "Qty", "Room", "Age", "Code", "Total")


def _ruling(shape: Shape, rng: Rng, pattern: str, pitch: float, width: float) -> np.ndarray:
    """Antialiased grid, lines or dots printed on paper, [H, W] in [0, 1], slightly rotated."""
    angle = rng.uniform(-0.05, 0.05)
    ys = np.arange(shape[0], dtype=np.float32)[:, None]
    xs = np.arange(shape[1], dtype=np.float32)[None, :]
    across = xs * np.cos(angle) + ys * np.sin(angle) + rng.uniform(0, pitch)
    down = ys * np.cos(angle) - xs * np.sin(angle) + rng.uniform(0, pitch)
    if pattern == "dots":
        radius = 0.9 * width + 0.4
        distance = np.hypot(distance_to_lines(across, pitch), distance_to_lines(down, pitch))
        return np.clip(radius + 0.5 - distance, 0, 1)
    horizontal = np.clip(width / 2 + 0.5 - distance_to_lines(down, pitch), 0, 1)
    if pattern == "lines":
        return horizontal
    grid = np.maximum(horizontal, np.clip(width / 2 + 0.5 - distance_to_lines(across, pitch), 0, 1))
    if rng.random() < 0.5:
        # Graph paper: every fifth line is printed bolder.
        near_major = np.minimum(distance_to_lines(down, 5 * pitch), distance_to_lines(across, 5 * pitch))
        grid = np.maximum(grid, np.clip(width + 0.5 - near_major, 0, 1))
    return grid


def ruled_paper(digit: np.ndarray, rng: Rng, neighbours: np.ndarray | None) -> Scene:
    """Graph, lined or dotted paper, its lines as close as a fifth of the digit, written across."""
    shape = random_shape(rng, 80, 400)
    frame = int(rng.uniform(0.5, 0.85) * min(shape))
    cover = place(shape, handwriting(digit, frame, rng, 0.4), *random_spot(rng, shape, frame))
    pattern = ("grid", "lines", "dots")[int(rng.integers(0, 3))]
    low, high = {"grid": (0.2, 0.6), "lines": (0.35, 1.0), "dots": (0.2, 0.5)}[pattern]
    pitch = max(6.0, MNIST_INK * frame * rng.uniform(low, high))
    width = rng.uniform(0.8, 2.5) * max(0.6, min(shape) / 200)
    colour = list(RULING_COLOURS.values())[int(rng.integers(0, len(RULING_COLOURS)))]
    paper = ink_on_paper(np.broadcast_to(paper_colour(rng), (*shape, 3)), colour,
                         _ruling(shape, rng, pattern, pitch, width) * rng.uniform(0.35, 0.95))
    if pattern == "lines" and rng.random() < 0.4:
        # The red margin line of a notebook page, wherever the photo's crop puts it.
        column = np.abs(np.arange(shape[1], dtype=np.float32) - rng.uniform(0, shape[1]))
        margin = np.broadcast_to(np.clip(width + 0.5 - column, 0, 1), shape)
        paper = ink_on_paper(paper, RULING_COLOURS["red"], margin * rng.uniform(0.4, 0.8))
    rgb = ink_on_paper(paper, pen_ink(rng), cover * rng.uniform(0.8, 1.0))
    return Scene(data=photo_or_scan(rgb, rng, scan=rng.random() < 0.25), box=ink_box(cover))


def _form_field(
    rng: Rng, size: tuple[int, int], origin: tuple[int, int], cell: tuple[int, int], cells: int,
    target: int,
) -> tuple[np.ndarray, np.ndarray]:
    """The printed parts of a form field on a sheet of size (W, H), as two [H, W] layers.

    The first holds the borders (a comb of ticks or boxed cells) and a label above them, the
    second faint guide letters in the cells other than target.
    """
    printed, faint = Image.new("L", size), Image.new("L", size)
    draw = ImageDraw.Draw(printed)
    (x0, y0), (cell_w, cell_h) = origin, cell
    x1, y1 = x0 + cells * cell_w, y0 + cell_h
    line = max(1, round(cell_h * rng.uniform(0.015, 0.04)))
    if cells > 1 and rng.random() < 0.5:
        tick = cell_h * rng.uniform(0.25, 0.5)
        draw.line([(x0, y1), (x1, y1)], fill=255, width=line)
        for i in range(cells + 1):
            draw.line([(x0 + i * cell_w, y1 - tick), (x0 + i * cell_w, y1)], fill=255, width=line)
    else:
        draw.rectangle([x0, y0, x1, y1], outline=255, width=line)
        for i in range(1, cells):
            draw.line([(x0 + i * cell_w, y0), (x0 + i * cell_w, y1)], fill=255, width=line)
    font_size = max(8, round(cell_h * rng.uniform(0.2, 0.32)))
    if rng.random() < 0.7:
        label = FORM_LABELS[int(rng.integers(0, len(FORM_LABELS)))]
        draw.text((x0 + rng.uniform(0, cell_w), y0 - 1.4 * font_size), label, fill=255,
                  font=ImageFont.load_default(size=font_size))
    if cells > 1 and rng.random() < 0.5:
        guide = ("DDMMYYYY", "YYYYMMDD", "HHMMSS", "00000000")[int(rng.integers(0, 4))]
        font = ImageFont.load_default(size=round(cell_h * rng.uniform(0.4, 0.6)))
        draw_faint = ImageDraw.Draw(faint)
        for i in range(cells):
            if i != target:
                draw_faint.text((x0 + (i + 0.5) * cell_w, y0 + 0.5 * cell_h), guide[i % len(guide)],
                                fill=255, font=font, anchor="mm")
    return np.asarray(printed, np.float32) / 255, np.asarray(faint, np.float32) / 255


def form_boxes(digit: np.ndarray, rng: Rng, neighbours: np.ndarray | None) -> Scene:
    """A printed form: the digit in one cell of a comb field or a lone box, touching its borders.

    The crop shows parts of the neighbouring cells (empty or with faint guide letters).
    """
    cell_h = int(rng.integers(40, 141))
    cell_w = int(cell_h * rng.uniform(0.7, 1.1))
    cells = int(rng.integers(3, 9)) if rng.random() < 0.7 else 1
    target = int(rng.integers(1, cells - 1)) if cells >= 3 else 0
    x0, y0 = cell_w + 2, cell_h + 2  # room around the field for the crop and the label
    width, height = cells * cell_w + 2 * x0, cell_h + 2 * y0
    printed, faint = _form_field(rng, (width, height), (x0, y0), (cell_w, cell_h), cells, target)
    frame = round(cell_h * rng.uniform(0.7, 1.05) / MNIST_INK)
    centre_x = x0 + (target + 0.5 + rng.uniform(-0.12, 0.12)) * cell_w
    centre_y = y0 + (0.5 + rng.uniform(-0.1, 0.1)) * cell_h
    cover = place((height, width), handwriting(digit, frame, rng, 0.4),
                  round(centre_y - frame / 2), round(centre_x - frame / 2))
    box = ink_box(cover)
    left = int(min(box[0], x0 + (target - rng.uniform(0.25, 0.9)) * cell_w))
    right = int(max(box[2], x0 + (target + 1 + rng.uniform(0.25, 0.9)) * cell_w))
    top = int(min(box[1], y0 - rng.uniform(0.15, 0.9) * cell_h))
    bottom = int(max(box[3], y0 + (1 + rng.uniform(0.15, 0.8)) * cell_h))
    crop = np.s_[max(0, top): bottom, max(0, left): right]
    paper = paper_colour(rng)
    if rng.random() < 0.3:
        paper = paper * np.array([1.0, 0.97, 0.85]) if rng.random() < 0.5 else paper * np.array(
            [0.9, 0.98, 0.92])
    border = (np.full(3, rng.uniform(0.1, 0.35)) if rng.random() < 0.6
              else np.array(list(RULING_COLOURS.values())[int(rng.integers(0, 4))]))
    rgb = ink_on_paper(np.broadcast_to(paper, (*printed[crop].shape, 3)), border,
                       printed[crop] * rng.uniform(0.7, 1.0))
    rgb = ink_on_paper(rgb, border * 0.5 + 0.4, faint[crop] * rng.uniform(0.2, 0.45))
    rgb = ink_on_paper(rgb, pen_ink(rng), cover[crop])
    return Scene(data=photo_or_scan(rgb, rng, scan=rng.random() < 0.4), box=ink_box(cover[crop]))


def pencil(digit: np.ndarray, rng: Rng, neighbours: np.ndarray | None) -> Scene:
    """Grainy grey pencil on paper with soft graphite smudges and faint half-erased strokes."""
    shape = random_shape(rng, 80, 400)
    frame = int(rng.uniform(0.5, 0.85) * min(shape))
    cover = place(shape, handwriting(digit, frame, rng, 0.6), *random_spot(rng, shape, frame))
    # Graphite only sticks to the paper's raised fibres: a per-pixel tooth, varying pressure.
    tooth = np.asarray(Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8)).filter(
        ImageFilter.GaussianBlur(0.5)), np.float32) / 255
    pressure = np.clip(0.85 + smooth_field(rng, shape, 5, 0.12), 0.55, 1.0)
    graphite = cover * np.clip(0.6 + 2.2 * (tooth - 0.5), 0.15, 1) * pressure * rng.uniform(0.6, 0.85)
    smear = np.asarray(Image.fromarray(np.round(cover * 255).astype(np.uint8)).filter(
        ImageFilter.GaussianBlur(rng.uniform(0.05, 0.12) * frame)), np.float32) / 255
    shift = np.round(rng.normal(0, 0.08 * frame, 2)).astype(int)
    graphite += np.roll(smear, shift, axis=(0, 1)) * rng.uniform(0.1, 0.35)
    for _ in range(int(rng.integers(0, 3))):
        centre, radius = rng.uniform((0, 0), shape[::-1]), rng.uniform(0.05, 0.2) * frame
        graphite += soft_shape(shape, None, (*(centre - radius), *(centre + radius)),
                               radius) * rng.uniform(0.05, 0.15)
    erased = scribbles(rng, shape, int(rng.integers(1, 5)), rng.uniform(0.3, 0.9) * frame,
                       round(0.04 * frame))
    graphite += erased * rng.uniform(0.06, 0.14)
    colour = np.full(3, rng.uniform(0.25, 0.4)) + np.array([0.0, 0.0, 0.03])
    rgb = ink_on_paper(paper_colour(rng), colour, np.clip(graphite, 0, 1))
    return Scene(data=photo_or_scan(rgb, rng, scan=rng.random() < 0.3), box=ink_box(cover))


def neighbour_fragments(digit: np.ndarray, rng: Rng, neighbours: np.ndarray | None) -> Scene:
    """A crop of a written number: the digit whole, its neighbours cut by the left/right borders."""
    if neighbours is None or len(neighbours) < 2:
        raise ValueError("neighbour_fragments needs two neighbour digits (uint8 [2, 28, 28])")
    sides = [rng.random() < 0.85, rng.random() < 0.85]
    if not any(sides):
        sides[int(rng.integers(0, 2))] = True
    digits = [np.asarray(n, np.float32) / 255 for n, keep in zip(neighbours[:2], sides, strict=True)
              if keep]
    target = int(sides[0])
    digits.insert(target, digit)
    height = rng.uniform(30, 110)
    strip = write_digits(digits, rng, height, [bool(rng.random() < 0.25) for _ in digits[1:]],
                         rng.uniform(0.05, 0.3), rng.uniform(0.35, 0.55))
    strip = slant(strip, np.tan(rng.uniform(-0.15, 0.3)), rng.uniform(-0.04, 0.04))
    boxes = boxes_of(strip.inks, (0, 0), strip.coverage.shape)
    left, top, right, bottom = boxes[target]
    cut_left = (boxes[0][2] - (boxes[0][2] - boxes[0][0]) * rng.uniform(0.2, 0.7) if sides[0]
                else left - rng.uniform(0.2, 0.8) * height)
    cut_right = (boxes[-1][0] + (boxes[-1][2] - boxes[-1][0]) * rng.uniform(0.2, 0.7) if sides[1]
                 else right + rng.uniform(0.2, 0.8) * height)
    window = (int(min(cut_left, left)), int(top - rng.uniform(0.1, 0.5) * height),
              int(max(cut_right, right)), int(bottom + rng.uniform(0.1, 0.5) * height))
    cover = _window(strip.coverage, window)
    box = (left - window[0], top - window[1], right - window[0], bottom - window[1])
    rgb = ink_on_paper(paper_colour(rng), pen_ink(rng), cover * rng.uniform(0.8, 1.0))
    return Scene(data=photo_or_scan(rgb, rng, scan=rng.random() < 0.3), box=box)


def _window(array: np.ndarray, box: Box) -> np.ndarray:
    """array[top:bottom, left:right] of a 2-D array, zero where the box reaches outside it."""
    left, top, right, bottom = box
    out = np.zeros((bottom - top, right - left), array.dtype)
    src = array[max(0, top): bottom, max(0, left): right]
    out[max(0, -top): max(0, -top) + src.shape[0], max(0, -left): max(0, -left) + src.shape[1]] = src
    return out

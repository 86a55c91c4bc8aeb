"""Scenes of a digit as cameras catch it: sticky notes on desks, angled phone photos, tiny images,
whiteboards."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageFilter

from benchmarks.number_scenes import MNIST_INK, boxes_of
from benchmarks.realistic import (
    ink_on_paper,
    lighting,
    place,
    random_spot,
    smooth_field,
    stroke_coverage,
    to_rgb_image,
)
from benchmarks.scene_kit import (
    Rng,
    Scene,
    Shape,
    enlarge,
    finish,
    handwriting,
    ink_box,
    map_points,
    mottle,
    paper_colour,
    pen_ink,
    perspective_coefficients,
    photo_or_scan,
    random_shape,
    rotate_about,
    scribbles,
    soft_shape,
)

NOTE_COLOURS = ((0.99, 0.93, 0.45), (0.99, 0.7, 0.8), (0.72, 0.94, 0.6), (1.0, 0.78, 0.45),
                (0.68, 0.86, 0.99))
MARKER_COLOURS = ((0.12, 0.12, 0.15), (0.1, 0.25, 0.7), (0.8, 0.15, 0.15), (0.1, 0.55, 0.25))


def sticky_note(digit: np.ndarray, rng: Rng, neighbours: np.ndarray | None) -> Scene:
    """A yellow, pink, green, orange or blue sticky note, turned, casting a shadow on a desk."""
    shape = random_shape(rng, 120, 400)
    # Never wider than 0.9 of the photo's longer side, so the desk shows around it.
    side = int(min(rng.uniform(0.55, 1.0) * min(shape), 0.9 * max(shape)))
    frame = int(side * rng.uniform(0.55, 0.8))
    spot = np.clip((side - frame) / 2 + rng.normal(0, 0.05 * side, 2), 0, side - frame).astype(int)
    on_note = place((side, side), stroke_coverage(digit, frame, rng.uniform(0.35, 0.5),
                                                  grow=rng.choice([0.0, 0.3])), *spot)
    # The unglued lower part of a note curls up and catches less light.
    curl = np.linspace(1.0, rng.uniform(0.82, 0.97), side, dtype=np.float32)[:, None, None]
    note = ink_on_paper(np.array(NOTE_COLOURS[int(rng.integers(0, len(NOTE_COLOURS)))]) * curl,
                        np.array(MARKER_COLOURS[int(rng.integers(0, 2))]) * rng.uniform(0.6, 1.2),
                        on_note)
    angle = rng.uniform(-15, 15)
    turned = to_rgb_image(note).convert("RGBA").rotate(angle, Image.Resampling.BICUBIC, expand=True)
    turned_ink = _gray8(on_note).rotate(angle, Image.Resampling.BILINEAR, expand=True)
    digit_centre = rotate_about(spot[::-1] + frame / 2, np.radians(angle), np.full(2, side / 2))
    digit_centre += (np.array(turned.size) - side) / 2
    corner = np.round(np.array([shape[1], shape[0]]) * rng.uniform(0.4, 0.6, 2) - digit_centre)
    layers = {}
    for name, image, offset in (("note", turned, (0, 0)), ("ink", turned_ink, (0, 0)),
                                ("shadow", turned.getchannel("A"), rng.uniform(1, 8, 2))):
        layers[name] = Image.new(image.mode, (shape[1], shape[0]))
        layers[name].paste(image, tuple(int(v) for v in corner + np.round(offset)))
    shadow = np.asarray(layers["shadow"].filter(ImageFilter.GaussianBlur(rng.uniform(2, 8))),
                        np.float32) / 255
    desk = to_rgb_image(_desk(rng, shape) * (1 - rng.uniform(0.3, 0.6) * shadow)[..., None])
    desk.paste(layers["note"], (0, 0), layers["note"])
    rgb = np.asarray(desk, np.float32) / 255
    return Scene(data=photo_or_scan(rgb, rng, scan=False),
                 box=ink_box(np.asarray(layers["ink"], np.float32) / 255))


def _desk(rng: Rng, shape: Shape) -> np.ndarray:
    """A desk top, RGB [H, W, 3]: streaky wood, dark laminate or a grey-blue surface."""
    kind = int(rng.integers(0, 3))
    colour = ((0.5, 0.33, 0.18), (0.2, 0.2, 0.22), (0.45, 0.5, 0.58))[kind]
    colour = np.array(colour, np.float32) * np.float32(rng.uniform(0.7, 1.2))
    streaks = rng.normal(0, 0.08 if kind == 0 else 0.02, (40, 3)).astype(np.float32)
    texture = np.asarray(Image.fromarray(streaks).resize((shape[1], shape[0]), Image.Resampling.BICUBIC))
    if rng.random() < 0.5:
        texture = np.asarray(Image.fromarray(streaks.T).resize((shape[1], shape[0]),
                                                               Image.Resampling.BICUBIC))
    return colour * (1 + texture)[..., None]


def phone_photo(digit: np.ndarray, rng: Rng, neighbours: np.ndarray | None) -> Scene:
    """A page photographed at an angle on a table, 500–1000 px, with a hand's shadow on the digit.

    Perspective, a soft dark shadow (hand or phone) partly over the digit, vignetting, blur,
    noise and JPEG.
    """
    long_side = int(rng.integers(500, 1001))
    shape = (long_side * 3 // 4, long_side) if rng.random() < 0.5 else (long_side, long_side * 3 // 4)
    height, width = shape
    frame = int(rng.uniform(0.2, 0.45) * min(shape))
    top = int(rng.uniform(0.2 * height, 0.8 * height - frame))
    left = int(rng.uniform(0.2 * width, 0.8 * width - frame))
    cover = handwriting(digit, frame, rng, 0.4) * rng.uniform(0.8, 1.0)
    # Composed in Pillow: its C loops keep a 1000 px photo at a few ms a step (numpy: 130 ms).
    page = Image.new("RGBA", (width, height), (*_rgb8(paper_colour(rng)), 255))
    page.paste(_rgb8(pen_ink(rng)), (left, top, left + frame, top + frame), _gray8(cover))
    corners = np.array([[0, 0], [width, 0], [width, height], [0, height]], float)
    inward = np.array([[1, 1], [-1, 1], [-1, -1], [1, -1]])
    seen = corners + inward * rng.uniform(-0.06, 0.16, (4, 2)) * np.array([width, height])
    photo = page.transform((width, height), Image.Transform.PERSPECTIVE,
                           perspective_coefficients(seen, corners), Image.Resampling.BILINEAR)
    # Desk, light and shadow vary slowly: drawn on a grid 8× coarser and enlarged.
    coarse = (-(-height // 8), -(-width // 8))
    scene = to_rgb_image(_desk(rng, coarse)).resize((width, height), Image.Resampling.BILINEAR)
    scene.paste(photo, (0, 0), photo)
    ys, xs = np.nonzero(cover > 0.25)
    ink = map_points(np.stack([xs + left + 0.5, ys + top + 0.5], axis=1),
                     perspective_coefficients(corners, seen))
    box = boxes_of([ink], (0, 0), shape)[0]
    # The shadow's edge passes within half the digit's height of its centre: partly shaded.
    centre = np.array(box, float).reshape(2, 2).mean(axis=0) / 8
    direction = rng.uniform(0, 2 * np.pi)
    normal = np.array([np.cos(direction), np.sin(direction)])
    radii = long_side / 8 * rng.uniform(0.4, 0.8) * np.array([1.0, rng.uniform(0.5, 1.0)])
    middle = centre + normal * (radii[0] + rng.uniform(-0.35, 0.35) * frame / 8)
    turn = np.linspace(0, 2 * np.pi, 40, endpoint=False)[:, None]
    outline = np.hstack([np.cos(turn) * radii[0], np.sin(turn) * radii[1]])
    outline = outline @ np.array([[normal[0], normal[1]], [-normal[1], normal[0]]]) + middle
    shadow = soft_shape(coarse, outline, None, long_side / 8 * rng.uniform(0.03, 0.08))
    light = lighting(rng, coarse, rng.uniform(0.05, 0.3), rng.uniform(0.25, 0.55))
    factor = light * (1 - rng.uniform(0.3, 0.55) * shadow) * (1 + mottle(rng, coarse))
    rgb = np.asarray(scene, np.float32) * (enlarge(factor, shape) / 255)[..., None]
    data = finish(rgb, rng, rng.uniform(0.5, 1.5), rng.uniform(0.01, 0.03), int(rng.integers(45, 86)))
    return Scene(data=data, box=box)


def _rgb8(colour: np.ndarray) -> tuple[int, int, int]:
    """An RGB colour in [0, 1] as Pillow's 8-bit triple."""
    return tuple(int(v) for v in np.round(np.clip(colour, 0, 1) * 255))


def _gray8(coverage: np.ndarray) -> Image.Image:
    """Coverage [H, W] in [0, 1] as an 8-bit Pillow mask."""
    return Image.fromarray(np.round(np.clip(coverage, 0, 1) * 255).astype(np.uint8))


def low_resolution(digit: np.ndarray, rng: Rng, neighbours: np.ndarray | None) -> Scene:
    """A photo 16–40 px on its longer side, sometimes enlarged again by a messenger (blur, JPEG)."""
    long_side = int(rng.integers(16, 41))
    short_side = int(rng.integers(16, long_side + 1))
    small = (long_side, short_side) if rng.random() < 0.5 else (short_side, long_side)
    # Drawn at 8× first so the strokes are antialiased the way a camera averages them.
    shape = (small[0] * 8, small[1] * 8)
    # At least 11 px of ink height survives the reduction: still readable, barely.
    fraction = rng.uniform(min(1.0, max(0.6, 11 / MNIST_INK / short_side)), 1.0)
    frame = int(fraction * min(shape))
    cover = place(shape, stroke_coverage(digit, frame, rng.uniform(0.35, 0.55)),
                  *random_spot(rng, shape, frame))
    rgb = ink_on_paper(paper_colour(rng), pen_ink(rng), cover * rng.uniform(0.8, 1.0))
    rgb = rgb * lighting(rng, shape, rng.uniform(0.05, 0.35), rng.uniform(0.0, 0.3))[..., None]
    image = to_rgb_image(rgb).resize((small[1], small[0]), Image.Resampling.BOX)
    left, top, right, bottom = ink_box(cover)
    box = (left // 8, top // 8, -(-right // 8), -(-bottom // 8))
    scale = int(rng.integers(3, 9)) if rng.random() < 0.5 else 1
    if scale > 1:
        image = image.resize((small[1] * scale, small[0] * scale), Image.Resampling.BICUBIC)
        box = tuple(v * scale for v in box)
    rgb = np.asarray(image, np.float32) / 255
    quality = int(rng.integers(30, 76)) if scale > 1 or rng.random() < 0.7 else None
    blur = rng.uniform(0.5, 1.5) if scale > 1 else 0.0
    return Scene(data=finish(rgb, rng, blur, rng.uniform(0.0, 0.015), quality), box=box)


def whiteboard(digit: np.ndarray, rng: Rng, neighbours: np.ndarray | None) -> Scene:
    """Thick marker on a greyish whiteboard with glare, reflections and ghosts of erased writing."""
    shape = random_shape(rng, 120, 400)
    frame = int(rng.uniform(0.45, 0.8) * min(shape))
    cover = place(shape, stroke_coverage(digit, frame, rng.uniform(0.35, 0.45),
                                         grow=rng.uniform(0.3, 0.7)), *random_spot(rng, shape, frame))
    # A drying marker leaves streaks: its ink thins in patches along the strokes.
    streaks = np.clip(0.9 + smooth_field(rng, shape, 24, 0.12), 0.6, 1.0)
    board = rng.uniform(0.8, 0.93) + np.array([0.0, rng.uniform(0.0, 0.02), rng.uniform(0.0, 0.04)])
    ghosts = scribbles(rng, shape, int(rng.integers(2, 7)), rng.uniform(0.4, 1.2) * frame,
                       round(0.12 * frame))
    ghosts = np.asarray(Image.fromarray(np.round(ghosts * 255).astype(np.uint8)).filter(
        ImageFilter.GaussianBlur(0.03 * frame)), np.float32) / 255
    # The eraser leaves wide grey swipes as well as the ghosts of the strokes it wiped.
    for _ in range(int(rng.integers(0, 3))):
        start, end = rng.uniform((0, 0), shape[::-1], (2, 2))
        across = np.array([end[1] - start[1], start[0] - end[0]])
        across *= rng.uniform(0.1, 0.25) * min(shape) / max(np.hypot(*across), 1.0)
        swipe = np.array([start + across, end + across, end - across, start - across])
        ghosts = np.maximum(ghosts, 0.4 * soft_shape(shape, swipe, None, 0.05 * min(shape)))
    ghost_colour = (np.array(MARKER_COLOURS[int(rng.integers(0, len(MARKER_COLOURS)))]) + 0.5) / 2
    rgb = ink_on_paper(board, ghost_colour, ghosts * rng.uniform(0.08, 0.2))
    marker = np.array(MARKER_COLOURS[int(rng.integers(0, len(MARKER_COLOURS)))])
    rgb = ink_on_paper(rgb, marker, cover * streaks)
    rgb = rgb * lighting(rng, shape, rng.uniform(0.05, 0.3), rng.uniform(0.0, 0.25))[..., None]
    # Window reflections and the lamp's glare wash the marker out towards white.
    glare = np.zeros(shape, np.float32)
    for _ in range(int(rng.integers(1, 3))):
        centre = rng.uniform((0, 0), shape[::-1])
        radii = rng.uniform(0.1, 0.4, 2) * min(shape)
        glare = np.maximum(glare, soft_shape(shape, None, (*(centre - radii), *(centre + radii)),
                                             radii.min() * rng.uniform(0.3, 0.8)))
    rgb = rgb + (1 - rgb) * (glare * rng.uniform(0.3, 0.7))[..., None]
    rgb = rgb + mottle(rng, shape)[..., None]
    data = finish(rgb, rng, rng.uniform(0.4, 1.2), rng.uniform(0.005, 0.02), int(rng.integers(55, 91)))
    return Scene(data=data, box=ink_box(cover))

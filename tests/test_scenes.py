"""Tests of benchmarks.scenes and benchmarks.number_scenes: seeded, decodable, boxes where the ink is."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from benchmarks.number_scenes import SURFACES, generate_numbers, render_number
from benchmarks.scenes import SCENE_KINDS, generate_scenes, main, render_scene


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray]:
    """Three synthetic 28×28 digits (a ring, a bar, a hook) labelled 0, 1, 7; no MNIST needed."""
    rows, cols = np.indices((28, 28))
    ring = np.clip(255 * (1 - np.abs(np.hypot(rows - 14, cols - 14) - 7) / 2), 0, 255).astype(np.uint8)
    bar = np.zeros((28, 28), np.uint8)
    bar[4:24, 13:16] = 255
    hook = bar.copy()
    hook[4:7, 6:16] = 255
    return np.stack([ring, bar, hook]), np.array([0, 1, 7])


def decoded(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def test_same_seed_gives_the_same_bytes(digits):
    images, labels = digits
    first = [item.scene for item in generate_scenes(images, labels, [0, 2], SCENE_KINDS, 7, images)]
    second = [item.scene for item in generate_scenes(images, labels, [0, 2], SCENE_KINDS, 7, images)]
    assert first == second


def test_other_seed_gives_other_images(digits):
    images, labels = digits
    first = [item.scene.data for item in generate_scenes(images, labels, [0], SCENE_KINDS, 7, images)]
    other = [item.scene.data for item in generate_scenes(images, labels, [0], SCENE_KINDS, 8, images)]
    assert all(a != b for a, b in zip(first, other, strict=True))


def test_a_scene_does_not_depend_on_what_else_is_generated(digits):
    images, labels = digits
    alone = next(generate_scenes(images, labels, [1], ["neighbour_fragments"], 3, images))
    batch = [item for item in generate_scenes(images, labels, [0, 1], SCENE_KINDS, 3, images)
             if item.index == 1 and item.kind == "neighbour_fragments"]
    assert batch[0].scene == alone.scene


@pytest.mark.parametrize("kind", SCENE_KINDS)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_every_kind_decodes_with_the_box_inside_and_around_the_ink(digits, kind, seed):
    images, labels = digits
    item = next(generate_scenes(images, labels, [1], [kind], seed, images))
    assert (item.label, item.kind, item.index) == (1, kind, 1)
    image = decoded(item.scene.data)
    assert image.format in ("PNG", "JPEG")
    assert 16 <= max(image.size) <= 1000
    left, top, right, bottom = item.scene.box
    assert 0 <= left < right <= image.width and 0 <= top < bottom <= image.height
    # The digit is a vertical bar: its ink box is tall and narrow in every situation.
    assert bottom - top > 1.5 * (right - left)
    gray = np.asarray(image.convert("L"), np.float32)
    assert gray[top:bottom, left:right].min() < np.median(gray) - 20, "no ink inside the box"


def test_unknown_kind_and_bad_digits_are_rejected(digits):
    images, labels = digits
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="unknown scene kind"):
        next(generate_scenes(images, labels, [0], ["graffiti"], 0, images))
    with pytest.raises(ValueError, match="28×28"):
        render_scene("pencil", np.zeros((20, 20), np.uint8), rng)
    with pytest.raises(ValueError, match="neighbour_pool"):
        next(generate_scenes(images, labels, [0], ["neighbour_fragments"], 0))


def test_numbers_have_one_box_per_digit_left_to_right_and_keep_leading_zeros(digits):
    images, _ = digits
    for surface in SURFACES:
        for seed in range(6):
            scene = render_number([images[0], images[2], images[1], images[0]], "0710",
                                  np.random.default_rng(seed), surface)
            image = decoded(scene.data)
            assert scene.text == "0710"
            assert len(scene.digit_boxes) == 4
            assert all(0 <= left < right <= image.width and 0 <= top < bottom <= image.height
                       for left, top, right, bottom in scene.digit_boxes)
            lefts = [box[0] for box in scene.digit_boxes]
            assert lefts == sorted(lefts) and len(set(lefts)) == 4
            assert image.mode == ("RGBA" if surface == "canvas" else "RGB")


def test_some_numbers_touch_and_lengths_and_surfaces_take_turns(digits):
    images, labels = digits
    items = list(generate_numbers(images, labels, 28, seed=5, lengths=range(2, 9)))
    assert sorted(len(item.text) for item in items) == sorted(list(range(2, 9)) * 4)
    assert {item.surface for item in items if len(item.text) == 4} == set(SURFACES)
    assert all(item.text == "".join(str(labels[i]) for i in item.indices) for item in items)
    touching = [item for item in items if item.scene.touching]
    assert 0 < len(touching) < len(items)


def test_render_number_rejects_bad_text_and_surface(digits):
    images, _ = digits
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="one digit character per image"):
        render_number([images[0], images[1]], "0", rng, "paper")
    with pytest.raises(ValueError, match="unknown surface"):
        render_number([images[0], images[1]], "01", rng, "slate")


def test_cli_writes_a_sheet_per_kind_and_one_of_numbers(mnist_dir, tmp_path, capsys):
    assert main(["--out", str(tmp_path), "--data-dir", str(mnist_dir), "--per-kind", "2",
                 "--numbers", "2", "--cell", "32"]) == 0
    sheets = sorted(path.name for path in tmp_path.iterdir())
    assert sheets == sorted([f"scenes-{kind}-tune.png" for kind in SCENE_KINDS] + ["scenes-numbers-tune.png"])
    assert capsys.readouterr().out.count(".png") == len(sheets)

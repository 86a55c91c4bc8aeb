"""Tests of serving.lines: ruled lines, grids, tilted lines and box borders go; digit strokes stay."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
from PIL import Image, ImageDraw

from serving.components import ComponentConfig, choose_digit
from serving.imageops import label_components, max_filter
from serving.lines import FrameConfig, LineConfig, remove_lines, without_frame
from serving.preprocess import PreprocessConfig, prepare_encoded

SIDE = 200  # px of the synthetic masks
PEN = 7  # px, a pen stroke (3.5 % of SIDE): thicker across than a line may be (2.5 % → 5 px) and
# narrower than the gap bridged where a stroke crosses a line (5 % → 10 px)
LINE = 2  # px, a ruled line
# A "4" whose stem is slanted (crossing horizontal lines at 56°, 8.4 px along them) and an open
# "4" of vertical and horizontal strokes only; (x, y) polylines.
SLANTED_FOUR = ([(120, 30), (60, 120), (150, 120)], [(125, 30), (125, 175)])
OPEN_FOUR = ([(70, 30), (70, 120), (150, 120)], [(125, 30), (125, 175)])
CONFIG = LineConfig()


def pen_digit(strokes: tuple[list[tuple[int, int]], ...], width: int = PEN,
              shape: tuple[int, int] = (SIDE, SIDE)) -> np.ndarray:
    """A bool mask [H, W] of polylines drawn `width` px wide."""
    image = Image.new("1", (shape[1], shape[0]), 0)
    draw = ImageDraw.Draw(image)
    for stroke in strokes:
        draw.line(stroke, fill=1, width=width, joint="curve")
    return np.asarray(image, bool)


def ruled(shape: tuple[int, int], pitch: int, first: int, thickness: int = LINE) -> np.ndarray:
    """Horizontal lines across the whole mask, `thickness` px, every `pitch` px from row `first`."""
    mask = np.zeros(shape, bool)
    for row in range(first, shape[0], pitch):
        mask[row:row + thickness] = True
    return mask


def tilted_line(shape: tuple[int, int], degrees: float, row: int,
                thickness: int = LINE) -> np.ndarray:
    """One straight line across the whole width through (0, row), rising `degrees` to the right."""
    mask = np.zeros(shape, bool)
    cols = np.arange(shape[1])
    rows = np.round(row - cols * math.tan(math.radians(degrees))).astype(int)
    for offset in range(thickness):
        inside = (rows + offset >= 0) & (rows + offset < shape[0])
        mask[rows[inside] + offset, cols[inside]] = True
    return mask


def near(mask: np.ndarray, px: int = 2) -> np.ndarray:
    """The mask grown by `px` in every direction."""
    return max_filter(mask, 2 * px + 1)


def assert_only_lines_removed(digit: np.ndarray, lines: np.ndarray) -> np.ndarray:
    """Remove lines from digit | lines; every removed pixel is a line pixel, every digit pixel is
    kept and no line pixel away from the digit is left. Returns the kept mask."""
    kept, removed = remove_lines(digit | lines, CONFIG)
    assert not (removed & ~lines).any(), "removed pixels off the lines"
    assert (kept | ~digit).all(), "digit pixels were removed"
    assert not (kept & ~near(digit)).any(), "line pixels away from the digit were left"
    np.testing.assert_array_equal(kept | removed, digit | lines)
    return kept


# --- lines go, strokes stay -------------------------------------------------------------------


def test_ruled_lines_across_a_digit_are_removed_and_the_digit_stays_one_piece():
    digit = pen_digit(SLANTED_FOUR)
    kept = assert_only_lines_removed(digit, ruled(digit.shape, pitch=30, first=15))
    assert label_components(kept)[1] == 1


def test_a_vertical_bar_crossing_a_line_keeps_the_crossing_and_stays_one_component():
    bar = np.zeros((SIDE, SIDE), bool)
    bar[30:170, 96:104] = True
    line = ruled(bar.shape, pitch=SIDE, first=100)
    kept, removed = remove_lines(bar | line, CONFIG)
    np.testing.assert_array_equal(kept, bar)  # the 8 × 2 crossing is the bar's, so it stays
    np.testing.assert_array_equal(removed, line & ~bar)
    assert label_components(kept)[1] == 1


def test_a_grid_across_a_digit_leaves_only_its_crossing_points_which_are_not_the_digit():
    digit = pen_digit(OPEN_FOUR)
    grid = ruled(digit.shape, 30, 15) | ruled(digit.shape[::-1], 30, 25).T
    kept, removed = remove_lines(digit | grid, CONFIG)
    assert not (removed & ~grid).any()
    assert (kept | ~digit).all()
    # Where two grid lines cross, the ink is long both ways, so the LINE × LINE point stays.
    labels, count = label_components(kept & ~digit)
    assert count > 0 and np.bincount(labels.ravel())[1:].max() <= LINE * LINE
    np.testing.assert_array_equal(choose_digit(kept, ComponentConfig()), digit)


@pytest.mark.parametrize("degrees", [4.0, -4.0])
def test_a_line_tilted_by_4_degrees_is_removed(degrees):
    digit = pen_digit(OPEN_FOUR)
    line = tilted_line(digit.shape, degrees, row=100 + round(100 * math.tan(math.radians(degrees))))
    rows = np.flatnonzero(line.any(axis=1))
    assert rows[-1] - rows[0] >= 14  # it climbs 14 px across the crop, through the digit
    assert_only_lines_removed(digit, line)


def test_a_form_box_reaching_the_crop_edges_is_removed_but_for_its_corners():
    digit = pen_digit(OPEN_FOUR)
    box = np.zeros_like(digit)
    box[:3], box[-5:-2], box[:, 2:5], box[:, -3:] = True, True, True, True  # 0–2 px from the edge
    kept, removed = remove_lines(digit | box, CONFIG)
    assert not (removed & ~box).any()
    corners = np.zeros_like(box)
    for rows in (slice(0, 3), slice(-5, -2)):
        for cols in (slice(2, 5), slice(-3, None)):
            corners[rows, cols] = True  # 3 × 3 where two sides cross: long both ways, it stays
    np.testing.assert_array_equal(kept, digit | corners)
    np.testing.assert_array_equal(choose_digit(kept, ComponentConfig()), digit)


def test_an_empty_mask_stays_empty():
    kept, removed = remove_lines(np.zeros((60, 90), bool), CONFIG)
    assert kept.shape == removed.shape == (60, 90)
    assert not kept.any() and not removed.any()


# --- digits are not lines ---------------------------------------------------------------------


def test_a_thick_marker_seven_filling_its_crop_is_not_removed():
    seven = pen_digit(([(0, 12), (119, 12), (50, 119)],), width=20, shape=(120, 120))
    assert seven[:, 0].any() and seven[:, -1].any()  # its bar spans the whole crop
    kept, removed = remove_lines(seven, CONFIG)
    assert not removed.any()
    np.testing.assert_array_equal(kept, seven)


def narrow_one() -> np.ndarray:
    """A "1" cropped tightly: an 8 px bar along the whole 200 px height of a 20 px wide crop."""
    one = np.zeros((200, 20), bool)
    one[:, 6:14] = True
    return one


@pytest.mark.parametrize("mask", [narrow_one(), narrow_one().T, np.ones((200, 20), bool),
                                  np.zeros((200, 20), bool)],
                         ids=["one", "dash", "all-ink", "no-ink"])
def test_a_bar_filling_a_narrow_crop_is_not_removed(mask):
    """A "1" or a "-" spans its tight crop but is thick across (this raised IndexError once)."""
    kept, removed = remove_lines(mask, CONFIG)
    assert not removed.any()
    np.testing.assert_array_equal(kept, mask)


@pytest.mark.parametrize("label", [1, 7])
def test_tight_crops_of_mnist_ones_and_sevens_keep_their_strokes(mnist, label):
    """300 MNIST test digits, 6× enlarged (168 px) and cropped to their ink: at most 1 % goes."""
    indices = np.flatnonzero(mnist.test_labels == label)[:300]
    worst = 0.0
    for index in indices:
        big = np.asarray(Image.fromarray(mnist.test_images[index]).resize(
            (168, 168), Image.Resampling.BICUBIC)) >= 128
        rows, cols = np.flatnonzero(big.any(axis=1)), np.flatnonzero(big.any(axis=0))
        crop = big[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
        _, removed = remove_lines(crop, CONFIG)
        worst = max(worst, np.count_nonzero(removed) / np.count_nonzero(crop))
    assert worst <= 0.01


# --- through the pipeline ---------------------------------------------------------------------


def png_of(page: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(page).save(buffer, format="PNG")
    return buffer.getvalue()


def mnist_page(digit: np.ndarray, side: int, digit_side: int) -> np.ndarray:
    """The MNIST digit enlarged to digit_side, as dark ink centred on a white side² page."""
    big = np.asarray(Image.fromarray(digit).resize((digit_side, digit_side),
                                                   Image.Resampling.BICUBIC))
    page = np.full((side, side), 255, np.uint8)
    offset = (side - digit_side) // 2
    page[offset:offset + digit_side, offset:offset + digit_side] = 255 - big
    return page


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a.astype(float).ravel(), b.astype(float).ravel())[0, 1])


def test_a_form_box_around_mnist_digits_leaves_the_prepared_digit_unchanged(mnist):
    first = PreprocessConfig.first_version()
    unchanged, old_unchanged = [], []
    for digit in mnist.test_images[:20]:
        page = mnist_page(digit, 200, 140)
        clean = prepare_encoded(png_of(page)).pixels
        boxed = page.copy()
        boxed[2:5], boxed[-5:-2], boxed[:, 2:5], boxed[:, -5:-2] = 60, 60, 60, 60
        unchanged.append(correlation(prepare_encoded(png_of(boxed)).pixels, clean))
        old_unchanged.append(correlation(prepare_encoded(png_of(boxed), config=first).pixels, clean))
    assert min(unchanged) > 0.98
    assert max(old_unchanged) < 0.9  # the first version took the box for the digit


def test_ruled_lines_across_a_pen_written_digit_leave_the_prepared_digit_unchanged():
    """Dark 3 px lines every 30 px across a 12 px pen "4" on a 300 px page (strokes cross the
    lines at right angles); the first version kept the lines crossing the digit."""
    strokes = tuple([(round(1.5 * x), round(1.5 * y)) for x, y in stroke] for stroke in OPEN_FOUR)
    page = np.where(pen_digit(strokes, width=12, shape=(300, 300)), 20, 255).astype(np.uint8)
    clean = prepare_encoded(png_of(page)).pixels
    for offset in range(3):
        page[15 + offset::30] = np.minimum(page[15 + offset::30], 60)
    assert correlation(prepare_encoded(png_of(page)).pixels, clean) > 0.98
    first = prepare_encoded(png_of(page), config=PreprocessConfig.first_version()).pixels
    assert correlation(first, clean) < 0.6


def test_a_4_px_line_across_a_small_crop_is_removed_and_the_digit_stays():
    # A 112 px crop: 2.5 % of its side is under 3 px, but a 2 px line blurred by the camera and
    # JPEG is 4 px across in the ink mask.
    shape = (112, 112)
    digit = pen_digit(([(56, 15), (56, 95)],), width=5, shape=shape)
    assert_only_lines_removed(digit, ruled(shape, pitch=200, first=80, thickness=4))


def test_line_config_rejects_a_minimum_thickness_under_one_px():
    with pytest.raises(ValueError, match="min_thickness_px"):
        LineConfig(min_thickness_px=0)


# --- frames around a digit (a reading to try, serving.preprocess) ------------------------------


def test_the_sides_of_a_thick_box_around_a_digit_are_taken_off_and_its_strokes_stay():
    """A 9 px box, too thick for a line, with a slanted 4 inside touching its bottom side."""
    digit = pen_digit(([(120, 40), (60, 120), (150, 120)], [(125, 40), (125, 170)]))
    box = pen_digit(([(30, 20), (170, 20), (170, 175), (30, 175), (30, 20)],), width=9)
    unframed = without_frame(digit | box, FrameConfig())
    assert unframed is not None
    assert not (unframed & box & ~max_filter(digit, 3)).any()  # the box goes, where not the digit
    assert (unframed & digit).sum() >= 0.9 * digit.sum()


def test_strokes_without_straight_sides_along_their_box_have_no_frame():
    diamond = pen_digit(([(100, 30), (60, 100), (100, 170), (140, 100), (100, 30)],))
    ring_image = Image.new("1", (SIDE, SIDE), 0)
    ImageDraw.Draw(ring_image).ellipse((50, 30, 150, 170), outline=1, width=PEN)
    ring = np.asarray(ring_image, bool)
    for mask in (diamond, ring, np.zeros((SIDE, SIDE), bool)):
        assert without_frame(mask, FrameConfig()) is None


def test_a_narrow_digit_has_no_frame_and_a_box_without_a_digit_leaves_nothing():
    one = pen_digit(([(100, 30), (100, 170)],))
    box = pen_digit(([(30, 20), (170, 20), (170, 175), (30, 175), (30, 20)],), width=9)
    assert without_frame(one, FrameConfig()) is None
    assert without_frame(box, FrameConfig()) is None


def test_frame_config_rejects_values_out_of_range():
    for changes in ({"min_length": 0.0}, {"edge": 0.6}, {"min_part": 1.5}, {"min_aspect": 0.0}):
        with pytest.raises(ValueError):
            FrameConfig(**changes)

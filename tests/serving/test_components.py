"""Tests of serving.components: which stroke groups of a mask make the digit."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from serving.components import ComponentConfig, Shade, _dark_surround, choose_digit, stroke_groups
from serving.imageops import label_components, max_filter, surround_shares
from serving.preprocess import PreprocessConfig

CROP = (140, 140)  # (height, width) px of a crop from a written number
PEN = 8  # px
DEFAULT = ComponentConfig()
FIRST_VERSION = PreprocessConfig.first_version().components  # largest group, no centre weight


def draw(shape: tuple[int, int] = CROP, ellipses: tuple[tuple[int, ...], ...] = (),
         lines: tuple[list[tuple[int, int]], ...] = (), width: int = PEN) -> np.ndarray:
    """A bool mask [H, W] of ellipse outlines (x0, y0, x1, y1) and (x, y) polylines."""
    image = Image.new("1", (shape[1], shape[0]), 0)
    pen = ImageDraw.Draw(image)
    for box in ellipses:
        pen.ellipse(box, outline=1, width=width)
    for line in lines:
        pen.line(line, fill=1, width=width, joint="curve")
    return np.asarray(image, bool)


# The digit in the middle of the crop, and what is left in it of the neighbour on its left.
ZERO = draw(ellipses=((50, 25, 90, 115),))
ONE = draw(lines=([(72, 25), (68, 115)],))
ZERO_EDGE = draw(ellipses=((-45, 30, 20, 110),))  # the right side of a neighbour's "0"
EIGHT_HALF = draw(ellipses=((-30, 25, 24, 70), (-34, 66, 26, 115)))  # most of an "8"
EIGHT_CLOSE = draw(ellipses=((-24, 25, 40, 70), (-28, 66, 42, 115)))  # 8 px from the digit


def mirrored(side: str, mask: np.ndarray) -> np.ndarray:
    return np.fliplr(mask) if side == "right" else mask


def ink(mask: np.ndarray) -> int:
    return int(np.count_nonzero(mask))


@pytest.mark.parametrize("side", ["left", "right"])
@pytest.mark.parametrize(("digit", "fragment", "share"), [
    (ZERO, ZERO_EDGE, (0.3, 0.5)),  # a smaller fragment
    (ONE, ZERO_EDGE, (0.7, 1.0)),  # about the digit's ink
    (ONE, EIGHT_HALF, (1.2, 1.6)),  # more ink than the digit: a "1" cut from "81"
    (ZERO, EIGHT_CLOSE, (0.8, 1.2)),  # close enough to join the digit if it were not cut
], ids=["smaller", "similar", "larger", "close"])
def test_a_neighbours_fragment_cut_by_the_crop_edge_is_not_part_of_the_digit(
        side, digit, fragment, share):
    assert share[0] <= ink(fragment) / ink(digit) <= share[1]
    assert stroke_groups(digit | fragment, DEFAULT).count == 2
    chosen = choose_digit(mirrored(side, digit | fragment), DEFAULT)
    np.testing.assert_array_equal(chosen, mirrored(side, digit))


def test_the_first_version_takes_the_largest_group_even_a_fragment_cut_by_the_edge():
    chosen = choose_digit(ONE | EIGHT_HALF, FIRST_VERSION)
    np.testing.assert_array_equal(chosen, EIGHT_HALF)


def test_of_two_whole_digits_the_one_nearer_the_centre_is_chosen():
    """A bolder "0" near the left edge (not cut by it) and a "0" in the middle of a wide crop."""
    shape = (140, 300)
    middle = draw(shape, ellipses=((130, 25, 170, 115),))
    side = draw(shape, ellipses=((10, 20, 56, 120),), width=PEN + 2)
    assert ink(side) > 1.2 * ink(middle)
    np.testing.assert_array_equal(choose_digit(middle | side, DEFAULT), middle)
    np.testing.assert_array_equal(choose_digit(middle | side, FIRST_VERSION), side)


def test_specks_near_and_far_from_the_digit_are_dropped():
    specks = np.zeros(CROP, bool)
    for y, x in [(20, 40), (60, 100), (122, 70), (5, 5), (130, 130), (70, 30)]:
        specks[y:y + 2, x:x + 2] = True
    specks[100:106, 96:102] = True  # a 36 px blot next to the digit: under 5 % of its ink
    assert not (specks & ZERO).any()
    for config in (DEFAULT, FIRST_VERSION):
        np.testing.assert_array_equal(choose_digit(ZERO | specks, config), ZERO)


def five(shape: tuple[int, int] = CROP) -> tuple[np.ndarray, np.ndarray]:
    """A "5" whose top bar the pen did not join to the stem: (stem and bowl, bar)."""
    image = Image.new("1", (shape[1], shape[0]), 0)
    pen = ImageDraw.Draw(image)
    pen.line([(60, 38), (57, 72)], fill=1, width=PEN)
    pen.arc((48, 58, 102, 114), 215, 160, fill=1, width=PEN)
    return np.asarray(image, bool), draw(shape, lines=([(74, 36), (104, 36)],))


@pytest.mark.parametrize("config", [DEFAULT, FIRST_VERSION], ids=["default", "first_version"])
def test_a_five_with_a_detached_top_bar_is_kept_whole(config):
    body, bar = five()
    assert stroke_groups(body | bar, config).count == 2
    np.testing.assert_array_equal(choose_digit(body | bar, config), body | bar)


def test_a_five_filling_a_tight_crop_keeps_its_bar_though_both_touch_the_edge():
    body, bar = five()
    whole = body | bar
    rows, cols = np.flatnonzero(whole.any(axis=1)), np.flatnonzero(whole.any(axis=0))
    crop = whole[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    groups = stroke_groups(crop, DEFAULT)
    assert groups.count == 2 and groups.at_border[1:].all()
    np.testing.assert_array_equal(choose_digit(crop, DEFAULT), crop)


def test_no_digit_in_an_empty_mask_or_one_of_specks_only():
    assert choose_digit(np.zeros(CROP, bool), DEFAULT) is None
    specks = np.zeros(CROP, bool)
    specks[50:53, 50:53] = specks[90:92, 20:22] = True  # under 4 % of the crop's side
    assert choose_digit(specks, DEFAULT) is None


@pytest.mark.parametrize("field", ["min_extent", "group_radius", "speck_fraction", "join_margin",
                                   "fragment_share"])
def test_config_rejects_shares_outside_0_to_1(field):
    with pytest.raises(ValueError, match=field):
        ComponentConfig(**{field: 1.0})


def test_a_notes_shadowed_edge_beside_the_digit_is_neither_the_digit_nor_part_of_it():
    # A note on a desk, with its shadow along the lower and right edges: levelling the light
    # leaves the shadow as an L-shaped band of "ink", the desk beside it darker than the note but
    # lighter than the shadow; the band has more ink than the "1" and ends just under it.
    digit = draw(lines=([(72, 25), (68, 114)],))
    band = np.zeros(CROP, bool)
    band[118:125, 20:126] = band[20:125, 119:126] = True
    desk = np.zeros(CROP, bool)
    desk[125:, :] = desk[:, 126:] = True
    tone = np.where(digit | band, 0.8, np.where(desk, 0.55, 0.0)).astype(np.float32)
    paper = np.where(band, 0.1, np.where(desk, 0.55, 0.0)).astype(np.float32)
    shade = Shade(tone=tone, contrast=tone - paper)
    assert ink(band) > ink(digit) and stroke_groups(digit | band, DEFAULT, shade).count == 2
    np.testing.assert_array_equal(choose_digit(digit | band, DEFAULT, shade), digit)
    # Judged at three quarters of the way to its ink, the desk is too light: the band is taken
    # for the digit's main group, and the "1" joins it.
    old_way = ComponentConfig(dark_surround_way=0.75, join_large_background=True)
    np.testing.assert_array_equal(choose_digit(digit | band, old_way, shade), digit | band)
    # Found to be background, the band still joined the digit, close under it, until background
    # groups larger than the digit stopped joining.
    joining = ComponentConfig(join_large_background=True)
    np.testing.assert_array_equal(choose_digit(digit | band, joining, shade), digit | band)


@pytest.mark.parametrize("way", [0.0, 1.5])
def test_config_rejects_a_dark_surround_way_outside_0_to_1(way):
    with pytest.raises(ValueError, match="dark_surround_way"):
        ComponentConfig(dark_surround_way=way)


@pytest.mark.parametrize("specks", [50, 400])
def test_the_dark_surround_tells_every_group_apart_however_many(specks):
    # Below 256 groups the labels are filtered as uint8; above, as int32.
    rng = np.random.default_rng(specks)
    mask = np.zeros((120, 160), bool)
    spots = rng.choice(40 * 53, specks, replace=False)
    mask[spots // 53 * 3, spots % 53 * 3] = True
    labels, count = label_components(mask)
    assert count == specks
    tone = rng.random(mask.shape).astype(np.float32)
    paper = (tone * rng.random(mask.shape)).astype(np.float32)
    ink = np.bincount(labels.ravel(), minlength=count + 1)
    ink[0] = 0
    expected = surround_shares(labels, max_filter(labels, 7), max_filter(mask, 3), tone, paper,
                               ink, 0.55)
    np.testing.assert_array_equal(_dark_surround(mask, labels, ink, Shade(tone, paper), 0.55),
                                  expected)

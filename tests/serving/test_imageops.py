"""Image operations (C loops behind numpy arrays): components, boxes, runs, stroke width, rank
filters, blur, quantiles, block pooling and the line search."""

import numpy as np
import pytest
from PIL import Image, ImageDraw

from serving.imageops import (
    blur,
    boundary,
    centred_spread,
    component_boxes,
    component_ends,
    in_blocks,
    label_components,
    line_search,
    mask_box,
    mask_groups,
    max_filter,
    min_filter,
    odd_reflected,
    padded,
    pooled_any,
    quantiles,
    rank_filter,
    resampled,
    run_lengths,
    short_runs,
    stroke_ink,
    stroke_width,
    surround_shares,
    tilt_shifts,
)


def test_diagonal_pixels_are_one_component_and_separate_blobs_are_two():
    mask = np.zeros((6, 8), bool)
    mask[0, 0] = mask[1, 1] = mask[2, 2] = True  # a diagonal line: 8-connected
    mask[4:6, 5:8] = True  # a separate block
    labels, count = label_components(mask)
    assert count == 2
    assert labels[0, 0] == labels[2, 2] != labels[4, 5]
    assert (labels > 0).sum() == mask.sum()


def test_u_shape_merges_into_one_component():
    mask = np.zeros((5, 5), bool)
    mask[0:4, 0] = mask[0:4, 4] = mask[4, 0:5] = True  # two arms joined only at the bottom
    assert label_components(mask)[1] == 1


def test_boxes_are_top_bottom_left_right_exclusive():
    mask = np.zeros((10, 10), bool)
    mask[2:5, 3:7] = True
    labels, count = label_components(mask)
    assert component_boxes(labels, count)[1].tolist() == [2, 5, 3, 7]


def test_empty_mask_has_no_components():
    assert label_components(np.zeros((4, 4), bool))[1] == 0


def test_stroke_width_of_a_long_bar():
    mask = np.zeros((40, 200), bool)
    mask[10:14, 10:190] = True  # 4 px thick
    assert abs(stroke_width(mask) - 4) < 0.3


def test_max_then_min_filter_closes_a_one_pixel_gap():
    row = np.array([[1, 1, 0, 1, 1]], dtype=np.float32).repeat(5, axis=0)
    closed = min_filter(max_filter(row, 3), 3)
    assert closed[2].tolist() == [1, 1, 1, 1, 1]


@pytest.mark.parametrize("size", [3, 5, 7, 9, 11, 15, 17, 21, 33])  # odd: centred windows
def test_rank_filters_match_a_brute_force_window(size):
    values = np.random.default_rng(size).random((37, 45)).astype(np.float32)
    padded = np.pad(values, size // 2, mode="edge")
    windows = np.lib.stride_tricks.sliding_window_view(padded, (size, size))[:37, :45]
    assert np.array_equal(max_filter(values, size), windows.max(axis=(2, 3)))
    assert np.array_equal(min_filter(values, size), windows.min(axis=(2, 3)))


def test_blur_is_the_binomial_kernel_and_keeps_flat_areas():
    impulse = np.zeros((9, 9), np.float32)
    impulse[4, 4] = 1
    row = np.float32([1, 4, 6, 4, 1]) / 16
    assert np.allclose(blur(impulse)[2:7, 2:7], np.outer(row, row))
    assert np.allclose(blur(np.full((6, 7), 0.3, np.float32)), 0.3)


def test_quantiles_match_percentile_within_a_bin():
    values = np.random.default_rng(0).normal(0.1, 0.2, (120, 90)).astype(np.float32)
    fractions = [0.002, 0.25, 0.5, 0.75, 0.998]
    expected = np.percentile(values, [100 * f for f in fractions])
    assert np.allclose(quantiles(values, fractions, -1, 1), expected, atol=2 / 4096)


def _flood_labels(mask):
    """Reference labelling: flood fill from each unlabelled pixel in row-major order."""
    labels = np.zeros(mask.shape, np.int32)
    count = 0
    for start in zip(*np.nonzero(mask), strict=True):
        if labels[start]:
            continue
        count += 1
        labels[start] = count
        todo = [start]
        while todo:
            row, col = todo.pop()
            for dr in (-1, 0, 1):
                for dc in (-1, 0, 1):
                    r, c = row + dr, col + dc
                    if (0 <= r < mask.shape[0] and 0 <= c < mask.shape[1] and mask[r, c]
                            and not labels[r, c]):
                        labels[r, c] = count
                        todo.append((r, c))
    return labels, count


@pytest.mark.parametrize("seed", range(6))
def test_labels_and_boxes_match_a_flood_fill(seed):
    rng = np.random.default_rng(seed)
    mask = rng.random((int(rng.integers(1, 40)), int(rng.integers(1, 40)))) < rng.random()
    expected, count = _flood_labels(mask)
    labels, got = label_components(mask[:, ::-1][:, ::-1])  # a strided view works too
    assert got == count
    np.testing.assert_array_equal(labels, expected)
    boxes = component_boxes(labels, count)
    for label in range(1, count + 1):
        rows, cols = np.nonzero(labels == label)
        assert boxes[label].tolist() == [rows.min(), rows.max() + 1, cols.min(), cols.max() + 1]


@pytest.mark.parametrize("shape", [(1, 1), (5, 7), (192, 151), (3, 0), (0, 4)])
@pytest.mark.parametrize("density", [0.0, 0.002, 0.3])
def test_mask_box_equals_its_numpy_definition(shape, density):
    mask = np.random.default_rng(shape[1]).random(shape) < density
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    expected = None if rows.size == 0 else (rows[0], rows[-1] + 1, cols[0], cols[-1] + 1)
    assert mask_box(mask) == expected
    assert mask_box(mask.T) == (None if expected is None else expected[2:] + expected[:2])


@pytest.mark.parametrize(("shape", "pad"), [((64, 50), 10), ((64, 90), 19), ((28, 28), 8),
                                            ((5, 7), 4), ((5, 7), 5), ((5, 7), 9), ((3, 3), 0)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])  # in C, and numpy's slices
def test_odd_reflection_equals_np_pad(shape, pad, dtype):
    values = (np.random.default_rng(pad).random(shape) * 3 - 1).astype(dtype)
    expected = np.pad(values, pad, mode="reflect", reflect_type="odd")
    got = odd_reflected(values, pad)
    assert got.dtype == expected.dtype and got.tobytes() == expected.tobytes()
    strided = odd_reflected(np.asfortranarray(values), pad)
    assert strided.tobytes() == expected.tobytes()


@pytest.mark.parametrize("factor", [1, 2, 3])
@pytest.mark.parametrize("shape", [(1, 1), (2, 5), (7, 9), (192, 151)])
def test_block_pooling_and_its_inverse_equal_their_numpy_definitions(factor, shape):
    rng = np.random.default_rng(factor * 100 + shape[1])
    mask = rng.random(shape) < 0.3
    height, width = (shape[0] // factor) * factor, (shape[1] // factor) * factor
    whole = mask[:height, :width].reshape(height // factor, factor, width // factor, factor)
    np.testing.assert_array_equal(pooled_any(mask, factor), whole.any(axis=(1, 3)))
    blocks = rng.random((height // factor, width // factor)) < 0.5
    expected = np.zeros_like(mask)  # the rows and columns beyond the last whole block: never
    expected[:height, :width] = mask[:height, :width] & blocks.repeat(factor, 0).repeat(factor, 1)
    np.testing.assert_array_equal(in_blocks(mask, blocks, factor), expected)
    np.testing.assert_array_equal(in_blocks(mask, blocks.T.copy().T, factor), expected)  # strided


def test_blocks_larger_than_the_mask_are_refused():
    with pytest.raises(ValueError, match="cover at most the mask"):
        in_blocks(np.ones((4, 4), bool), np.ones((3, 2), bool), 2)


def test_run_lengths_match_a_scan_of_each_row():
    mask = np.random.default_rng(3).random((9, 13)) < 0.5
    mask[0] = True  # a run from edge to edge
    mask[1] = False  # a row without ink
    expected = np.zeros(mask.shape, np.int32)
    for row in range(mask.shape[0]):
        col = 0
        while col < mask.shape[1]:
            start = col
            while col < mask.shape[1] and mask[row, col]:
                col += 1
            expected[row, start:col] = col - start
            col += col == start
    np.testing.assert_array_equal(run_lengths(mask), expected)
    np.testing.assert_array_equal(run_lengths(mask.T), run_lengths(np.ascontiguousarray(mask.T)))


@pytest.mark.parametrize("longest", [0, 1, 3, 8, 40])
def test_short_runs_are_the_pixels_of_runs_no_longer_than_the_limit_both_ways(longest):
    mask = np.random.default_rng(longest).random((31, 23)) < 0.6
    mask[:, 4] = True  # a column from edge to edge
    mask[7] = True  # a row from edge to edge
    down, across = short_runs(mask, longest)
    runs_down, runs_across = run_lengths(mask.T).T, run_lengths(mask)
    np.testing.assert_array_equal(down, mask & (runs_down <= longest))
    np.testing.assert_array_equal(across, mask & (runs_across <= longest))
    assert down.dtype == across.dtype == bool


def test_boundary_is_the_pixels_with_an_outside_four_neighbour():
    mask = np.random.default_rng(5).random((11, 14)) < 0.7
    framed = np.pad(mask, 1)
    inner = (framed[1:-1, 1:-1] & framed[:-2, 1:-1] & framed[2:, 1:-1] & framed[1:-1, :-2]
             & framed[1:-1, 2:])
    np.testing.assert_array_equal(boundary(mask), mask & ~inner)


@pytest.mark.parametrize("dtype", [bool, np.uint8, np.int32, np.float32, np.float64])
def test_rank_filters_of_every_element_type_match_a_brute_force_window(dtype):
    rng = np.random.default_rng(7)
    values = (rng.random((23, 31)) * 200).astype(dtype)
    for size in (2, 3, 8, 9):
        windows = np.lib.stride_tricks.sliding_window_view(values, (size, size))
        valid = rank_filter(values, size, np.maximum, pad=False)
        assert valid.dtype == values.dtype
        np.testing.assert_array_equal(valid, windows.max(axis=(2, 3)))
        np.testing.assert_array_equal(rank_filter(values, size, np.minimum, pad=False),
                                      windows.min(axis=(2, 3)))


def test_rank_filters_refuse_other_element_types_and_pairs():
    with pytest.raises(TypeError, match="rank filters take"):
        max_filter(np.zeros((4, 4), np.int64), 3)
    with pytest.raises(ValueError, match=r"np\.minimum or np\.maximum"):
        rank_filter(np.zeros((4, 4), np.float32), 3, np.add)


def test_blur_equals_four_pair_sums_each_way_bit_for_bit():
    values = np.random.default_rng(8).random((17, 12)).astype(np.float32)
    grown = np.pad(values, 2, mode="edge")
    for _ in range(4):
        grown = grown[1:] + grown[:-1]
    for _ in range(4):
        grown = grown[:, 1:] + grown[:, :-1]
    np.testing.assert_array_equal(blur(values), grown * np.float32(1 / 256))


@pytest.mark.parametrize("edge", [False, True])
def test_padded_equals_numpy_pad(edge):
    values = np.random.default_rng(4).random((5, 7)).astype(np.float32)
    widths = ((2, 0), (1, 3))
    expected = np.pad(values, widths, mode="edge" if edge else "constant")
    got = padded(values, *widths[0], *widths[1], edge=edge)
    assert got.dtype == values.dtype
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("kernel", [Image.Resampling.BOX, Image.Resampling.BILINEAR,
                                    Image.Resampling.BICUBIC, Image.Resampling.LANCZOS])
def test_resampled_is_pillows_resize_of_a_float_image(kernel):
    rng = np.random.default_rng(9)
    for _ in range(20):
        height, width, out_height, out_width = (int(v) for v in rng.integers(1, 60, 4))
        values = rng.random((height, width)).astype(np.float32)
        expected = np.asarray(Image.fromarray(values).resize((out_width, out_height), kernel))
        got = resampled(values, out_height, out_width, kernel)
        assert got.dtype == np.float32 and got.shape == (out_height, out_width)
        # Pillow 13 sometimes resizes down before across: the last bit of a float32 may differ.
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6)
        if out_height == height or out_width == width:  # one pass: the same sums
            np.testing.assert_array_equal(got, expected)


def test_resampled_refuses_a_kernel_it_lacks():
    with pytest.raises(ValueError, match="kernel must be one of"):
        resampled(np.zeros((4, 4), np.float32), 2, 2, Image.Resampling.HAMMING)


def test_mask_groups_are_masked_labels_their_bincounts_and_boxes():
    mask = np.random.default_rng(10).random((30, 40)) < 0.4
    joined, count = label_components(max_filter(mask, 3))
    expected_labels = np.where(mask, joined, 0)
    labels, pixels, edges, boxes = mask_groups(joined, mask, count)
    np.testing.assert_array_equal(labels, expected_labels)
    expected = np.bincount(expected_labels.ravel(), minlength=count + 1)
    expected[0] = 0
    np.testing.assert_array_equal(pixels, expected)
    np.testing.assert_array_equal(edges, np.bincount(expected_labels[boundary(mask)],
                                                     minlength=count + 1))
    np.testing.assert_array_equal(boxes, component_boxes(expected_labels, count))


@pytest.mark.parametrize("way", [0.4, 0.75])
def test_surround_shares_equal_their_numpy_definition(way):
    rng = np.random.default_rng(11)
    mask = rng.random((40, 50)) < 0.15
    labels, count = label_components(mask)
    tone = rng.random(mask.shape).astype(np.float32)
    contrast = (tone * rng.random(mask.shape)).astype(np.float32)
    paper = tone - contrast
    ink = np.bincount(labels.ravel(), minlength=count + 1)
    ink[0] = 0
    near, covered = max_filter(labels, 7), max_filter(mask, 3)
    ring = (near > 0) & ~covered
    owner = near[ring]
    inked = labels > 0
    level = np.bincount(labels[inked], tone[inked], count + 1) / np.maximum(ink, 1)
    under = np.bincount(labels[inked], paper[inked], count + 1) / np.maximum(ink, 1)
    dark = tone[ring] > under[owner] + way * (level[owner] - under[owner])
    expected = (np.bincount(owner, dark, count + 1)
                / np.maximum(np.bincount(owner, minlength=count + 1), 1))
    for kind in (np.int32, np.uint8):
        shares = surround_shares(labels, near.astype(kind), covered, tone, contrast, ink, way)
        np.testing.assert_array_equal(shares, expected)


def test_component_ends_are_the_leftmost_topmost_and_rightmost_bottommost_pixels():
    mask = np.random.default_rng(12).random((25, 35)) < 0.3
    labels, count = label_components(mask)
    ends = component_ends(labels, count)
    assert ends[0].tolist() == [-1, -1, -1, -1]
    for label in range(1, count + 1):
        rows, cols = np.nonzero(labels == label)
        left = np.lexsort((rows, cols))[0]  # smallest column, then smallest row
        right = np.lexsort((-rows, -cols))[0]  # largest column, then largest row
        assert ends[label].tolist() == [rows[left], cols[left], rows[right], cols[right]]


def line_search_by_hand(thin, shifts, gap, lengths, uses):
    """line_search's definition, pixel by pixel."""
    height, width = thin.shape
    out = np.zeros((len(lengths), height, width), bool)
    for shift, used in zip(shifts, uses, strict=True):
        rows = height + int(shift.max()) + 1
        moved = np.zeros((rows, width), bool)
        for y, x in zip(*np.nonzero(thin), strict=True):
            moved[y + shift[x], x] = True
        band = moved | np.vstack([moved[1:], moved[-1:]])  # each row ORed with the one below
        fullest = int(band.sum(axis=1).max())
        for rule, (free, border, edge) in enumerate(lengths):
            if not used[rule] or fullest + gap < min(free, border) * width:
                continue
            lines = np.zeros_like(band)
            for row in range(rows):
                runs, x = [], 0
                while x < width:  # the row's runs, then those closer than gap + 1 merged
                    if band[row, x]:
                        start = x
                        while x < width and band[row, x]:
                            x += 1
                        if runs and start - runs[-1][1] <= gap:
                            runs[-1][1] = x
                        else:
                            runs.append([start, x])
                    else:
                        x += 1
                for first, last in runs:
                    at_edge = first <= edge * width or last >= width - edge * width
                    if last - first >= free * width or (at_edge and last - first >= border * width):
                        lines[row, first:last] = True
            for y, x in zip(*np.nonzero(thin), strict=True):
                row = y + shift[x]
                out[rule, y, x] |= lines[row, x] or lines[max(row - 1, 0), x]
    return out


@pytest.mark.parametrize("seed", range(6))
def test_the_line_search_equals_its_definition(seed):
    rng = np.random.default_rng(seed)
    height, width = 30, 40
    image = Image.new("1", (width, height), 0)
    draw = ImageDraw.Draw(image)
    for _ in range(3):  # lines at a few tilts, some reaching an edge, some broken below
        y0, y1 = rng.integers(0, height, 2)
        x0, x1 = sorted(rng.integers(0, width, 2))
        draw.line([(int(x0), int(y0)), (int(x1), int(min(height - 1, y0 + (y1 - y0) // 8)))],
                  fill=1)
    thin = np.asarray(image, bool) | (rng.random((height, width)) < 0.05)
    thin[:, rng.integers(0, width, 3)] &= (rng.random(height) < 0.5)[:, None]  # gaps
    angles = (-6.0, -3.0, 0.0, 3.0, 6.0)
    tans = np.array([np.tan(np.radians(a)) for a in angles])
    shifts = np.round(np.arange(width) * tans[:, None]).astype(np.int64)
    shifts -= shifts.min(axis=1, keepdims=True)
    lengths = [(0.8, 0.45, 0.04), (0.15, 0.15, 0.04), (0.5, 0.3, 0.2)]
    uses = rng.random((len(angles), len(lengths))) < 0.7
    for gap in (0, 2, 5):
        expected = line_search_by_hand(thin, shifts, gap, lengths, uses)
        np.testing.assert_array_equal(line_search(thin, shifts, gap, lengths, uses), expected)
        assert expected.any()  # each case finds lines


@pytest.mark.parametrize("width", [1, 2, 37, 192])
def test_tilt_shifts_equal_their_numpy_definition(width):
    angles = np.radians(np.random.default_rng(width).uniform(-12, 12, 9))
    tans = np.concatenate([np.tan(angles), [0.0, 0.5, -0.5, 0.25, -1.5 / 3]])  # exact halves too
    expected = np.round(np.arange(width) * tans[:, None]).astype(np.int64)
    expected -= expected.min(axis=1, keepdims=True)
    np.testing.assert_array_equal(tilt_shifts(tans, width), expected)


def test_the_line_search_refuses_shapes_that_disagree():
    with pytest.raises(ValueError, match="shifts must be"):
        line_search(np.ones((4, 5), bool), np.zeros((2, 4), np.int64), 1, [(0.5, 0.5, 0.1)],
                    np.ones((2, 1), bool))


@pytest.mark.parametrize("seed", range(6))
def test_stroke_ink_equals_its_numpy_definition_bit_for_bit(seed):
    rng = np.random.default_rng(seed)
    height, width = rng.integers(1, 70, 2)
    ink = rng.random((height, width), dtype=np.float32) * 1.6 - 0.4
    strokes = ink > rng.random() * 0.8
    strokes[0, 0] = True
    noise = rng.random() * 0.05
    level = float(quantiles(ink[strokes], [0.5], -1, 1)[0])
    floor = max(2 * noise, 0.15 * level)
    near = max_filter(strokes, 5)
    expected = np.clip((ink - floor) / max(level - floor, 1e-6), 0, 1) * near
    scaled = stroke_ink(ink, strokes, near, noise)
    assert scaled.dtype == np.float32 and scaled.tobytes() == expected.tobytes()


@pytest.mark.parametrize("shape", [(1, 1), (4, 9), (150, 192), (131, 700)])
def test_centred_spread_equals_its_numpy_definition(shape):
    smooth = np.random.default_rng(shape[1]).normal(0.1, 0.2, shape).astype(np.float32)
    paper = 0.0731
    expected = smooth - paper
    height, width = shape
    middle = np.abs(expected)[height // 5: height - height // 5, width // 5: width - width // 5]
    spreads = (quantiles(np.abs(expected), [0.5], 0, 1)[0], quantiles(middle, [0.5], 0, 1)[0])
    assert centred_spread(smooth, paper) == (*spreads, float(expected.max()))
    assert smooth.tobytes() == expected.tobytes()  # less its paper, in place

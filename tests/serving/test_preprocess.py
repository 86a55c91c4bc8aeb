"""Tests of serving.preprocess: raw pass-through, decoding, limits, blank pages, normalisation."""

from __future__ import annotations

import io
import struct
import tracemalloc
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from serving.errors import ImageTooLargeError, InvalidImageError
from serving.preprocess import (
    ImageLimits,
    prepare_array,
    prepare_encoded,
    prepare_raw,
)
from serving.render import RenderConfig

REPO = Path(__file__).resolve().parents[2]
ZERO_INDEX = 3  # MNIST test image 3 is a round, symmetric "0"


@pytest.fixture(scope="module")
def mnist_test(mnist) -> tuple[np.ndarray, np.ndarray]:
    """MNIST test images and labels (from the shared session fixture in tests/conftest.py)."""
    return mnist.test_images, mnist.test_labels


def encode(image: Image.Image, fmt: str = "PNG", **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def on_paper(digit: np.ndarray, side: int = 200, digit_side: int = 140) -> Image.Image:
    """The MNIST digit upscaled, inverted to dark ink, centred on a white side² page."""
    big = Image.fromarray(digit).resize((digit_side, digit_side), Image.Resampling.BICUBIC)
    page = np.full((side, side), 255, np.uint8)
    offset = (side - digit_side) // 2
    page[offset: offset + digit_side, offset: offset + digit_side] = 255 - np.asarray(big)
    return Image.fromarray(page)


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Best Pearson correlation of two 28×28 images over shifts of up to 2 px (1 = same picture).

    Shifts are allowed because centring by mass moves digits that MNIST clipped at its border.
    """
    b = b.astype(float)
    return max(
        float(np.corrcoef(a.astype(float).ravel(), np.roll(b, (dy, dx), (0, 1)).ravel())[0, 1])
        for dy in range(-2, 3) for dx in range(-2, 3)
    )


def centre_of_mass(pixels: np.ndarray) -> tuple[float, float]:
    weights = pixels.astype(float)
    rows, cols = np.indices(pixels.shape)
    total = weights.sum()
    return float((rows * weights).sum() / total), float((cols * weights).sum() / total)


def png_chunk(kind: bytes, data: bytes) -> bytes:
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))


def png_claiming(width: int, height: int) -> bytes:
    """A 60-byte PNG whose header claims width×height 8-bit gray; its pixel data is a stub."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header)
            + png_chunk(b"IDAT", zlib.compress(b"\0" * 16)) + png_chunk(b"IEND", b""))


# --- raw --------------------------------------------------------------------------------------


def test_raw_mnist_passes_through_unchanged(mnist_test):
    images, _ = mnist_test
    for image in images[:500]:
        prepared = prepare_raw(image.tobytes())
        assert not prepared.blank
        np.testing.assert_array_equal(prepared.pixels, image)


def test_raw_wrong_length_names_expected_and_actual_counts():
    with pytest.raises(InvalidImageError, match=r"783 bytes, expected 784"):
        prepare_raw(bytes(783))


def test_raw_without_ink_is_blank():
    assert prepare_raw(bytes(784)).blank
    assert prepare_raw(bytes([3]) * 784).blank


# --- blank pages ------------------------------------------------------------------------------


@pytest.mark.parametrize("level", [255, 0, 128])
def test_uniform_page_is_blank(level):
    prepared = prepare_encoded(encode(Image.new("L", (200, 200), level)))
    assert prepared.blank and prepared.pixels is None


def test_unevenly_lit_noisy_blank_photo_is_blank():
    rng = np.random.default_rng(0)
    ramp = np.linspace(0.55, 0.95, 640)[None, :] * np.ones((480, 1))
    page = np.clip(ramp + rng.normal(0, 0.02, ramp.shape), 0, 1)
    image = Image.fromarray(np.round(page * 255).astype(np.uint8))
    assert prepare_encoded(encode(image, "JPEG", quality=50)).blank


def test_page_with_only_specks_is_blank():
    rng = np.random.default_rng(1)
    page = np.full((200, 200), 255, np.uint8)
    for y, x in rng.integers(0, 198, (8, 2)):
        page[y: y + 2, x: x + 2] = 0
    assert prepare_encoded(encode(Image.fromarray(page))).blank


# --- normalisation ----------------------------------------------------------------------------


def test_dark_digit_on_white_comes_back_mnist_like(mnist_test):
    images, _ = mnist_test
    digit = images[ZERO_INDEX]
    prepared = prepare_encoded(encode(on_paper(digit)))
    assert not prepared.blank and prepared.inverted
    pixels = prepared.pixels
    row, col = centre_of_mass(pixels)
    assert abs(row - 14) <= 1 and abs(col - 14) <= 1
    inked_rows, inked_cols = np.nonzero(pixels >= 64)
    assert inked_rows.min() >= 4 and inked_rows.max() < 24
    assert inked_cols.min() >= 4 and inked_cols.max() < 24
    assert pixels.max() == 255 and pixels[0].max() == 0
    assert similarity(pixels, digit) > 0.85


def test_light_digit_on_dark_keeps_polarity(mnist_test):
    images, _ = mnist_test
    dark_page = Image.fromarray(255 - np.asarray(on_paper(images[ZERO_INDEX])))
    prepared = prepare_encoded(encode(dark_page))
    assert not prepared.inverted
    assert similarity(prepared.pixels, images[ZERO_INDEX]) > 0.85


def test_digit_under_uneven_light_is_found(mnist_test):
    images, _ = mnist_test
    page = np.asarray(on_paper(images[0], side=300, digit_side=150), np.float32) / 255
    light = np.linspace(0.35, 1.0, 300)[None, :] * np.linspace(0.8, 1.0, 300)[:, None]
    image = Image.fromarray(np.round(page * light * 255).astype(np.uint8))
    prepared = prepare_encoded(encode(image, "JPEG", quality=60))
    assert similarity(prepared.pixels, images[0]) > 0.8


def test_ink_box_is_in_input_pixels(mnist_test):
    images, _ = mnist_test
    page = np.full((300, 400), 255, np.uint8)
    page[20:76, 300:356] = 255 - np.asarray(
        Image.fromarray(images[ZERO_INDEX]).resize((56, 56), Image.Resampling.BICUBIC))
    prepared = prepare_encoded(encode(Image.fromarray(page)))
    expected = prepare_encoded(encode(on_paper(images[ZERO_INDEX])))
    left, top, right, bottom = prepared.ink_box
    assert 300 <= left < right <= 356 and 20 <= top < bottom <= 76
    assert similarity(prepared.pixels, expected.pixels) > 0.9


@pytest.mark.parametrize("under", [(0, 0, 0), (255, 255, 255)])
def test_transparent_canvas_drawing(mnist_test, under):
    images, _ = mnist_test
    strokes = np.asarray(Image.fromarray(images[ZERO_INDEX]).resize((280, 280)))
    rgba = np.zeros((280, 280, 4), np.uint8)
    rgba[..., :3] = under
    rgba[strokes > 0, :3] = 0  # black brush
    rgba[..., 3] = strokes
    prepared = prepare_encoded(encode(Image.fromarray(rgba, "RGBA")))
    assert not prepared.blank
    assert similarity(prepared.pixels, images[ZERO_INDEX]) > 0.85


def test_opaque_page_with_transparent_margin_matches_the_plain_page(mnist_test):
    images, _ = mnist_test
    page = np.asarray(on_paper(images[ZERO_INDEX], side=400, digit_side=200))
    rgba = np.zeros((400, 400, 4), np.uint8)  # margin: transparent black, continues the paper
    rgba[..., :3] = page[..., None]
    rgba[40:360, 40:360, 3] = 255
    prepared = prepare_encoded(encode(Image.fromarray(rgba, "RGBA")))
    plain = prepare_encoded(encode(Image.fromarray(page)))
    assert prepared.inverted and similarity(prepared.pixels, plain.pixels) > 0.95


@pytest.mark.parametrize(("fmt", "options"), [
    ("JPEG", {"quality": 50}), ("GIF", {}), ("WEBP", {"quality": 80}), ("BMP", {}), ("TIFF", {}),
])
def test_formats_decode_to_the_same_digit(mnist_test, fmt, options):
    images, _ = mnist_test
    page = on_paper(images[ZERO_INDEX])
    reference = prepare_encoded(encode(page)).pixels
    image = page.convert("RGB") if fmt == "JPEG" else page
    prepared = prepare_encoded(encode(image, fmt, **options))
    assert similarity(prepared.pixels, reference) > 0.95


def test_exif_orientation_is_applied(mnist_test):
    images, _ = mnist_test
    upright = on_paper(images[0]).convert("RGB")
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display"
    stored = upright.transpose(Image.Transpose.ROTATE_90)
    prepared = prepare_encoded(encode(stored, "JPEG", quality=90, exif=exif.tobytes()))
    reference = prepare_encoded(encode(upright, "JPEG", quality=90))
    assert similarity(prepared.pixels, reference.pixels) > 0.95


@pytest.mark.parametrize("side", [20, 28, 3000])
def test_tiny_and_huge_images(mnist_test, side):
    images, _ = mnist_test
    digit_side = side if side < 100 else side // 2
    page = on_paper(images[ZERO_INDEX], side=side, digit_side=digit_side)
    prepared = prepare_encoded(encode(page, "PNG" if side < 100 else "JPEG"))
    assert similarity(prepared.pixels, images[ZERO_INDEX]) > 0.8


# --- arrays -----------------------------------------------------------------------------------


def test_array_of_mnist_digit_stays_close(mnist_test):
    images, _ = mnist_test
    scores = [similarity(prepare_array(digit).pixels, digit) for digit in images[:50]]
    assert min(scores) > 0.75 and np.mean(scores) > 0.9


def test_array_dtypes_and_channels(mnist_test):
    images, _ = mnist_test
    gray = np.asarray(on_paper(images[ZERO_INDEX]))
    reference = prepare_array(gray).pixels
    rgb = np.repeat(gray[..., None], 3, axis=2)
    rgba = np.concatenate([rgb, np.full((*gray.shape, 1), 255, np.uint8)], axis=2)
    for variant in (gray.astype(np.float64) / 255, gray.astype(np.int64), rgb, rgba,
                    gray.astype(np.uint16) * 257):
        assert similarity(prepare_array(variant).pixels, reference) > 0.98


@pytest.mark.parametrize("bad", [
    np.zeros((0, 5)), np.zeros((4, 4, 5)), np.full((9, 9), 2.0), np.full((9, 9), -1),
    np.full((9, 9), np.nan),
])
def test_bad_arrays_are_rejected(bad):
    with pytest.raises(InvalidImageError):
        prepare_array(bad)


# --- errors and limits ------------------------------------------------------------------------


def test_empty_bytes_are_rejected():
    with pytest.raises(InvalidImageError, match="empty"):
        prepare_encoded(b"")


@pytest.mark.parametrize("data", [b"not an image at all", b"\x89PNG\r\n\x1a\n" + bytes(40)])
def test_undecodable_bytes_are_rejected(data):
    with pytest.raises(InvalidImageError, match="cannot decode"):
        prepare_encoded(data)


def test_truncated_file_is_rejected(mnist_test):
    images, _ = mnist_test
    data = encode(on_paper(images[0]))
    with pytest.raises(InvalidImageError, match="damaged or truncated"):
        prepare_encoded(data[: len(data) // 2])


@pytest.mark.parametrize("side", [100_000, 7_000])
def test_huge_header_is_rejected_before_decoding(side):
    tracemalloc.start()
    try:
        with pytest.raises(ImageTooLargeError, match="limit"):
            prepare_encoded(png_claiming(side, side))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 5_000_000


def test_too_many_encoded_bytes_are_rejected():
    with pytest.raises(ImageTooLargeError, match="bytes"):
        prepare_encoded(bytes(101), ImageLimits(max_encoded_bytes=100))


def test_configs_validate_themselves():
    with pytest.raises(ValueError):
        ImageLimits(max_pixels=0)
    with pytest.raises(ValueError):
        RenderConfig(box_side=40)
    with pytest.raises(ValueError):
        RenderConfig(stroke_range=(3.0, 2.0))


# --- realistic images through the exported model ----------------------------------------------


@pytest.mark.slow
def test_realistic_images_are_classified(mnist_test):
    """200 seeded realistic images (MNIST test digits) through the exported ONNX model: ≥ 95 %."""
    onnx_path = REPO / "exported" / "model.onnx"  # the committed default model
    from benchmarks.bench_preprocess import Classifier
    from benchmarks.realistic import STYLES, generate

    images, labels = mnist_test
    styles = [style for style in STYLES if style != "phone_photo"]
    # 200 different digits, each in one style, so one hard digit cannot fail several images.
    items = [next(generate(images, labels, [index], [styles[index % len(styles)]], seed=3))
             for index in range(4000, 4200)]
    prepared = [prepare_encoded(item.data) for item in items]
    kept = [(p.pixels, item.label) for p, item in zip(prepared, items, strict=True) if not p.blank]
    predictions = Classifier(onnx_path).predict(np.stack([pixels for pixels, _ in kept]))
    correct = int((predictions == np.array([label for _, label in kept])).sum())
    assert correct / len(items) >= 0.95


def test_threads_preparing_at_once_get_what_one_thread_gets(mnist_test):
    # The C loops release the GIL while they run: concurrent requests are prepared in threads.
    images, _ = mnist_test
    files = [encode(on_paper(images[i], side=160 + 8 * i), "JPEG", quality=85) for i in range(8)]
    alone = [prepare_encoded(data) for data in files]
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(prepare_encoded, files * 4))
    for index, prepared in enumerate(together):
        expected = alone[index % len(files)]
        np.testing.assert_array_equal(prepared.pixels, expected.pixels)
        assert prepared.ink_box == expected.ink_box

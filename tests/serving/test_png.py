"""Plain PNGs decoded without Pillow give Pillow's pixels exactly; other PNGs go to Pillow."""

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from serving.decode import ImageLimits, decode_gray, open_image, pil_to_gray
from serving.errors import ImageTooLargeError, InvalidImageError
from serving.png import SIGNATURE, plain_png

LIMITS = ImageLimits()
COLOUR_TYPES = {1: 0, 2: 4, 3: 2, 4: 6}  # channels: PNG colour type


def chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def paeth(left: np.ndarray, above: np.ndarray, upper_left: np.ndarray) -> np.ndarray:
    left, above, upper_left = (v.astype(np.int32) for v in (left, above, upper_left))
    pa, pb = np.abs(above - upper_left), np.abs(left - upper_left)
    pc = np.abs(left + above - 2 * upper_left)
    return np.where((pa <= pb) & (pa <= pc), left, np.where(pb <= pc, above, upper_left))


def filtered(pixels: np.ndarray, filters: list[int]) -> bytes:
    """The PNG rows of uint8 [H, W, C] `pixels`, row y filtered with filters[y] (written here
    from the PNG specification, independently of the decoder)."""
    height, width, channels = pixels.shape
    rows = pixels.reshape(height, width * channels).astype(np.int32)
    out = bytearray()
    for y, kind in enumerate(filters):
        row = rows[y]
        above = rows[y - 1] if y else np.zeros_like(row)
        left = np.concatenate([np.zeros(channels, np.int32), row[:-channels]])
        upper_left = np.concatenate([np.zeros(channels, np.int32), above[:-channels]])
        prediction = [np.zeros_like(row), left, above, (left + above) // 2,
                      paeth(left, above, upper_left)][kind]
        out += bytes([kind]) + ((row - prediction) % 256).astype(np.uint8).tobytes()
    return bytes(out)


def png_file(pixels: np.ndarray, filters: list[int], extra: bytes = b"",
             interlace: int = 0, depth: int = 8) -> bytes:
    height, width, channels = pixels.shape
    header = struct.pack(">IIBBBBB", width, height, depth, COLOUR_TYPES[channels], 0, 0, interlace)
    data = zlib.compress(filtered(pixels, filters))
    return (SIGNATURE + chunk(b"IHDR", header) + extra + chunk(b"IDAT", data[:7])
            + chunk(b"IDAT", data[7:]) + chunk(b"IEND", b""))


def pillow_gray(data: bytes, work_side: int) -> np.ndarray:
    return pil_to_gray(open_image(data, LIMITS), work_side)


@pytest.mark.parametrize("channels", [1, 2, 3, 4])
@pytest.mark.parametrize("work_side", [40, 16])  # kept as it is, and shrunk
def test_every_filter_type_gives_pillows_pixels(channels, work_side):
    rng = np.random.default_rng(channels)
    pixels = rng.integers(0, 256, (25, 37, channels), dtype=np.uint8)
    if channels in (2, 4):
        pixels[..., -1] = np.where(rng.random((25, 37)) < 0.8, 255, pixels[..., -1])
    data = png_file(pixels, [y % 5 for y in range(25)])
    assert plain_png(data) is not None
    gray, to_input = decode_gray(data, LIMITS, work_side)
    expected = pillow_gray(data, work_side)
    assert gray.dtype == expected.dtype == np.float32
    np.testing.assert_array_equal(gray, expected)
    assert to_input == pytest.approx(37 / gray.shape[1])


def test_pillows_own_rgb_png_decodes_the_same():
    rgb = np.random.default_rng(5).integers(0, 256, (90, 120, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(rgb, "RGB").save(buffer, format="PNG")
    data = buffer.getvalue()
    assert plain_png(data) is not None
    np.testing.assert_array_equal(decode_gray(data, LIMITS, 64)[0], pillow_gray(data, 64))


def rotated_png() -> bytes:
    """A 30 × 20 PNG whose EXIF says to rotate it a quarter turn."""
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90° clockwise to view
    buffer = io.BytesIO()
    Image.new("L", (30, 20), 200).save(buffer, format="PNG", exif=exif.tobytes())
    return buffer.getvalue()


def paletted_png() -> bytes:
    buffer = io.BytesIO()
    Image.new("P", (30, 20), 3).save(buffer, format="PNG", transparency=3)
    return buffer.getvalue()


def sixteen_bit_png() -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.full((20, 30), 40_000, np.uint16)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_pngs_whose_pixels_need_more_go_to_pillow():
    pixels = np.full((20, 30, 1), 100, np.uint8)
    colour_key = chunk(b"tRNS", struct.pack(">H", 100))
    for data in (rotated_png(), paletted_png(), sixteen_bit_png(),
                 png_file(pixels, [0] * 20, extra=colour_key),
                 png_file(pixels, [0] * 20, extra=chunk(b"tEXt", b"Raw profile type exif\0"))):
        assert plain_png(data) is None
    gray, _ = decode_gray(rotated_png(), LIMITS, 64)
    assert gray.shape == (30, 20)  # turned by its EXIF orientation
    transparent, _ = decode_gray(paletted_png(), LIMITS, 64)  # every pixel transparent
    assert transparent.shape == (20, 30)


def test_damaged_pngs_say_so():
    pixels = np.full((20, 30, 3), 100, np.uint8)
    whole = png_file(pixels, [4] * 20)
    idat = zlib.compress(bytes([9]) + bytes(90) + filtered(pixels, [0] * 20)[91:])
    bad_filter = (whole[:whole.index(b"IDAT") - 4] + chunk(b"IDAT", idat) + chunk(b"IEND", b""))
    bad_header_sum = bytearray(whole)
    bad_header_sum[29] ^= 1  # the IHDR checksum
    for data in (whole[:len(whole) // 2], bad_filter, bytes(bad_header_sum)):
        with pytest.raises(InvalidImageError):
            decode_gray(data, LIMITS, 64)


def test_pixel_limit_is_checked_before_inflating():
    header = struct.pack(">IIBBBBB", 50_000, 50_000, 8, 0, 0, 0, 0)
    bomb = (SIGNATURE + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(bytes(1000)))
            + chunk(b"IEND", b""))
    with pytest.raises(ImageTooLargeError, match="50000×50000"):
        decode_gray(bomb, LIMITS, 64)

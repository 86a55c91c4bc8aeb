"""Decoding: limits checked from the header, transparency flattened onto the paper colour."""

import io

import numpy as np
import pytest
from PIL import Image

from serving.decode import ImageLimits, composite, open_image, pil_to_gray
from serving.errors import ImageTooLargeError, InvalidImageError


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def test_byte_limit_is_checked_before_parsing():
    with pytest.raises(ImageTooLargeError, match="bytes"):
        open_image(b"x" * 101, ImageLimits(max_encoded_bytes=100))


def test_pixel_limit_uses_the_header():
    data = png_bytes(Image.new("L", (300, 200)))
    with pytest.raises(ImageTooLargeError, match="300×200"):
        open_image(data, ImageLimits(max_pixels=300 * 200 - 1))


def test_not_an_image_names_the_accepted_formats():
    with pytest.raises(InvalidImageError, match="PNG, JPEG"):
        open_image(b"definitely not an image", ImageLimits())


def test_transparent_canvas_with_black_strokes_becomes_dark_ink_on_white():
    rgba = np.zeros((40, 40, 4), np.uint8)  # canvas exports: transparent pixels stored as black
    rgba[10:30, 18:22] = (0, 0, 0, 255)  # an opaque black stroke
    gray = pil_to_gray(Image.fromarray(rgba, "RGBA"), work_side=40)
    assert gray[0, 0] == pytest.approx(1.0) and gray[20, 20] == pytest.approx(0.0)


def test_opaque_image_is_unchanged_by_compositing():
    luma = np.random.default_rng(0).random((8, 8), dtype=np.float32)
    np.testing.assert_array_equal(composite(luma, np.ones_like(luma)), luma)

"""Images of whole numbers for the ReadNumber tests: MNIST test digits placed side by side."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

# The first MNIST test image of each digit (indices into the test set), each classified right
# by the exported model.
DIGIT_INDICES = {0: 3, 1: 2, 2: 1, 3: 18, 4: 4, 5: 8, 6: 11, 7: 0, 8: 61, 9: 7}
NUMBERS = ("07", "3141", "86529043")  # 2, 4 and 8 digits, one with a leading zero


def number_page(test_images: np.ndarray, number: str, gap: int = 8, margin: int = 16) -> np.ndarray:
    """The digits of `number` as dark ink on white paper, left to right: their 28 × 28 tiles
    `gap` px apart (the ink, about 20 px wide in each tile, is further apart), `margin` px of
    paper around."""
    tiles = [255 - test_images[DIGIT_INDICES[int(c)]] for c in number]
    width = 2 * margin + 28 * len(tiles) + gap * (len(tiles) - 1)
    page = np.full((28 + 2 * margin, width), 255, np.uint8)
    for n, tile in enumerate(tiles):
        left = margin + n * (28 + gap)
        page[margin:margin + 28, left:left + 28] = tile
    return page


def png(page: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(page).save(buffer, format="PNG")
    return buffer.getvalue()

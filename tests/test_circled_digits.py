"""A digit with a ring drawn around it reads right through the service."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from benchmarks.circled_digits import ROWS, main, measure, ring_coverage, row_images
from serving.model import DEFAULT_MODEL_PATH


def test_rings_are_closed_or_a_little_open_and_photos_are_seeded(mnist):
    rings = [ring_coverage((200, 200), (100, 100), (80, 70), 5, np.random.default_rng(seed))
             for seed in range(12)]
    for ring in rings:
        assert ring[100, 100] == 0 and 0.02 < (ring > 0.5).mean() < 0.15
    first = row_images(0, mnist.test_images, mnist.test_labels, 2, 1)
    assert first == row_images(0, mnist.test_images, mnist.test_labels, 2, 1)
    assert Image.open(io.BytesIO(first.digits[0])).size[0] > 150


def test_through_the_service_circled_digits_read_right_and_plain_ones_are_unchanged(mnist):
    scores = measure(DEFAULT_MODEL_PATH, mnist.test_images, mnist.test_labels, 20, 1)
    apart, plain = scores["circled, ring apart"], scores["plain (control)"]
    assert apart["no rings"].right <= 0.2 and apart["Digits"].right >= 0.9, apart
    assert plain["no rings"].right == plain["Digits"].right >= 0.9, plain


def test_the_command_line_prints_a_row_each(capsys: pytest.CaptureFixture[str]):
    assert main(["--per-row", "1"]) == 0
    out = capsys.readouterr().out
    assert all(row in out for row in ROWS)

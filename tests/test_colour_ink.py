"""A digit in ink as bright as its paper, another colour, reads right through the service."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from benchmarks.colour_ink import PAIRS, luma, main, measure, pair_images
from serving.model import DEFAULT_MODEL_PATH


def test_pairs_are_as_bright_as_their_paper_except_the_controls():
    for pair in PAIRS:
        gap = abs(luma(pair.ink) - luma(pair.paper))
        assert (gap > 0.5) if "control" in pair.name else (gap < 0.07), pair.name


def test_photos_are_seeded_and_blank_pages_hold_only_paper(mnist):
    first = pair_images(0, mnist.test_images, mnist.test_labels, 3, 1)
    assert first == pair_images(0, mnist.test_images, mnist.test_labels, 3, 1)
    digits, truth, blanks = first.digits, first.labels, first.blanks
    assert truth == [int(label) for label in mnist.test_labels[:3]] and len(set(digits)) == 3
    page = np.asarray(Image.open(io.BytesIO(blanks[0])).convert("RGB"), np.float32) / 255
    assert np.abs(page.mean(axis=(0, 1)) - PAIRS[0].paper).max() < 0.15


def test_through_the_service_colour_finds_the_digits_brightness_alone_misses(mnist):
    shares = measure(DEFAULT_MODEL_PATH, mnist.test_images, mnist.test_labels, 8, 1)
    for pair in PAIRS:
        plain, digits = (shares[pair.name][name] for name in ("brightness only", "Digits"))
        assert digits.right >= 7 / 8 and digits.blank == plain.blank == 1.0, shares[pair.name]
        if "control" in pair.name:
            assert plain.right == digits.right
        else:
            assert plain.right <= 0.5, (pair.name, shares[pair.name])


def test_the_command_line_prints_a_row_per_pair(capsys: pytest.CaptureFixture[str]):
    assert main(["--per-pair", "1"]) == 0
    out = capsys.readouterr().out
    assert all(pair.name in out for pair in PAIRS)

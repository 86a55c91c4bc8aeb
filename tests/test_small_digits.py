"""A digit small in a large photo reads right through the service, thanks to a second look."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from benchmarks.small_digits import SIZES, main, measure, row_name, size_images
from serving.model import DEFAULT_MODEL_PATH


def test_photos_are_seeded_and_large(mnist):
    first = size_images(2, mnist.test_images, mnist.test_labels, 3, 1)
    assert first == size_images(2, mnist.test_images, mnist.test_labels, 3, 1)
    assert first.labels == [int(label) for label in mnist.test_labels[6:9]]
    for data in first.digits:
        assert 400 <= max(Image.open(io.BytesIO(data)).size) <= 1200


def test_through_the_service_a_second_look_reads_small_digits_that_one_look_misses(mnist):
    scores = measure(DEFAULT_MODEL_PATH, mnist.test_images, mnist.test_labels, 30, 1)
    one, two = ({size: scores[row_name(size)][name].right for size in SIZES}
                for name in ("one look", "Digits"))
    assert two[0.06] >= one[0.06] + 0.15 and two[0.06] >= 0.7, (one, two)
    assert all(two[size] >= 0.9 for size in SIZES if size >= 0.08), two
    assert two[0.3] == one[0.3]  # large digits get one look


def test_the_command_line_prints_a_row_per_size(capsys: pytest.CaptureFixture[str]):
    assert main(["--per-size", "1"]) == 0
    out = capsys.readouterr().out
    assert all(row_name(size) in out for size in SIZES)

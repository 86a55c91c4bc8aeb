"""The number reader's pieces: CTC decoding, its metadata, the line image and its boxes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from serving.decode import ImageLimits
from serving.errors import ModelLoadError
from serving.model import DEFAULT_MODEL_PATH
from serving.number_layout import ReaderDigits, frame_boxes, layout_encoded
from serving.number_line import NumberLineConfig
from serving.number_reader import (
    READER_METADATA_FILE,
    FrameDigit,
    NumberReaderModel,
    ReaderMetadata,
    frame_digits,
)
from tests.serving.test_number_reading import png, spaced_number

READER_PATH = DEFAULT_MODEL_PATH.parent / READER_METADATA_FILE


def frames(classes: list[int], sure: float = 0.9) -> np.ndarray:
    """[11, T] probabilities whose best class per frame is `classes` (0 = blank)."""
    probabilities = np.full((11, len(classes)), (1 - sure) / 10, np.float32)
    probabilities[classes, np.arange(len(classes))] = sure
    return probabilities


def test_repeats_merge_and_blanks_separate_digits():
    # "1", "1" (a blank between two runs of the same digit), then "7".
    digits = frame_digits(frames([0, 2, 2, 0, 2, 8, 8, 0]))
    assert [d.digit for d in digits] == [1, 1, 7]
    assert [d.frames for d in digits] == [(1, 3), (4, 5), (5, 7)]
    assert digits[0].confidence == pytest.approx(0.9)


def test_only_blanks_read_no_digit():
    assert frame_digits(frames([0, 0, 0])) == []


def test_metadata_must_match_its_version_and_name_its_fields(tmp_path: Path):
    good = json.loads(READER_PATH.read_text())
    assert ReaderMetadata.from_file(READER_PATH).height == good["input"]["shape"][2]
    for broken in ({**good, "metadata_version": 99}, {k: v for k, v in good.items() if k != "input"}):
        path = tmp_path / "reader.json"
        path.write_text(json.dumps(broken))
        with pytest.raises(ModelLoadError, match="number reader's metadata"):
            ReaderMetadata.from_file(path)
    with pytest.raises(ModelLoadError):
        ReaderMetadata.from_file(tmp_path / "missing.json")


def test_lines_of_the_wrong_height_are_refused():
    reader = NumberReaderModel.load(READER_PATH)
    with pytest.raises(ValueError, match="line images"):
        reader.probabilities([np.zeros((20, 50), np.float32)])
    assert reader.probabilities([]) == []


def test_the_line_image_holds_the_number_and_maps_back_to_its_ink(mnist):
    page, boxes = spaced_number(mnist.test_images, [3, 2, 1], [20, 20])  # "012"
    layout = layout_encoded(png(page), ImageLimits())
    assert layout is not None and layout.line is not None
    line = layout.line
    config = NumberLineConfig()
    assert line.pixels.shape[0] == config.height and line.pixels.dtype == np.float32
    assert line.pixels.min() >= 0 and line.pixels.max() <= 1
    assert not line.pixels[:config.pad].any() and not line.pixels[:, :config.pad].any()
    left, top, right, bottom = line.input_box(0, line.pixels.shape[1])
    assert abs(left - boxes[0][0]) <= 4 and abs(right - boxes[-1][2]) <= 4
    assert abs(top - min(b[1] for b in boxes)) <= 4 and abs(bottom - max(b[3] for b in boxes)) <= 4
    # The first digit's columns of the line give the first digit's box.
    width = boxes[0][2] - boxes[0][0]
    first = line.input_box(0, config.pad + width * line.column_scale / line.to_input)
    assert abs(first[0] - boxes[0][0]) <= 4 and abs(first[2] - boxes[0][2]) <= 4


def test_without_a_matching_path_the_reader_s_frames_give_the_boxes(mnist):
    page, boxes = spaced_number(mnist.test_images, [3, 2, 1], [40, 40])  # "012"
    layout = layout_encoded(png(page), ImageLimits())
    line = layout.line
    stride = 2
    frames = line.pixels.shape[1] // stride
    # One frame of each digit, where that digit's ink is on the line.
    centres = [((b[0] + b[2]) / 2 / line.to_input - line.box[2]) * line.column_scale + line.pad
               for b in boxes]
    digits = tuple(FrameDigit(d, 0.9, (int(c // stride), int(c // stride) + 1))
                   for d, c in zip((0, 1, 2), centres, strict=True))
    found = frame_boxes(line, ReaderDigits(digits, stride, frames))
    for (left, top, right, bottom), box in zip(found, boxes, strict=True):
        assert abs(left - box[0]) <= 4 and abs(right - box[2]) <= 4
        assert abs(top - box[1]) <= 4 and abs(bottom - box[3]) <= 4

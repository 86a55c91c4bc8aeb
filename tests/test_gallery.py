"""Tests of benchmarks.gallery: the hard-case sheet is written and shows what the model saw."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from benchmarks.gallery import NOT_A_DIGIT, case_of, gallery, main
from serving.engine import DigitEngine


@pytest.fixture(scope="module")
def engine() -> Iterator[DigitEngine]:
    engine = DigitEngine.load(Path(__file__).resolve().parents[1] / "exported" / "model.onnx")
    yield engine
    engine.close()


def png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def test_a_case_holds_the_28x28_the_model_saw_and_judges_non_digits_by_any_digit(engine):
    page = np.full((80, 80), 255, np.uint8)
    page[20:60, 38:43] = 0  # a dark bar on white paper: read as a digit
    case = case_of(engine, png(page), 1, "bar")
    assert len(case.seen) == 1 and case.seen[0].shape == (28, 28)
    assert case.boxes and case.wrong == (case.answer != "1")
    non_digit = case_of(engine, png(page), None, "bar")
    assert non_digit.truth == NOT_A_DIGIT and non_digit.wrong == (non_digit.answer.isdigit())
    blank = case_of(engine, png(np.full((40, 40), 255, np.uint8)), 7, "blank page")
    assert (blank.answer, blank.seen, blank.wrong) == ("blank", (), True)


def test_a_number_case_holds_the_line_image_the_number_reader_read(engine, mnist):
    digits = [mnist.test_images[i] for i in (3, 2, 1)]  # "012"
    page = 255 - np.hstack([np.pad(d, ((8, 8), (4, 4))) for d in digits])
    case = case_of(engine, png(np.kron(page, np.ones((3, 3), np.uint8))), "012", "number")
    assert engine.reader is not None
    (line,) = case.seen
    assert line.dtype == np.uint8 and line.shape[0] == 32 and line.shape[1] > 2 * 32
    assert case.answer == "012" and len(case.boxes) == 3 and not case.wrong


def test_gallery_draws_one_cell_per_image(engine):
    page = np.full((60, 90), 230, np.uint8)
    page[10:50, 40:45] = 20
    sheet = gallery([(png(page), 1), (png(page), None), (png(page), "1")], engine, columns=2)
    assert sheet.width > 2 * 100 and sheet.height > 2 * 100


def test_cli_writes_a_png(tmp_path: Path, mnist_dir: Path, capsys: pytest.CaptureFixture[str]):
    out = tmp_path / "plots" / "hard_cases.png"
    assert main(["--out", str(out), "--per-group", "1", "--candidates", "1",
                 "--data-dir", str(mnist_dir)]) == 0
    assert Image.open(out).format == "PNG"
    assert "11 images" in capsys.readouterr().out  # 8 scene kinds, continental, numbers, non-digits

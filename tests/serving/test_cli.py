"""`python -m serving.client predict|read-number`: tables, JSON lines and exit codes."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from serving.client.cli import EXIT_IMAGE_FAILED, EXIT_OK, EXIT_UNREACHABLE, main
from serving.server import DigitsServer
from tests.serving.fakes import MINUS_BOX, NOT_DIGIT_THRESHOLD, minus_page
from tests.serving.mnist_numbers import NUMBERS, number_page, png
from training.mnist import MnistArrays

ONE_BOX = {"left": 18, "top": 10, "right": 23, "bottom": 50}  # the ink of one_page()


def one_page() -> np.ndarray:
    """A dark "1" on white paper."""
    page = np.full((60, 40), 255, np.uint8)
    page[10:50, 18:23] = 0
    return page


@pytest.fixture()
def images_dir(tmp_path: Path) -> Path:
    """A folder with two digit photos (one nested), a blank page and a non-image file."""
    page = one_page()
    (tmp_path / "nested").mkdir()
    Image.fromarray(page).save(tmp_path / "a_one.png")
    Image.fromarray(page).save(tmp_path / "nested" / "b_one.jpg")
    Image.fromarray(np.full((50, 50), 255, np.uint8)).save(tmp_path / "c_blank.bmp")
    (tmp_path / "notes.txt").write_text("not an image")
    return tmp_path


def run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(argv, out, err)
    return code, out.getvalue(), err.getvalue()


def test_table_lists_every_image_of_a_folder(live_server: tuple[DigitsServer, str],
                                             images_dir: Path) -> None:
    code, out, err = run(["predict", "--server", live_server[1], str(images_dir)])
    lines = out.splitlines()
    assert code == EXIT_OK and err == ""
    assert lines[0].split() == ["path", "status", "digit", "confidence"]
    rows = [line.split() for line in lines[1:]]
    assert len({len(line) for line in lines}) == 1  # aligned columns (no error messages here)
    assert [Path(r[0]).name for r in rows] == ["a_one.png", "c_blank.bmp", "b_one.jpg"]
    assert [r[1] for r in rows] == ["digit", "blank", "digit"]
    assert rows[0][2].isdigit() and 0 <= float(rows[0][3]) <= 1


def test_json_lines_and_a_failed_image_give_exit_1(live_server: tuple[DigitsServer, str],
                                                   images_dir: Path) -> None:
    broken = images_dir / "broken.png"
    broken.write_bytes(b"\x89PNG not really")
    missing = images_dir / "missing.png"
    code, out, _ = run(["predict", "--json", "--server", live_server[1],
                        str(images_dir / "a_one.png"), str(broken), str(missing)])
    records = [json.loads(line) for line in out.splitlines()]
    assert code == EXIT_IMAGE_FAILED
    assert [r["path"] for r in records] == [str(images_dir / "a_one.png"), str(broken),
                                            str(missing)]  # input order
    assert records[0]["status"] == "digit" and set(records[0]) >= {
        "path", "digit", "confidence", "probabilities", "status"}
    assert len(records[0]["probabilities"]) == 10
    assert records[0]["box"] == ONE_BOX and records[0]["not_digit_probability"] == 0
    assert records[1]["status"] == "error" and "cannot decode" in records[1]["error"]
    assert records[2]["status"] == "error" and "cannot read file" in records[2]["error"]


def test_json_status_of_a_digit_and_a_blank_page(live_server: tuple[DigitsServer, str],
                                                images_dir: Path) -> None:
    code, out, _ = run(["predict", "--json", "--server", live_server[1],
                        str(images_dir / "a_one.png"), str(images_dir / "c_blank.bmp")])
    digit, blank = (json.loads(line) for line in out.splitlines())
    assert code == EXIT_OK
    assert digit["status"] == "digit" and isinstance(digit["digit"], int)
    assert blank == {"path": str(images_dir / "c_blank.bmp"), "status": "blank", "digit": None,
                     "confidence": 0.0, "not_digit_probability": 0.0, "probabilities": [],
                     "box": None}


def test_not_a_digit_has_null_digit_keeps_probabilities_and_reads_in_the_table(
        not_digit_server: tuple[DigitsServer, str], tmp_path: Path) -> None:
    Image.fromarray(minus_page()).save(tmp_path / "minus.png")
    Image.fromarray(one_page()).save(tmp_path / "one.png")
    code, out, _ = run(["predict", "--json", "--server", not_digit_server[1], str(tmp_path)])
    minus_record, one_record = (json.loads(line) for line in out.splitlines())
    assert code == EXIT_OK
    assert minus_record["status"] == "not_a_digit" and minus_record["digit"] is None
    assert minus_record["not_digit_probability"] >= NOT_DIGIT_THRESHOLD
    assert minus_record["confidence"] == 0
    assert len(minus_record["probabilities"]) == 10
    assert tuple(minus_record["box"].values()) == MINUS_BOX  # left, top, right, bottom
    assert one_record["status"] == "digit"
    assert one_record["not_digit_probability"] < NOT_DIGIT_THRESHOLD
    code, out, _ = run(["predict", "--server", not_digit_server[1], str(tmp_path)])
    assert code == EXIT_OK
    assert "  not a digit  " in out.splitlines()[1]
    assert out.splitlines()[2].split()[1] == "digit"


@pytest.fixture()
def numbers_dir(tmp_path: Path, mnist: MnistArrays) -> Path:
    """n0.png, n1.png, n2.png: the NUMBERS of 2, 4 and 8 MNIST digits; n3.png: blank paper."""
    for n, number in enumerate(NUMBERS):
        (tmp_path / f"n{n}.png").write_bytes(png(number_page(mnist.test_images, number)))
    (tmp_path / "n3.png").write_bytes(png(np.full((40, 80), 255, np.uint8)))
    return tmp_path


def test_read_number_json_lines(exported_server: tuple[DigitsServer, str],
                                numbers_dir: Path) -> None:
    broken = numbers_dir / "n4.png"
    broken.write_bytes(b"\x89PNG not really")
    code, out, err = run(["read-number", "--json", "--server", exported_server[1],
                          str(numbers_dir)])
    records = [json.loads(line) for line in out.splitlines()]
    assert code == EXIT_IMAGE_FAILED and err == ""
    assert [Path(r["path"]).name for r in records] == [f"n{n}.png" for n in range(5)]
    assert [r["status"] for r in records] == ["number"] * 3 + ["blank", "error"]
    assert [r["number"] for r in records[:4]] == [*NUMBERS, None]
    for record in records[:3]:
        assert [d["digit"] for d in record["digits"]] == [int(c) for c in record["number"]]
        assert set(record["digits"][0]["box"]) == {"left", "top", "right", "bottom"}
        assert 0 < record["confidence"] <= min(d["confidence"] for d in record["digits"])
    assert records[3]["digits"] == [] and records[3]["confidence"] == 0
    assert set(records[4]) == {"path", "status", "error"} and "cannot decode" in records[4]["error"]


def test_read_number_table(exported_server: tuple[DigitsServer, str], numbers_dir: Path) -> None:
    code, out, err = run(["read-number", "--server", exported_server[1], str(numbers_dir)])
    header, *lines = out.splitlines()
    assert code == EXIT_OK and err == ""
    assert header.split() == ["path", "status", "number", "confidence", "digits"]
    rows = [line.split() for line in lines]
    assert [row[2] for row in rows[:3]] == list(NUMBERS)
    for row, number in zip(rows, NUMBERS, strict=False):
        confidences = [float(c) for c in row[4:]]
        assert len(confidences) == len(number) and all(0 < c <= 1 for c in confidences)
    assert rows[3][1:] == ["blank", "-", "-", "-"]


@pytest.mark.parametrize("command", ["predict", "read-number"])
def test_unreachable_server_is_one_clear_line_and_exit_3(unused_address: str, images_dir: Path,
                                                         command: str) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "serving.client", command, "--server", unused_address,
         "--retries", "0", "--timeout", "5", str(images_dir)],
        capture_output=True, text=True, timeout=60, check=False)
    assert completed.returncode == EXIT_UNREACHABLE
    assert completed.stderr.startswith(f"error: the Digits server at {unused_address} is "
                                       f"unavailable")
    assert len(completed.stderr.strip().splitlines()) == 1
    assert "Traceback" not in completed.stderr
    assert completed.stdout == ""  # no table header above the error

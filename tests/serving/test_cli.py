"""`python -m serving.client predict`: table, JSON lines and exit codes."""

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


@pytest.fixture()
def images_dir(tmp_path: Path) -> Path:
    """A folder with two digit photos (one nested), a blank page and a non-image file."""
    page = np.full((60, 40), 255, np.uint8)
    page[10:50, 18:23] = 0
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
    assert records[1]["status"] == "error" and "cannot decode" in records[1]["error"]
    assert records[2]["status"] == "error" and "cannot read file" in records[2]["error"]


def test_unreachable_server_is_one_clear_line_and_exit_3(unused_address: str,
                                                         images_dir: Path) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "serving.client", "predict", "--server", unused_address,
         "--retries", "0", "--timeout", "5", str(images_dir)],
        capture_output=True, text=True, timeout=60, check=False)
    assert completed.returncode == EXIT_UNREACHABLE
    assert completed.stderr.startswith(f"error: the Digits server at {unused_address} is "
                                       f"unavailable")
    assert len(completed.stderr.strip().splitlines()) == 1
    assert "Traceback" not in completed.stderr
    assert completed.stdout == ""  # no table header above the error

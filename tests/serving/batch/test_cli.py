"""The `digits` command: batch and pack with tiny inputs, exit codes and messages."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from serving.batch.cli import (
    EXIT_ENGINE_UNAVAILABLE,
    EXIT_IMAGE_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    main,
)
from serving.model import REPO_ROOT
from tests.serving.batch.conftest import BAD_FILES, MAX_PIXELS


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out, err)
    return code, out.getvalue(), err.getvalue()


def test_batch_writes_json_lines_and_exits_1_when_some_images_failed(image_dir: Path,
                                                                     tmp_path: Path) -> None:
    output = tmp_path / "preds.jsonl"
    code, out, err = run("batch", str(image_dir / "bad"), f"{image_dir}/digits/0000?.png",
                         "--output", str(output), "--workers", "1",
                         "--max-decoded-pixels", str(MAX_PIXELS))
    assert code == EXIT_IMAGE_FAILED
    rows = [json.loads(line) for line in output.read_text().splitlines()]
    assert len(rows) == len(BAD_FILES) + 10
    assert sum(r["status"] == "error" for r in rows) == 4
    assert "15 images in" in out and "4 error" in out
    assert "images/s" in err  # the progress bar


def test_batch_of_good_images_to_parquet_exits_0(image_dir: Path, tmp_path: Path) -> None:
    output = tmp_path / "out" / "preds.parquet"
    code, _, err = run("batch", f"{image_dir}/digits/0000[0-3].png", "--output", str(output),
                       "--workers", "1", "--batch-size", "2", "--no-progress")
    assert code == EXIT_OK and err == ""
    assert pq.read_table(output)["digit"].to_pylist() == [7, 2, 1, 0]


@pytest.mark.parametrize(("argv", "message"), [
    (["batch", "missing_folder", "--output", "x.parquet"], "missing_folder: no such file or folder"),
    (["batch", "{images}", "--output", "{images}"], "is a folder"),
    (["batch", "{images}", "--output", "x.parquet", "--batch-size", "0"], "batch_size must be"),
    (["batch", "{images}", "--output", "x.parquet", "--address", "auto"], "--address needs"),
    (["batch", "{images}", "--output", "x.parquet", "--model", "nowhere/model.onnx"],
     "cannot read model metadata"),
    (["pack", "missing_folder", "--output", "shards"], "no such file or folder"),
])
def test_bad_arguments_exit_2_with_a_clear_message(argv: list[str], message: str,
                                                   image_dir: Path, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = run(*[a.format(images=image_dir / "bad") for a in argv])
    assert code == EXIT_USAGE
    assert message in err and err.startswith("error: ")


def test_pack_then_batch_from_the_shards(image_dir: Path, tmp_path: Path) -> None:
    code, out, _ = run("pack", str(image_dir / "bad"), "--output", str(tmp_path / "shards"),
                       "--rows-per-file", "2", "--no-progress")
    assert code == EXIT_OK and "packed 5 images" in out and "into 3 Parquet files" in out
    code, out, _ = run("batch", str(tmp_path / "shards"), "--output", str(tmp_path / "p.parquet"),
                       "--workers", "1", "--no-progress")
    assert code == EXIT_IMAGE_FAILED and "5 images in" in out


def test_without_ray_the_ray_engine_says_how_to_install_it(image_dir: Path, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` fails as if not installed
    code, _, err = run("batch", str(image_dir / "bad"), "--output", str(tmp_path / "p.parquet"),
                       "--engine", "ray", "--no-progress")
    assert code == EXIT_ENGINE_UNAVAILABLE
    assert "pip install 'digits[ray]'" in err
    assert not (tmp_path / "p.parquet").exists()


def test_python_m_serving_batch_is_the_digits_command() -> None:
    completed = subprocess.run([sys.executable, "-m", "serving.batch", "batch", "--help"],
                               cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert completed.returncode == 0
    assert "--engine {local,ray}" in completed.stdout and "--timeout-s" in completed.stdout

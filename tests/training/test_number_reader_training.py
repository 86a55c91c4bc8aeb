"""The number reader's training and export command lines, on the smoke preset."""

from __future__ import annotations

import json

import numpy as np
import pytest

from serving.number_reader import READER_METADATA_FILE, NumberReaderModel
from tests.training.test_cli import run_module
from training.number_data import NumberLines
from training.train_numbers import PRESETS
from training.train_numbers import main as train_numbers_main


@pytest.fixture(scope="module")
def exported(tmp_path_factory, mnist_dir):
    workdir = tmp_path_factory.mktemp("reader")
    trained = run_module("training.train_numbers", "--preset", "smoke", "--runs-dir", "runs",
                         "--data-dir", mnist_dir, "--workers", "1", "--device", "cpu",
                         cwd=workdir)
    assert trained.returncode == 0, trained.stderr
    resumed = run_module("training.train_numbers", "--preset", "smoke", "--runs-dir", "runs",
                         "--data-dir", mnist_dir, "--resume", cwd=workdir)
    assert resumed.returncode == 0, resumed.stderr
    export = run_module("training.export_numbers", "--checkpoint",
                        "runs/numbers/smoke/best.pt", "--out-dir", "exported", cwd=workdir)
    assert export.returncode == 0, export.stderr
    return workdir, trained, resumed, export


def test_training_writes_lines_checkpoints_and_a_summary(exported):
    workdir, trained, resumed, _ = exported
    run = workdir / "runs" / "numbers" / "smoke"
    smoke = PRESETS["smoke"]
    train, val = NumberLines.load(run / "lines-train.npz"), NumberLines.load(run / "lines-val.npz")
    assert len(train.texts) == smoke.train_numbers and len(val.texts) == smoke.val_numbers
    assert {len(t) for t in train.texts} == set(smoke.train_lengths)
    assert all(p.shape[0] == smoke.reader.height for p in train.pixels)
    assert (run / "best.pt").is_file() and (run / "last.pt").is_file()
    summary = json.loads((run / "summary.json").read_text())
    assert len(summary["history"]) == smoke.epochs
    assert "validation numbers read exactly" in trained.stdout
    assert "resuming after epoch 1" in resumed.stdout


def test_a_finished_run_is_set_aside_and_an_unfinished_one_is_never_overwritten(
        exported, mnist_dir):
    workdir = exported[0]
    run = workdir / "runs" / "numbers" / "smoke"
    again = run_module("training.train_numbers", "--preset", "smoke", "--runs-dir", "runs",
                       "--data-dir", mnist_dir, cwd=workdir)
    assert again.returncode == 0, again.stderr
    (aside,) = run.glob("previous-*")
    assert {p.name for p in aside.iterdir()} == {"best.pt", "last.pt", "summary.json"}
    assert (run / "best.pt").is_file() and (run / "lines-train.npz").is_file()
    (run / "summary.json").unlink()  # as if stopped before its last epoch ended
    refused = run_module("training.train_numbers", "--preset", "smoke", "--runs-dir", "runs",
                         "--data-dir", mnist_dir, cwd=workdir)
    assert refused.returncode != 0 and "unfinished run" in refused.stderr
    assert (run / "last.pt").is_file()


def test_the_export_is_verified_and_loads_for_serving(exported):
    workdir, _, _, export = exported
    assert "max probability difference" in export.stdout
    metadata = json.loads((workdir / "exported" / READER_METADATA_FILE).read_text())
    assert metadata["parity"]["max_abs_probability_diff"] < 1e-4
    assert metadata["input"]["shape"][2] == PRESETS["smoke"].reader.height
    reader = NumberReaderModel.load(workdir / "exported" / READER_METADATA_FILE)
    val = NumberLines.load(workdir / "runs" / "numbers" / "smoke" / "lines-val.npz")
    lines = [p.astype(np.float32) for p in val.pixels[:3]]
    frames = reader.probabilities(lines)
    assert [f.shape for f in frames] == [(11, line.shape[1] // 2) for line in lines]
    assert all(np.allclose(f.sum(axis=0), 1, atol=1e-4) for f in frames)


@pytest.mark.parametrize(("args", "message"), [
    (["--device", "bogus"], "--device 'bogus'"),
    (["--workers", "0"], "--workers must be ≥ 1"),
])
def test_a_bad_device_or_worker_count_is_a_usage_error(args, message, tmp_path, capsys):
    with pytest.raises(SystemExit) as stopped:
        train_numbers_main(["--preset", "smoke", "--runs-dir", str(tmp_path), *args])
    assert stopped.value.code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "numbers").exists()  # refused before anything was made

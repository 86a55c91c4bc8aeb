"""The command lines: train (SIGTERM, then --resume), export, evaluate (checkpoint == ONNX)."""

import hashlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from training.train import parse_args, prepare_run_dir

REPO_ROOT = Path(__file__).resolve().parents[2]


def run_module(module, *args, cwd, timeout=240):
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.run([sys.executable, "-m", module, *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory, mnist_dir):
    """A smoke run through the CLI that is stopped by SIGTERM and then resumed."""
    workdir = tmp_path_factory.mktemp("cli")
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    args = [sys.executable, "-m", "training.train", "--preset", "smoke", "--runs-dir", "runs",
            "--data-dir", str(mnist_dir)]
    process = subprocess.Popen(args, cwd=workdir, env=env, stderr=subprocess.PIPE, text=True)
    # The banner is printed once data is loaded and the stop handlers are installed.
    banner = process.stderr.readline()
    assert "training preset 'smoke'" in banner, banner
    process.send_signal(signal.SIGTERM)
    interrupted_err = process.stderr.read()
    interrupted_code = process.wait(timeout=120)
    resumed = run_module("training.train", "--preset", "smoke", "--runs-dir", "runs",
                         "--data-dir", mnist_dir, "--resume", cwd=workdir)
    return workdir, interrupted_code, interrupted_err, resumed


def test_sigterm_saves_and_says_how_to_resume(cli_run):
    workdir, code, stderr, _ = cli_run
    assert code == 130
    assert "SIGTERM" in stderr and "--resume" in stderr and "Traceback" not in stderr
    assert (workdir / "runs" / "smoke" / "last.pt").exists()


def test_resume_finishes_the_run(cli_run):
    workdir, _, _, resumed = cli_run
    assert resumed.returncode == 0, resumed.stderr
    assert "test accuracy" in resumed.stdout
    results = json.loads((workdir / "runs" / "smoke" / "results.json").read_text())
    assert results["test_accuracy"] > 0.8 and results["parameters"] > 0


def test_unfinished_run_is_not_overwritten(tmp_path, mnist_dir):
    run_dir = tmp_path / "runs" / "smoke"
    run_dir.mkdir(parents=True)
    (run_dir / "last.pt").write_bytes(b"an interrupted run")
    result = run_module("training.train", "--preset", "smoke", "--runs-dir", "runs",
                        "--data-dir", mnist_dir, cwd=tmp_path)
    assert result.returncode != 0 and "--resume" in result.stderr
    assert (run_dir / "last.pt").read_bytes() == b"an interrupted run"


def test_export_then_evaluate_gives_the_same_numbers_for_checkpoint_and_onnx(cli_run, mnist_dir):
    workdir = cli_run[0]
    exported = run_module("training.export", "--checkpoint", "runs/smoke/best.pt", "--out-dir",
                          "out", "--data-dir", mnist_dir, cwd=workdir)
    assert exported.returncode == 0, exported.stderr
    assert (workdir / "out" / "model.onnx").exists() and (workdir / "out" / "model.json").exists()
    from_checkpoint = run_module("training.evaluate", "--checkpoint", "runs/smoke/best.pt",
                                 "--data-dir", mnist_dir, cwd=workdir)
    from_onnx = run_module("training.evaluate", "--onnx", "out/model.onnx", "--data-dir", mnist_dir,
                           cwd=workdir)
    assert from_checkpoint.returncode == 0 and from_onnx.returncode == 0
    body = lambda text: text.split("\n", 1)[1]  # noqa: E731 (first line names the file)
    assert body(from_checkpoint.stdout) == body(from_onnx.stdout)
    assert "confusion matrix" in from_onnx.stdout and "precision" in from_onnx.stdout


def test_a_run_can_start_from_an_export_and_says_which(cli_run, mnist_dir):
    workdir = cli_run[0]
    start = workdir / "out" / "model.onnx"
    if not start.exists():  # made by the export test; made here when this test runs alone
        run_module("training.export", "--checkpoint", "runs/smoke/best.pt", "--out-dir", "out",
                   "--data-dir", mnist_dir, cwd=workdir)
    tuned = run_module("training.train", "--preset", "smoke", "--runs-dir", "tuned", "--epochs", "1",
                       "--start-from", start, "--data-dir", mnist_dir, cwd=workdir)
    assert tuned.returncode == 0, tuned.stderr
    run_config = json.loads((workdir / "tuned" / "smoke" / "config.json").read_text())
    assert run_config["config"]["start_from"] == str(start)
    assert run_config["start_from_sha256"] == hashlib.sha256(start.read_bytes()).hexdigest()
    exported = run_module("training.export", "--checkpoint", "tuned/smoke/best.pt", "--out-dir",
                          "tuned-out", "--data-dir", mnist_dir, cwd=workdir)
    assert exported.returncode == 0, exported.stderr
    metadata = json.loads((workdir / "tuned-out" / "model.json").read_text())
    assert metadata["training"]["start_from_sha256"] == run_config["start_from_sha256"]
    missing = run_module("training.train", "--preset", "smoke", "--runs-dir", "never",
                         "--start-from", "missing.onnx", "--data-dir", mnist_dir, cwd=workdir)
    assert missing.returncode == 2 and "missing.onnx" in missing.stderr
    assert "Traceback" not in missing.stderr and not (workdir / "never").exists()
    (workdir / "garbage.onnx").write_bytes(b"not an ONNX file")
    garbage = run_module("training.train", "--preset", "smoke", "--runs-dir", "garbage", "--epochs",
                         "1", "--start-from", "garbage.onnx", "--data-dir", mnist_dir, cwd=workdir)
    assert garbage.returncode == 2, garbage.stderr
    assert "cannot read the classifier to start from, garbage.onnx" in garbage.stderr
    assert "Traceback" not in garbage.stderr


def test_a_run_stopped_before_its_first_step_starts_again_with_its_cache(tmp_path):
    run_dir = tmp_path / "runs" / "large"
    run_dir.mkdir(parents=True)
    cache = run_dir / "extra-train-0123456789abcdef.npz"
    cache.write_bytes(b"synthetic images made before the stop")
    prepare_run_dir(run_dir, resume=False, restart=False)
    assert cache.read_bytes() == b"synthetic images made before the stop"
    with pytest.raises(SystemExit, match="nothing to resume"):
        prepare_run_dir(run_dir, resume=True, restart=False)


def test_evaluate_reports_a_missing_model_clearly(tmp_path, mnist_dir):
    result = run_module("training.evaluate", "--onnx", "missing.onnx", "--data-dir", mnist_dir,
                        cwd=tmp_path)
    assert result.returncode == 2 and "missing.onnx" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_device_that_cannot_train_is_a_usage_error(tmp_path, mnist_dir):
    result = run_module("training.train", "--preset", "smoke", "--runs-dir", "runs",
                        "--data-dir", mnist_dir, "--device", "bogus", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "--device 'bogus'" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "runs").exists()  # refused before anything was made


def test_cuda_without_a_gpu_is_a_usage_error(monkeypatch, capsys):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(SystemExit) as stopped:
        parse_args(["--device", "cuda"])
    assert stopped.value.code == 2
    assert "no CUDA GPU" in capsys.readouterr().err
    assert parse_args(["--device", "cpu"]).device == torch.device("cpu")

"""Export a checkpoint to exported/ as ONNX plus metadata, verified against PyTorch on MNIST test."""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from serving.model import NOT_DIGIT_CLASS
from training.calibration import Calibration, fit_temperature
from training.checkpoint import CheckpointError, load_checkpoint
from training.config import TrainConfig
from training.dataset import LabelledImages, Splits, split_mnist
from training.extra_data import add_extra
from training.loop import evaluate, load_model
from training.mnist import MnistSource, MnistUnavailableError, add_data_dir_argument, load_mnist
from training.model import multiply_adds, parameter_count
from training.not_digit import ThresholdChoice, choose_threshold, serving_accuracy
from training.onnx_model import (
    INPUT_NAME,
    NORMALISATION,
    ONNX_OPSET,
    OUTPUT_NAME,
    export_onnx,
    onnx_probabilities,
)
from training.provenance import environment, git_sha, utc_now

MODEL_NAME = "digits-cnn"
METADATA_VERSION = 1  # layout of model.json
PARITY_IMAGES = 1000  # test images on which onnxruntime and PyTorch probabilities are compared
PARITY_TOLERANCE = 1e-4  # max absolute probability difference allowed


class ExportVerificationError(RuntimeError):
    """onnxruntime and PyTorch disagree; nothing was written to the output directory."""


@dataclass(frozen=True)
class Verification:
    max_abs_diff: float  # over PARITY_IMAGES test images
    torch_accuracy: float  # as the service decides (serving.model.decide), under the threshold
    onnx_accuracy: float
    test_images: int


def verify(onnx_path: Path, model: torch.nn.Module, test: LabelledImages,
           temperature: float, threshold: float) -> Verification:
    """Compare the ONNX file with the PyTorch model; raise ExportVerificationError on a mismatch."""
    logits = evaluate(model, test).logits
    expected = torch.softmax(logits / temperature, dim=1).numpy()
    probs = onnx_probabilities(onnx_path, test.images.numpy())
    diff = float(np.abs(probs[:PARITY_IMAGES] - expected[:PARITY_IMAGES]).max())
    labels = test.labels.numpy()
    torch_accuracy = serving_accuracy(expected, labels, threshold)
    onnx_accuracy = serving_accuracy(probs, labels, threshold)
    if diff >= PARITY_TOLERANCE:
        raise ExportVerificationError(
            f"onnxruntime and PyTorch probabilities differ by {diff:.2e} (limit {PARITY_TOLERANCE})"
        )
    if onnx_accuracy != torch_accuracy:
        raise ExportVerificationError(
            f"onnxruntime test accuracy {onnx_accuracy:.4%} != PyTorch {torch_accuracy:.4%}"
        )
    return Verification(diff, torch_accuracy, onnx_accuracy, len(labels))


def build_metadata(checkpoint: Path, payload: dict[str, Any], model: torch.nn.Module,
                   check: Verification, calibration: Calibration,
                   threshold: ThresholdChoice | None) -> dict[str, Any]:
    run_config_path = checkpoint.parent / "config.json"
    run_config = json.loads(run_config_path.read_text()) if run_config_path.exists() else {}
    config = payload["config"]
    classes = [str(d) for d in range(10)] + (["not_a_digit"] if threshold else [])
    extra = {"not_digit": {**threshold.to_dict(), "chosen_on": "validation split: held-out MNIST "
                           "training digits, continental forms and rendered non-digits"}
             } if threshold else {}
    return {
        "metadata_version": METADATA_VERSION,
        "name": MODEL_NAME,
        "version": f"1.0.0+{config['name']}.e{payload['epoch']}",
        "created": utc_now(),
        "onnx_file": "model.onnx",
        "opset": ONNX_OPSET,
        "input": {"name": INPUT_NAME, "dtype": "uint8", "shape": ["batch", 1, 28, 28],
                  "polarity": "light_on_dark",
                  "description": "MNIST convention: 0 = background, 255 = ink"},
        "output": {"name": OUTPUT_NAME, "dtype": "float32", "shape": ["batch", len(classes)],
                   "description": "softmax probabilities of the classes (digits 0..9, then "
                                  "'not a digit' if present)"},
        "classes": classes,
        **extra,
        "normalisation": NORMALISATION,
        "calibration": calibration.to_dict(),
        "preprocessing": {"image_size": 28, "digit_box": 20, "centring": "centre_of_mass"},
        "test_accuracy": check.onnx_accuracy,
        "test_images": check.test_images,
        "validation_accuracy": payload.get("val_accuracy"),
        "parity": {"max_abs_probability_diff": check.max_abs_diff, "images": PARITY_IMAGES,
                   "tolerance": PARITY_TOLERANCE},
        "parameters": parameter_count(model),
        "multiply_adds_per_image": multiply_adds(TrainConfig.from_dict(config).model),
        "training": {
            "config": config,
            "best_epoch": payload["epoch"],
            "command": run_config.get("command", ""),
            "git_sha": run_config.get("git_sha", "unknown"),
            "data_sha256": run_config.get("data_sha256", {}),
            **{key: run_config[key] for key in ("start_from_sha256",) if key in run_config},
        },
        "export": {"git_sha": git_sha(), "environment": environment()},
    }


def export_checkpoint(checkpoint: Path, out_dir: Path, splits: Splits) -> dict[str, Any]:
    """Calibrate on validation, export, verify on test, then move model.onnx and model.json into
    `out_dir` (replacing old ones only once everything passed)."""
    model, _, payload = load_model(checkpoint)
    val = evaluate(model, splits.val)
    calibration = fit_temperature(val.logits, splits.val.labels)
    threshold = None
    if val.logits.shape[1] > NOT_DIGIT_CLASS:
        val_probs = torch.softmax(val.logits / calibration.temperature, dim=1).numpy()
        threshold = choose_threshold(val_probs, splits.val.labels.numpy())
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out_dir, prefix=".export-") as tmp:
        onnx_tmp, json_tmp = Path(tmp) / "model.onnx", Path(tmp) / "model.json"
        export_onnx(model, onnx_tmp, calibration.temperature)
        check = verify(onnx_tmp, model, splits.test, calibration.temperature,
                       threshold.threshold if threshold else 1.0)
        metadata = build_metadata(checkpoint, payload, model, check, calibration, threshold)
        json_tmp.write_text(json.dumps(metadata, indent=2) + "\n")
        os.replace(onnx_tmp, out_dir / "model.onnx")
        os.replace(json_tmp, out_dir / "model.json")
    return metadata


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.export", description=__doc__)
    parser.add_argument("--checkpoint", type=Path, default=Path("runs/default/best.pt"))
    parser.add_argument("--out-dir", type=Path, default=Path("exported"))
    add_data_dir_argument(parser)
    args = parser.parse_args(argv)
    try:
        arrays = load_mnist(MnistSource.from_env(args.data_dir))
        config = TrainConfig.from_dict(load_checkpoint(args.checkpoint)["config"])
        splits = add_extra(split_mnist(arrays, config.val_size, config.seed, config.train_limit),
                           config.extra, args.checkpoint.parent)
        metadata = export_checkpoint(args.checkpoint, args.out_dir, splits)
    except (CheckpointError, MnistUnavailableError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except ExportVerificationError as err:
        print(f"error: export verification FAILED, nothing written: {err}", file=sys.stderr)
        return 1
    calibration = metadata["calibration"]
    if "not_digit" in metadata:
        chosen = metadata["not_digit"]
        print(f"not-a-digit threshold {chosen['threshold']:.3f} (validation: "
              f"{chosen['digits_rejected']} of {chosen['digits']} digits rejected, "
              f"{chosen['non_digits_accepted']} of {chosen['non_digits']} non-digits accepted)")
    print(f"exported {args.out_dir / 'model.onnx'} and model.json: onnxruntime test accuracy "
          f"{metadata['test_accuracy']:.2%} (equal to PyTorch), max probability difference "
          f"{metadata['parity']['max_abs_probability_diff']:.1e} on {PARITY_IMAGES} images; "
          f"temperature {calibration['temperature']:.3f} (validation calibration error "
          f"{calibration['ece_before']:.2%} -> {calibration['ece_after']:.2%})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

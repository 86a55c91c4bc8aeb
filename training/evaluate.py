"""Command line: test-set report (accuracy, per-class precision/recall, confusion) for a model file."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from serving.model import NOT_DIGIT_CLASS, ModelMetadata, decide
from training.checkpoint import CheckpointError
from training.dataset import LabelledImages
from training.loop import evaluate, load_model
from training.metrics import ClassificationReport, classification_report, format_report
from training.mnist import MnistSource, MnistUnavailableError, add_data_dir_argument, load_mnist
from training.onnx_model import onnx_probabilities


def predict(model_path: Path, test: LabelledImages) -> np.ndarray:
    """Probabilities [N, 10 or 11] from a checkpoint (.pt, PyTorch) or an exported model (.onnx)."""
    if model_path.suffix == ".onnx":
        if not model_path.is_file():
            raise CheckpointError(f"no ONNX model at {model_path}")
        return onnx_probabilities(model_path, test.images.numpy())
    model, _, _ = load_model(model_path)
    return evaluate(model, test).probabilities.numpy()


def threshold_for(model_path: Path) -> float:
    """The not-a-digit threshold of an exported model (its metadata), else 0.5 (a checkpoint)."""
    if model_path.suffix == ".onnx" and model_path.with_suffix(".json").is_file():
        return ModelMetadata.from_file(model_path.with_suffix(".json")).not_digit_threshold
    return 0.5


def evaluate_file(model_path: Path, test: LabelledImages) -> ClassificationReport:
    """The report of the service's answers: the digit, or class 10 for "not a digit"."""
    digits, is_digit = decide(predict(model_path, test), threshold_for(model_path))
    return classification_report(np.where(is_digit, digits, NOT_DIGIT_CLASS), test.labels.numpy())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.evaluate", description=__doc__)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--checkpoint", type=Path, help="a training checkpoint (best.pt)")
    source.add_argument("--onnx", type=Path, help="an exported ONNX model")
    add_data_dir_argument(parser)
    args = parser.parse_args(argv)
    model_path = args.checkpoint or args.onnx
    try:
        arrays = load_mnist(MnistSource.from_env(args.data_dir))
        test = LabelledImages.from_numpy(arrays.test_images, arrays.test_labels)
        report = evaluate_file(model_path, test)
    except (CheckpointError, MnistUnavailableError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(format_report(report, f"{model_path} on the 10,000 MNIST test images"))
    return 0


if __name__ == "__main__":
    sys.exit(main())

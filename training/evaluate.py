"""Command line: test-set report (accuracy, per-class precision/recall, confusion) for a model file."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from training.checkpoint import CheckpointError
from training.dataset import LabelledImages
from training.loop import evaluate, load_model
from training.metrics import ClassificationReport, classification_report, format_report
from training.mnist import MnistSource, MnistUnavailableError, add_data_dir_argument, load_mnist
from training.onnx_model import onnx_probabilities


def predict(model_path: Path, test: LabelledImages) -> np.ndarray:
    """Probabilities [N, 10] from a checkpoint (.pt, PyTorch) or an exported model (.onnx)."""
    if model_path.suffix == ".onnx":
        if not model_path.is_file():
            raise CheckpointError(f"no ONNX model at {model_path}")
        return onnx_probabilities(model_path, test.images.numpy())
    model, _, _ = load_model(model_path)
    return evaluate(model, test).probabilities.numpy()


def evaluate_file(model_path: Path, test: LabelledImages) -> ClassificationReport:
    return classification_report(predict(model_path, test).argmax(axis=1), test.labels.numpy())


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

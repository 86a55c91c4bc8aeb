"""PNG figures of a training run: curves, confusion matrix, sample and misclassified test digits."""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless: no display needed
import matplotlib.pyplot as plt
import numpy as np

from training.checkpoint import CheckpointError
from training.dataset import LabelledImages
from training.evaluate import predict
from training.metrics import classification_report
from training.mnist import MnistSource, MnistUnavailableError, add_data_dir_argument, load_mnist

SAMPLE_GRID = (6, 10)  # rows, columns of the sample-predictions figure
MISCLASSIFIED_COLUMNS = 12


def plot_curves(history: list[dict], path: Path) -> None:
    epochs = [r["epoch"] for r in history]
    fig, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=(11, 4.2))
    loss_ax.plot(epochs, [r["train_loss"] for r in history], "o-", label="train (augmented, smoothed)")
    loss_ax.plot(epochs, [r["val_loss"] for r in history], "s-", label="validation")
    loss_ax.set(title="Loss per epoch", xlabel="epoch", ylabel="cross-entropy")
    acc_ax.plot(epochs, [100 * r["train_accuracy"] for r in history], "o-", label="train (augmented)")
    acc_ax.plot(epochs, [100 * r["val_accuracy"] for r in history], "s-", label="validation")
    best = max(history, key=lambda r: r["val_accuracy"])
    acc_ax.annotate(f"best {100 * best['val_accuracy']:.2f} %", (best["epoch"], 100 * best["val_accuracy"]),
                    textcoords="offset points", xytext=(-40, -25), arrowprops={"arrowstyle": "->"})
    acc_ax.set(title="Accuracy per epoch", xlabel="epoch", ylabel="accuracy (%)")
    low = min(100 * min(r["val_accuracy"] for r in history), 100 * min(r["train_accuracy"] for r in history))
    acc_ax.set_ylim(max(low - 0.5, 90 if low > 90 else 0), 100)
    for ax in (loss_ax, acc_ax):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_confusion(confusion: np.ndarray, accuracy: float, path: Path) -> None:
    fig, ax = plt.subplots(figsize=(7, 6))
    # Log colour scale: the diagonal (~1,000) would otherwise hide the handful of errors.
    image = ax.imshow(np.log10(confusion + 1), cmap="Blues")
    for true in range(10):
        for pred in range(10):
            count = confusion[true, pred]
            if count:
                ax.text(pred, true, str(count), ha="center", va="center", fontsize=8,
                        color="white" if true == pred else "black")
    ax.set(title=f"Confusion matrix, MNIST test (accuracy {accuracy:.2%})",
           xlabel="predicted digit", ylabel="true digit", xticks=range(10), yticks=range(10))
    fig.colorbar(image, ax=ax, label="log10(count + 1)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _digit_grid(images: np.ndarray, titles: list[str], colours: list[str], columns: int,
                title: str, path: Path) -> None:
    rows = max(1, math.ceil(len(images) / columns))
    fig, axes = plt.subplots(rows, columns, figsize=(1.2 * columns, 1.45 * rows + 0.6), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, image, text, colour in zip(axes.flat, images, titles, colours, strict=False):
        ax.imshow(image, cmap="gray_r", vmin=0, vmax=255)
        ax.set_title(text, fontsize=8, color=colour)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_plots(run_dir: Path, model_path: Path, test: LabelledImages, out_dir: Path) -> list[Path]:
    """Write the four figures into `out_dir` and return their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    history = json.loads((run_dir / "history.json").read_text())
    probs = predict(model_path, test)
    preds, labels = probs.argmax(axis=1), test.labels.numpy()
    images = test.images.numpy()[:, 0]
    report = classification_report(preds, labels)
    paths = [out_dir / name for name in ("curves.png", "confusion.png", "samples.png",
                                         "misclassified.png")]
    plot_curves(history, paths[0])
    plot_confusion(report.confusion, report.accuracy, paths[1])
    count = SAMPLE_GRID[0] * SAMPLE_GRID[1]
    _digit_grid(images[:count],
                [f"{p} ({probs[i, p]:.0%})" for i, p in enumerate(preds[:count])],
                ["black" if p == t else "red" for p, t in zip(preds[:count], labels[:count], strict=True)],
                SAMPLE_GRID[1], "First test digits: prediction (confidence)", paths[2])
    wrong = np.flatnonzero(preds != labels)
    _digit_grid(images[wrong], [f"true {labels[i]}, got {preds[i]}" for i in wrong],
                ["red"] * len(wrong), MISCLASSIFIED_COLUMNS,
                f"All {len(wrong)} misclassified test digits", paths[3])
    return paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.plots", description=__doc__)
    parser.add_argument("--run-dir", type=Path, default=Path("runs/default"))
    parser.add_argument("--model", type=Path, default=None,
                        help="model to score (default: RUN_DIR/best.pt; an .onnx file works too)")
    parser.add_argument("--out-dir", type=Path, default=Path("plots"))
    add_data_dir_argument(parser)
    args = parser.parse_args(argv)
    try:
        arrays = load_mnist(MnistSource.from_env(args.data_dir))
        test = LabelledImages.from_numpy(arrays.test_images, arrays.test_labels)
        paths = write_plots(args.run_dir, args.model or args.run_dir / "best.pt", test, args.out_dir)
    except (CheckpointError, MnistUnavailableError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print("wrote " + ", ".join(str(p) for p in paths))
    return 0


if __name__ == "__main__":
    sys.exit(main())

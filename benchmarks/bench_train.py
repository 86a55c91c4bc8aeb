"""Benchmark: wall time to reach 99.0 % MNIST test accuracy, Digits' fast preset vs the classic example.

Both run in this one process on the same machine, one after the other, with the same thread count.
Ours: `fit()` of the `fast` preset (bf16 autocast, channels_last, BatchNorm CNN, one-cycle AdamW),
then one test pass. Reference: benchmarks/classic_reference.py, test accuracy after every epoch.
Goal: ours at least 8x faster. Run with `make bench-train` (MNIST from $MNIST_DIR or --data-dir).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch

from benchmarks import classic_reference
from training.config import preset
from training.dataset import LabelledImages, split_mnist
from training.loop import evaluate, fit, load_model
from training.mnist import MnistSource, add_data_dir_argument, load_mnist
from training.provenance import environment

TARGET = 0.99  # test accuracy both recipes must reach
GOAL_SPEEDUP = 8.0
REFERENCE_MAX_EPOCHS = 14  # the classic example's default epoch count


def time_ours(arrays) -> tuple[float, float]:
    """Seconds from the start of training to a tested model, and its test accuracy."""
    config = preset("fast")
    started = time.perf_counter()
    splits = split_mnist(arrays, config.val_size, config.seed, config.train_limit)
    with tempfile.TemporaryDirectory() as run_dir:
        fit(config, splits, Path(run_dir))
        model, _, _ = load_model(Path(run_dir) / "best.pt")
        accuracy = evaluate(model, splits.test).accuracy
    return time.perf_counter() - started, accuracy


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_train", description=__doc__)
    add_data_dir_argument(parser)
    args = parser.parse_args(argv)
    arrays = load_mnist(MnistSource.from_env(args.data_dir))
    env = environment()
    print(f"machine: {env['cpu']}, {env['cpu_count']} cores, torch {env['torch']} "
          f"({torch.get_num_threads()} threads)", flush=True)

    ours_s, ours_acc = time_ours(arrays)
    print(f"digits fast preset: {ours_acc:.2%} test accuracy after {ours_s:.1f}s", flush=True)

    train = LabelledImages.from_numpy(arrays.train_images, arrays.train_labels)
    test = LabelledImages.from_numpy(arrays.test_images, arrays.test_labels)
    results = classic_reference.train_until(
        train, test, TARGET, REFERENCE_MAX_EPOCHS,
        on_epoch=lambda r: print(f"reference epoch {r.epoch}: {r.test_accuracy:.2%} test accuracy "
                                 f"at {r.elapsed_s:.1f}s", flush=True))
    reached = [r for r in results if r.test_accuracy >= TARGET]
    ref_s = reached[0].elapsed_s if reached else float("nan")

    ratio = ref_s / ours_s
    rows = [("digits fast preset", ours_s, ours_acc, "1 epoch"),
            ("classic PyTorch example (reference)", ref_s, results[-1].test_accuracy,
             f"{len(results)} epochs")]
    print(f"\n{'recipe':<38}{'seconds to >= 99.0 %':>22}{'test accuracy':>15}  epochs")
    for name, seconds, accuracy, epochs in rows:
        print(f"{name:<38}{seconds:>22.1f}{accuracy:>15.2%}  {epochs}")
    ok = ours_acc >= TARGET and bool(reached) and ratio >= GOAL_SPEEDUP
    print(f"\nspeed-up: {ratio:.1f}x (goal >= {GOAL_SPEEDUP:.0f}x) -> {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

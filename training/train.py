"""Command line: train a preset, resumably, and report the best checkpoint's test accuracy."""

from __future__ import annotations

import argparse
import dataclasses
import signal
import sys
import threading
import time
from pathlib import Path

from training.checkpoint import save_json_atomic
from training.config import PRESETS, ExtraDataConfig, TrainConfig, preset
from training.dataset import split_mnist
from training.device import add_device_argument, training_device
from training.download import content_sha256
from training.extra_data import add_extra
from training.loop import FitResult, evaluate, fit, load_model
from training.mnist import MnistSource, MnistUnavailableError, add_data_dir_argument, load_mnist
from training.model import multiply_adds, parameter_count
from training.onnx_start import StartError
from training.progress import CountProgress, EpochProgress
from training.provenance import environment, git_sha, utc_now

EXIT_INTERRUPTED = 130  # conventional exit status after SIGINT: `make train export` stops there


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m training.train", description=__doc__)
    parser.add_argument("--preset", default="default", choices=sorted(PRESETS))
    parser.add_argument("--runs-dir", type=Path, default=Path("runs"),
                        help="runs are kept in RUNS_DIR/<preset name> (default: runs)")
    add_data_dir_argument(parser)
    parser.add_argument("--resume", action="store_true",
                        help="continue the interrupted run in the run directory exactly")
    parser.add_argument("--restart", action="store_true",
                        help="set an existing run directory aside and start a fresh run")
    parser.add_argument("--epochs", type=int, help="override the preset's epoch count")
    parser.add_argument("--seed", type=int, help="override the preset's seed")
    parser.add_argument("--start-from", type=Path,
                        help="an exported classifier (model.onnx) to fine-tune, in place of the "
                             "preset's start (large-tune: exported/model.onnx)")
    add_device_argument(parser, "the synthetic images are")
    args = parser.parse_args(argv)
    args.device = training_device(args.device, parser)
    return args


def resolve_config(args: argparse.Namespace) -> TrainConfig:
    config = preset(args.preset)
    overrides = {k: v for k, v in (("epochs", args.epochs), ("seed", args.seed),
                                   ("start_from", args.start_from and str(args.start_from)))
                 if v is not None}
    return dataclasses.replace(config, **overrides)


def prepare_run_dir(run_dir: Path, resume: bool, restart: bool) -> None:
    """Refuse to overwrite an unfinished run; set a finished one aside (nothing is deleted). A
    run stopped before its first step (while making its synthetic images, say) left nothing to
    resume: it starts again, and reuses the images it cached."""
    last = run_dir / "last.pt"
    if resume:
        if not last.exists():
            raise SystemExit(f"error: nothing to resume: {last} does not exist")
        return
    finished = (run_dir / "results.json").exists()
    if not finished and not last.exists():
        return
    if not finished and not restart:
        raise SystemExit(
            f"error: {run_dir} holds an unfinished run; continue it with --resume "
            f"(make train ARGS=--resume) or set it aside with --restart"
        )
    aside = run_dir.with_name(f"{run_dir.name}.{time.strftime('%Y%m%d-%H%M%S')}")
    run_dir.rename(aside)
    print(f"previous run moved to {aside}", file=sys.stderr)


def install_stop_handlers(stop: threading.Event) -> None:
    """SIGINT/SIGTERM ask the loop to stop after the current step; a second Ctrl-C aborts."""

    def handler(signum: int, _frame: object) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        print(f"\n{signal.Signals(signum).name}: finishing the current step and saving...",
              file=sys.stderr)

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)


def report(result: FitResult, splits, config: TrainConfig, wall_s: float) -> dict:
    model, _, best = load_model(result.run_dir / "best.pt")
    test = evaluate(model, splits.test)
    return {
        "preset": config.name,
        "test_accuracy": test.accuracy,
        "test_loss": test.loss,
        "best_epoch": best["epoch"],
        "best_val_accuracy": best["val_accuracy"],
        "epochs": config.epochs,
        "parameters": parameter_count(model),
        "multiply_adds_per_image": multiply_adds(config.model),
        "wall_seconds": wall_s,
        "finished": utc_now(),
        "git_sha": git_sha(),
        "environment": environment(),
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    config = resolve_config(args)
    run_dir = args.runs_dir / config.name
    if config.start_from and not Path(config.start_from).is_file():
        print(f"error: the classifier to start from, {config.start_from}, does not exist",
              file=sys.stderr)
        return 2
    prepare_run_dir(run_dir, args.resume, args.restart)
    try:
        arrays = load_mnist(MnistSource.from_env(args.data_dir))
    except (MnistUnavailableError, OSError) as err:
        print(f"error: MNIST is not available: {err}", file=sys.stderr)
        return 2
    splits = split_mnist(arrays, config.val_size, config.seed, config.train_limit)
    if config.extra != ExtraDataConfig():
        made = CountProgress("synthetic images (rendered and preprocessed once, then cached)")
        splits = add_extra(splits, config.extra, run_dir, made.add)
        made.close()
    if config.threads:
        import torch

        torch.set_num_threads(config.threads)
    started_from = ({"start_from_sha256": content_sha256(Path(config.start_from))}
                    if config.start_from else {})
    save_json_atomic({"config": config.to_dict(), "git_sha": git_sha(), "data_sha256": arrays.sha256,
                      **started_from,
                      "command": " ".join(["python -m training.train", *sys.argv[1:]]),
                      "started": utc_now()}, run_dir / "config.json")
    stop = threading.Event()
    install_stop_handlers(stop)
    progress = EpochProgress(config.epochs)
    print(f"training preset {config.name!r}: {len(splits.train)} train / {len(splits.val)} "
          f"validation images, {config.epochs} epochs on {args.device}, run dir {run_dir}",
          file=sys.stderr)
    try:
        result = fit(config, splits, run_dir, stop, args.resume, progress.on_step,
                     progress.on_epoch, args.device)
    except StartError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if result.interrupted:
        device_flag = "" if args.device.type == "cpu" else f" --device {args.device}"
        print(f"interrupted at epoch {result.state.epoch + 1}, step {result.state.step}; saved "
              f"{run_dir / 'last.pt'}.\nresume with: make train PRESET={args.preset} "
              f"ARGS=\"--resume{device_flag}\" (or python -m training.train --preset "
              f"{args.preset} --resume{device_flag})", file=sys.stderr)
        return EXIT_INTERRUPTED
    results = report(result, splits, config, time.perf_counter() - started)
    save_json_atomic(results, run_dir / "results.json")
    print(f"test accuracy {results['test_accuracy']:.2%} (best epoch {results['best_epoch']}, "
          f"validation {results['best_val_accuracy']:.2%}); {results['parameters']:,} parameters, "
          f"{results['multiply_adds_per_image'] / 1e6:.1f}M multiply-adds per image; "
          f"{results['wall_seconds']:.0f}s wall time; best checkpoint {run_dir / 'best.pt'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Train the number reader (training/number_model.py) on generated line images with CTC.

    python -m training.train_numbers --preset default [--resume] [--data-dir DIR] [--device cuda]

Numbers are written with MNIST training digits, never the validation digits (those write the
validation numbers, under another seed) nor the test digits. The line images are cached beside
the run; the best epoch by exact reads of the validation numbers is kept as best.pt, the latest
as last.pt (--resume continues from it).
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from serving.number_line import NumberLineConfig
from serving.number_reader import BLANK
from training.checkpoint import load_checkpoint, save_atomic, save_json_atomic
from training.config import TrainConfig
from training.device import add_device_argument, training_device
from training.mnist import MnistSource, add_data_dir_argument, load_mnist, validation_split
from training.number_data import NumberLines, generate_lines
from training.number_model import NumberReader, ReaderConfig, greedy_decode


@dataclass(frozen=True)
class NumberTrainConfig:
    """The reader's recipe: its data, optimiser and schedule."""

    name: str = "default"
    reader: ReaderConfig = field(default_factory=ReaderConfig)
    train_numbers: int = 40_000  # generated training numbers (lengths take turns)
    val_numbers: int = 2_000  # validation numbers, from the validation digits
    train_lengths: tuple[int, ...] = tuple(range(1, 11))  # digits per training number
    val_lengths: tuple[int, ...] = tuple(range(2, 9))  # digits per validation number
    seed: int = 5  # seeds the training numbers; validation uses seed + 1
    epochs: int = 12
    batch_size: int = 64
    lr: float = 3e-3  # peak of the one-cycle schedule
    weight_decay: float = 1e-4
    stretch: float = 0.15  # each batch is stretched along the line by a factor in 1 ± this
    workers: int = 2  # processes that generate line images

    def __post_init__(self) -> None:
        if min(self.train_numbers, self.val_numbers, self.epochs, self.batch_size, self.workers) < 1:
            raise ValueError("train_numbers, val_numbers, epochs, batch_size, workers must be ≥ 1")
        if not 0 <= self.stretch < 0.5 or self.lr <= 0:
            raise ValueError("stretch must be in [0, 0.5) and lr positive")


PRESETS = {
    "default": NumberTrainConfig(),
    "fast": NumberTrainConfig(name="fast", train_numbers=10_000, val_numbers=1_000, epochs=6),
    # twice the numbers, 20 epochs: about 2 h on 2 CPU cores; on one H100 with 16 cores, 5 min
    # of line images and under 20 s per epoch (--device cuda --workers 16)
    "large": NumberTrainConfig(name="large", train_numbers=80_000, epochs=20),
    "smoke": NumberTrainConfig(name="smoke", train_numbers=200, val_numbers=50, epochs=1,
                               batch_size=32),
}


def line_data(config: NumberTrainConfig, run_dir: Path,
              source: MnistSource) -> tuple[NumberLines, NumberLines]:
    """(training, validation) line images, generated once and cached in the run folder."""
    digits = TrainConfig()  # the classifier's validation digits stay out of training here too
    paths = run_dir / "lines-train.npz", run_dir / "lines-val.npz"
    if all(p.is_file() for p in paths):
        return NumberLines.load(paths[0]), NumberLines.load(paths[1])
    mnist = load_mnist(source)
    held, kept = validation_split(len(mnist.train_labels), digits.val_size, digits.seed)
    line = NumberLineConfig(height=config.reader.height)
    val = generate_lines(mnist.train_images[held], mnist.train_labels[held], config.val_numbers,
                         config.seed + 1, config.val_lengths, line, config.workers)
    train = generate_lines(mnist.train_images[kept], mnist.train_labels[kept],
                           config.train_numbers, config.seed, config.train_lengths, line,
                           config.workers)
    run_dir.mkdir(parents=True, exist_ok=True)
    train.save(paths[0])
    val.save(paths[1])
    return train, val


@dataclass(frozen=True)
class Batch:
    images: torch.Tensor  # float32 [B, 1, H, W]
    frames: torch.Tensor  # int64 [B]: frames of each image
    targets: torch.Tensor  # int64 [sum of lengths]: classes (digit + 1)
    target_lengths: torch.Tensor  # int64 [B]
    texts: list[str]


def make_batch(lines: NumberLines, indices: np.ndarray, stretch: float = 1.0) -> Batch:
    """The images of `indices`, zero-padded to the widest, maybe stretched along the line."""
    pixels = [lines.pixels[i].astype(np.float32) for i in indices]
    height = pixels[0].shape[0]
    widths = [max(2, round(p.shape[1] * stretch)) for p in pixels]
    images = torch.zeros(len(pixels), 1, height, max(widths))
    for row, (image, width) in enumerate(zip(pixels, widths, strict=True)):
        tensor = torch.from_numpy(image)[None, None]
        if width != image.shape[1]:
            tensor = F.interpolate(tensor, size=(height, width), mode="bilinear",
                                   align_corners=False)
        images[row, 0, :, :width] = tensor[0, 0]
    texts = [lines.texts[i] for i in indices]
    targets = torch.tensor([int(c) + 1 for text in texts for c in text], dtype=torch.int64)
    return Batch(images, torch.tensor(widths) // 2, targets,
                 torch.tensor([len(t) for t in texts]), texts)


def epoch_batches(lines: NumberLines, batch_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Batches of similar widths (little padding), in random order."""
    widths = np.array([p.shape[1] for p in lines.pixels], np.float64)
    order = np.argsort(widths * rng.uniform(0.9, 1.1, widths.size))
    batches = [order[i:i + batch_size] for i in range(0, order.size, batch_size)]
    rng.shuffle(batches)
    return batches


def exact_reads(model: nn.Module, lines: NumberLines, device: torch.device,
                batch_size: int = 128) -> float:
    """Share of `lines` read exactly by greedy decoding."""
    model.eval()
    right = 0
    order = np.argsort([p.shape[1] for p in lines.pixels])
    with torch.no_grad():
        for start in range(0, order.size, batch_size):
            batch = make_batch(lines, order[start:start + batch_size])
            read = greedy_decode(model(batch.images.to(device)).cpu(), batch.frames)
            right += sum(r == t for r, t in zip(read, batch.texts, strict=True))
    return right / max(len(lines.texts), 1)


def train(config: NumberTrainConfig, run_dir: Path, source: MnistSource, resume: bool,
          device: torch.device | None = None) -> dict:
    """Train, keep the best epoch as best.pt; returns the run's summary."""
    device = device or torch.device("cpu")
    torch.manual_seed(config.seed)
    train_lines, val_lines = line_data(config, run_dir, source)
    model = NumberReader(config.reader).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr,
                                  weight_decay=config.weight_decay)
    steps = math.ceil(len(train_lines.texts) / config.batch_size) * config.epochs
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, config.lr, total_steps=steps,
                                                   pct_start=0.15)
    ctc = nn.CTCLoss(blank=BLANK, zero_infinity=True)
    history: list[dict] = []
    best, start_epoch = -1.0, 0
    last = run_dir / "last.pt"
    if resume and last.is_file():
        state = load_checkpoint(last)
        model.load_state_dict(state["model"])
        model.to(device)
        optimizer.load_state_dict(state["optimizer"])
        schedule.load_state_dict(state["schedule"])
        history, best, start_epoch = state["history"], state["best"], state["epoch"] + 1
        print(f"resuming after epoch {start_epoch} (best exact {best:.2%})", flush=True)
    for epoch in range(start_epoch, config.epochs):
        rng = np.random.default_rng([config.seed, epoch])
        model.train()
        began, total, count = time.perf_counter(), 0.0, 0
        batches = epoch_batches(train_lines, config.batch_size, rng)
        for step, indices in enumerate(batches, 1):
            batch = make_batch(train_lines, indices,
                               float(rng.uniform(1 - config.stretch, 1 + config.stretch)))
            with torch.autocast(device.type, dtype=torch.bfloat16):
                logits = model(batch.images.to(device))
            log_probs = F.log_softmax(logits.float(), dim=1).permute(2, 0, 1)
            frames = torch.clamp(batch.frames, max=log_probs.shape[0])
            loss = ctc(log_probs, batch.targets.to(device), frames.to(device),
                       batch.target_lengths.to(device))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            optimizer.step()
            schedule.step()
            total += loss.item() * len(indices)
            count += len(indices)
            if step % 100 == 0 or step == len(batches):
                print(f"epoch {epoch + 1}/{config.epochs} step {step}/{len(batches)} "
                      f"loss {total / count:.4f} {time.perf_counter() - began:.0f}s", flush=True)
        exact = exact_reads(model, val_lines, device)
        history.append({"epoch": epoch + 1, "loss": total / count, "val_exact": exact,
                        "seconds": time.perf_counter() - began})
        print(f"  validation numbers read exactly: {exact:.2%}", flush=True)
        weights = {name: value.cpu() for name, value in model.state_dict().items()}
        payload = {"reader": dataclasses.asdict(config.reader), "model": weights,
                   "history": history, "epoch": epoch, "best": max(best, exact),
                   "optimizer": optimizer.state_dict(), "schedule": schedule.state_dict()}
        if exact > best:
            best = exact
            save_atomic({k: payload[k] for k in ("reader", "model", "history", "epoch")},
                        run_dir / "best.pt")
        save_atomic(payload, last)
    summary = {"preset": config.name, "best_val_exact": best, "history": history}
    save_json_atomic(summary, run_dir / "summary.json")
    return summary


def prepare_run_dir(run_dir: Path, resume: bool, restart: bool) -> None:
    """Refuse to overwrite an unfinished run; set a finished one's checkpoints aside (its cached
    line images are kept and re-used)."""
    last = run_dir / "last.pt"
    if resume:
        if not last.is_file():
            raise SystemExit(f"error: nothing to resume: {last} does not exist")
        return
    if not last.is_file():
        return
    results = [run_dir / name for name in ("best.pt", "last.pt", "summary.json")]
    if not (run_dir / "summary.json").is_file():
        if not restart:
            raise SystemExit(f"error: {run_dir} holds an unfinished run; continue it with --resume "
                             f"(make train ARGS=--resume) or start it over with --restart")
        return
    aside = run_dir / f"previous-{time.strftime('%Y%m%d-%H%M%S')}"
    aside.mkdir()
    for path in results:
        if path.is_file():
            path.rename(aside / path.name)
    print(f"previous run's checkpoints moved to {aside}", file=sys.stderr)


def reader_of(state: dict) -> NumberReader:
    """The reader of a loaded best.pt / last.pt checkpoint, in eval mode."""
    raw = dict(state["reader"])
    raw["widths"] = tuple(raw["widths"])
    model = NumberReader(ReaderConfig(**raw))
    model.load_state_dict(state["model"])
    return model.eval()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", choices=tuple(PRESETS), default="default")
    parser.add_argument("--runs-dir", type=Path, default=Path("runs"))
    parser.add_argument("--resume", action="store_true", help="continue from the run's last.pt")
    parser.add_argument("--restart", action="store_true",
                        help="start an unfinished run over instead of refusing to")
    add_device_argument(parser, "the line images are")
    parser.add_argument("--workers", type=int, default=None,
                        help="processes that make line images (default: the preset's)")
    add_data_dir_argument(parser)
    args = parser.parse_args(argv)
    config = PRESETS[args.preset]
    if args.workers is not None:
        if args.workers < 1:
            parser.error(f"--workers must be ≥ 1, got {args.workers}")
        config = dataclasses.replace(config, workers=args.workers)
    device = training_device(args.device, parser)
    run_dir = args.runs_dir / "numbers" / config.name
    prepare_run_dir(run_dir, args.resume, args.restart)
    summary = train(config, run_dir, MnistSource.from_env(args.data_dir), args.resume, device)
    print(f"best validation numbers read exactly: {summary['best_val_exact']:.2%} "
          f"({run_dir / 'best.pt'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

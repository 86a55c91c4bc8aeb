"""The training loop: one epoch of steps, evaluation, and a resumable, interruptible fit()."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from training.augment import random_affine
from training.checkpoint import load_checkpoint, save_atomic, save_json_atomic
from training.config import TrainConfig
from training.dataset import LabelledImages, Splits, normalise, to_unit_float
from training.model import DigitNet
from training.onnx_start import start_from_exported

EVAL_BATCH = 1000  # images per forward pass when evaluating
BN_BATCHES = 200  # training batches that re-estimate BatchNorm statistics after each epoch


@dataclass(frozen=True)
class StepReport:
    """Sent to the progress callback after each optimiser step."""

    epoch: int  # 0-based epoch being trained
    step: int  # steps done in this epoch
    steps_per_epoch: int
    loss: float  # mean training loss over the epoch so far
    accuracy: float  # training accuracy over the epoch so far, in [0, 1]
    lr: float


@dataclass(frozen=True)
class EvalResult:
    loss: float  # mean cross-entropy (no label smoothing)
    accuracy: float  # in [0, 1]
    predictions: torch.Tensor  # int64 [N]
    logits: torch.Tensor  # float32 [N, classes]

    @property
    def probabilities(self) -> torch.Tensor:
        return torch.softmax(self.logits, dim=1)


@dataclass
class EpochSums:
    """Running totals of the epoch in progress; saved on interruption for an exact resume."""

    loss: float = 0.0  # sum over images of the per-image loss
    correct: int = 0
    seen: int = 0
    seconds: float = 0.0


@dataclass
class RunState:
    """Where a run stands; all of it goes into `last.pt`."""

    epoch: int = 0  # epochs fully completed
    step: int = 0  # steps completed within the current epoch
    epoch_order: torch.Tensor | None = None  # shuffled image order of the current epoch
    sums: EpochSums = field(default_factory=EpochSums)
    best_val_accuracy: float = -1.0
    best_epoch: int = -1
    history: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class FitResult:
    interrupted: bool  # True when stopped by a signal before the last epoch ended
    state: RunState
    run_dir: Path


def lr_at(step: int, total_steps: int, config: TrainConfig) -> float:
    """One-cycle schedule: linear warm-up to `config.lr`, then cosine decay to zero."""
    warmup = max(1, int(total_steps * config.warmup_fraction))
    if step < warmup:
        return config.lr * (step + 1) / warmup
    progress = (step - warmup) / max(1, total_steps - warmup)
    return config.lr * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))


def steps_per_epoch(train_size: int, batch_size: int) -> int:
    """Full batches per epoch; the few left-over images are seen in other epochs' shuffles."""
    return max(1, train_size // batch_size)


def build_model(config: TrainConfig) -> nn.Module:
    return DigitNet(config.model).to(memory_format=torch.channels_last)


def build_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    return torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)


@torch.no_grad()
def evaluate(model: nn.Module, data: LabelledImages) -> EvalResult:
    """Loss, accuracy and per-image probabilities in float32 (the precision the export uses), on
    the CPU whichever device the model is on."""
    model.eval()
    device = next(model.parameters()).device
    outputs = []
    loss_sum = 0.0
    for start in range(0, len(data), EVAL_BATCH):
        images = data.images[start : start + EVAL_BATCH].to(device)
        x = normalise(to_unit_float(images)).contiguous(memory_format=torch.channels_last)
        logits = model(x).float().cpu()
        loss_sum += F.cross_entropy(logits, data.labels[start : start + EVAL_BATCH].cpu(),
                                    reduction="sum").item()
        outputs.append(logits)
    logits = torch.cat(outputs) if outputs else torch.empty(0, 10)  # no images: shape moot
    predictions = logits.argmax(dim=1)
    return EvalResult(
        loss=loss_sum / max(1, len(data)),
        accuracy=int((predictions == data.labels).sum()) / max(1, len(data)),
        predictions=predictions,
        logits=logits,
    )


@torch.no_grad()
def recalibrate_batchnorm(model: nn.Module, data: LabelledImages, batches: int, batch_size: int,
                          seed: int) -> None:
    """Re-estimate every BatchNorm's running statistics in float32 from `batches` un-augmented
    training batches (a plain average, not a moving one).

    The statistics gathered during bf16-autocast steps drifted for the "not a digit" images:
    epoch-end validation swung between 95 % and 99.4 % while training accuracy stayed at 99.8 %,
    and recalibrating the final model this way brought validation to 99.67 %.
    """
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not norms or batches <= 0:
        return
    momenta = [m.momentum for m in norms]
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None  # cumulative average over the calls below
    model.train()
    order = torch.randperm(len(data), generator=torch.Generator().manual_seed(seed))
    for start in range(0, min(len(data), batches * batch_size), batch_size):
        index = order[start: start + batch_size].to(data.images.device)
        model(normalise(to_unit_float(data.images[index])).contiguous(
            memory_format=torch.channels_last))
    for norm, momentum in zip(norms, momenta, strict=True):
        norm.momentum = momentum
    model.eval()


def train_one_epoch(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    data: LabelledImages,
    config: TrainConfig,
    state: RunState,
    generator: torch.Generator,
    stop: threading.Event,
    on_step: Callable[[StepReport], None] | None = None,
) -> bool:
    """Train from `state.step` to the end of the epoch; return False if `stop` cut it short."""
    model.train()
    per_epoch = steps_per_epoch(len(data), config.batch_size)
    total_steps = per_epoch * config.epochs
    assert state.epoch_order is not None
    started = time.perf_counter() - state.sums.seconds
    while state.step < per_epoch:
        if stop.is_set():
            return False
        global_step = state.epoch * per_epoch + state.step
        lr = lr_at(global_step, total_steps, config)
        for group in optimizer.param_groups:
            group["lr"] = lr
        index = state.epoch_order[state.step * config.batch_size : (state.step + 1) * config.batch_size]
        index = index.to(data.images.device)
        x = random_affine(to_unit_float(data.images[index]), config.augment, generator)
        x = normalise(x).contiguous(memory_format=torch.channels_last)
        y = data.labels[index]
        with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=config.bf16):
            logits = model(x)
        loss = F.cross_entropy(logits.float(), y, label_smoothing=config.label_smoothing)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        state.step += 1
        state.sums.loss += loss.item() * len(y)
        state.sums.correct += int((logits.argmax(dim=1) == y).sum())
        state.sums.seen += len(y)
        state.sums.seconds = time.perf_counter() - started
        if on_step is not None:
            on_step(StepReport(state.epoch, state.step, per_epoch, state.sums.loss / state.sums.seen,
                               state.sums.correct / state.sums.seen, lr))
    return True


def _payload(config: TrainConfig, model: nn.Module, optimizer: torch.optim.Optimizer,
             state: RunState, generator: torch.Generator) -> dict[str, Any]:
    return {
        "config": config.to_dict(),
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "epoch": state.epoch,
        "step": state.step,
        "epoch_order": state.epoch_order,
        "sums": vars(state.sums).copy(),
        "best_val_accuracy": state.best_val_accuracy,
        "best_epoch": state.best_epoch,
        "history": state.history,
        "rng": {"data": generator.get_state(), "torch": torch.get_rng_state()},
    }


def _restore(payload: dict[str, Any], model: nn.Module, optimizer: torch.optim.Optimizer,
             generator: torch.Generator) -> RunState:
    model.load_state_dict(payload["model"])
    optimizer.load_state_dict(payload["optimizer"])
    generator.set_state(payload["rng"]["data"])
    torch.set_rng_state(payload["rng"]["torch"])
    return RunState(
        epoch=payload["epoch"],
        step=payload["step"],
        epoch_order=payload["epoch_order"],
        sums=EpochSums(**payload["sums"]),
        best_val_accuracy=payload["best_val_accuracy"],
        best_epoch=payload["best_epoch"],
        history=list(payload["history"]),
    )


def fit(
    config: TrainConfig,
    splits: Splits,
    run_dir: Path,
    stop: threading.Event | None = None,
    resume: bool = False,
    on_step: Callable[[StepReport], None] | None = None,
    on_epoch: Callable[[dict[str, Any]], None] | None = None,
    device: torch.device | None = None,
) -> FitResult:
    """Train `config` on `splits`, keeping `run_dir/last.pt` (resumable) and `run_dir/best.pt`.

    With `resume`, continues exactly where `last.pt` stopped (weights, optimiser, epoch, step,
    shuffle order, random generators). A fresh run starts from `config.start_from`'s weights when
    it names an exported classifier. When `stop` is set, the current step finishes, `last.pt` is
    saved, and the result says `interrupted`. `device` (default: the CPU) holds the model and
    the training images while training; checkpoints load on the CPU.
    """
    stop = stop or threading.Event()
    torch.manual_seed(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    device = device or torch.device("cpu")
    model = build_model(config)
    if config.start_from and not resume:
        start_from_exported(model, Path(config.start_from), splits.train,
                            BN_BATCHES * config.batch_size)
    model = model.to(device)
    optimizer = build_optimizer(model, config)
    train = splits.train.to(device)
    last_path, best_path = run_dir / "last.pt", run_dir / "best.pt"
    state = _restore(load_checkpoint(last_path), model, optimizer, generator) if resume else RunState()
    while state.epoch < config.epochs:
        if state.epoch_order is None:
            state.epoch_order = torch.randperm(len(train), generator=generator)
        if not train_one_epoch(model, optimizer, train, config, state, generator, stop,
                               on_step):
            save_atomic(_payload(config, model, optimizer, state, generator), last_path)
            return FitResult(interrupted=True, state=state, run_dir=run_dir)
        recalibrate_batchnorm(model, train, BN_BATCHES, config.batch_size,
                              config.seed * 1000 + state.epoch)
        val = evaluate(model, splits.val)
        record = {
            "epoch": state.epoch + 1,
            "train_loss": state.sums.loss / max(1, state.sums.seen),
            "train_accuracy": state.sums.correct / max(1, state.sums.seen),
            "val_loss": val.loss,
            "val_accuracy": val.accuracy,
            "lr": optimizer.param_groups[0]["lr"],
            "seconds": state.sums.seconds,
        }
        state.history.append(record)
        save_json_atomic(state.history, run_dir / "history.json")
        state.epoch, state.step, state.epoch_order, state.sums = state.epoch + 1, 0, None, EpochSums()
        if val.accuracy > state.best_val_accuracy:
            state.best_val_accuracy, state.best_epoch = val.accuracy, state.epoch
            save_atomic({"config": config.to_dict(), "model": model.state_dict(),
                         "epoch": state.epoch, "val_accuracy": val.accuracy}, best_path)
        save_atomic(_payload(config, model, optimizer, state, generator), last_path)
        if on_epoch is not None:
            on_epoch(record)
    return FitResult(interrupted=False, state=state, run_dir=run_dir)


def load_model(path: Path) -> tuple[nn.Module, TrainConfig, dict[str, Any]]:
    """Rebuild the model of a checkpoint (best or last) from the file alone, in eval mode."""
    payload = load_checkpoint(path)
    config = TrainConfig.from_dict(payload["config"])
    model = build_model(config)
    model.load_state_dict(payload["model"])
    model.eval()
    return model, config, payload

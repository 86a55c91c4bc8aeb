"""A one-line terminal progress bar for training epochs (writes to a stream, default stderr)."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from training.loop import StepReport

BAR_WIDTH = 30  # characters
MIN_INTERVAL_S = 0.2  # redraw at most this often, seconds


class EpochProgress:
    """Draws `epoch e/E [#####-----] step/steps loss acc lr elapsed` and ends each epoch's line."""

    def __init__(self, epochs: int, stream: TextIO | None = None) -> None:
        self._epochs = epochs
        self._stream = stream or sys.stderr
        self._last_draw = 0.0
        self._epoch_start = time.perf_counter()
        self._interactive = self._stream.isatty()

    def on_step(self, report: StepReport) -> None:
        now = time.perf_counter()
        if report.step == 1:
            self._epoch_start = now
        done = report.step == report.steps_per_epoch
        if not done and now - self._last_draw < MIN_INTERVAL_S:
            return
        if not self._interactive and not done:
            return  # in logs, one line per epoch is enough
        self._last_draw = now
        filled = BAR_WIDTH * report.step // report.steps_per_epoch
        bar = "#" * filled + "-" * (BAR_WIDTH - filled)
        line = (f"epoch {report.epoch + 1}/{self._epochs} [{bar}] {report.step}/"
                f"{report.steps_per_epoch} loss {report.loss:.4f} acc {report.accuracy:.2%} "
                f"lr {report.lr:.2e} {now - self._epoch_start:5.1f}s")
        # "\r" redraws the line; ESC[K erases what a longer previous line left behind.
        self._stream.write(("\r" + line + "\x1b[K") if self._interactive else line)
        if not self._interactive:
            self._stream.write("\n")
        self._stream.flush()

    def on_epoch(self, record: dict) -> None:
        if self._interactive:
            self._stream.write("\n")
        self._stream.write(f"  validation loss {record['val_loss']:.4f} accuracy "
                           f"{record['val_accuracy']:.2%} ({record['seconds']:.1f}s)\n")
        self._stream.flush()


class CountProgress:
    """`label: n images (r/s)` on one line, redrawn as work arrives, for long preparation steps."""

    def __init__(self, label: str, stream: TextIO | None = None) -> None:
        self._label = label
        self._stream = stream or sys.stderr
        self._count = 0
        self._start = time.perf_counter()
        self._interactive = self._stream.isatty()

    def add(self, count: int) -> None:
        self._count += count
        if self._interactive:
            self._stream.write("\r" + self._line() + "\x1b[K")
            self._stream.flush()

    def _line(self) -> str:
        elapsed = time.perf_counter() - self._start
        return (f"{self._label}: {self._count} images ({self._count / max(elapsed, 1e-9):.0f}/s, "
                f"{elapsed:.0f}s)")

    def close(self) -> None:
        self._stream.write(("\r" if self._interactive else "") + self._line() + "\n")
        self._stream.flush()

"""A one-line progress bar of a batch job on stderr: done/total images, images/s, time left."""

from __future__ import annotations

import sys
import time
from typing import TextIO

BAR_WIDTH = 30  # characters
REDRAW_S = 0.2  # on a terminal, redraw at most this often, seconds
LOG_EVERY_S = 10.0  # elsewhere (a log file, CI), one plain line this often, seconds


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


class Progress:
    """`[#####-----] 12,345/200,000 images  463 images/s  1m05s left`, redrawn in place on a
    terminal; a line every LOG_EVERY_S elsewhere."""

    def __init__(self, total: int, stream: TextIO | None = None) -> None:
        self._total = total
        self._stream = stream or sys.stderr
        self._interactive = self._stream.isatty()
        self._start = time.perf_counter()
        self._last = float("-inf")
        self.done = 0

    def line(self, now: float) -> str:
        elapsed = max(now - self._start, 1e-9)
        rate = self.done / elapsed
        filled = BAR_WIDTH * self.done // max(self._total, 1)
        left = (self._total - self.done) / rate if rate > 0 else 0.0
        return (f"[{'#' * filled}{'-' * (BAR_WIDTH - filled)}] {self.done:,}/{self._total:,} "
                f"images  {rate:,.0f} images/s  " + (f"{_duration(left)} left" if self.done
                                                     < self._total else _duration(elapsed)))

    def add(self, count: int) -> None:
        self.done += count
        now = time.perf_counter()
        if now - self._last < (REDRAW_S if self._interactive else LOG_EVERY_S):
            return
        self._last = now
        self._draw(now)

    def _draw(self, now: float) -> None:
        if self._interactive:
            self._stream.write("\r" + self.line(now) + "\x1b[K")  # ESC[K: erase a longer line
        else:
            self._stream.write(self.line(now) + "\n")
        self._stream.flush()

    def close(self) -> None:
        """Draw the final state and end the line."""
        self._draw(time.perf_counter())
        if self._interactive:
            self._stream.write("\n")
        self._stream.flush()

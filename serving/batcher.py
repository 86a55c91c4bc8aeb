"""Dynamic batching: merges queued images into one model run, one future per image (no gRPC)."""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import numpy as np

from serving.errors import OverloadedError, UnavailableError

log = logging.getLogger(__name__)

Output = TypeVar("Output")
# Runs the model on stacked images [N, ...]; returns one output per image (N of them), which
# become the futures' results. The engine's returns Predictions that carry N as batch_size.
RunBatch = Callable[[np.ndarray], Sequence[Output]]


@dataclass(frozen=True)
class BatcherConfig:
    """How requests are merged (Triton's dynamic batcher); max_batch_size=1 switches it off."""

    max_batch_size: int = 256  # most images in one model run, ≥ 1
    max_queue_delay_ms: float = 2.0  # longest the oldest queued image waits for more, ms, ≥ 0
    max_queue_size: int = 8192  # most images waiting; beyond it submit raises OverloadedError

    def __post_init__(self) -> None:
        if self.max_batch_size < 1:
            raise ValueError(f"max_batch_size must be ≥ 1, got {self.max_batch_size}")
        if self.max_queue_delay_ms < 0:
            raise ValueError(f"max_queue_delay_ms must be ≥ 0, got {self.max_queue_delay_ms}")
        if self.max_queue_size < 1:
            raise ValueError(f"max_queue_size must be ≥ 1, got {self.max_queue_size}")


@dataclass(frozen=True)
class BatcherStats:
    """Counters since start: how many runs of each batch size, and how they ended."""

    histogram: dict[int, int] = field(default_factory=dict)  # batch size -> number of runs
    failed_batches: int = 0  # runs whose model call raised
    queued: int = 0  # images waiting right now

    @property
    def batches(self) -> int:
        return sum(self.histogram.values())

    @property
    def images(self) -> int:
        return sum(size * count for size, count in self.histogram.items())


@dataclass
class _Item(Generic[Output]):
    image: np.ndarray
    future: Future[Output]
    enqueued: float  # time.monotonic() seconds


class DynamicBatcher(Generic[Output]):
    """One worker thread runs `run_batch` on merged images; `submit` returns a future per image.

    A run that raises fails exactly the futures of its batch. `close()` stops accepting work,
    finishes everything already queued, then stops the worker.
    """

    def __init__(self, run_batch: RunBatch[Output], config: BatcherConfig | None = None,
                 name: str = "batcher") -> None:
        self.config = config or BatcherConfig()
        self._run_batch = run_batch
        self._queue: collections.deque[_Item[Output]] = collections.deque()
        self._cond = threading.Condition()
        self._closing = False
        self._histogram: collections.Counter[int] = collections.Counter()
        self._failed_batches = 0
        self._worker = threading.Thread(target=self._work, name=name, daemon=True)
        self._worker.start()

    def submit(self, images: np.ndarray) -> list[Future[Output]]:
        """Queue images [N, ...] as one unit: either all are queued or OverloadedError is raised."""
        now = time.monotonic()
        items = [_Item(image, Future(), now) for image in images]
        with self._cond:
            if self._closing:
                raise UnavailableError("the server is shutting down; retry on another replica")
            if len(self._queue) + len(items) > self.config.max_queue_size:
                raise OverloadedError(
                    f"the server's queue is full ({len(self._queue)} images waiting, limit "
                    f"{self.config.max_queue_size}); retry later with backoff"
                )
            was_empty = not self._queue
            self._queue.extend(items)
            # The worker waits for the first image, then only for a full batch (or its delay):
            # waking it for every image would cost a thread switch per request for nothing.
            if was_empty or len(self._queue) >= self.config.max_batch_size:
                self._cond.notify()
        return [item.future for item in items]

    def stats(self) -> BatcherStats:
        with self._cond:
            return BatcherStats(dict(self._histogram), self._failed_batches, len(self._queue))

    def close(self, timeout_s: float | None = None) -> None:
        """Stop accepting images, finish the queued ones, and stop the worker thread."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        self._worker.join(timeout_s)

    def __enter__(self) -> DynamicBatcher[Output]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _next_batch(self) -> list[_Item[Output]] | None:
        """Wait for the oldest image, then for more until the batch is full or its delay is up."""
        max_size = self.config.max_batch_size
        with self._cond:
            while not self._queue:
                if self._closing:
                    return None
                self._cond.wait()
            deadline = self._queue[0].enqueued + self.config.max_queue_delay_ms / 1000
            while len(self._queue) < max_size and not self._closing:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
            count = min(max_size, len(self._queue))
            return [self._queue.popleft() for _ in range(count)]

    def _work(self) -> None:
        while (batch := self._next_batch()) is not None:
            live = [item for item in batch if item.future.set_running_or_notify_cancel()]
            if live:
                self._run(live)

    def _run(self, batch: list[_Item[Output]]) -> None:
        try:
            outputs = self._run_batch(np.stack([item.image for item in batch]))
            if len(outputs) != len(batch):
                raise RuntimeError(f"model returned {len(outputs)} outputs for {len(batch)} inputs")
        except Exception as err:  # the failure belongs to this batch's futures alone
            log.exception("model run on a batch of %d images failed", len(batch))
            with self._cond:
                self._failed_batches += 1
            for item in batch:
                item.future.set_exception(err)
            return
        with self._cond:
            self._histogram[len(batch)] += 1
        for item, output in zip(batch, outputs, strict=True):
            item.future.set_result(output)

"""DynamicBatcher, driven directly with fake runners (no model, no timing)."""

from __future__ import annotations

import threading
from concurrent.futures import wait

import numpy as np
import pytest

from serving.batcher import BatcherConfig, DynamicBatcher
from serving.errors import OverloadedError, UnavailableError

Output = tuple[int, int]  # (the image's value doubled, the size of its run)


def doubled(images: np.ndarray) -> list[Output]:
    return [(int(value) * 2, len(images)) for value in images[:, 0]]


class BlockingRunner:
    """Doubles its input; the first run blocks until `release` is set, so others queue up."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.release = threading.Event()
        self.sizes: list[int] = []

    def __call__(self, images: np.ndarray) -> list[Output]:
        self.sizes.append(len(images))
        self.started.set()
        assert self.release.wait(10), "the test never released the runner"
        return doubled(images)


def images(count: int, start: int = 0) -> np.ndarray:
    return np.arange(start, start + count, dtype=np.int64).reshape(count, 1)


def test_queued_requests_are_merged_into_one_run_up_to_max_batch_size() -> None:
    runner = BlockingRunner()
    with DynamicBatcher(runner, BatcherConfig(max_batch_size=8, max_queue_delay_ms=0)) as batcher:
        first = batcher.submit(images(1))
        assert runner.started.wait(5)
        # While the first run blocks, 3 requests (10 images) queue up.
        later = [batcher.submit(images(n, start=10 * i)) for i, n in enumerate((4, 3, 3), 1)]
        runner.release.set()
        outputs = [f.result(5) for f in first + [f for req in later for f in req]]
    assert runner.sizes == [1, 8, 2]
    assert [size for _, size in outputs] == [1] + [8] * 8 + [2] * 2
    expected = np.concatenate([images(1), images(4, 10), images(3, 20), images(3, 30)]) * 2
    assert [value for value, _ in outputs] == expected[:, 0].tolist()
    assert batcher.stats().histogram == {1: 1, 8: 1, 2: 1}
    assert batcher.stats().images == 11


def test_batch_waits_up_to_the_queue_delay_then_runs_what_it_has() -> None:
    calls: list[int] = []

    def run(batch: np.ndarray) -> list[Output]:
        calls.append(len(batch))
        return doubled(batch)

    with DynamicBatcher(run, BatcherConfig(max_batch_size=64, max_queue_delay_ms=1)) as batcher:
        futures = batcher.submit(images(5))
        done, _ = wait(futures, timeout=5)
    assert len(done) == 5 and calls == [5]


def test_max_batch_size_1_switches_batching_off() -> None:
    runner = BlockingRunner()
    runner.release.set()
    with DynamicBatcher(runner, BatcherConfig(max_batch_size=1, max_queue_delay_ms=0)) as batcher:
        outputs = [f.result(5) for f in batcher.submit(images(6))]
    assert runner.sizes == [1] * 6 and {size for _, size in outputs} == {1}


def test_a_failing_run_fails_only_the_futures_of_its_batch() -> None:
    gate = threading.Event()
    started = threading.Event()

    def run(batch: np.ndarray) -> list[Output]:
        started.set()
        gate.wait(10)
        if (batch < 0).any():
            raise RuntimeError("model exploded")
        return doubled(batch)

    with DynamicBatcher(run, BatcherConfig(max_batch_size=2, max_queue_delay_ms=0)) as batcher:
        good_first = batcher.submit(images(2))
        assert started.wait(5)
        bad = batcher.submit(-images(2, 1))
        good_after = batcher.submit(images(2, 7))
        gate.set()
        assert [f.result(5)[0] for f in good_first] == [0, 2]
        for future in bad:
            with pytest.raises(RuntimeError, match="model exploded"):
                future.result(5)
        assert [f.result(5)[0] for f in good_after] == [14, 16]
        assert batcher.stats().failed_batches == 1


def test_a_run_returning_the_wrong_count_fails_its_batch() -> None:
    with DynamicBatcher(lambda batch: doubled(batch)[:1]) as batcher:
        futures = batcher.submit(images(3))
        with pytest.raises(RuntimeError, match="1 outputs for 3 inputs"):
            futures[0].result(5)


def test_full_queue_raises_overloaded_and_queues_nothing() -> None:
    runner = BlockingRunner()
    config = BatcherConfig(max_batch_size=1, max_queue_delay_ms=0, max_queue_size=3)
    with DynamicBatcher(runner, config) as batcher:
        batcher.submit(images(1))
        assert runner.started.wait(5)
        batcher.submit(images(2))
        with pytest.raises(OverloadedError, match="queue is full"):
            batcher.submit(images(2))
        assert batcher.stats().queued == 2
        runner.release.set()


def test_close_finishes_queued_work_without_waiting_then_refuses_new_work() -> None:
    runner = BlockingRunner()
    # A one-minute queue delay: only close() can make the worker run these before it expires.
    batcher = DynamicBatcher(runner, BatcherConfig(max_batch_size=8, max_queue_delay_ms=60_000))
    futures = batcher.submit(images(3))
    runner.release.set()
    batcher.close(timeout_s=10)
    assert [f.result(0)[0] for f in futures] == [0, 2, 4]
    assert runner.sizes == [3]
    with pytest.raises(UnavailableError, match="shutting down"):
        batcher.submit(images(1))


def test_cancelled_futures_are_skipped() -> None:
    runner = BlockingRunner()
    with DynamicBatcher(runner, BatcherConfig(max_batch_size=8, max_queue_delay_ms=0)) as batcher:
        batcher.submit(images(1))
        assert runner.started.wait(5)
        kept, dropped = batcher.submit(images(2))
        assert dropped.cancel()
        runner.release.set()
        assert kept.result(5) == (0, 1)
    assert runner.sizes == [1, 1]


@pytest.mark.parametrize("changes", [{"max_batch_size": 0}, {"max_queue_delay_ms": -1},
                                     {"max_queue_size": 0}])
def test_config_rejects_nonsense(changes: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="must be"):
        BatcherConfig(**changes)

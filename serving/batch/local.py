"""`--engine local`: worker processes on this machine, each with its own predictor, fed a bounded
number of batches at a time, so memory stays flat whatever the input's size."""

from __future__ import annotations

import multiprocessing
import queue
import signal
import time
import traceback
from collections.abc import Iterable, Iterator, Sequence
from multiprocessing.context import BaseContext
from multiprocessing.process import BaseProcess
from typing import Any

import pyarrow as pa
import pyarrow.fs as pafs

from serving.batch.config import LocalEngineConfig, PredictorConfig, available_cpus
from serving.batch.errors import JobFailedError, JobTimeoutError
from serving.batch.predictor import BatchPredictor

POLL_S = 0.5  # how often the parent checks the deadline and that every worker is alive, seconds
STOP_S = 5.0  # how long finished workers get to exit before they are terminated, seconds
_DONE, _FAILED = "done", "failed"


def _worker(config: PredictorConfig, filesystems: Sequence[pafs.FileSystem],
            tasks: Any, results: Any) -> None:
    """A worker process: build the predictor, then answer (index, work table) tasks with
    (done, index, output table) until it gets None; failures are sent back, never raised."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    try:
        predictor = BatchPredictor.load(config, filesystems)
    except Exception as err:  # sent to the parent, which stops the job with this message
        results.put((_FAILED, -1, f"a worker could not load the model: {err}"))
        return
    while (task := tasks.get()) is not None:
        index, work = task
        try:
            results.put((_DONE, index, predictor(work)))
        except Exception:  # a bug: the parent stops the job and shows the traceback
            results.put((_FAILED, index, traceback.format_exc()))


class _Pool:
    """The worker processes and their two queues."""

    def __init__(self, context: BaseContext, workers: int, config: PredictorConfig,
                 filesystems: Sequence[pafs.FileSystem]) -> None:
        self.tasks = context.Queue()
        self.results = context.Queue()
        self.processes: list[BaseProcess] = [
            context.Process(target=_worker, args=(config, tuple(filesystems), self.tasks,
                                                  self.results), daemon=True,
                            name=f"digits-batch-{i}")
            for i in range(workers)]
        for process in self.processes:
            process.start()

    def dead(self) -> BaseProcess | None:
        """A worker that has exited, if any (workers only exit when told to, or on failure)."""
        return next((p for p in self.processes if p.exitcode is not None), None)

    def stop(self, wait_s: float) -> None:
        """Ask every worker to finish, and terminate those still running after wait_s."""
        for _ in self.processes:
            self.tasks.put(None)
        deadline = time.monotonic() + wait_s
        for process in self.processes:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                process.terminate()
                process.join()
        for q in (self.tasks, self.results):
            q.cancel_join_thread()  # what is left in the queues is not wanted any more
            q.close()


def run_local(batches: Iterable[pa.Table], config: PredictorConfig,
              filesystems: Sequence[pafs.FileSystem], engine: LocalEngineConfig,
              deadline: float | None = None) -> Iterator[pa.Table]:
    """Output tables for the work tables `batches`, in their order. At most
    workers × batches_in_flight_per_worker batches are out at any time. JobTimeoutError past
    `deadline` (time.monotonic()); JobFailedError if a worker dies or fails."""
    workers = engine.workers or available_cpus()
    pool = _Pool(multiprocessing.get_context(engine.start_method), workers, config, filesystems)
    try:
        yield from _ordered_results(pool, iter(batches),
                                    workers * engine.batches_in_flight_per_worker, deadline)
    except BaseException:  # failed, timed out or abandoned (GeneratorExit): no work is wanted
        pool.stop(wait_s=0.0)
        raise
    pool.stop(wait_s=STOP_S)


def _ordered_results(pool: _Pool, batches: Iterator[pa.Table], in_flight: int,
                     deadline: float | None) -> Iterator[pa.Table]:
    sent = received = 0
    ready: dict[int, pa.Table] = {}  # finished out of order, waiting for their turn
    for work in batches:  # fill the pipeline
        pool.tasks.put((sent, work))
        sent += 1
        if sent == in_flight:
            break
    while received < sent:
        kind, index, payload = _next_result(pool, deadline)
        if kind == _FAILED:
            raise JobFailedError(f"a worker failed: {payload}")
        ready[index] = payload
        while received in ready:
            yield ready.pop(received)
            received += 1
            work = next(batches, None)
            if work is not None:
                pool.tasks.put((sent, work))
                sent += 1


def _next_result(pool: _Pool, deadline: float | None) -> tuple[str, int, Any]:
    while True:
        wait = POLL_S if deadline is None else min(POLL_S, deadline - time.monotonic())
        if wait <= 0:
            raise JobTimeoutError("the job ran past its time limit (--timeout-s); its workers "
                                  "were stopped and nothing was written")
        try:
            return pool.results.get(timeout=wait)
        except queue.Empty:
            dead = pool.dead()
        if dead is not None:
            try:  # a worker that failed sent why before exiting
                return pool.results.get(timeout=POLL_S)
            except queue.Empty:
                raise JobFailedError(f"worker process {dead.name} died (exit code {dead.exitcode}) "
                                     f"while classifying; its images are lost (is the machine "
                                     f"out of memory?)") from None

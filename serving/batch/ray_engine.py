"""`--engine ray`: the same predictor in Ray Data, as a pool of actors over many small blocks,
results streamed back to this process and written like the local engine's."""

from __future__ import annotations

import functools
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from types import ModuleType
from typing import Any

import pyarrow as pa
import pyarrow.fs as pafs

from serving.batch.config import InputColumns, PredictorConfig, RayEngineConfig
from serving.batch.errors import JobFailedError, JobTimeoutError
from serving.batch.predictor import BatchPredictor, ModelFiles
from serving.batch.rows import NODE_FIELD
from serving.batch.sources import InputPlan, ParquetFiles, read_parquet
from serving.batch.work import WORK_SCHEMA, files_table

READ_BATCH_ROWS = 8192  # rows per read of a Parquet row group
BLOCKS_PER_ACTOR = 4  # fewest blocks per actor: small jobs are cut finer than rows_per_block
RESULTS_AHEAD = 8  # result tables fetched ahead of the writer
POLL_S = 0.5  # how often a blocked hand-over rechecks that the job still runs, seconds


class RayPredictor:
    """BatchPredictor as a Ray Data actor, built from the model's bytes (nodes other than this
    one need not hold the model file); with record_node, each row also gets the id of the Ray
    node that classified it."""

    def __init__(self, model: ModelFiles, config: PredictorConfig,
                 filesystems: Sequence[pafs.FileSystem], record_node: bool) -> None:
        import ray  # inside the actor's process, where Ray is running

        self._predictor = BatchPredictor.from_files(model, config, filesystems)
        self._node = ray.get_runtime_context().get_node_id() if record_node else None

    def __call__(self, work: pa.Table) -> pa.Table:
        rows = self._predictor(work)
        if self._node is None:
            return rows
        return rows.append_column(NODE_FIELD, pa.array([self._node] * rows.num_rows, pa.string()))


def _read_row_groups(pieces: pa.Table, datasets: Sequence[ParquetFiles],
                     filesystems: Sequence[pafs.FileSystem], columns: InputColumns) -> pa.Table:
    """Work rows of the Parquet row groups listed in `pieces` (dataset, file, row_group)."""
    tables = []
    for d, f, group in zip(pieces["dataset"].to_pylist(), pieces["file"].to_pylist(),
                           pieces["row_group"].to_pylist(), strict=True):
        dataset = datasets[d]
        tables += read_parquet(filesystems[dataset.source], dataset.fs_paths[f], dataset.columns,
                               columns, READ_BATCH_ROWS, [group])
    return pa.concat_tables(tables) if tables else WORK_SCHEMA.empty_table()


def build_dataset(ray: ModuleType, plan: InputPlan, rows_per_block: int) -> Any:
    """The job as one Ray Dataset of work rows (work.WORK_SCHEMA) in blocks of at most
    rows_per_block rows: many blocks, so that every actor gets work."""
    parts = []
    if plan.images:  # the paths only: actors read the files (Ray's own reader took ~1 ms each)
        parts.append(ray.data.from_arrow([
            files_table(files.names[start:start + rows_per_block],
                        files.fs_paths[start:start + rows_per_block], files.source)
            for files in plan.images for start in range(0, len(files.fs_paths), rows_per_block)]))
    pieces = [{"dataset": d, "file": f, "row_group": g}
              for d, dataset in enumerate(plan.parquet)
              for f, groups in enumerate(dataset.row_groups) for g in range(groups)]
    if pieces:
        # Row groups read by Ray tasks with the local engine's reader (pyarrow), on the CPUs
        # kept free of actors: ray.data.read_parquet's file indexer failed here on a race
        # importing fsspec's HTTP filesystem (Ray 2.60, fsspec without aiohttp).
        parts.append(
            ray.data.from_items(pieces, override_num_blocks=len(pieces))
            .map_batches(_read_row_groups, fn_kwargs={
                "datasets": plan.parquet, "filesystems": plan.filesystems,
                "columns": plan.columns}, batch_format="pyarrow", batch_size=1)
            .repartition(target_num_rows_per_block=rows_per_block))
    return parts[0].union(*parts[1:]) if len(parts) > 1 else parts[0]


def _configure_ray_data(ray: ModuleType, engine: RayEngineConfig) -> None:
    """Every actor up before work is handed out; the job's own progress bar and summary replace
    Ray Data's bars and log lines."""
    context = ray.data.DataContext.get_current()
    context.wait_for_min_actors_s = engine.actor_start_timeout_s
    context.enable_progress_bars = False
    context.print_on_execution_start = False
    logging.getLogger("ray.data").setLevel(logging.ERROR)


def run_ray(plan: InputPlan, config: PredictorConfig, engine: RayEngineConfig, batch_size: int,
            deadline: float | None = None) -> Iterator[pa.Table]:
    """Output tables for the whole plan, in completion order. JobTimeoutError past `deadline`
    (time.monotonic()), after stopping the job's Ray; JobFailedError if Ray Data fails."""
    from serving.batch.ray_session import ray_session

    with ray_session(engine) as session:
        ray = session.ray
        _configure_ray_data(ray, engine)
        # At least BLOCKS_PER_ACTOR blocks per actor, so that every actor gets work; a batch is
        # no larger than a block, as Ray Data bundles small blocks into batch_size rows per task.
        block_rows = max(1, min(engine.rows_per_block,
                                -(-plan.total // (session.workers * BLOCKS_PER_ACTOR))))
        predictions = build_dataset(ray, plan, block_rows).map_batches(
            RayPredictor, fn_constructor_kwargs={"model": ModelFiles.read(config.model_path),
                                                 "config": config,
                                                 "filesystems": plan.filesystems,
                                                 "record_node": engine.record_node},
            batch_size=min(batch_size, block_rows), batch_format="pyarrow",
            compute=ray.data.ActorPoolStrategy(size=session.workers),
            num_cpus=engine.cpus_per_actor)
        # Past the deadline, a Ray this job started is shut down (its actors with it); a Ray
        # the caller started is left running.
        yield from _stream(predictions, deadline,
                           functools.partial(_shut_down, ray) if session.owned else _nothing)


def _shut_down(ray: ModuleType) -> None:
    """Stop Ray under a running job: Ray Data's errors about its vanished actors are expected."""
    logging.getLogger("ray.data").setLevel(logging.CRITICAL)
    ray.shutdown()


def _nothing() -> None:
    pass


def _stream(predictions: Any, deadline: float | None,
            abort: Callable[[], None]) -> Iterator[pa.Table]:
    """The dataset's blocks, fetched by a thread so that this one can enforce the deadline: a
    blocked Ray Data job has no timeout of its own."""
    handover: queue.Queue[tuple[str, Any]] = queue.Queue(RESULTS_AHEAD)
    stop = threading.Event()

    def fetch() -> None:
        try:
            for table in predictions.iter_batches(batch_size=None, batch_format="pyarrow"):
                if not _put(handover, ("rows", table), stop):
                    return
            _put(handover, ("end", None), stop)
        except Exception as err:  # handed to the consuming thread, which raises it
            _put(handover, ("failed", err), stop)

    fetcher = threading.Thread(target=fetch, name="digits-ray-fetch", daemon=True)
    fetcher.start()
    try:
        while True:
            wait = None if deadline is None else deadline - time.monotonic()
            try:
                if wait is not None and wait <= 0:
                    raise queue.Empty
                kind, item = handover.get(timeout=wait)
            except queue.Empty:
                abort()
                raise JobTimeoutError("the job ran past its time limit (--timeout-s); it was "
                                      "stopped and nothing was written") from None
            if kind == "end":
                return
            if kind == "failed":
                raise JobFailedError(f"the Ray job failed: {item}") from item
            yield item
    finally:
        stop.set()


def _put(handover: queue.Queue[tuple[str, Any]], item: tuple[str, Any],
         stop: threading.Event) -> bool:
    """Hand an item over unless the consumer has stopped; whether it was handed over."""
    while not stop.is_set():
        try:
            handover.put(item, timeout=POLL_S)
            return True
        except queue.Full:
            continue
    return False

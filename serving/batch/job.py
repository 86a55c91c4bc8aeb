"""One `digits batch` job: find the inputs, run an engine over them, write the rows, sum them up."""

from __future__ import annotations

import contextlib
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import pyarrow as pa

from serving.batch.config import JobConfig
from serving.batch.local import run_local
from serving.batch.output import RowWriter
from serving.batch.progress import Progress
from serving.batch.rows import STATUSES, output_schema, status_counts
from serving.batch.sources import InputPlan, plan_inputs, work_batches
from serving.errors import ModelLoadError
from serving.model import ModelMetadata, metadata_path_for


@dataclass(frozen=True)
class BatchSummary:
    """What a finished job did."""

    output: str  # where the rows are, as given
    engine: str
    counts: dict[str, int]  # rows per status (digit, not_a_digit, blank, error)
    seconds: float  # wall time of the whole job, start-up included

    @property
    def images(self) -> int:
        return sum(self.counts.values())

    @property
    def errors(self) -> int:
        return self.counts.get("error", 0)

    def text(self) -> str:
        parts = ", ".join(f"{self.counts.get(s, 0):,} {s.replace('_', ' ')}" for s in STATUSES)
        rate = self.images / max(self.seconds, 1e-9)
        return (f"{self.images:,} images in {self.seconds:.1f} s ({rate:,.0f} images/s, "
                f"{self.engine} engine): {parts} → {self.output}")


def _check_model(model_path: Path) -> None:
    """ModelLoadError now, rather than from every worker, if the model's files are missing."""
    meta_path = metadata_path_for(model_path)
    onnx_path = meta_path.parent / ModelMetadata.from_file(meta_path).onnx_file
    if not onnx_path.is_file():
        raise ModelLoadError(f"{onnx_path} is missing: run `make export` or pass --model")


def _results(config: JobConfig, plan: InputPlan, deadline: float | None) -> Iterator[pa.Table]:
    if config.engine == "ray":
        from serving.batch.ray_engine import run_ray  # Ray is optional: imported only here

        return run_ray(plan, config.predictor, config.ray, config.batch_size, deadline)
    return run_local(work_batches(plan, config.batch_size), config.predictor, plan.filesystems,
                     config.local, deadline)


def run_batch(config: JobConfig, progress: TextIO | None = None,
              on_rows: Callable[[int], None] | None = None) -> BatchSummary:
    """Classify every image of the job's inputs into its output; a progress bar on `progress`
    (None: none); `on_rows(n)` after each n rows written (for measurements). Raises
    InputError (inputs or output unusable), ModelLoadError, EngineUnavailableError,
    JobFailedError or JobTimeoutError; then nothing is written."""
    start = time.monotonic()
    deadline = None if config.timeout_s is None else start + config.timeout_s
    _check_model(config.predictor.model_path)
    plan = plan_inputs(config.inputs, config.columns)
    counts: Counter[str] = Counter()
    with RowWriter(config.output, config.format,
                   output_schema(config.ray.record_node)) as writer:
        bar = Progress(plan.total, progress) if progress is not None else None
        # closing(): a failed job stops its workers now, not when its traceback is freed
        with contextlib.closing(_results(config, plan, deadline)) as results:
            for table in results:
                writer.write(table)
                counts.update(status_counts(table))
                if bar is not None:
                    bar.add(table.num_rows)
                if on_rows is not None:
                    on_rows(table.num_rows)
        if bar is not None:
            bar.close()
    return BatchSummary(writer.shown, config.engine, dict(counts), time.monotonic() - start)

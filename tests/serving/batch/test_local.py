"""The local engine: worker processes give exactly the in-process rows, streaming, and stop
cleanly on failure or past the time limit."""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest

from serving.batch.config import JobConfig, LocalEngineConfig, PredictorConfig
from serving.batch.errors import JobFailedError, JobTimeoutError
from serving.batch.job import run_batch
from serving.batch.local import run_local
from serving.batch.sources import plan_inputs, work_batches
from tests.serving.batch.conftest import BAD_FILES, DIGITS, sorted_rows


def test_local_engine_rows_equal_in_process_predictions_bit_for_bit(
        image_dir: Path, tmp_path: Path, reference: pa.Table,
        predictor_config: PredictorConfig) -> None:
    output = tmp_path / "preds.parquet"
    summary = run_batch(JobConfig(inputs=(str(image_dir),), output=str(output),
                                  predictor=predictor_config,
                                  local=LocalEngineConfig(workers=2)))
    rows = pq.read_table(output)
    assert rows["path"].to_pylist() == sorted(rows["path"].to_pylist())  # input order kept
    assert sorted_rows(rows).equals(reference)
    assert summary.images == DIGITS + len(BAD_FILES) and summary.errors == 4
    assert summary.counts["blank"] == 1


def test_at_most_a_few_batches_are_out_at_once(image_dir: Path,
                                               predictor_config: PredictorConfig) -> None:
    """What keeps memory flat: the input is pulled only as results are written."""
    plan = plan_inputs([f"{image_dir}/digits/00[01]*.png"])
    pulled = 0

    def counted() -> Iterator[pa.Table]:
        nonlocal pulled
        for work in work_batches(plan, 10):
            pulled += 1
            yield work

    engine = LocalEngineConfig(workers=2, batches_in_flight_per_worker=2)
    most = 0
    for done, _ in enumerate(run_local(counted(), predictor_config, plan.filesystems, engine),
                             start=1):
        most = max(most, pulled - done)
    assert pulled == 20 and most <= 4


def test_any_pyarrow_filesystem_reaches_the_workers(image_dir: Path, reference: pa.Table,
                                                    predictor_config: PredictorConfig) -> None:
    subtree = pafs.SubTreeFileSystem(str(image_dir), pafs.LocalFileSystem())
    plan = plan_inputs([str(image_dir / "bad")])
    (files,) = plan.images
    paths = tuple(p[len(str(image_dir)) + 1:] for p in files.fs_paths)  # relative to the subtree
    remote_plan = type(plan)((subtree,), (type(files)(0, paths, files.names),), (), plan.columns)
    rows = pa.concat_tables(run_local(work_batches(remote_plan, 2), predictor_config,
                                      remote_plan.filesystems, LocalEngineConfig(workers=1)))
    expected = reference.filter(pa.compute.is_in(reference["path"],
                                                 pa.array(list(files.names))))
    assert sorted_rows(rows).equals(expected)


def test_a_worker_that_cannot_load_the_model_stops_the_job(image_dir: Path,
                                                           tmp_path: Path) -> None:
    plan = plan_inputs([str(image_dir / "bad")])
    broken = PredictorConfig(model_path=tmp_path / "missing.onnx")
    with pytest.raises(JobFailedError, match="could not load the model"):
        list(run_local(work_batches(plan, 2), broken, plan.filesystems,
                       LocalEngineConfig(workers=1)))
    assert not multiprocessing.active_children()


def test_past_the_time_limit_the_workers_are_stopped(image_dir: Path, tmp_path: Path,
                                                     predictor_config: PredictorConfig) -> None:
    output = tmp_path / "preds.parquet"
    start = time.monotonic()
    with pytest.raises(JobTimeoutError, match="time limit"):
        run_batch(JobConfig(inputs=(str(image_dir),), output=str(output), timeout_s=0.5,
                            predictor=predictor_config, local=LocalEngineConfig(workers=2)))
    assert time.monotonic() - start < 10
    assert not multiprocessing.active_children()
    assert list(tmp_path.iterdir()) == []  # nothing written, not even a partial file

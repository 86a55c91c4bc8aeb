"""The Ray engine on one embedded Ray per session: the same rows as in process, on loopback only,
no dashboard, no usage statistics, no token file, a temp folder under the system's."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from benchmarks.bench_batch import descendants
from serving.batch.config import JobConfig, PredictorConfig, RayEngineConfig
from serving.batch.errors import JobTimeoutError
from serving.batch.job import run_batch
from tests.serving.batch.conftest import BAD_FILES, DIGITS, sorted_rows
from tests.serving.batch.sockets import is_loopback, tcp_sockets

pytestmark = pytest.mark.usefixtures("embedded_ray")
DASHBOARD_PORT = 8265  # Ray's default


def test_ray_engine_rows_equal_in_process_predictions_bit_for_bit(
        image_dir: Path, tmp_path: Path, reference: pa.Table,
        predictor_config: PredictorConfig) -> None:
    output = tmp_path / "preds.parquet"
    summary = run_batch(JobConfig(inputs=(str(image_dir),), output=str(output), engine="ray",
                                  predictor=predictor_config))
    assert sorted_rows(pq.read_table(output)).equals(reference)
    assert summary.images == DIGITS + len(BAD_FILES) and summary.errors == 4


def test_ray_engine_reads_packed_parquet_shards(shards: Path, tmp_path: Path, reference: pa.Table,
                                                predictor_config: PredictorConfig) -> None:
    output = tmp_path / "preds.jsonl"
    run_batch(JobConfig(inputs=(str(shards),), output=str(output), engine="ray",
                        predictor=predictor_config, ray=RayEngineConfig(record_node=True)))
    rows = pa.Table.from_pylist([json.loads(line) for line in output.read_text().splitlines()])
    assert sorted(rows["path"].to_pylist()) == reference["path"].to_pylist()
    assert len(set(rows["node_id"].to_pylist())) == 1  # one embedded node
    assert rows["status"].to_pylist().count("error") == 4


def test_embedded_ray_keeps_every_socket_on_loopback() -> None:
    import ray

    sockets = tcp_sockets(descendants(os.getpid()) - {os.getpid()})
    assert {s.name for s in sockets} >= {"gcs_server", "raylet"}
    outside = [s for s in sockets
               if not is_loopback(s.local) or not (s.listening or is_loopback(s.remote))]
    assert not outside, f"sockets outside 127.0.0.0/8: {outside}"
    assert ray.util.get_node_ip_address() == "127.0.0.1"


def test_embedded_ray_is_a_good_citizen() -> None:
    import ray

    node = ray._private.worker.global_worker.node
    assert node.get_session_dir_path().startswith(tempfile.gettempdir())
    assert not (Path.home() / ".ray" / "auth_token").exists()  # the token lives in the env only
    assert os.environ["RAY_AUTH_MODE"] == "token" and os.environ["RAY_AUTH_TOKEN"]
    assert os.environ["RAY_USAGE_STATS_ENABLED"] == "0"
    assert os.environ["RAY_ENABLE_AUTO_CONNECT"] == "0"  # no silent default cluster after shutdown
    # Ray still runs its API server (dashboard.py, headless modules only), but no web UI.
    assert node.address_info["webui_url"] == ""
    assert not [s for s in tcp_sockets(descendants(os.getpid()))
                if s.listening and s.local_port == DASHBOARD_PORT]


def test_a_ray_job_past_its_time_limit_stops_and_leaves_the_callers_ray_running(
        image_dir: Path, tmp_path: Path, predictor_config: PredictorConfig) -> None:
    import ray

    with pytest.raises(JobTimeoutError):
        run_batch(JobConfig(inputs=(str(image_dir),), output=str(tmp_path / "p.parquet"),
                            engine="ray", timeout_s=1.0, predictor=predictor_config))
    assert list(tmp_path.iterdir()) == []
    assert ray.is_initialized()

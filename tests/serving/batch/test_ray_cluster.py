"""The Ray engine on a two-node Ray cluster on loopback: both nodes classify rows."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from serving.model import REPO_ROOT
from tests.serving.batch.conftest import BAD_FILES, sorted_rows

IMAGES = 100  # digits/00000.png to 00099.png


@pytest.mark.slow
def test_a_two_node_cluster_shares_the_rows_and_stays_on_loopback(
        image_dir: Path, tmp_path: Path, reference: pa.Table) -> None:
    output = tmp_path / "preds.parquet"
    completed = subprocess.run(
        [sys.executable, "-m", "tests.serving.batch.two_nodes", str(output),
         f"{image_dir}/digits/000??.png", str(image_dir / "bad")],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=240)
    assert completed.returncode == 0, completed.stderr[-3000:]
    report = json.loads(completed.stdout.strip().splitlines()[-1])
    assert len(report["nodes"]) == 2
    assert set(report["rows_per_node"]) == set(report["nodes"]), report["rows_per_node"]
    assert report["sockets"] > 10 and report["outside_loopback"] == []
    rows = sorted_rows(pq.read_table(output).drop_columns(["node_id"]))
    assert rows.num_rows == IMAGES + len(BAD_FILES) == report["images"]
    assert rows.equals(reference.filter(pc.is_in(reference["path"], rows["path"])))

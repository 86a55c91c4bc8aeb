"""`python -m tests.serving.batch.two_nodes OUTPUT INPUT...`: a Ray job on a two-node Ray cluster
on loopback (ray.cluster_utils.Cluster), joined by address as `--address` does, in its own
process so the session's embedded Ray is left alone; prints a JSON report: rows per node, the
sockets of the whole process tree while the job ran, those outside loopback."""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from collections import Counter

import pyarrow.parquet as pq

from benchmarks.bench_batch import descendants
from serving.batch.config import JobConfig, PredictorConfig, RayEngineConfig
from serving.batch.job import run_batch
from serving.batch.ray_session import import_ray
from serving.decode import ImageLimits
from tests.serving.batch.conftest import MAX_PIXELS
from tests.serving.batch.sockets import Socket, is_loopback, tcp_sockets

NODE_CPUS = 3  # logical CPUs per node: room for one actor of ACTOR_CPUS, and one CPU for reads
ACTOR_CPUS = 2  # so that both actors cannot share a node


def main(output: str, inputs: list[str]) -> dict[str, object]:
    temp_dir = tempfile.mkdtemp(prefix="digits-ray-cluster-")
    # Cluster writes the head's address under Ray's default folder: this one, not /tmp/ray.
    os.environ["RAY_TMPDIR"] = temp_dir
    os.makedirs(os.path.join(temp_dir, "ray"))
    ray = import_ray(embedded=True)  # loopback only, ephemeral token, no usage statistics
    from ray.cluster_utils import Cluster

    cluster = Cluster()
    sockets: list[Socket] = []

    def snapshot(_: int) -> None:  # while the job runs: the driver joined, the actors up
        if not sockets:
            sockets.extend(tcp_sockets(descendants(os.getpid())))

    try:
        head = cluster.add_node(num_cpus=NODE_CPUS, include_dashboard=False, temp_dir=temp_dir)
        worker = cluster.add_node(num_cpus=NODE_CPUS, temp_dir=temp_dir)
        cluster.wait_for_nodes()
        summary = run_batch(JobConfig(  # joins the cluster by its address, as --address does
            inputs=tuple(inputs), output=output, engine="ray",
            predictor=PredictorConfig(image_limits=ImageLimits(max_pixels=MAX_PIXELS)),
            ray=RayEngineConfig(address=cluster.address, workers=2, cpus_per_actor=ACTOR_CPUS,
                                record_node=True)), on_rows=snapshot)
        assert not ray.is_initialized()  # the job disconnected from the cluster it joined
    finally:
        cluster.shutdown()
        shutil.rmtree(temp_dir, ignore_errors=True)
    outside = [str(s) for s in sockets
               if not is_loopback(s.local) or not (s.listening or is_loopback(s.remote))]
    nodes = [head.node_id, worker.node_id]
    rows_per_node = Counter(pq.read_table(output)["node_id"].to_pylist())
    return {"images": summary.images, "nodes": nodes, "rows_per_node": dict(rows_per_node),
            "sockets": len(sockets), "outside_loopback": outside}


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], sys.argv[2:])))

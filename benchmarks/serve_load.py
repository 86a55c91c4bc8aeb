"""Load for bench-serve: launching `python -m serving`, driving concurrent Classify calls from
one asyncio process, and reading the servers' CPU time and memory from /proc."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import grpc
import numpy as np
from grpc_health.v1 import health_pb2, health_pb2_grpc

from serving.generated.digits.v1 import digits_pb2 as pb
from serving.generated.digits.v1 import digits_pb2_grpc as pb_grpc
from serving.model import REPO_ROOT
from serving.server import SERVICE_NAME


@dataclass(frozen=True)
class LoadPlan:
    """How one load test runs; every bound makes it end by itself."""

    clients: int  # concurrent callers, each with one request in flight, ≥ 1
    seconds: float  # measuring time, s, > 0
    warmup_seconds: float  # unmeasured load before it, s, ≥ 0
    max_requests: int  # hard bound on measured requests

    def __post_init__(self) -> None:
        if self.clients < 1 or self.seconds <= 0 or self.warmup_seconds < 0:
            raise ValueError(f"need clients ≥ 1, seconds > 0, warmup ≥ 0: got {self}")


@dataclass(frozen=True)
class LoadResult:
    """One load test against one or more server processes."""

    images_per_s: float
    requests: int
    p50_ms: float  # request latency percentiles, ms
    p99_ms: float
    mean_batch: float  # mean onnxruntime batch size reported by the server
    server_cpu_ms: float  # CPU time of the serving processes per request, core-ms (all threads)
    client_cpu_ms: float  # load generator CPU time per request, core-ms (this process)


@contextlib.contextmanager
def launched_server(model: Path, address: str, flags: Sequence[str],
                    timeout_s: float) -> Iterator[tuple[subprocess.Popen[bytes], float]]:
    """Start `python -m serving` on `address`; yield (process, seconds from launch to health
    SERVING)."""
    start = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "serving", "--address", address, "--model", str(model), *flags],
        cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_serving(address, timeout_s)
        yield process, time.perf_counter() - start
    finally:
        process.terminate()
        process.wait(30)


def wait_serving(target: str, timeout_s: float) -> None:
    """Block until the server (or proxy) at `target` reports SERVING."""
    with grpc.insecure_channel(target) as channel:
        watch = health_pb2_grpc.HealthStub(channel).Watch(
            health_pb2.HealthCheckRequest(service=SERVICE_NAME), timeout=timeout_s,
            wait_for_ready=True)
        for response in watch:  # blocks until the server is up, then on every change
            if response.status == health_pb2.HealthCheckResponse.SERVING:
                break
        watch.cancel()


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident set size (VmHWM), MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used so far, all threads, seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_load(target: str, pids: Sequence[int], requests: list[pb.ClassifyRequest],
             plan: LoadPlan, channel_options: Sequence[tuple[str, int | str]] = ()) -> LoadResult:
    """Measure `plan.clients` callers against `target`; CPU is summed over `pids`."""
    return asyncio.run(_load(target, pids, requests, plan, channel_options))


async def _load(target: str, pids: Sequence[int], requests: list[pb.ClassifyRequest],
                plan: LoadPlan, channel_options: Sequence[tuple[str, int | str]]) -> LoadResult:
    """`plan.clients` coroutines send their request in a loop; measure after a warm-up. One
    asyncio process is the cheapest Python load generator: its CPU time is measured and
    reported."""
    latencies: list[float] = []
    batch_sizes: list[int] = []
    cpu: dict[str, float] = {}
    images = len(requests[0].images)
    async with grpc.aio.insecure_channel(target, options=list(channel_options)) as channel:
        stub = pb_grpc.DigitClassifierStub(channel)
        loop = asyncio.get_running_loop()
        measure_from = loop.time() + plan.warmup_seconds
        stop_at = measure_from + plan.seconds

        async def client(i: int) -> None:
            request = requests[i % len(requests)]
            while (now := loop.time()) < stop_at and len(latencies) < plan.max_requests:
                response = await stub.Classify(request, timeout=30)
                if now >= measure_from:
                    latencies.append(loop.time() - now)
                    batch_sizes.append(response.results[0].batch_size)

        async def cpu_meter() -> None:
            await asyncio.sleep(plan.warmup_seconds)
            cpu["server"], cpu["client"] = sum(map(cpu_seconds, pids)), time.process_time()
            await asyncio.sleep(plan.seconds)
            cpu["server"] = sum(map(cpu_seconds, pids)) - cpu["server"]
            cpu["client"] = time.process_time() - cpu["client"]

        await asyncio.gather(cpu_meter(), *(client(i) for i in range(plan.clients)))
    lat_ms = np.array(latencies) * 1000
    return LoadResult(images_per_s=len(latencies) * images / plan.seconds,
                      requests=len(latencies), p50_ms=float(np.percentile(lat_ms, 50)),
                      p99_ms=float(np.percentile(lat_ms, 99)),
                      mean_batch=float(np.mean(batch_sizes)),
                      server_cpu_ms=cpu["server"] * 1000 / len(latencies),
                      client_cpu_ms=cpu["client"] * 1000 / len(latencies))

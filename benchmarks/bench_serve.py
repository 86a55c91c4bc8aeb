"""Serving benchmark: onnxruntime bound, server throughput, dynamic batching, startup and memory.

Run `make bench-serve` (python -m benchmarks.bench_serve [--model PATH]); prints one table and
writes benchmarks/results/bench_serve.{png,json}. Everything runs on loopback, in bounded loops,
and stops by itself in about 25 s. Goals: server at batch 64 ≥ 80 % of the raw onnxruntime
bound; 32 single-image clients ≥ 5× faster with dynamic batching, p99 ≤ 25 ms; launch to
health SERVING ≤ 2 s; server RSS under load ≤ 250 MB.

Result (2026-11-26, digits-cnn 1.0.0+default.e15; 2 CPU cores x86_64, Python 3.11.7,
onnxruntime 1.32.0, grpcio 1.85.3; quiet machine, load average 2.2 at start, one run; the
server is grpc.aio, onnxruntime without spinning threads; the load generator is this process,
one asyncio client with 32 coroutines; run-to-run spread about ±5 %):

    onnxruntime batch 1 / 64 / 256 (spinning, its defaults)   4,202 / 5,239 / 5,308 img/s
    server, 4 clients × batch 64                               4,512 img/s = 86 % (≥ 80 % ok)
      p50 / p99                                                56 / 73 ms (merged batches of 152)
    32 single-image clients, batching on                       1,699 img/s, p50 19 / p99 31 ms
    32 single-image clients, batching off                      1,118 img/s, p50 28 / p99 37 ms
    CPU per single-image request, on / off                     server 0.85 / 1.23, client
                                                               0.16 / 0.27 core-ms
    speed-up of batching                                       1.52× (≥ 5× MISSED)
    launch → SERVING, worst of 3 / peak server RSS             1.19 s / 177 MB (both ok)

Before (same machine, same hour, thread-pool server, spinning onnxruntime): 3,888 img/s
batched (82 % of that run's bound 4,758), 956 img/s on (p99 60 ms) vs 1,010 off.

The ≥ 5× goal cannot be met here, and p99 ≤ 25 ms is missed at 31 ms. Batching only makes the
model cheaper per image, and onnxruntime is just 1.26× faster per image batched than at batch
1 (compute-bound convolutions), while each request still costs its own RPC: the server's event
loop spends ~0.6 ms of Python per request (py-spy: mostly grpc.aio internals), the model
~0.4 core-ms per image. With spinning threads (onnxruntime's default, fastest at batch 1),
batching off reached 1,316 img/s in a separate run, so the honest speed-up is ~1.3×. At ~1,700
requests/s 32 clients wait 19 ms on average (Little's law), too close to 25 ms for the p99.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import platform
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import grpc
import numpy as np
import onnxruntime as ort
from grpc_health.v1 import health_pb2, health_pb2_grpc

from benchmarks.loopback import free_port
from serving.generated.digits.v1 import digits_pb2 as pb
from serving.generated.digits.v1 import digits_pb2_grpc as pb_grpc
from serving.model import DEFAULT_MODEL_PATH, REPO_ROOT, OnnxModel, RuntimeConfig
from serving.server import SERVICE_NAME
from training.mnist import MnistSource, load_mnist

log = logging.getLogger("bench_serve")

RESULTS_DIR = REPO_ROOT / "benchmarks" / "results"
DEFAULT_MNIST = REPO_ROOT.parent / "shared" / "data" / "mnist"


@dataclass(frozen=True)
class BenchConfig:
    """The benchmark's knobs, each bounded so that a run ends by itself."""

    raw_batch_sizes: tuple[int, ...] = (1, 64, 256)  # images per onnxruntime run
    raw_seconds: float = 1.5  # measuring time per raw batch size, s
    batch_request_size: int = 64  # images per request in the batch-throughput test
    batch_clients: int = 4  # concurrent clients sending batch requests
    single_clients: int = 32  # concurrent clients sending one image per request
    load_seconds: float = 4.0  # measuring time per server load test, s
    warmup_seconds: float = 0.5  # unmeasured load before each server test, s
    max_requests: int = 200_000  # hard bound on requests per load test
    batching_delay_ms: float = 2.0  # --max-queue-delay-ms of the batching server
    startup_timeout_s: float = 30.0  # give up waiting for SERVING after this, s

    def __post_init__(self) -> None:
        if min(self.raw_seconds, self.load_seconds) <= 0 or self.warmup_seconds < 0:
            raise ValueError("measuring times must be > 0 s")
        if min(self.batch_clients, self.single_clients, self.batch_request_size) < 1:
            raise ValueError("client counts and request size must be ≥ 1")


@dataclass(frozen=True)
class LoadResult:
    """One load test against a server."""

    images_per_s: float
    requests: int
    p50_ms: float  # request latency percentiles, ms
    p99_ms: float
    mean_batch: float  # mean onnxruntime batch size reported by the server
    server_cpu_ms: float  # server process CPU time per request, core-ms (all its threads)
    client_cpu_ms: float  # load generator CPU time per request, core-ms (this process)


def raw_throughput(model: OnnxModel, images: np.ndarray, batch: int, seconds: float) -> float:
    """Images per second of model.predict at one batch size, in-process."""
    batches = [images[i:i + batch] for i in range(0, len(images) - batch + 1, batch)]
    model.predict(batches[0])
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        model.predict(batches[done % len(batches)])
        done += 1
    return done * batch / (time.perf_counter() - start)


@contextlib.contextmanager
def launched_server(model: Path, port: int, flags: list[str],
                    timeout_s: float) -> Iterator[tuple[subprocess.Popen[bytes], float]]:
    """Start `python -m serving`; yield (process, seconds from launch to health SERVING)."""
    start = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "serving", "--address", f"127.0.0.1:{port}", "--model", str(model),
         *flags], cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            watch = health_pb2_grpc.HealthStub(channel).Watch(
                health_pb2.HealthCheckRequest(service=SERVICE_NAME), timeout=timeout_s,
                wait_for_ready=True)
            for response in watch:  # blocks until the server is up, then on every change
                if response.status == health_pb2.HealthCheckResponse.SERVING:
                    break
            watch.cancel()
        yield process, time.perf_counter() - start
    finally:
        process.terminate()
        process.wait(30)


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


async def _load(port: int, server_pid: int, requests: list[pb.ClassifyRequest], clients: int,
                config: BenchConfig) -> LoadResult:
    """`clients` coroutines send their request in a loop; measure after a warm-up. One asyncio
    process is the cheapest Python load generator: its CPU time is measured and reported."""
    latencies: list[float] = []
    batch_sizes: list[int] = []
    cpu: dict[str, float] = {}
    images = len(requests[0].images)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = pb_grpc.DigitClassifierStub(channel)
        loop = asyncio.get_running_loop()
        measure_from = loop.time() + config.warmup_seconds
        stop_at = measure_from + config.load_seconds

        async def client(i: int) -> None:
            request = requests[i % len(requests)]
            while (now := loop.time()) < stop_at and len(latencies) < config.max_requests:
                response = await stub.Classify(request, timeout=30)
                if now >= measure_from:
                    latencies.append(loop.time() - now)
                    batch_sizes.append(response.results[0].batch_size)

        async def cpu_meter() -> None:
            await asyncio.sleep(config.warmup_seconds)
            cpu["server"], cpu["client"] = cpu_seconds(server_pid), time.process_time()
            await asyncio.sleep(config.load_seconds)
            cpu["server"] = cpu_seconds(server_pid) - cpu["server"]
            cpu["client"] = time.process_time() - cpu["client"]

        await asyncio.gather(cpu_meter(), *(client(i) for i in range(clients)))
    lat_ms = np.array(latencies) * 1000
    return LoadResult(images_per_s=len(latencies) * images / config.load_seconds,
                      requests=len(latencies), p50_ms=float(np.percentile(lat_ms, 50)),
                      p99_ms=float(np.percentile(lat_ms, 99)),
                      mean_batch=float(np.mean(batch_sizes)),
                      server_cpu_ms=cpu["server"] * 1000 / len(latencies),
                      client_cpu_ms=cpu["client"] * 1000 / len(latencies))


def server_load(model: Path, flags: list[str], requests: list[pb.ClassifyRequest], clients: int,
                config: BenchConfig) -> tuple[LoadResult, float, float]:
    """(load result, launch-to-SERVING seconds, peak server RSS MB) of one server launch."""
    with launched_server(model, free_port(), flags, config.startup_timeout_s) as (process, ready):
        port = int(process.args[4].rpartition(":")[2])
        result = asyncio.run(_load(port, process.pid, requests, clients, config))
        return result, ready, peak_rss_mb(process.pid)


def raw_requests(images: np.ndarray, size: int, count: int) -> list[pb.ClassifyRequest]:
    return [pb.ClassifyRequest(images=[pb.Image(raw=image.tobytes())
                                       for image in images[i * size:(i + 1) * size]])
            for i in range(count)]


def plot(results: dict[str, object], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    names = list(results["throughput"])
    left.barh(names, [results["throughput"][n] for n in names], color="tab:blue")
    left.set_xlabel("images / s")
    left.set_title("Throughput (loopback, this machine)")
    modes = ["batching on", "batching off"]
    x = np.arange(len(modes))
    for offset, key in ((-0.2, "p50_ms"), (0.2, "p99_ms")):
        right.bar(x + offset, [results["single"][m][key] for m in modes], 0.4, label=key)
    right.axhline(25, color="gray", linestyle="--", label="p99 goal 25 ms")
    right.set_xticks(x, modes)
    right.set_ylabel("latency, ms")
    right.set_title(f"{results['config']['single_clients']} clients, one image per request")
    right.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def run(model: Path, config: BenchConfig) -> dict[str, object]:
    load_average = round(os.getloadavg()[0], 2)  # other work on the machine skews every number
    mnist = load_mnist(MnistSource.from_env(
        None if os.environ.get("MNIST_DIR") else DEFAULT_MNIST)).test_images
    # onnxruntime's defaults (spinning threads): its fastest in-process figures, so the bound is
    # the strictest; the server turns spinning off (RuntimeConfig) to leave the CPU to gRPC.
    onnx_model = OnnxModel.load(model, RuntimeConfig(allow_spinning=True))
    raw = {b: raw_throughput(onnx_model, mnist, b, config.raw_seconds)
           for b in config.raw_batch_sizes}
    del onnx_model
    batch_requests = raw_requests(mnist, config.batch_request_size, 32)
    single_requests = raw_requests(mnist, 1, 256)
    batched, ready_batched, rss_batched = server_load(
        model, ["--max-queue-delay-ms", str(config.batching_delay_ms)], batch_requests,
        config.batch_clients, config)
    on, ready_on, rss_on = server_load(
        model, ["--max-queue-delay-ms", str(config.batching_delay_ms)], single_requests,
        config.single_clients, config)
    off, ready_off, rss_off = server_load(
        model, ["--max-batch-size", "1", "--max-queue-delay-ms", "0"], single_requests,
        config.single_clients, config)
    size = config.batch_request_size
    return {
        "config": asdict(config), "model": str(model),
        "machine": {"cpus": len(os.sched_getaffinity(0)), "python": platform.python_version(),
                    "onnxruntime": ort.__version__, "grpcio": grpc.__version__,
                    "processor": platform.processor() or platform.machine(),
                    "load_average_at_start": load_average},
        "throughput": {
            **{f"onnxruntime batch {b}": v for b, v in raw.items()},
            f"server, {config.batch_clients} clients × batch {size}": batched.images_per_s,
            f"server, {config.single_clients} clients × 1, batching on": on.images_per_s,
            f"server, {config.single_clients} clients × 1, batching off": off.images_per_s,
        },
        "batch_server": asdict(batched),
        "server_vs_raw_at_batch": batched.images_per_s / raw[size] if size in raw else None,
        "single": {"batching on": asdict(on), "batching off": asdict(off)},
        "batching_speedup": on.images_per_s / off.images_per_s,
        # What merging could gain if requests cost nothing but the model: its best batched rate
        # over its batch-1 rate. The real speed-up is below it, as per-RPC costs do not merge.
        "batching_ceiling": max(raw.values()) / raw[1] if 1 in raw else None,
        "startup_s": [ready_batched, ready_on, ready_off],
        "peak_rss_mb": max(rss_batched, rss_on, rss_off),
    }


def table(r: dict[str, object]) -> str:
    single, goal = r["single"], lambda ok: "ok" if ok else "MISSED"
    on, off = single["batching on"], single["batching off"]
    rows = [("measure", "value", "goal")]
    rows += [(name, f"{v:,.0f} img/s", "") for name, v in r["throughput"].items()]
    ratio = r["server_vs_raw_at_batch"]
    rows += [
        ("server / onnxruntime at batch 64", f"{ratio:.0%}", f"≥ 80 % {goal(ratio >= 0.8)}"),
        ("server batch 64: p50 / p99 latency",
         f"{r['batch_server']['p50_ms']:.1f} / {r['batch_server']['p99_ms']:.1f} ms (mean "
         f"batch {r['batch_server']['mean_batch']:.0f})", ""),
        ("single images, batching on: p50 / p99",
         f"{on['p50_ms']:.1f} / {on['p99_ms']:.1f} ms (mean batch {on['mean_batch']:.1f})",
         f"p99 ≤ 25 ms {goal(on['p99_ms'] <= 25)}"),
        ("single images, batching off: p50 / p99",
         f"{off['p50_ms']:.1f} / {off['p99_ms']:.1f} ms", ""),
        ("single images: CPU per request on / off",
         f"server {on['server_cpu_ms']:.2f} / {off['server_cpu_ms']:.2f}, load generator "
         f"{on['client_cpu_ms']:.2f} / {off['client_cpu_ms']:.2f} core-ms", ""),
        ("dynamic batching speed-up", f"{r['batching_speedup']:.2f}× (onnxruntime's own "
         f"batched / batch 1: {r['batching_ceiling']:.2f}×)",
         f"≥ 5× {goal(r['batching_speedup'] >= 5)}"),
        ("launch → health SERVING", f"{max(r['startup_s']):.2f} s (worst of 3)",
         f"≤ 2 s {goal(max(r['startup_s']) <= 2)}"),
        ("server peak RSS under load", f"{r['peak_rss_mb']:.0f} MB",
         f"≤ 250 MB {goal(r['peak_rss_mb'] <= 250)}"),
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
             for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL_PATH)
    parser.add_argument("--out-dir", type=Path, default=RESULTS_DIR)
    parser.add_argument("--load-seconds", type=float, default=BenchConfig.load_seconds,
                        help="measuring time per server load test, s")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    config = BenchConfig(load_seconds=args.load_seconds)
    results = run(args.model, config)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    (args.out_dir / "bench_serve.json").write_text(json.dumps(results, indent=2) + "\n")
    plot(results, args.out_dir / "bench_serve.png")
    log.info("%s\n\nmachine: %s\nwrote %s", table(results), results["machine"],
             args.out_dir / "bench_serve.png")


if __name__ == "__main__":
    main()

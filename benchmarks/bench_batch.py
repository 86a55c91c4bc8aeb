"""Offline batch benchmark: a plain single-process loop, the local engine and the Ray engine.

Run `make bench-batch` (python -m benchmarks.bench_batch [--sizes 20000,200000]); prints one table
and writes benchmarks/results/bench_batch.json. MNIST (train + test, 70,000 digits; $MNIST_DIR or
--data-dir, else ../shared/data/mnist beside the repository) is written as PNG files, linked
into one folder per size (a size above 70,000 repeats the digits under other paths) and packed
into Parquet shards with `digits pack`'s code; every engine then classifies the same shards into
a Parquet file, each in a fresh process, with the same predictor (the service's preprocessing
and the exported model). Measured per run: wall time from the job's start (after the Python
imports) to its last row, the start-up (job start to first row written: worker processes or
Ray, actors, model loads) and the rate after it, the peak memory of the whole process tree
(proportional set size summed over the processes, sampled every 0.25 s: shared pages such as
Ray's object store count once), the CPU time of the tree per image, and the rate that CPU time
would allow on idle cores (1 for the plain loop, --workers for the engines): on a shared machine
the measured rates depend on the other work, the CPU time per image much less (the table gives
the 1-minute load average at the end of each run).

Goals (issue 8): local engine ≥ 1.3× the plain loop; Ray engine ≥ 0.7× the local engine at 200k
(start-up included); the local engine's peak memory does not grow with the input, ≤ 1 GB at
200k.

Result (2026-11-27, commit b6719f1, 2-core AMD EPYC x86_64, Python 3.11.7, onnxruntime 1.32.0,
pyarrow 26.0.1, Ray 2.60.0; one run, `make bench-batch`, 25 min; load average 0.8 at the start;
classifier 1.0.0+large.e20 and the number reader, which every worker now loads too):

    images   engine  images/s  vs plain  start-up s  after start-up  peak MB  CPU ms/image
    20,000   plain        303     1.00×         2.4             310      413          3.25
    20,000   local        628     2.07×         1.4             654      764          3.03
    20,000   ray          380     1.25×        16.8             522    1,645          4.35
    200,000  plain        311     1.00×         1.0             311      457          3.20
    200,000  local        628     2.02×         1.6             630      801          3.03
    200,000  ray          622     2.00×        16.2             653    1,788          2.87

local ÷ plain 2.07× / 2.02× (goal ≥ 1.3×, met); Ray ÷ local at 200k 0.99× start-up included,
1.04× after it (goal ≥ 0.7×, met); local engine peak memory 764 MB at 20k, 801 MB at 200k (goal
≤ 1 GB, met; 5 % more for 10× the images); the three engines wrote the same rows, bit for bit.
Against the run of 2026-11-26 (37 min; default classifier, no reader in the workers): CPU per
image 4.5 → 3.0–3.2 ms (the preprocessing's loops in C), so the plain loop went 221 → 311 and the
local engine 424 → 628 images/s; peak memory rose by about 200 MB (local) and 280 MB (Ray) with
the number reader loaded in each worker and the larger classifier. Ray's "start-up" is the time
to its first written block: Ray (~4 s), the actors and their models, and the first block of
2,048 images. On a shared machine the engines only get the CPU the other work leaves (an earlier
run with a training job on the same cores measured local 0.87–0.90× the plain loop), hence the
CPU-time columns.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from benchmarks.text_table import aligned
from serving.batch.config import (
    JobConfig,
    LocalEngineConfig,
    PredictorConfig,
    RayEngineConfig,
    available_cpus,
)
from serving.model import REPO_ROOT

RESULTS_DIR = REPO_ROOT / "benchmarks" / "results"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")  # units of the CPU times in /proc/PID/stat, per second
DEFAULT_MNIST = REPO_ROOT.parent / "shared" / "data" / "mnist"
ENGINES = ("plain", "local", "ray")
GOAL_LOCAL_VS_PLAIN = 1.3  # local engine images/s ÷ plain loop images/s, at every size
GOAL_RAY_VS_LOCAL = 0.7  # Ray engine ÷ local engine images/s at the largest size, start-up included
GOAL_LOCAL_PEAK_MB = 1024  # local engine's peak memory at the largest size, MiB


@dataclass(frozen=True)
class BenchConfig:
    sizes: tuple[int, ...] = (20_000, 200_000)  # images per run
    workers: int = 0  # local processes and Ray actors; 0 = one per CPU core
    batch_size: int = 256  # images per model run, every engine
    rows_per_shard: int = 50_000  # `digits pack --rows-per-file`
    sample_s: float = 0.25  # memory sampling interval, seconds

    def __post_init__(self) -> None:
        if not self.sizes or min(self.sizes) < 1:
            raise ValueError(f"sizes must be positive, got {self.sizes}")


# --- inputs -------------------------------------------------------------------------------------


def mnist_images(data_dir: Path | None) -> np.ndarray:
    """The 70,000 MNIST digits, train then test, uint8 [N, 28, 28]."""
    from training.mnist import MnistSource, load_mnist  # the harness only: engines never see it

    arrays = load_mnist(MnistSource.from_env(
        data_dir or (None if os.environ.get("MNIST_DIR") else DEFAULT_MNIST)))
    return np.concatenate([arrays.train_images, arrays.test_images])


def build_shards(images: np.ndarray, sizes: tuple[int, ...], work_dir: Path,
                 rows_per_shard: int) -> dict[int, Path]:
    """Shards of each size, made by `digits pack`'s code from PNG files: the unique digits are
    written once, and each size's folder holds hard links to them (other paths, no copies)."""
    from PIL import Image

    from serving.batch.pack import PackConfig, pack_images

    unique = work_dir / "png"
    unique.mkdir()
    for i, pixels in enumerate(images):
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, format="PNG")
        (unique / f"{i:05d}.png").write_bytes(buffer.getvalue())
    shards = {}
    for size in sizes:
        folder = work_dir / f"files-{size}"
        for i in range(size):
            copy, index = divmod(i, len(images))
            target = folder / f"copy{copy}" / f"{index:05d}.png"
            if index == 0:
                target.parent.mkdir(parents=True)
            os.link(unique / f"{index:05d}.png", target)
        shards[size] = work_dir / f"shards-{size}"
        pack_images([str(folder)], str(shards[size]), PackConfig(rows_per_file=rows_per_shard))
        shutil.rmtree(folder)
    shutil.rmtree(unique)
    return shards


# --- one measured run, in its own process ----------------------------------------------------


def plain_loop(shards: Path, output: Path, batch_size: int, on_rows: object) -> None:
    """The plain single-process loop: read → predict → write, the same predictor."""
    from serving.batch.config import OutputFormat
    from serving.batch.output import RowWriter
    from serving.batch.predictor import BatchPredictor
    from serving.batch.rows import OUTPUT_SCHEMA
    from serving.batch.sources import plan_inputs, work_batches

    plan = plan_inputs([str(shards)])
    predictor = BatchPredictor.load(PredictorConfig(), plan.filesystems)
    with RowWriter(str(output), OutputFormat.PARQUET, OUTPUT_SCHEMA) as writer:
        for work in work_batches(plan, batch_size):
            rows = predictor(work)
            writer.write(rows)
            on_rows(rows.num_rows)  # type: ignore[operator]


def child_run(engine: str, shards: Path, output: Path, workers: int, batch_size: int) -> dict:
    """Run one engine over the shards (in this process and its children); the timings."""
    from serving.batch.job import run_batch

    marks: list[tuple[float, int]] = []  # (time.perf_counter(), rows so far)

    def on_rows(count: int) -> None:
        marks.append((time.perf_counter(), (marks[-1][1] if marks else 0) + count))

    start = time.perf_counter()
    if engine == "plain":
        plain_loop(shards, output, batch_size, on_rows)
    else:
        run_batch(JobConfig(inputs=(str(shards),), output=str(output), engine=engine,
                            batch_size=batch_size, local=LocalEngineConfig(workers=workers),
                            ray=RayEngineConfig(workers=workers)), on_rows=on_rows)
    end = time.perf_counter()
    (first_t, first_rows), (last_t, rows) = marks[0], marks[-1]
    return {"images": rows, "seconds": end - start, "startup_s": first_t - start,
            "images_per_s": rows / (end - start),
            "images_per_s_after_startup": (rows - first_rows) / max(last_t - first_t, 1e-9),
            "own_peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "largest_child_peak_rss_mb":
                resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}


def descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):  # the process ended meanwhile
            continue
        children.setdefault(parent, []).append(int(stat.parent.name))
    found, todo = set(), [pid]
    while todo:
        current = todo.pop()
        found.add(current)
        todo.extend(children.get(current, []))
    return found


def _pss_mb(pid: int) -> float:
    """Proportional set size of one process, MiB: its shared pages divided among their users."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _cpu_s(pid: int) -> float | None:
    """User + system CPU seconds one process has used so far; None once it has gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


class TreeSampler:
    """Samples a process and all its descendants: the peak of their summed PSS, and the CPU
    time each used (its last sample; processes that live under one interval are missed)."""

    def __init__(self, pid: int, interval_s: float) -> None:
        self.peak_mb = 0.0
        self.processes = 0  # most processes seen at once
        self._cpu: dict[int, float] = {}
        self._pid, self._interval_s = pid, interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    @property
    def cpu_s(self) -> float:
        return sum(self._cpu.values())

    def _run(self) -> None:
        while not self._stop.wait(self._interval_s):
            pids = descendants(self._pid)
            self.peak_mb = max(self.peak_mb, sum(_pss_mb(p) for p in pids))
            self.processes = max(self.processes, len(pids))
            for pid in pids:
                used = _cpu_s(pid)
                if used is not None:
                    self._cpu[pid] = used

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def measure(engine: str, shards: Path, output: Path, config: BenchConfig) -> dict:
    """One engine over one size, in a fresh Python process; its timings and peak memory."""
    command = [sys.executable, "-m", "benchmarks.bench_batch", "--child", engine, str(shards),
               str(output), "--workers", str(config.workers), "--batch-size",
               str(config.batch_size)]
    child = subprocess.Popen(command, cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True)
    sampler = TreeSampler(child.pid, config.sample_s)
    stdout, _ = child.communicate()
    sampler.stop()
    if child.returncode != 0:
        raise RuntimeError(f"{engine} run failed (exit status {child.returncode})")
    result = json.loads(stdout.strip().splitlines()[-1])
    cores = 1 if engine == "plain" else config.workers or available_cpus()
    result.update(peak_tree_pss_mb=sampler.peak_mb, processes=sampler.processes,
                  cpu_ms_per_image=1000 * sampler.cpu_s / result["images"],
                  load_average_at_end=round(os.getloadavg()[0], 2))
    # What the run's CPU time would allow on idle cores (one for the plain loop, `workers` for
    # the engines), start-up aside: the figure to compare when other work shares the machine.
    result["idle_ceiling_images_per_s"] = cores * 1000 / result["cpu_ms_per_image"]
    return result
    return result


def rows_of(output: Path) -> object:
    """The output rows sorted by path (every engine's must be equal, bit for bit)."""
    import pyarrow.parquet as pq

    return pq.read_table(output).sort_by("path")


# --- the table ------------------------------------------------------------------------------


def _ok(met: bool) -> str:
    return "ok" if met else "MISSED"


def table(results: dict) -> str:
    rows = [("images", "engine", "images/s", "vs plain", "start-up s", "images/s after start-up",
             "peak memory MB", "CPU ms/image", "idle ceiling images/s", "load")]
    for size, runs in results["runs"].items():
        plain = runs["plain"]["images_per_s"]
        for engine, r in runs.items():
            rows.append((f"{int(size):,}", engine, f"{r['images_per_s']:,.0f}",
                         f"{r['images_per_s'] / plain:.2f}×", f"{r['startup_s']:.1f}",
                         f"{r['images_per_s_after_startup']:,.0f}",
                         f"{r['peak_tree_pss_mb']:,.0f}", f"{r['cpu_ms_per_image']:.2f}",
                         f"{r['idle_ceiling_images_per_s']:,.0f}",
                         f"{r['load_average_at_end']:.1f}"))
    checks = results["checks"]
    lines = [aligned(rows), ""]
    for size, ratio in checks["local_vs_plain"].items():
        lines.append(f"local ÷ plain at {int(size):,}: {ratio:.2f}× (goal ≥ "
                     f"{GOAL_LOCAL_VS_PLAIN}×) {_ok(ratio >= GOAL_LOCAL_VS_PLAIN)}")
    largest = checks["largest"]
    ray = checks["ray_vs_local"]
    lines.append(f"Ray ÷ local at {largest:,}: {ray['included']:.2f}× start-up included (goal ≥ "
                 f"{GOAL_RAY_VS_LOCAL}×) {_ok(ray['included'] >= GOAL_RAY_VS_LOCAL)}; "
                 f"{ray['excluded']:.2f}× after start-up")
    peak = checks["local_peak_mb"]
    lines.append(f"local engine peak memory at {largest:,}: {peak:,.0f} MB (goal ≤ "
                 f"{GOAL_LOCAL_PEAK_MB} MB) {_ok(peak <= GOAL_LOCAL_PEAK_MB)}; by size: "
                 + ", ".join(f"{int(s):,}: {m:,.0f} MB" for s, m in checks["local_peak_by_size"]
                             .items()))
    lines.append(f"every engine wrote the same rows, bit for bit: "
                 f"{'yes' if checks['agree'] else 'NO'}")
    return "\n".join(lines)


def machine() -> dict:
    import onnxruntime
    import pyarrow

    try:
        import ray
        ray_version = ray.__version__
    except ImportError:
        ray_version = "not installed"
    return {"cpus": available_cpus(), "python": platform.python_version(),
            "processor": platform.processor() or platform.machine(),
            "onnxruntime": onnxruntime.__version__, "pyarrow": pyarrow.__version__,
            "ray": ray_version, "load_average": round(os.getloadavg()[0], 2),
            "date": time.strftime("%Y-%m-%d %H:%M")}


def run(config: BenchConfig, data_dir: Path | None, work_dir: Path) -> dict:
    started = machine()
    shards = build_shards(mnist_images(data_dir), config.sizes, work_dir, config.rows_per_shard)
    runs: dict[str, dict[str, dict]] = {}
    agree = True
    for size in config.sizes:
        runs[str(size)] = {}
        reference = None
        for engine in ENGINES:
            output = work_dir / f"{engine}-{size}.parquet"
            runs[str(size)][engine] = measure(engine, shards[size], output, config)
            print(f"{size:,} images, {engine}: {runs[str(size)][engine]['images_per_s']:,.0f} "
                  f"images/s", file=sys.stderr, flush=True)
            rows = rows_of(output)
            agree &= reference is None or rows.equals(reference)
            reference = rows
            output.unlink()
    largest = str(max(config.sizes))
    checks = {
        "largest": int(largest),
        "local_vs_plain": {s: r["local"]["images_per_s"] / r["plain"]["images_per_s"]
                           for s, r in runs.items()},
        "ray_vs_local": {
            "included": runs[largest]["ray"]["images_per_s"]
            / runs[largest]["local"]["images_per_s"],
            "excluded": runs[largest]["ray"]["images_per_s_after_startup"]
            / runs[largest]["local"]["images_per_s_after_startup"]},
        "local_peak_mb": runs[largest]["local"]["peak_tree_pss_mb"],
        "local_peak_by_size": {s: r["local"]["peak_tree_pss_mb"] for s, r in runs.items()},
        "agree": bool(agree),
    }
    return {"config": asdict(config), "machine": started,
            "load_average_at_end": round(os.getloadavg()[0], 2), "runs": runs,
            "checks": checks}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=",".join(map(str, BenchConfig.sizes)),
                        help="images per run, comma-separated (e.g. 2000 for a quick run)")
    parser.add_argument("--workers", type=int, default=0,
                        help="local processes and Ray actors; 0 = one per CPU core")
    parser.add_argument("--batch-size", type=int, default=BenchConfig.batch_size)
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="MNIST folder (default: $MNIST_DIR, else ../shared/data/mnist)")
    parser.add_argument("--out-dir", type=Path, default=RESULTS_DIR)
    parser.add_argument("--child", nargs=3, metavar=("ENGINE", "SHARDS", "OUTPUT"),
                        help=argparse.SUPPRESS)  # one measured run (what `measure` starts)
    args = parser.parse_args(argv)
    if args.child:
        engine, shards, output = args.child
        print(json.dumps(child_run(engine, Path(shards), Path(output), args.workers,
                                   args.batch_size)))
        return
    config = BenchConfig(sizes=tuple(int(s) for s in args.sizes.split(",")),
                         workers=args.workers, batch_size=args.batch_size)
    work_dir = Path(tempfile.mkdtemp(prefix="digits-bench-batch-"))
    try:
        results = run(config, args.data_dir, work_dir)
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    (args.out_dir / "bench_batch.json").write_text(json.dumps(results, indent=2) + "\n")
    print(table(results))
    print(f"\nmachine: {results['machine']}; load average at end "
          f"{results['load_average_at_end']}")


if __name__ == "__main__":
    main()

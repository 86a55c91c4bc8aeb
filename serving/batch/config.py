"""The batch job's configuration: what the predictor is built from, the engines, the job itself."""

from __future__ import annotations

import enum
import os
from dataclasses import dataclass, field
from pathlib import Path

from serving.decode import ImageLimits
from serving.model import DEFAULT_MODEL_PATH, RuntimeConfig
from serving.preprocess import PreprocessConfig


def available_cpus() -> int:
    """CPU cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


PREPROCESSING = {"default": PreprocessConfig, "first-version": PreprocessConfig.first_version}


@dataclass(frozen=True)
class PredictorConfig:
    """Everything a predictor (one per worker process or Ray actor) is built from."""

    model_path: Path = DEFAULT_MODEL_PATH  # exported model.onnx, its model.json beside it
    image_limits: ImageLimits = field(default_factory=ImageLimits)  # larger images: error rows
    preprocess: PreprocessConfig = field(default_factory=PreprocessConfig)  # the service's own
    intra_op_threads: int = 1  # onnxruntime threads per predictor: engines run one predictor per
    # CPU core, so more threads would only oversubscribe the cores

    def __post_init__(self) -> None:
        if self.intra_op_threads < 1:
            raise ValueError(f"intra_op_threads must be ≥ 1, got {self.intra_op_threads}")

    @property
    def runtime(self) -> RuntimeConfig:
        return RuntimeConfig(intra_op_threads=self.intra_op_threads)


@dataclass(frozen=True)
class InputColumns:
    """Column names of an input Parquet dataset (what `digits pack` writes)."""

    path: str = "path"  # string: where the image came from; copied to the output
    image: str = "image"  # binary: the encoded image file (PNG, JPEG...); null: no image
    error: str = "error"  # optional string: why the image could not be packed; null if packed

    def __post_init__(self) -> None:
        names = (self.path, self.image, self.error)
        if len(set(names)) != len(names) or not all(names):
            raise ValueError(f"input column names must be distinct and non-empty, got {names}")


class OutputFormat(enum.Enum):
    PARQUET = "parquet"  # one Parquet file
    JSONL = "jsonl"  # one JSON object per line

    @classmethod
    def for_path(cls, path: str) -> OutputFormat:
        """JSON lines for a .jsonl / .json / .ndjson output, Parquet otherwise."""
        suffix = path.rsplit(".", 1)[-1].lower() if "." in path else ""
        return cls.JSONL if suffix in ("jsonl", "json", "ndjson") else cls.PARQUET


@dataclass(frozen=True)
class LocalEngineConfig:
    """`--engine local`: a pool of worker processes on this machine."""

    workers: int = 0  # processes; 0 = one per available CPU core
    batches_in_flight_per_worker: int = 2  # batches handed out and not yet written back, per
    # worker: enough to keep every worker busy, and what bounds memory whatever the input's size
    start_method: str = "spawn"  # fresh interpreters: the parent's pyarrow threads are not forked

    def __post_init__(self) -> None:
        if self.workers < 0 or self.batches_in_flight_per_worker < 1:
            raise ValueError("workers must be ≥ 0 and batches_in_flight_per_worker ≥ 1")
        if self.start_method not in ("spawn", "forkserver", "fork"):
            raise ValueError(f"unknown start method {self.start_method!r}")


@dataclass(frozen=True)
class RayEngineConfig:
    """`--engine ray`: the same predictor as Ray Data actors, embedded or on a cluster."""

    address: str | None = None  # None: start an embedded Ray on this machine (loopback only);
    # "auto" or HOST:PORT: join that cluster (RAY_ADDRESS, if set, is used when this is None)
    workers: int = 0  # predictor actors; 0 = as many as the cluster's CPUs less reserved_cpus
    # hold (at least 1)
    cpus_per_actor: int = 1  # logical CPUs each actor reserves (its onnxruntime uses
    # PredictorConfig.intra_op_threads); more than half a node's CPUs puts one actor per node
    reserved_cpus: int = 1  # logical CPUs no actor takes, for Ray Data's read tasks: an actor
    # pool holding every CPU left the reads unscheduled and hung silently (issue 8)
    embedded_cpus: int = 0  # logical CPUs of an embedded Ray; 0 = workers × cpus_per_actor +
    # reserved_cpus, with workers defaulting to one per available core
    object_store_mb: int = 512  # embedded Ray's shared-memory object store, MiB
    rows_per_block: int = 2048  # rows per Ray Data block: many blocks, so every actor gets work
    record_node: bool = False  # add a node_id column: the Ray node that classified each row
    actor_start_timeout_s: int = 300  # every actor must be up before work is handed out (else
    # the first one took all of a small job); past this the job fails, naming the resources

    def __post_init__(self) -> None:
        if min(self.workers, self.reserved_cpus, self.embedded_cpus) < 0:
            raise ValueError("workers, reserved_cpus and embedded_cpus must be ≥ 0")
        if self.cpus_per_actor < 1:
            raise ValueError(f"cpus_per_actor must be ≥ 1, got {self.cpus_per_actor}")
        if self.actor_start_timeout_s < 1:
            raise ValueError(f"actor_start_timeout_s must be ≥ 1, got {self.actor_start_timeout_s}")
        if self.object_store_mb < 64 or self.rows_per_block < 1:
            raise ValueError("object_store_mb must be ≥ 64 and rows_per_block ≥ 1")


ENGINES = ("local", "ray")


@dataclass(frozen=True)
class JobConfig:
    """One `digits batch` run."""

    inputs: tuple[str, ...]  # folders, globs or files of images, Parquet files or folders;
    # local paths or URIs pyarrow knows (file://, s3://, gs://, hdfs://...)
    output: str  # where the predictions go (local path or URI)
    output_format: OutputFormat | None = None  # None: JSONL for a .jsonl/.json/.ndjson output
    engine: str = "local"  # one of ENGINES
    batch_size: int = 256  # images per predictor call (one onnxruntime run)
    timeout_s: float | None = None  # the whole job, start-up included; None: no limit
    columns: InputColumns = field(default_factory=InputColumns)
    predictor: PredictorConfig = field(default_factory=PredictorConfig)
    local: LocalEngineConfig = field(default_factory=LocalEngineConfig)
    ray: RayEngineConfig = field(default_factory=RayEngineConfig)

    def __post_init__(self) -> None:
        if not self.inputs:
            raise ValueError("give at least one input")
        if self.engine not in ENGINES:
            raise ValueError(f"engine must be one of {ENGINES}, got {self.engine!r}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be ≥ 1, got {self.batch_size}")
        if self.timeout_s is not None and self.timeout_s <= 0:
            raise ValueError(f"timeout_s must be positive, got {self.timeout_s}")
        if self.ray.record_node and self.engine != "ray":
            raise ValueError("record_node (a node_id column) needs the Ray engine")

    @property
    def format(self) -> OutputFormat:
        """The output's format: as given, else from its suffix."""
        return self.output_format or OutputFormat.for_path(self.output)

"""The exported model: its metadata JSON, and the onnxruntime session that runs it (no gRPC)."""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort

from serving.errors import ModelLoadError

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_MODEL_PATH = REPO_ROOT / "exported" / "model.onnx"  # resolved from the package, not cwd
IMAGE_SIZE = 28  # pixels per side of what serving.preprocess produces and Image.raw carries
NUM_CLASSES = 10  # digits 0–9
NOT_DIGIT_CLASS = 10  # index of the optional 11th output: "this image holds no digit"
OUTPUT_WIDTHS = (NUM_CLASSES, NUM_CLASSES + 1)  # a digit-only model, or one that also says "not a digit"
POLARITIES = ("light_on_dark", "dark_on_light")


def _cpu_count() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


@dataclass(frozen=True)
class RuntimeConfig:
    """How onnxruntime runs the model."""

    intra_op_threads: int = 0  # threads inside one operator; 0 = one per available CPU core
    # Idle intra-op threads busy-wait for the next run when True (onnxruntime's default). Off for
    # serving: on 2 cores the spinning threads take the CPU the gRPC event loop needs between
    # runs (benchmarks/bench_serve.py; batched onnxruntime throughput is the same either way).
    allow_spinning: bool = False
    warmup_batch_sizes: tuple[int, ...] = (1,)  # batch sizes run once at load, images

    def __post_init__(self) -> None:
        if self.intra_op_threads < 0:
            raise ValueError(f"intra_op_threads must be ≥ 0, got {self.intra_op_threads}")
        if any(b < 1 for b in self.warmup_batch_sizes):
            raise ValueError(f"warmup_batch_sizes must be ≥ 1, got {self.warmup_batch_sizes}")

    @property
    def resolved_intra_op_threads(self) -> int:
        return self.intra_op_threads or _cpu_count()


@dataclass(frozen=True)
class ModelMetadata:
    """The parts of exported/model.json that serving relies on, checked on load."""

    name: str
    version: str
    onnx_file: str  # file name of the graph, beside the JSON
    test_accuracy: float  # MNIST test-set accuracy of the exported ONNX file, in [0, 1]
    opset: int
    input_name: str
    input_dtype: str  # "uint8"
    input_shape: tuple[int | str, ...]  # e.g. ("batch", 1, 28, 28)
    polarity: str  # "light_on_dark" (MNIST) or "dark_on_light"
    output_name: str
    output_shape: tuple[int | str, ...]  # ("batch", 10), or ("batch", 11) with "not a digit" last
    created: str  # ISO 8601 date
    not_digit_threshold: float = 1.0  # not-a-digit probability at or above which an image is not
    # a digit, in (0, 1]; chosen on validation images at export; 1 for a 10-output model

    @property
    def has_not_digit(self) -> bool:
        """Whether the model has the 11th output, "not a digit"."""
        return self.output_shape[-1] == NUM_CLASSES + 1

    def __post_init__(self) -> None:
        if not 0.0 <= self.test_accuracy <= 1.0:
            raise ModelLoadError(f"test_accuracy must be in [0, 1], got {self.test_accuracy}")
        if self.input_dtype != "uint8":
            raise ModelLoadError(f"input dtype must be uint8, metadata says {self.input_dtype!r}")
        if self.polarity not in POLARITIES:
            raise ModelLoadError(f"input polarity must be one of {POLARITIES}, got "
                                 f"{self.polarity!r}")
        if tuple(self.input_shape[1:]) != (1, IMAGE_SIZE, IMAGE_SIZE):
            raise ModelLoadError(
                f"input shape must be [batch, 1, {IMAGE_SIZE}, {IMAGE_SIZE}] (what preprocessing "
                f"produces), metadata says {list(self.input_shape)}"
            )
        if len(self.output_shape) != 2 or self.output_shape[1] not in OUTPUT_WIDTHS:
            raise ModelLoadError(
                f"output shape must be [batch, 10] or [batch, 11], metadata says "
                f"{list(self.output_shape)}"
            )
        if not 0.0 < self.not_digit_threshold <= 1.0:
            raise ModelLoadError(f"not_digit threshold must be in (0, 1], got "
                                 f"{self.not_digit_threshold}")

    @classmethod
    def from_file(cls, path: Path) -> ModelMetadata:
        """Read and check the metadata JSON; every problem is a ModelLoadError naming the file."""
        try:
            raw = json.loads(path.read_text())
        except OSError as err:
            raise ModelLoadError(f"cannot read model metadata {path}: {err}; run `make export` "
                                 f"or pass --model") from err
        except json.JSONDecodeError as err:
            raise ModelLoadError(f"model metadata {path} is not valid JSON: {err}") from err
        try:
            return cls(
                name=str(raw["name"]),
                version=str(raw["version"]),
                onnx_file=str(raw["onnx_file"]),
                test_accuracy=float(raw["test_accuracy"]),
                opset=int(raw["opset"]),
                input_name=str(raw["input"]["name"]),
                input_dtype=str(raw["input"]["dtype"]),
                input_shape=tuple(raw["input"]["shape"]),
                polarity=str(raw["input"]["polarity"]),
                output_name=str(raw["output"]["name"]),
                output_shape=tuple(raw["output"]["shape"]),
                created=str(raw.get("created", "")),
                not_digit_threshold=float(raw.get("not_digit", {}).get("threshold", 1.0)),
            )
        except (KeyError, TypeError, ValueError) as err:
            raise ModelLoadError(
                f"model metadata {path} lacks or mistypes a field: {err!r}") from err


def decide(probabilities: np.ndarray, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """The service's decision for model outputs [N, 10 or 11]: (most probable digit [N], whether
    it is a digit [N]: the "not a digit" probability, if any, is below `threshold`)."""
    digits = probabilities[:, :NUM_CLASSES].argmax(axis=1)
    if probabilities.shape[1] <= NOT_DIGIT_CLASS:
        return digits, np.ones(len(probabilities), bool)
    return digits, probabilities[:, NOT_DIGIT_CLASS] < threshold


def metadata_path_for(model_path: Path) -> Path:
    """The metadata JSON of a model given as its .onnx file, its .json file or its folder."""
    if model_path.is_dir():
        return model_path / "model.json"
    return model_path if model_path.suffix == ".json" else model_path.with_suffix(".json")


def inference_session(onnx_path: Path, config: RuntimeConfig) -> ort.InferenceSession:
    """An onnxruntime CPU session of one graph as RuntimeConfig says; ModelLoadError when
    onnxruntime cannot load it."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = config.resolved_intra_op_threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.add_session_config_entry("session.intra_op.allow_spinning",
                                     "1" if config.allow_spinning else "0")
    try:
        return ort.InferenceSession(str(onnx_path), sess_options=options,
                                    providers=["CPUExecutionProvider"])
    except Exception as err:  # onnxruntime raises its own untyped exceptions
        raise ModelLoadError(f"onnxruntime cannot load {onnx_path}: {err}") from err


class OnnxModel:
    """An exported digit classifier: uint8 images [N, 28, 28] in, probabilities [N, 10 or 11]
    out (the 11th, if present, is "not a digit")."""

    def __init__(self, metadata: ModelMetadata, session: ort.InferenceSession) -> None:
        self.metadata = metadata
        self._session = session
        self._check_graph()

    @classmethod
    def load(cls, model_path: Path, config: RuntimeConfig | None = None) -> OnnxModel:
        """Load metadata and graph, check they agree, and warm the session up."""
        config = config or RuntimeConfig()
        meta_path = metadata_path_for(Path(model_path))
        metadata = ModelMetadata.from_file(meta_path)
        onnx_path = meta_path.parent / metadata.onnx_file
        model = cls(metadata, inference_session(onnx_path, config))
        for batch in config.warmup_batch_sizes:
            model.predict(np.zeros((batch, IMAGE_SIZE, IMAGE_SIZE), np.uint8))
        log.info("loaded model %s %s from %s (%d intra-op threads)", metadata.name,
                 metadata.version, onnx_path, config.resolved_intra_op_threads)
        return model

    def _check_graph(self) -> None:
        inputs = {i.name: i for i in self._session.get_inputs()}
        outputs = {o.name: o for o in self._session.get_outputs()}
        meta = self.metadata
        if meta.input_name not in inputs:
            raise ModelLoadError(f"graph has no input {meta.input_name!r} (metadata); it has "
                                 f"{sorted(inputs)}")
        if meta.output_name not in outputs:
            raise ModelLoadError(f"graph has no output {meta.output_name!r} (metadata); it has "
                                 f"{sorted(outputs)}")
        graph_input = inputs[meta.input_name]
        if graph_input.type != "tensor(uint8)":
            raise ModelLoadError(f"graph input {meta.input_name!r} is {graph_input.type}, the "
                                 f"metadata says uint8")
        if list(graph_input.shape[1:]) != [1, IMAGE_SIZE, IMAGE_SIZE]:
            raise ModelLoadError(f"graph input {meta.input_name!r} has shape {graph_input.shape}, "
                                 f"expected [batch, 1, {IMAGE_SIZE}, {IMAGE_SIZE}]")
        graph_output = outputs[meta.output_name]
        if (graph_output.type != "tensor(float)"
                or graph_output.shape[-1] != meta.output_shape[-1]):
            raise ModelLoadError(f"graph output {meta.output_name!r} is {graph_output.type} "
                                 f"{graph_output.shape}, the metadata says float "
                                 f"{list(meta.output_shape)}")

    def predict(self, images: np.ndarray) -> np.ndarray:
        """Probabilities float32 [N, 10 or 11] of uint8 MNIST-convention images [N, 28, 28]."""
        if images.dtype != np.uint8 or images.shape[1:] != (IMAGE_SIZE, IMAGE_SIZE):
            raise ValueError(f"expected uint8 [N, {IMAGE_SIZE}, {IMAGE_SIZE}], got "
                             f"{images.dtype} {images.shape}")
        batch = np.ascontiguousarray(images)[:, None, :, :]
        (probabilities,) = self._session.run(
            [self.metadata.output_name], {self.metadata.input_name: batch}
        )
        return probabilities

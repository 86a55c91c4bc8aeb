"""Small test doubles of the serving tests: a linear ONNX model written with onnx.helper."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from serving.batcher import BatcherConfig
from serving.engine import EngineConfig
from serving.preprocess import ImageLimits
from serving.server import DigitsServer, ServerConfig, create_server
from serving.servicer import RequestLimits

FAKE_WEIGHTS = np.random.default_rng(0).normal(0, 0.2, (784, 10)).astype(np.float32)
LIMITS = RequestLimits(max_images_per_request=16, max_message_bytes=64 * 1024)
IMAGE_LIMITS = ImageLimits(max_encoded_bytes=8 * 1024, max_pixels=200 * 200)


def reference_probabilities(images: np.ndarray) -> np.ndarray:
    """What the fake model computes, in numpy: softmax(images / 255 @ W)."""
    logits = images.reshape(len(images), 784).astype(np.float32) / 255 @ FAKE_WEIGHTS
    exp = np.exp(logits - logits.max(axis=1, keepdims=True))
    return exp / exp.sum(axis=1, keepdims=True)


def write_fake_model(folder: Path, input_type: int = TensorProto.UINT8,
                     weights: np.ndarray = FAKE_WEIGHTS, **metadata_changes: object) -> Path:
    """A uint8 [N, 1, 28, 28] -> softmax [N, 10] linear model and its metadata (or [N, 11] when
    `weights` has 11 columns); returns the .onnx path. `metadata_changes` override top-level
    metadata keys."""
    outputs = weights.shape[1]
    nodes = [
        helper.make_node("Cast", ["image"], ["x"], to=TensorProto.FLOAT),
        helper.make_node("Reshape", ["x", "shape"], ["flat"]),
        helper.make_node("Div", ["flat", "scale"], ["unit"]),
        helper.make_node("MatMul", ["unit", "weights"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1),
    ]
    graph = helper.make_graph(
        nodes, "fake_digits",
        [helper.make_tensor_value_info("image", input_type, ["batch", 1, 28, 28])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["batch", outputs])],
        initializer=[
            numpy_helper.from_array(np.array([-1, 784], np.int64), "shape"),
            numpy_helper.from_array(np.array(255.0, np.float32), "scale"),
            numpy_helper.from_array(weights, "weights"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    folder.mkdir(parents=True, exist_ok=True)
    onnx.save(model, folder / "model.onnx")
    metadata = {
        "name": "fake-digits", "version": "0.0.1-test", "onnx_file": "model.onnx",
        "test_accuracy": 0.5, "opset": 17, "created": "2026-11-26",
        "input": {"name": "image", "dtype": "uint8", "shape": ["batch", 1, 28, 28],
                  "polarity": "light_on_dark"},
        "output": {"name": "probabilities", "dtype": "float32", "shape": ["batch", outputs]},
        "normalisation": {"scale": 255}, "preprocessing": {"image_size": 28, "digit_box": 20},
    }
    metadata.update(metadata_changes)
    (folder / "model.json").write_text(json.dumps(metadata))
    return folder / "model.onnx"


def digit_images(count: int, seed: int = 0) -> np.ndarray:
    """uint8 [count, 28, 28] images with plenty of ink (never blank), varied per image."""
    rng = np.random.default_rng(seed)
    images = np.zeros((count, 28, 28), np.uint8)
    images[:, 4:24, 4:24] = rng.integers(0, 256, (count, 20, 20), dtype=np.uint8)
    return images


def start_server(model: Path, batcher: BatcherConfig,
                 limits: RequestLimits = LIMITS) -> tuple[DigitsServer, int]:
    """A started server on a free loopback port with the small test limits (by default)."""
    config = ServerConfig(
        address="127.0.0.1:0", model_path=model, limits=limits, grace_s=5.0, drain_s=0.0,
        engine=EngineConfig(batcher=batcher, image_limits=IMAGE_LIMITS))
    server, port = create_server(config)
    server.start()
    return server, port


NOT_DIGIT_THRESHOLD = 0.5  # of the model write_not_digit_model writes
MINUS_BOX = (8, 18, 52, 23)  # left, top, right, bottom of minus_page()'s ink


def not_digit_weights() -> np.ndarray:
    """FAKE_WEIGHTS with an 11th, "not a digit" column: ink at both ends of the middle rows,
    where preprocessing puts a horizontal bar (a "−") and never a "1", is strong evidence
    against a digit; other ink is weak evidence for one."""
    evidence = np.full((28, 28), -0.05, np.float32)
    evidence[11:17, 3:8] = evidence[11:17, 20:25] = 1.0
    return np.concatenate([FAKE_WEIGHTS, evidence.reshape(784, 1)], axis=1)


def minus_page() -> np.ndarray:
    """A dark "−" on white paper, its ink at MINUS_BOX: not a digit for write_not_digit_model."""
    left, top, right, bottom = MINUS_BOX
    page = np.full((40, 60), 255, np.uint8)
    page[top:bottom, left:right] = 0
    return page


def write_not_digit_model(folder: Path) -> Path:
    """The fake model with the 11th output (not_digit_weights) and NOT_DIGIT_THRESHOLD."""
    return write_fake_model(
        folder, weights=not_digit_weights(),
        output={"name": "probabilities", "dtype": "float32", "shape": ["batch", 11]},
        not_digit={"threshold": NOT_DIGIT_THRESHOLD})

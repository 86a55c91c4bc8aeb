"""OnnxModel and ModelMetadata: loading, checking metadata against the graph, predicting."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from onnx import TensorProto

from serving.errors import ModelLoadError
from serving.model import OnnxModel, RuntimeConfig
from tests.serving.fakes import digit_images, reference_probabilities, write_fake_model


def test_predict_matches_the_graph_computed_in_numpy(fake_model: Path) -> None:
    model = OnnxModel.load(fake_model, RuntimeConfig(intra_op_threads=1))
    images = digit_images(5)
    np.testing.assert_allclose(model.predict(images), reference_probabilities(images), atol=1e-5)
    assert model.metadata.name == "fake-digits" and model.metadata.test_accuracy == 0.5


def test_model_can_be_given_as_its_folder_or_metadata_file(fake_model: Path) -> None:
    for path in (fake_model.parent, fake_model.with_suffix(".json")):
        assert OnnxModel.load(path).metadata.version == "0.0.1-test"


def test_predict_rejects_wrong_dtype_or_shape(fake_model: Path) -> None:
    model = OnnxModel.load(fake_model)
    with pytest.raises(ValueError, match="expected uint8"):
        model.predict(np.zeros((1, 28, 28), np.float32))
    with pytest.raises(ValueError, match="expected uint8"):
        model.predict(np.zeros((1, 27, 28), np.uint8))


def test_missing_model_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="make export"):
        OnnxModel.load(tmp_path / "model.onnx")


def test_invalid_json_is_a_model_load_error(tmp_path: Path) -> None:
    (tmp_path / "model.json").write_text("{not json")
    with pytest.raises(ModelLoadError, match="not valid JSON"):
        OnnxModel.load(tmp_path)


@pytest.mark.parametrize(("changes", "message"), [
    ({"input": {"name": "pixels", "dtype": "uint8", "shape": ["batch", 1, 28, 28],
                "polarity": "light_on_dark"}}, "graph has no input 'pixels'"),
    ({"output": {"name": "logits", "dtype": "float32", "shape": ["batch", 10]}},
     "graph has no output 'logits'"),
    ({"input": {"name": "image", "dtype": "float32", "shape": ["batch", 1, 28, 28],
                "polarity": "light_on_dark"}}, "dtype must be uint8"),
    ({"input": {"name": "image", "dtype": "uint8", "shape": ["batch", 1, 32, 32],
                "polarity": "light_on_dark"}}, r"input shape must be \[batch, 1, 28, 28\]"),
    ({"test_accuracy": 7}, r"test_accuracy must be in \[0, 1\]"),
    ({"onnx_file": "missing.onnx"}, "onnxruntime cannot load"),
    ({"version": None, "opset": "x"}, "lacks or mistypes"),
])
def test_metadata_that_disagrees_is_a_clear_model_load_error(
        tmp_path: Path, changes: dict[str, object], message: str) -> None:
    with pytest.raises(ModelLoadError, match=message):
        OnnxModel.load(write_fake_model(tmp_path, **changes))


def test_graph_input_type_must_match_metadata(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match=r"is tensor\(float\), the metadata says uint8"):
        OnnxModel.load(write_fake_model(tmp_path, input_type=TensorProto.FLOAT))

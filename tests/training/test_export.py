"""ONNX export: parity with PyTorch, the metadata contract, and loud failure on a mismatch."""

import dataclasses
import json
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch

from training import export as export_module
from training.config import PRESETS, TrainConfig
from training.dataset import LabelledImages, Splits
from training.export import ExportVerificationError, export_checkpoint
from training.loop import evaluate, load_model
from training.onnx_model import INPUT_NAME, OUTPUT_NAME, onnx_probabilities


@pytest.fixture
def trained(smoke_run):
    return smoke_run.run_dir / "best.pt"


@pytest.fixture
def splits(smoke_splits):
    """The smoke run's own validation split, with the test set cut to 2,000 images for speed."""
    test = LabelledImages(smoke_splits.test.images[:2000], smoke_splits.test.labels[:2000])
    return Splits(smoke_splits.train, smoke_splits.val, test)


def test_export_matches_pytorch_and_writes_metadata(trained, splits, tmp_path):
    metadata = export_checkpoint(trained, tmp_path, splits)
    onnx_path = tmp_path / "model.onnx"
    onnx.checker.check_model(str(onnx_path))
    model, _, _ = load_model(trained)
    reference = evaluate(model, splits.test)
    temperature = metadata["calibration"]["temperature"]
    expected = torch.softmax(reference.logits / temperature, dim=1).numpy()
    probs = onnx_probabilities(onnx_path, splits.test.images.numpy())
    assert np.abs(probs - expected).max() < 1e-4
    assert metadata["test_accuracy"] == reference.accuracy
    on_disk = json.loads((tmp_path / "model.json").read_text())
    assert on_disk == json.loads(json.dumps(metadata))
    assert on_disk["input"]["name"] == INPUT_NAME and on_disk["output"]["name"] == OUTPUT_NAME
    assert on_disk["normalisation"]["in_graph"] is True
    assert set(on_disk["training"]["config"]) >= {"seed", "epochs", "model"}


def test_calibration_lowers_validation_loss(trained, splits, tmp_path):
    calibration = export_checkpoint(trained, tmp_path, splits)["calibration"]
    assert calibration["temperature"] > 0 and calibration["temperature"] != 1.0
    assert calibration["nll_after"] < calibration["nll_before"]
    assert calibration["images"] == len(splits.val)


def test_batch_dimension_is_dynamic(trained, splits, tmp_path):
    export_checkpoint(trained, tmp_path, splits)
    images = splits.test.images.numpy()
    for batch in (1, 3, 256):
        probs = onnx_probabilities(tmp_path / "model.onnx", images[:batch])
        assert probs.shape == (batch, 10)
        np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)


def test_mismatch_fails_loudly_and_writes_nothing(trained, splits, tmp_path, monkeypatch):
    def skewed(path, images, threads=0):
        return onnx_probabilities(path, images) * 0.9 + 0.01

    monkeypatch.setattr(export_module, "onnx_probabilities", skewed)
    with pytest.raises(ExportVerificationError, match="differ"):
        export_checkpoint(trained, tmp_path, splits)
    assert list(tmp_path.iterdir()) == []


def test_the_committed_classifier_is_the_large_tune_preset_as_the_readme_says():
    metadata = json.loads((Path(__file__).resolve().parents[2] / "exported" / "model.json")
                          .read_text())
    assert TrainConfig.from_dict(metadata["training"]["config"]) == PRESETS["large-tune"]
    assert metadata["version"] == "1.0.0+large-tune.e2"
    # It started from 1.0.0+large.e20, the large preset's export (commit 63d072b's model.onnx).
    assert metadata["training"]["start_from_sha256"] == (
        "4062250f76d59556797146e1fd99e9788b7946d1969f9ef10643fab1ff4f92bb")
    assert dataclasses.replace(PRESETS["large-tune"], name="large", epochs=20, lr=4e-3,
                               warmup_fraction=0.2, start_from="") == PRESETS["large"]

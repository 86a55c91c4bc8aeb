"""training.onnx_start: a run can begin from an exported classifier, its BatchNorms unfolded."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from training.config import ModelConfig
from training.dataset import LabelledImages, Splits, normalise, to_unit_float
from training.export import export_checkpoint
from training.loop import build_model, evaluate, fit, load_model
from training.onnx_model import onnx_probabilities
from training.onnx_start import start_from_exported

from .conftest import SMOKE


@pytest.fixture(scope="module")
def exported(smoke_run, smoke_splits, tmp_path_factory):
    """The smoke run exported, and its temperature."""
    test = LabelledImages(smoke_splits.test.images[:1000], smoke_splits.test.labels[:1000])
    out = tmp_path_factory.mktemp("exported")
    metadata = export_checkpoint(smoke_run.run_dir / "best.pt", out,
                                 Splits(smoke_splits.train, smoke_splits.val, test))
    return out / "model.onnx", metadata["calibration"]["temperature"]


def test_the_started_model_answers_as_the_export_in_eval_and_in_training_mode(exported, smoke_splits):
    path, temperature = exported
    model = build_model(SMOKE)
    start_from_exported(model, path, smoke_splits.train, 1024)
    images = smoke_splits.test.images[:500]
    logits = evaluate(model, LabelledImages(images, smoke_splits.test.labels[:500])).logits
    expected = onnx_probabilities(path, images.numpy())
    assert np.abs(torch.softmax(logits / temperature, dim=1).numpy() - expected).max() < 1e-4
    # In training mode the BatchNorms normalise by the batch's own statistics; measured on the
    # training images, those are close to the ones the start gave them.
    model.train()
    with torch.no_grad():
        batch = smoke_splits.train.images[:512]
        in_training = model(normalise(to_unit_float(batch)).contiguous(
            memory_format=torch.channels_last)).argmax(dim=1)
    model.eval()
    in_eval = evaluate(model, LabelledImages(batch, smoke_splits.train.labels[:512])).predictions
    assert (in_training == in_eval).float().mean() > 0.97


def test_a_run_started_from_an_export_keeps_its_answers_at_a_tiny_rate(exported, smoke_splits,
                                                                     smoke_run, tmp_path):
    path, _ = exported
    config = dataclasses.replace(SMOKE, epochs=1, lr=1e-12, start_from=str(path))
    fit(config, smoke_splits, tmp_path)
    started, _, _ = load_model(tmp_path / "best.pt")
    original, _, _ = load_model(smoke_run.run_dir / "best.pt")
    test = LabelledImages(smoke_splits.test.images[:1000], smoke_splits.test.labels[:1000])
    agree = (evaluate(started, test).predictions == evaluate(original, test).predictions)
    assert agree.float().mean() > 0.98
    fresh = dataclasses.replace(config, start_from="")
    fit(fresh, smoke_splits, tmp_path / "fresh")
    random_start, _, _ = load_model(tmp_path / "fresh" / "best.pt")
    assert evaluate(random_start, test).accuracy < evaluate(started, test).accuracy


def test_a_model_of_another_shape_is_refused(exported, smoke_splits):
    path, _ = exported
    wider = dataclasses.replace(SMOKE, model=ModelConfig(widths=(16, 16, 32), hidden=32))
    with pytest.raises(ValueError, match="not an export of this model"):
        start_from_exported(build_model(wider), path, smoke_splits.train, 256)

"""The CNN's shapes, size and cost."""

import pytest
import torch

from training.config import ModelConfig, preset
from training.model import DigitNet, multiply_adds, parameter_count


@pytest.mark.parametrize("batch", [1, 7])
def test_logits_shape(batch):
    model = DigitNet(ModelConfig()).eval()
    assert model(torch.zeros(batch, 1, 28, 28)).shape == (batch, 10)


def test_default_model_is_small():
    config = preset("default").model
    assert 50_000 < parameter_count(DigitNet(config)) < 1_000_000
    assert 1_000_000 < multiply_adds(config) < 50_000_000


def test_multiply_adds_counts_the_first_conv():
    small, wide = ModelConfig(widths=(8, 16, 32)), ModelConfig(widths=(9, 16, 32))
    # One more first-stage channel adds 28*28*9*(1 + 8 + 9) MACs in stage one (and more later).
    assert multiply_adds(wide) - multiply_adds(small) > 28 * 28 * 9 * 18


def test_invalid_config_is_rejected():
    with pytest.raises(ValueError):
        ModelConfig(widths=(8, 0, 8))
    with pytest.raises(ValueError):
        ModelConfig(dropout=1.0)

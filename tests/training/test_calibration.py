"""Temperature scaling finds the temperature that generated the labels and keeps predictions."""

import torch

from training.calibration import expected_calibration_error, fit_temperature


def test_recovers_a_known_temperature():
    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(20000, 10, generator=generator) * 3
    # Labels drawn from softmax(logits / 0.5): the calibrated temperature is 0.5.
    labels = torch.multinomial(torch.softmax(logits / 0.5, dim=1), 1, generator=generator).squeeze(1)
    calibration = fit_temperature(logits, labels)
    assert abs(calibration.temperature - 0.5) < 0.05
    assert calibration.nll_after < calibration.nll_before
    assert calibration.ece_after < calibration.ece_before


def test_calibration_error_of_a_perfectly_confident_right_model_is_zero():
    probabilities = torch.eye(10)
    assert expected_calibration_error(probabilities, torch.arange(10)) == 0.0

"""The exported model served over gRPC predicts MNIST exactly like onnxruntime offline."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort

from serving.client import ClientConfig, DigitsClient, ResultStatus
from serving.model import DEFAULT_MODEL_PATH, ModelMetadata, decide
from serving.server import DigitsServer
from training.mnist import MnistArrays

COUNT = 2000  # first MNIST test images


def offline_probabilities(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(the model's probabilities, whether each is a digit by the model's threshold)."""
    meta = ModelMetadata.from_file(DEFAULT_MODEL_PATH.with_suffix(".json"))
    session = ort.InferenceSession(str(DEFAULT_MODEL_PATH), providers=["CPUExecutionProvider"])
    (probabilities,) = session.run([meta.output_name], {meta.input_name: images[:, None]})
    return probabilities, decide(probabilities, meta.not_digit_threshold)[1]


def test_served_predictions_equal_offline_onnxruntime(
        exported_server: tuple[DigitsServer, str], mnist: MnistArrays) -> None:
    images, labels = mnist.test_images[:COUNT], mnist.test_labels[:COUNT]
    offline, is_digit = offline_probabilities(images)  # [N, 10], or [N, 11] with "not a
    # digit" last
    digits_only = offline[:, :10] / offline[:, :10].sum(axis=1, keepdims=True)
    not_digit = offline[:, 10] if offline.shape[1] > 10 else np.zeros(len(offline))
    with DigitsClient(exported_server[1], ClientConfig(chunk_images=256)) as client:
        results = client.classify(list(images))
    # A few MNIST digits are scrawls that the model calls "not a digit": the same ones offline.
    assert [r.status for r in results] == [
        ResultStatus.DIGIT if digit else ResultStatus.NOT_A_DIGIT for digit in is_digit]
    assert is_digit.mean() > 0.99
    served = np.array([r.probabilities for r in results], np.float32)
    np.testing.assert_allclose(served, digits_only, atol=1e-5)
    np.testing.assert_allclose([r.not_digit_probability for r in results], not_digit, atol=1e-5)
    served_digits = np.array([-1 if r.digit is None else r.digit for r in results])
    assert (served_digits == np.where(is_digit, digits_only.argmax(axis=1), -1)).all()
    accuracy = float((served_digits == labels).mean())
    assert accuracy > 0.97, f"served accuracy {accuracy:.4f} on {COUNT} MNIST test images"

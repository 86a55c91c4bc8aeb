"""The exported form of the model: uint8 images in, probabilities out, normalisation in the graph."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from training.dataset import MNIST_MEAN, MNIST_STD, normalise, to_unit_float

INPUT_NAME = "image"  # uint8 [N, 1, 28, 28], MNIST convention (light ink on dark, 0 = background)
OUTPUT_NAME = "probabilities"  # float32 [N, 10], softmax over the digits 0..9
ONNX_OPSET = 18
ORT_BATCH = 1000  # images per onnxruntime run when scoring a data set


class ExportedDigitNet(nn.Module):
    """Wraps the trained network with the input contract of the served model.

    `temperature` divides the logits before the softmax (see training/calibration.py).
    """

    def __init__(self, net: nn.Module, temperature: float = 1.0) -> None:
        super().__init__()
        if temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        self.net = net
        self.temperature = temperature

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.net(normalise(to_unit_float(image))) / self.temperature, dim=1)


def export_onnx(net: nn.Module, path: Path, temperature: float = 1.0) -> None:
    """Write `net` (eval mode) as ONNX with a dynamic batch dimension."""
    wrapper = ExportedDigitNet(net, temperature).eval()
    example = torch.zeros(2, 1, 28, 28, dtype=torch.uint8)
    batch = torch.export.Dim("batch", min=1, max=65536)
    program = torch.onnx.export(
        wrapper,
        (example,),
        dynamo=True,
        input_names=[INPUT_NAME],
        output_names=[OUTPUT_NAME],
        dynamic_shapes={"image": {0: batch}},
        opset_version=ONNX_OPSET,
        optimize=True,
        verbose=False,
    )
    program.save(str(path))


def onnx_probabilities(path: Path, images: np.ndarray, threads: int = 0) -> np.ndarray:
    """Run the ONNX file with onnxruntime on uint8 images [N, 1, 28, 28]; float32 [N, 10]."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    outputs = [session.run([OUTPUT_NAME], {INPUT_NAME: images[i : i + ORT_BATCH]})[0]
               for i in range(0, len(images), ORT_BATCH)]
    return np.concatenate(outputs) if outputs else np.empty((0, 10), np.float32)


NORMALISATION = {"scale": 1 / 255, "mean": MNIST_MEAN, "std": MNIST_STD, "in_graph": True}

"""Start a run from an exported classifier's weights (fine-tuning), the ONNX file being all that
is kept of a model trained elsewhere.

The export folds each BatchNorm into the layer before it: the file holds W and a bias b where the
checkpoint held W, the BatchNorm's statistics (mu, var) and its scale and shift. Any statistics
give the same function when the scale is sqrt(var + eps) and the shift is b + mu; taking mu and
var from the training images themselves makes the BatchNorm's batch statistics, once training
starts, agree with them, so the first steps start from the exported model's answers.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from training.dataset import LabelledImages, normalise, to_unit_float

ONNX_PREFIX = "net."  # the export wraps DigitNet as `net`
FOLDED_BIAS = "_bias"  # the export names a folded BatchNorm's bias <layer weight name>_bias
STATISTICS_BATCH = 500  # images per forward pass while measuring the BatchNorm inputs


class StartError(ValueError):
    """The classifier to start from cannot be read, or is not an export of this model."""


def exported_weights(path: Path) -> dict[str, np.ndarray]:
    """The named weights of an exported classifier, prefix removed."""
    import onnx
    from google.protobuf.message import DecodeError
    from onnx import numpy_helper

    try:
        graph = onnx.load(str(path)).graph
    except (OSError, DecodeError) as err:
        raise StartError(f"cannot read the classifier to start from, {path}: {err}") from err
    return {init.name.removeprefix(ONNX_PREFIX): np.array(numpy_helper.to_array(init))  # writable
            for init in graph.initializer if init.name.startswith(ONNX_PREFIX)}


def _folded_pairs(model: nn.Module) -> list[tuple[str, nn.Module, _BatchNorm]]:
    """(name, layer, its BatchNorm) for every convolution or linear layer followed by one."""
    pairs = []
    for name, parent in model.named_modules():
        children = list(parent.named_children())
        for (layer_name, layer), (_, norm) in itertools.pairwise(children):
            if isinstance(layer, nn.Conv2d | nn.Linear) and isinstance(norm, _BatchNorm):
                pairs.append((f"{name}.{layer_name}" if name else layer_name, layer, norm))
    return pairs


@torch.no_grad()
def start_from_exported(model: nn.Module, path: Path, images: LabelledImages, count: int) -> None:
    """Give `model` (a DigitNet of the exported one's shape) the weights of the classifier at
    `path`, its BatchNorm statistics measured on `count` of `images` drawn at random (seeded)."""
    weights = exported_weights(path)
    pairs = _folded_pairs(model)
    biases = {}
    for name, layer, norm in pairs:
        for key in (f"{name}.weight", f"{name}.weight{FOLDED_BIAS}"):
            if key not in weights:
                raise StartError(f"{path} is not an export of this model: it has no {key}")
        layer.weight.copy_(_shaped(weights[f"{name}.weight"], layer.weight, path))
        biases[norm] = _shaped(weights[f"{name}.weight{FOLDED_BIAS}"], norm.bias, path).double()
        norm.reset_parameters()  # mean 0, variance 1, scale 1, shift 0
        norm.running_var.fill_(1 - norm.eps)  # so that eval divides by exactly 1
        norm.bias.copy_(biases[norm])
    folded = {id(layer) for _, layer, _ in pairs}
    for name, parameter in model.named_parameters():
        owner = model.get_submodule(name.rsplit(".", 1)[0])
        if id(owner) in folded or isinstance(owner, _BatchNorm):
            continue
        if name not in weights:
            raise StartError(f"{path} is not an export of this model: it has no {name}")
        parameter.copy_(_shaped(weights[name], parameter, path))
    mean, variance = _inputs_statistics(model, [norm for _, _, norm in pairs], images, count)
    for norm in mean:
        scale = torch.sqrt(variance[norm] + norm.eps)
        norm.running_mean.copy_(mean[norm])
        norm.running_var.copy_(variance[norm])
        norm.weight.copy_(scale)
        norm.bias.copy_(biases[norm] + mean[norm])


def _shaped(values: np.ndarray, parameter: torch.Tensor, path: Path) -> torch.Tensor:
    if tuple(values.shape) != tuple(parameter.shape):
        raise StartError(f"{path} is not an export of this model: a weight of shape "
                         f"{tuple(values.shape)} where the model has {tuple(parameter.shape)}")
    return torch.from_numpy(values)


def _inputs_statistics(model: nn.Module, norms: list[nn.Module], images: LabelledImages,
                       count: int) -> tuple[dict, dict]:
    """Per-channel mean and (biased) variance of each BatchNorm's input over `count` random images,
    with the model as exported (each BatchNorm passing its input through plus the bias)."""
    sums: dict[nn.Module, torch.Tensor] = {}  # per channel: count, sum, sum of squares

    def record(norm: nn.Module, inputs: tuple[torch.Tensor]) -> None:
        values = inputs[0].double().transpose(0, 1).reshape(inputs[0].shape[1], -1)  # channels first
        moments = torch.stack([torch.full((values.shape[0],), float(values.shape[1]),
                                          dtype=torch.float64),
                               values.sum(dim=1), (values * values).sum(dim=1)])
        sums[norm] = sums[norm] + moments if norm in sums else moments

    hooks = [norm.register_forward_pre_hook(record) for norm in norms]
    model.eval()
    chosen = torch.randperm(len(images), generator=torch.Generator().manual_seed(0))[:count]
    try:
        for start in range(0, len(chosen), STATISTICS_BATCH):
            batch = images.images[chosen[start: start + STATISTICS_BATCH]]
            model(normalise(to_unit_float(batch)).contiguous(memory_format=torch.channels_last))
    finally:
        for hook in hooks:
            hook.remove()
    mean = {norm: moments[1] / moments[0] for norm, moments in sums.items()}
    variance = {norm: (moments[2] / moments[0] - mean[norm] ** 2).clamp_min(0)
                for norm, moments in sums.items()}
    return ({norm: value.float() for norm, value in mean.items()},
            {norm: value.float() for norm, value in variance.items()})

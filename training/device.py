"""The torch device a training command runs on, named by its `--device` flag."""

from __future__ import annotations

import argparse

import torch


def add_device_argument(parser: argparse.ArgumentParser, what_stays_on_cpu: str) -> None:
    parser.add_argument("--device", default="cpu",
                        help=f"where to train: cpu (default) or cuda (a GPU; {what_stays_on_cpu} "
                             f"still made on the CPU)")


def training_device(name: str, parser: argparse.ArgumentParser) -> torch.device:
    """The torch device named on the command line; a usage error when there is no such device."""
    try:
        device = torch.device(name)
    except RuntimeError as err:
        parser.error(f"--device {name!r}: {err}")
    if device.type == "cuda" and not torch.cuda.is_available():
        parser.error(f"--device {name}: this machine has no CUDA GPU that torch can use")
    return device

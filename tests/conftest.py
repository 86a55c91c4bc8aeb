"""Shared fixtures: the MNIST folder beside the repository (or $MNIST_DIR) and its arrays."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from training.mnist import ENV_MNIST_DIR, MnistArrays, MnistSource, load_mnist

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    """The offline MNIST folder: $MNIST_DIR, else ../shared/data/mnist beside the repository."""
    folder = Path(os.environ.get(ENV_MNIST_DIR) or REPO_ROOT.parent / "shared" / "data" / "mnist")
    if not folder.is_dir():
        pytest.fail(f"MNIST folder {folder} not found: set ${ENV_MNIST_DIR}")
    return folder


@pytest.fixture(scope="session")
def mnist(mnist_dir: Path) -> MnistArrays:
    return load_mnist(MnistSource(local_dir=mnist_dir))


@pytest.fixture()
def unused_address() -> Iterator[str]:
    """A loopback HOST:PORT where connections are refused: bound by us, never listening."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"127.0.0.1:{sock.getsockname()[1]}"

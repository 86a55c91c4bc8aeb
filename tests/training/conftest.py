"""Training fixtures: one smoke-preset run per test session, shared by the tests that need one."""

import pytest

from training.config import preset
from training.dataset import Splits, split_mnist
from training.loop import FitResult, fit

SMOKE = preset("smoke")


@pytest.fixture(scope="session")
def smoke_splits(mnist) -> Splits:
    return split_mnist(mnist, SMOKE.val_size, SMOKE.seed, SMOKE.train_limit)


@pytest.fixture(scope="session")
def smoke_run(smoke_splits, tmp_path_factory) -> FitResult:
    """An uninterrupted smoke run (its run_dir holds best.pt, last.pt, history.json)."""
    return fit(SMOKE, smoke_splits, tmp_path_factory.mktemp("smoke-run"))

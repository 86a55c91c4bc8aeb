"""fit(): it learns, it is reproducible, and an interrupted run resumes exactly."""

import dataclasses
import threading

import pytest
import torch

from training.checkpoint import load_checkpoint
from training.config import preset
from training.loop import evaluate, fit, load_model, lr_at

SMOKE = preset("smoke")


@pytest.fixture
def splits(smoke_splits):
    return smoke_splits


def without_time(history):
    return [{k: v for k, v in record.items() if k != "seconds"} for record in history]


def assert_same_weights(path_a, path_b):
    a, b = load_checkpoint(path_a), load_checkpoint(path_b)
    assert a["model"].keys() == b["model"].keys()
    for name in a["model"]:
        assert torch.equal(a["model"][name], b["model"][name]), name


@pytest.fixture
def reference(smoke_run):
    return smoke_run


def test_short_run_clearly_learns(reference, splits):
    assert not reference.interrupted
    model, _, _ = load_model(reference.run_dir / "best.pt")
    assert evaluate(model, splits.val).accuracy > 0.85  # chance is 0.10
    assert len(reference.state.history) == SMOKE.epochs
    assert (reference.run_dir / "history.json").exists()
    assert (reference.run_dir / "last.pt").exists()


def test_same_seed_gives_the_same_history(tmp_path, splits, reference):
    again = fit(SMOKE, splits, tmp_path)
    assert without_time(again.state.history) == without_time(reference.state.history)
    assert_same_weights(reference.run_dir / "last.pt", tmp_path / "last.pt")


@pytest.mark.parametrize("stop_at", [(0, 5), (1, 1)])
def test_interrupted_then_resumed_run_equals_an_uninterrupted_one(tmp_path, splits, stop_at,
                                                                  reference):
    stop = threading.Event()

    def request_stop(report):
        if (report.epoch, report.step) == stop_at:
            stop.set()

    part = fit(SMOKE, splits, tmp_path / "cut", stop=stop, on_step=request_stop)
    assert part.interrupted
    assert (part.state.epoch, part.state.step) == stop_at
    resumed = fit(SMOKE, splits, tmp_path / "cut", resume=True)
    assert not resumed.interrupted
    assert without_time(resumed.state.history) == without_time(reference.state.history)
    assert_same_weights(reference.run_dir / "last.pt", tmp_path / "cut" / "last.pt")
    assert_same_weights(reference.run_dir / "best.pt", tmp_path / "cut" / "best.pt")


def test_different_seed_changes_the_run(tmp_path, splits, reference):
    other = fit(dataclasses.replace(SMOKE, seed=1), splits, tmp_path)
    assert without_time(other.state.history) != without_time(reference.state.history)


def test_learning_rate_schedule_warms_up_then_decays():
    config = dataclasses.replace(SMOKE, lr=1.0, warmup_fraction=0.2)
    rates = [lr_at(step, 100, config) for step in range(100)]
    assert rates[0] < rates[10] < rates[19] == pytest.approx(1.0)
    assert rates[19] > rates[60] > rates[99] >= 0

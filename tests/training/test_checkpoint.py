"""Checkpoint files: atomic under a crash mid-write, and loading never runs pickled code."""

import pickle

import pytest
import torch

from training.checkpoint import CHECKPOINT_FORMAT, CheckpointError, load_checkpoint, save_atomic


def test_round_trip(tmp_path):
    save_atomic({"x": torch.arange(3), "meta": {"epoch": 2, "history": [{"a": 0.5}]}}, tmp_path / "c.pt")
    loaded = load_checkpoint(tmp_path / "c.pt")
    assert loaded["x"].tolist() == [0, 1, 2] and loaded["meta"]["history"][0]["a"] == 0.5


def test_crash_mid_write_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "best.pt"
    save_atomic({"x": torch.ones(3)}, path)

    def crash_after_partial_write(obj, handle, *args, **kwargs):
        handle.write(b"half a checkpoint")
        raise OSError("simulated crash: disk full")

    monkeypatch.setattr(torch, "save", crash_after_partial_write)
    with pytest.raises(OSError, match="simulated crash"):
        save_atomic({"x": torch.zeros(3)}, path)
    assert load_checkpoint(path)["x"].tolist() == [1.0, 1.0, 1.0]
    assert [p.name for p in tmp_path.iterdir()] == ["best.pt"]  # the temp file is gone too


class Evil:
    def __reduce__(self):
        return (print, ("pickled code ran",))


def test_loading_refuses_pickled_objects(tmp_path, capsys):
    path = tmp_path / "evil.pt"
    with open(path, "wb") as handle:
        torch.save({"format": CHECKPOINT_FORMAT, "payload": Evil()}, handle, pickle_module=pickle)
    with pytest.raises(CheckpointError):
        load_checkpoint(path)
    assert "pickled code ran" not in capsys.readouterr().out


def test_missing_and_foreign_files_are_reported(tmp_path):
    with pytest.raises(CheckpointError, match="no checkpoint"):
        load_checkpoint(tmp_path / "nope.pt")
    torch.save({"weights": torch.zeros(1)}, tmp_path / "foreign.pt")
    with pytest.raises(CheckpointError, match="not a"):
        load_checkpoint(tmp_path / "foreign.pt")

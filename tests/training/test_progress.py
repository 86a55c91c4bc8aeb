"""The epoch progress bar: one line per epoch in logs, live redraws on a terminal."""

import io

from training.loop import StepReport
from training.progress import EpochProgress


class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


def reports(steps):
    return [StepReport(epoch=0, step=s, steps_per_epoch=steps, loss=1.0 / s, accuracy=0.5, lr=1e-3)
            for s in range(1, steps + 1)]


def test_logs_get_one_line_per_epoch_with_loss_and_accuracy():
    stream = io.StringIO()
    progress = EpochProgress(epochs=3, stream=stream)
    for report in reports(50):
        progress.on_step(report)
    progress.on_epoch({"val_loss": 0.1, "val_accuracy": 0.99, "seconds": 2.0})
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("epoch 1/3 [" + "#" * 30 + "] 50/50 loss 0.0200 acc 50.00%")
    assert "validation loss 0.1000 accuracy 99.00%" in lines[1]


def test_terminal_gets_carriage_return_redraws():
    stream = FakeTerminal()
    progress = EpochProgress(epochs=1, stream=stream)
    for report in reports(5):
        progress.on_step(report)
    text = stream.getvalue()
    assert text.startswith("\repoch 1/1") and "5/5" in text and "\n" not in text

"""The preprocessing the service spends on one image file, timed: prepare_encoded, and for an
image whose main reading is open to its other readings (no digit, or an unsure one), rendering
those, as serving.engine's second round does. The model runs that decide it are not timed."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from serving.decode import DEFAULT_LIMITS
from serving.model import OnnxModel, RuntimeConfig
from serving.predictions import Scores, open_to_alternatives, prediction_from
from serving.preprocess import PreparedImage, PreprocessConfig, prepare_encoded


class MainReader:
    """Whether the exported model's reading of a prepared image's main pixels is open to its
    other readings, through the serving side's own onnxruntime runner (one thread)."""

    def __init__(self, model: OnnxModel) -> None:
        self.model = model
        self.threshold = model.metadata.not_digit_threshold

    @classmethod
    def load(cls, onnx_path: Path) -> MainReader:
        return cls(OnnxModel.load(onnx_path, RuntimeConfig(intra_op_threads=1)))

    def opens(self, prepared: PreparedImage) -> bool:
        if prepared.pixels is None:
            return False
        row = self.model.predict(prepared.pixels[None])[0]
        return open_to_alternatives(prediction_from(Scores(row, 1), self.threshold))


def served_preparation(data: bytes, config: PreprocessConfig, reader: MainReader | None,
                       clock: Callable[[], float] = time.thread_time,
                       ) -> tuple[PreparedImage, float]:
    """(the prepared image, ms of `clock` it took, with its other readings' rendering when the
    reader's model opens it to them; without a reader, prepare_encoded alone)."""
    start = clock()
    prepared = prepare_encoded(data, DEFAULT_LIMITS, config)
    spent = clock() - start
    if reader is not None and prepared.others is not None and reader.opens(prepared):
        start = clock()
        prepared.alternatives()
        spent += clock() - start
    return prepared, spent * 1000

"""The preprocessing the service spends on one image file, timed: prepare_encoded (decoding the
file, then the pipeline after it), and for an image whose main reading is open to its other
readings (no digit, or an unsure one), rendering those that may answer, as serving.engine's second
round does. The model runs that decide it are not timed."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from serving.decode import DEFAULT_LIMITS, decode_gray
from serving.model import OnnxModel, RuntimeConfig
from serving.predictions import Prediction, Scores, prediction_from, rendered_alternatives
from serving.preprocess import PreparedImage, PreprocessConfig, prepare_decoded_file


class MainReader:
    """The exported model's reading of a prepared image's main pixels, through the serving side's
    own onnxruntime runner (one thread)."""

    def __init__(self, model: OnnxModel) -> None:
        self.model = model
        self.threshold = model.metadata.not_digit_threshold

    @classmethod
    def load(cls, onnx_path: Path) -> MainReader:
        return cls(OnnxModel.load(onnx_path, RuntimeConfig(intra_op_threads=1)))

    def main(self, prepared: PreparedImage) -> Prediction | None:
        """The main reading; None for a blank image."""
        if prepared.pixels is None:
            return None
        row = self.model.predict(prepared.pixels[None])[0]
        return prediction_from(Scores(row, 1), self.threshold)


@dataclass(frozen=True)
class Spent:
    """Time one image's preprocessing took, ms of the clock served_preparation was given."""

    total_ms: float  # decoding, the pipeline after it, and the other readings that may answer
    decode_ms: float  # of it, decoding the file (serving.decode.decode_gray); decoding it again
    # (a small digit looked at finer, a colour image without ink in its grey) is in the rest


def served_preparation(data: bytes, config: PreprocessConfig, reader: MainReader | None,
                       clock: Callable[[], float] = time.thread_time,
                       ) -> tuple[PreparedImage, Spent]:
    """(the prepared image, the time it took: prepare_encoded, timed as its two steps, and the
    rendering of the other readings that may answer instead of the reader's main reading;
    without a reader, prepare_encoded alone)."""
    start = clock()
    decoded = decode_gray(data, DEFAULT_LIMITS, config.work_side)
    decoding = clock() - start
    prepared = prepare_decoded_file(data, decoded, DEFAULT_LIMITS, config)
    spent = clock() - start
    main = None if reader is None or prepared.others is None else reader.main(prepared)
    if main is not None:
        start = clock()
        rendered_alternatives(prepared.others, main)
        spent += clock() - start
    return prepared, Spent(spent * 1000, decoding * 1000)

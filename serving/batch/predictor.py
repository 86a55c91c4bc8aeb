"""The one predictor of every batch engine: work rows in, output rows out, as the service decides."""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.fs as pafs

from serving.batch.config import PredictorConfig
from serving.batch.rows import rows_table
from serving.batch.work import load_images
from serving.errors import DigitsError, ModelLoadError
from serving.model import ModelMetadata, OnnxModel, metadata_path_for
from serving.neighbour_reading import read_crossings
from serving.number_reader import READER_METADATA_FILE, NumberReaderModel, ReaderMetadata
from serving.predictions import (
    Prediction,
    Scores,
    Status,
    best_reading,
    prediction_from,
    rendered_alternatives,
    scores_of,
)
from serving.preprocess import PreparedImage, prepare_encoded

log = logging.getLogger(__name__)

INTERNAL_IMAGE_ERROR = "internal error while preparing this image"  # its traceback is logged


@dataclass(frozen=True)
class ModelFiles:
    """The exported model's files as bytes: what a Ray actor on any node is built from."""

    metadata_name: str  # the metadata JSON's file name, a key of contents
    contents: dict[str, bytes]  # file name → bytes: the JSONs and the ONNX graphs they name
    reader: bool = False  # the number reader exported beside the model is among contents

    @classmethod
    def read(cls, model_path: Path) -> ModelFiles:
        """The files of a model given as its .onnx, its .json or its folder, and of the number
        reader beside it when there is one (ModelLoadError)."""
        meta_path = metadata_path_for(Path(model_path))
        names = [meta_path.name, ModelMetadata.from_file(meta_path).onnx_file]
        reader_path = meta_path.parent / READER_METADATA_FILE
        if reader_path.is_file():
            names += [reader_path.name, ReaderMetadata.from_file(reader_path).onnx_file]
        try:
            contents = {name: (meta_path.parent / name).read_bytes() for name in names}
        except OSError as err:
            raise ModelLoadError(f"cannot read the model: {err}; run `make export` or pass "
                                 f"--model") from err
        return cls(meta_path.name, contents, reader_path.is_file())


class BatchPredictor:
    """The service's preprocessing (serving.preprocess), one onnxruntime run per batch and the
    service's decision (serving.predictions.prediction_from); a bad image becomes an error row."""

    def __init__(self, model: OnnxModel, config: PredictorConfig,
                 filesystems: Sequence[pafs.FileSystem] = (),
                 reader: NumberReaderModel | None = None) -> None:
        self.model = model
        self.reader = reader  # reads the digits among neighbours' fragments (as the service)
        self.config = config
        self.threshold = model.metadata.not_digit_threshold
        self._filesystems = tuple(filesystems)

    @classmethod
    def load(cls, config: PredictorConfig,
             filesystems: Sequence[pafs.FileSystem] = ()) -> BatchPredictor:
        """Load the exported model (ModelLoadError if it is missing or inconsistent);
        `filesystems` are those the work rows' `source` column points into."""
        return cls(OnnxModel.load(config.model_path, config.runtime), config, filesystems,
                   NumberReaderModel.beside(config.model_path, config.runtime))

    @classmethod
    def from_files(cls, files: ModelFiles, config: PredictorConfig,
                   filesystems: Sequence[pafs.FileSystem] = ()) -> BatchPredictor:
        """As `load`, from the model's files in memory (sent to another machine)."""
        with tempfile.TemporaryDirectory(prefix="digits-model-") as folder:
            for name, content in files.contents.items():
                (Path(folder) / name).write_bytes(content)
            model_path = Path(folder) / files.metadata_name
            model = OnnxModel.load(model_path, config.runtime)
            reader = (NumberReaderModel.beside(model_path, config.runtime) if files.reader
                      else None)
        return cls(model, config, filesystems, reader)

    def __call__(self, work: pa.Table) -> pa.Table:
        """Output rows (serving.batch.rows.OUTPUT_SCHEMA) for work rows (work.WORK_SCHEMA)."""
        loaded = load_images(work, self._filesystems)
        return self.predict(loaded.paths, loaded.data, loaded.errors)

    def predict(self, paths: Sequence[str], data: Sequence[bytes | None],
                errors: Sequence[str | None] | None = None) -> pa.Table:
        """Output rows for encoded image files; `data[i]` None means no image, for the reason
        `errors[i]`."""
        errors = errors if errors is not None else [None] * len(data)
        answers: list[Prediction | PreparedImage] = [
            Prediction(Status.ERROR, error=error or "no image") if image is None
            else self._prepare(path, image)
            for path, image, error in zip(paths, data, errors, strict=True)]
        answers = [answer if crossing_answer is None else crossing_answer
                   for answer, crossing_answer
                   in zip(answers, read_crossings(self.reader, answers), strict=True)]
        prepared = [answer for answer in answers if isinstance(answer, PreparedImage)]
        if prepared:
            decided = iter(self._decide(prepared))
            answers = [next(decided) if isinstance(answer, PreparedImage) else answer
                       for answer in answers]
        return rows_table(paths, answers)  # type: ignore[arg-type]  # every PreparedImage replaced

    def _decide(self, prepared: Sequence[PreparedImage]) -> list[Prediction]:
        """The service's answers for prepared images, in two model runs as the engine's rounds:
        the main readings, then the other readings of those open to them
        (serving.predictions.best_reading)."""
        rows = self.model.predict(np.stack([image.pixels for image in prepared]))
        mains = [prediction_from(Scores(row, len(rows)), self.threshold, image.ink_box)
                 for image, row in zip(prepared, rows, strict=True)]
        others = [rendered_alternatives(image.others, main)
                  for image, main in zip(prepared, mains, strict=True)]
        pixels = [alternative.pixels for readings in others for alternative in readings]
        scores = iter(scores_of(self.model.predict(np.stack(pixels))) if pixels else ())
        return [best_reading(main, [(prediction_from(next(scores), reading.threshold(
                    self.threshold), reading.ink_box), reading) for reading in readings])
                for main, readings in zip(mains, others, strict=True)]

    def _prepare(self, path: str, image: bytes) -> PreparedImage | Prediction:
        try:
            prepared = prepare_encoded(image, self.config.image_limits, self.config.preprocess)
        except DigitsError as err:
            return Prediction(Status.ERROR, error=str(err))
        except Exception:  # a bug, not a bad image: logged, and this image alone fails
            log.exception("preparing %s failed", path)
            return Prediction(Status.ERROR, error=INTERNAL_IMAGE_ERROR)
        return Prediction(Status.BLANK) if prepared.blank else prepared

"""The batch predictor: the service's preprocessing, model and decision; bad images as rows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs

from serving.batch.config import InputColumns, PredictorConfig
from serving.batch.predictor import BatchPredictor
from serving.batch.rows import OUTPUT_SCHEMA
from serving.batch.work import files_table, load_images, parquet_to_work
from serving.engine import DigitEngine, EngineConfig, ImageInput, Prediction, Status
from serving.model import DEFAULT_MODEL_PATH, RuntimeConfig
from tests.serving.batch.conftest import BAD_FILES, DIGITS
from training.mnist import MnistArrays


def test_reads_mnist_digits_as_the_exported_model_does(reference: pa.Table,
                                                       mnist: MnistArrays) -> None:
    rows = reference.filter(pc.match_substring(reference["path"], "/digits/"))
    assert rows.num_rows == DIGITS and rows.schema == OUTPUT_SCHEMA
    labels = mnist.test_labels[:DIGITS]
    correct = np.array([d == label for d, label in zip(rows["digit"].to_pylist(), labels,
                                                       strict=True)])
    assert correct.mean() >= 0.97


def test_bad_images_become_error_rows_and_blank_pages_blank(reference: pa.Table,
                                                            image_dir: Path) -> None:
    rows = {Path(r["path"]).relative_to(image_dir).as_posix(): r for r in reference.to_pylist()}
    for name, status in BAD_FILES.items():
        row = rows[name]
        assert row["status"] == status, name
        assert row["digit"] is None and row["probabilities"] is None
        assert (row["error"] is not None) == (status == "error"), name
    assert "limit is 1000000" in rows["bad/too_large.png"]["error"]
    assert "empty" in rows["bad/empty.png"]["error"]


def service_answers(data: list[bytes], config: PredictorConfig) -> list[Prediction]:
    """What the service's engine answers for these image files, with the predictor's settings."""
    engine = DigitEngine.load(DEFAULT_MODEL_PATH, EngineConfig(
        runtime=RuntimeConfig(intra_op_threads=1), image_limits=config.image_limits))
    try:
        return engine.classify([ImageInput(d, encoded=True) for d in data], timeout_s=60)
    finally:
        engine.close()


def test_rows_equal_the_service_engine_on_the_same_images(image_dir: Path,
                                                          predictor_config: PredictorConfig) -> None:
    files = sorted((image_dir / "digits").glob("*.png"))[:64] + sorted((image_dir / "bad").glob("*"))
    data = [f.read_bytes() for f in files]
    rows = BatchPredictor.load(predictor_config).predict([str(f) for f in files], data)
    predictions = service_answers(data, predictor_config)
    for row, prediction in zip(rows.to_pylist(), predictions, strict=True):
        assert row["status"] == prediction.status.value
        assert row["digit"] == prediction.digit
        if prediction.status in (Status.DIGIT, Status.NOT_A_DIGIT):
            # The same onnxruntime numbers, stored as float32 like the service's proto floats.
            assert np.array_equal(np.float32(row["probabilities"]),
                                  np.float32(prediction.probabilities))
            assert np.float32(row["not_digit_probability"]) == np.float32(
                prediction.not_digit_probability)
        if prediction.status is Status.ERROR:
            assert row["error"] == prediction.error


def test_batch_composition_does_not_change_a_row(image_dir: Path,
                                                 predictor_config: PredictorConfig) -> None:
    files = sorted((image_dir / "digits").glob("*.png"))[:40]
    paths, data = [str(f) for f in files], [f.read_bytes() for f in files]
    predictor = BatchPredictor.load(predictor_config)
    whole = predictor.predict(paths, data)
    pieces = pa.concat_tables([predictor.predict(paths[i:i + 7], data[i:i + 7])
                               for i in range(0, len(paths), 7)])
    assert whole.equals(pieces)


def test_an_unreadable_file_and_a_row_without_bytes_are_error_rows(tmp_path: Path) -> None:
    work = files_table(["gone.png"], [str(tmp_path / "gone.png")], 0)
    loaded = load_images(work, [pafs.LocalFileSystem()])
    assert loaded.data == [None] and "cannot read the file" in loaded.errors[0]
    packed = pa.table({"path": ["a.png", "b.png"], "image": [None, b"x"],
                       "error": ["cannot read the file: gone", None]})
    loaded = load_images(parquet_to_work(packed, InputColumns()), [])
    assert loaded.errors == ["cannot read the file: gone", None]
    assert loaded.data == [None, b"x"]
    no_bytes = parquet_to_work(pa.table({"path": ["c.png"], "image": pa.nulls(1, pa.binary())}),
                               InputColumns())
    assert "no image bytes" in load_images(no_bytes, []).errors[0]


def test_a_crop_with_a_touching_neighbour_reads_as_the_service_reads_it(
        mnist: MnistArrays, predictor_config: PredictorConfig) -> None:
    # Tuning-split crops where only an alternative reading (the middle piece) is a digit.
    from benchmarks.scenes import SPLITS, generate_scenes

    crops = list(generate_scenes(mnist.train_images, mnist.train_labels, (37, 53, 98),
                                 ["neighbour_fragments"], SPLITS["tune"].seed, mnist.train_images))
    data = [crop.scene.data for crop in crops]
    rows = BatchPredictor.load(predictor_config).predict([f"crop{i}" for i in range(3)], data)
    predictions = service_answers(data, predictor_config)
    assert rows["digit"].to_pylist() == [p.digit for p in predictions] == [c.label for c in crops]
    assert [tuple(b.values()) for b in rows["box"].to_pylist()] == [p.box for p in predictions]

"""A digit cropped from a number, its neighbours' fragments running into both side edges, is read
by the number reader (serving.neighbour_reading) in every Classify path: tuning-split crops (MNIST
training digits) that the classifier alone misread."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from io import BytesIO

import numpy as np
import pytest
from PIL import Image

import serving.neighbour_reading
from benchmarks.scenes import SPLITS, generate_scenes
from serving.batch.config import PredictorConfig
from serving.batch.predictor import BatchPredictor, ModelFiles
from serving.engine import DigitEngine, EngineConfig, ImageInput, Prediction, Status
from serving.model import DEFAULT_MODEL_PATH
from serving.neighbour_reading import MIN_CONFIDENCE
from serving.preprocess import PreprocessConfig, prepare_encoded
from tests.engine_paths import async_and_streamed

MISREAD_ALONE = (60, 72, 179, 209, 224, 270)  # neighbour_fragments, tuning split: the classifier
# alone answers "not a digit" or another digit (chosen with 1.0.0+large.e20; so does
# 1.0.0+large-tune.e2)


@pytest.fixture(scope="module")
def crops(mnist) -> list:
    return list(generate_scenes(mnist.train_images, mnist.train_labels, MISREAD_ALONE,
                                ["neighbour_fragments"], SPLITS["tune"].seed, mnist.train_images))


@pytest.fixture(scope="module")
def inputs(crops) -> list[ImageInput]:
    return [ImageInput(crop.scene.data, encoded=True) for crop in crops]


@pytest.fixture(scope="module")
def engine() -> Iterator[DigitEngine]:
    engine = DigitEngine.load(DEFAULT_MODEL_PATH)
    assert engine.reader is not None  # the committed reader is exported beside the model
    yield engine
    engine.close()


@pytest.fixture(scope="module")
def alone(inputs) -> list[Prediction]:
    """The classifier's answers, without crossing lines."""
    config = EngineConfig(preprocess=PreprocessConfig(crossing=None))
    engine = DigitEngine.load(DEFAULT_MODEL_PATH, config)
    try:
        return engine.classify(inputs, timeout_s=60)
    finally:
        engine.close()


def test_the_reader_reads_the_digit_between_its_neighbours_fragments(crops, inputs, engine,
                                                                      alone):
    assert all(p.digit != crop.label for p, crop in zip(alone, crops, strict=True))
    answers = engine.classify(inputs, timeout_s=60)
    assert [(p.status, p.digit) for p in answers] == [(Status.DIGIT, c.label) for c in crops]
    for answer, crop in zip(answers, crops, strict=True):
        assert answer.confidence >= MIN_CONFIDENCE
        assert len(answer.probabilities) == 10 and np.argmax(answer.probabilities) == crop.label
        assert 0 <= answer.not_digit_probability < 0.5
        left, _, right, _ = answer.box
        digit_left, _, digit_right, _ = crop.scene.box  # where the digit was written
        assert left < (digit_left + digit_right) / 2 < right  # not a neighbour's


def test_the_async_and_streaming_paths_read_them_too(crops, inputs, engine):
    for answers in async_and_streamed(engine, inputs, batch=4):
        assert [p.digit for p in answers] == [c.label for c in crops]


def test_the_batch_predictor_reads_them_as_the_service_does(crops, inputs, engine):
    answers = engine.classify(inputs, timeout_s=60)
    data = [crop.scene.data for crop in crops]
    names = [f"crop{i}" for i in range(len(crops))]
    files = ModelFiles.read(DEFAULT_MODEL_PATH)
    assert files.reader and "number_reader.json" in files.contents  # what Ray actors get
    for predictor in (BatchPredictor.load(PredictorConfig()),
                      BatchPredictor.from_files(files, PredictorConfig())):
        rows = predictor.predict(names, data)
        assert rows["digit"].to_pylist() == [p.digit for p in answers]
        assert [tuple(b.values()) for b in rows["box"].to_pylist()] == [p.box for p in answers]


def png(pixels: np.ndarray) -> bytes:
    buffer = BytesIO()
    Image.fromarray(pixels.astype(np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_only_strokes_running_into_both_side_edges_give_a_crossing_line(crops, mnist):
    assert all(prepare_encoded(crop.scene.data).crossing is not None for crop in crops)
    digit = np.kron(255 - mnist.test_images[0], np.ones((4, 4), np.uint8))  # dark on paper
    assert prepare_encoded(png(digit)).crossing is None  # a digit with paper around it
    for crop in crops:  # paper added on the right: the strokes run into the left edge alone
        gray = np.asarray(Image.open(BytesIO(crop.scene.data)).convert("L"))
        paper = np.full((gray.shape[0], gray.shape[1] // 2), np.median(gray))
        assert prepare_encoded(png(np.hstack([gray, paper]))).crossing is None


def test_an_unsure_reader_leaves_the_classifier_to_answer(inputs, engine, alone, monkeypatch):
    monkeypatch.setattr(serving.neighbour_reading, "MIN_CONFIDENCE", 1.01)
    answers = engine.classify(inputs, timeout_s=60)
    assert [(p.status, p.digit, p.box) for p in answers] == [(p.status, p.digit, p.box)
                                                             for p in alone]


def test_a_failing_reader_leaves_the_classifier_to_answer(inputs, alone):
    class Broken:
        metadata = None

        def probabilities(self, lines):
            raise RuntimeError("onnxruntime failed")

    engine = DigitEngine.load(DEFAULT_MODEL_PATH)
    broken = DigitEngine(engine.model, engine.config, Broken())  # type: ignore[arg-type]
    try:
        answers = broken.classify(inputs, timeout_s=60)
    finally:
        broken.close()
        engine.close()
    assert [(p.status, p.digit) for p in answers] == [(p.status, p.digit) for p in alone]


def test_without_the_reader_the_classifier_answers(inputs, alone):
    engine = DigitEngine.load(DEFAULT_MODEL_PATH, dataclasses.replace(EngineConfig(),
                                                                      number_reader=False))
    try:
        answers = engine.classify(inputs, timeout_s=60)
    finally:
        engine.close()
    assert [(p.status, p.digit) for p in answers] == [(p.status, p.digit) for p in alone]

"""A digit touching a neighbour in a crop from a written number: when the whole is no digit, the
engine reads the middle piece (PreparedImage.alternatives). Tuning-split crops (MNIST training
digits) that the engine answered "not a digit" before the alternatives existed. The number reader
now answers most such crops first (tests/test_crossing_reading.py): these engines go without it,
to test the pieces."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import numpy as np
import pytest

import serving.predictions
from benchmarks.scenes import SPLITS, generate_scenes
from serving.engine import DigitEngine, EngineConfig, ImageInput, Prediction, Status
from serving.model import DEFAULT_MODEL_PATH
from serving.predictions import SURE_REPLACEMENT, UNSURE_DIGIT, best_reading
from serving.preprocess import Alternative, PreprocessConfig, Reading
from serving.segment import SegmentConfig
from tests.engine_paths import async_and_streamed

# The crops are chosen for the committed classifier (1.0.0+large-tune.e2): the cases below are
# those of tuning crops 0–599 that need the pieces.
TOUCHING_BEFORE = (37, 64, 90, 111, 128, 152, 173, 175, 235, 294, 302, 370, 506, 558, 574)
# neighbour_fragments, tuning split
UNSURE_WHOLE = (193, 408, 491)  # ... whose whole (digit and fragment) is an unsure other digit
NARROW_PAIRS = (128, 574)  # ... whose strokes with the neighbour's are narrower than 0.9 × their
# height (a 1 and a 3)


@pytest.fixture(scope="module")
def crops(mnist) -> list:
    return list(generate_scenes(mnist.train_images, mnist.train_labels, TOUCHING_BEFORE,
                                ["neighbour_fragments"], SPLITS["tune"].seed, mnist.train_images))


def engine_with(preprocess: PreprocessConfig) -> Iterator[DigitEngine]:
    without_reader = dataclasses.replace(preprocess, crossing=None)
    engine = DigitEngine.load(DEFAULT_MODEL_PATH, EngineConfig(preprocess=without_reader))
    yield engine
    engine.close()


@pytest.fixture(scope="module")
def engine() -> Iterator[DigitEngine]:
    yield from engine_with(PreprocessConfig())


@pytest.fixture(scope="module")
def engine_without_pieces() -> Iterator[DigitEngine]:
    yield from engine_with(dataclasses.replace(PreprocessConfig(), pieces=None))


def test_the_middle_piece_of_a_crop_with_a_touching_neighbour_is_read(crops, engine,
                                                                       engine_without_pieces):
    inputs = [ImageInput(crop.scene.data, encoded=True) for crop in crops]
    whole = engine_without_pieces.classify(inputs, timeout_s=60)
    assert [p.status for p in whole] == [Status.NOT_A_DIGIT] * len(crops)
    answers = engine.classify(inputs, timeout_s=60)
    assert [(p.status, p.digit) for p in answers] == [(Status.DIGIT, c.label) for c in crops]
    for before, after in zip(whole, answers, strict=True):
        assert after.box[2] - after.box[0] < before.box[2] - before.box[0]  # a narrower piece


def test_a_narrow_digit_touching_a_neighbour_is_cut_out_too(mnist, engine):
    crops = list(generate_scenes(mnist.train_images, mnist.train_labels, NARROW_PAIRS,
                                 ["neighbour_fragments"], SPLITS["tune"].seed, mnist.train_images))
    inputs = [ImageInput(crop.scene.data, encoded=True) for crop in crops]
    wide_only = PreprocessConfig(pieces=SegmentConfig(central_split_aspect=0.9))
    for old_engine in engine_with(wide_only):  # the engine is closed after the loop
        before = old_engine.classify(inputs, timeout_s=60)
    assert [p.status for p in before] == [Status.NOT_A_DIGIT] * len(crops)
    answers = engine.classify(inputs, timeout_s=60)
    assert [(p.status, p.digit) for p in answers] == [(Status.DIGIT, c.label) for c in crops]


def test_the_async_and_streaming_paths_read_the_middle_piece_too(crops, engine):
    inputs = [ImageInput(crop.scene.data, encoded=True) for crop in crops]
    for answers in async_and_streamed(engine, inputs):
        assert [p.digit for p in answers] == [c.label for c in crops]


def test_a_sure_piece_replaces_an_unsure_whole(mnist, engine, monkeypatch):
    crops = list(generate_scenes(mnist.train_images, mnist.train_labels, UNSURE_WHOLE,
                                 ["neighbour_fragments"], SPLITS["tune"].seed, mnist.train_images))
    inputs = [ImageInput(crop.scene.data, encoded=True) for crop in crops]
    answers = engine.classify(inputs, timeout_s=60)
    assert [(p.status, p.digit) for p in answers] == [(Status.DIGIT, c.label) for c in crops]
    with monkeypatch.context() as patch:
        patch.setattr(serving.predictions, "UNSURE_DIGIT", 0.0)  # pieces only for non-digits
        wholes = engine.classify(inputs, timeout_s=60)
    for whole, answer, crop in zip(wholes, answers, crops, strict=True):
        assert whole.status is Status.DIGIT and whole.digit != crop.label
        assert whole.confidence < UNSURE_DIGIT <= SURE_REPLACEMENT <= answer.confidence
        assert answer.box[2] - answer.box[0] < whole.box[2] - whole.box[0]  # a narrower piece


def test_only_a_sure_piece_of_another_digit_replaces_only_an_unsure_digit():
    def digit(value: int, confidence: float) -> Prediction:
        return Prediction(Status.DIGIT, digit=value, confidence=confidence)

    pixels = np.zeros((28, 28), np.uint8)
    piece = Alternative(pixels, (0, 0, 5, 5), Reading.PIECE)
    guess = Alternative(pixels, (0, 0, 5, 5), Reading.DARK, max_not_digit=0.5)
    unsure, sure = digit(5, UNSURE_DIGIT - 0.1), digit(5, UNSURE_DIGIT)
    seven = digit(7, SURE_REPLACEMENT)
    assert best_reading(unsure, [(seven, piece)]) == seven
    assert best_reading(unsure, [(seven, guess)]) == unsure  # guesses only stand in for no digit
    assert best_reading(sure, [(seven, piece)]) == sure
    assert best_reading(unsure, [(digit(7, SURE_REPLACEMENT - 0.01), piece)]) == unsure
    assert best_reading(unsure, [(digit(5, 0.99), piece)]) == unsure  # the same digit: the whole
    nothing = Prediction(Status.NOT_A_DIGIT)
    assert best_reading(nothing, [(digit(7, 0.3), guess)]).digit == 7
    assert best_reading(Prediction(Status.BLANK), [(seven, piece)]).status is Status.BLANK

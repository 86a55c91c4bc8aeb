"""The engine's second round: an image's other readings (PreparedImage.others) are rendered and
read only when the model finds no digit in its main reading or an unsure one; they answer as if
every reading had been read at once, and when the second round fails the main reading answers."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Iterator

import numpy as np
import pytest

from benchmarks.scenes import SPLITS, generate_scenes
from serving.engine import DigitEngine, EngineConfig, ImageInput, Prediction, Status
from serving.model import DEFAULT_MODEL_PATH
from serving.predictions import Scores, best_reading, open_to_alternatives, prediction_from
from serving.preprocess import OtherReadings, PreprocessConfig, prepare_encoded
from serving.waiting import futures_of, wait_all
from tests.test_neighbour_crops import TOUCHING_BEFORE

SURE_PHOTOS = range(2, 8)  # form_boxes, tuning split: the model is sure of the main readings
# (≥ 0.98; tuning form 0 is read at 0.94) and none is a 0 (form 1 is: a frame or ring reading may
# replace a 0 however sure, serving.predictions.replacement_floor)


@pytest.fixture(scope="module")
def images(mnist) -> dict[str, list[bytes]]:
    """Crops whose main reading is no digit (the middle piece is one), and form photos."""
    def scenes(indices, kind: str) -> list[bytes]:
        return [scene.scene.data for scene in generate_scenes(
            mnist.train_images, mnist.train_labels, indices, [kind], SPLITS["tune"].seed,
            mnist.train_images)]
    return {"open": scenes(TOUCHING_BEFORE, "neighbour_fragments"),
            "sure": scenes(SURE_PHOTOS, "form_boxes")}


def fresh_engine() -> Iterator[DigitEngine]:
    """An engine without the number reader (it would answer the crops first), counting rows."""
    preprocess = dataclasses.replace(PreprocessConfig(), crossing=None)
    engine = DigitEngine.load(DEFAULT_MODEL_PATH, EngineConfig(preprocess=preprocess))
    yield engine
    engine.close()


@pytest.fixture()
def engine() -> Iterator[DigitEngine]:
    yield from fresh_engine()


def read_at_once(engine: DigitEngine, data: bytes) -> Prediction:
    """The answer with every reading of the image read in one model run (the first design)."""
    prepared = prepare_encoded(data, config=engine.config.preprocess)
    readings = prepared.alternatives()
    rows = engine.model.predict(np.stack([prepared.pixels, *(r.pixels for r in readings)]))
    main = prediction_from(Scores(rows[0], 1), engine.threshold, prepared.ink_box)
    return best_reading(main, [(prediction_from(Scores(row, 1), reading.threshold(
        engine.threshold), reading.ink_box), reading) for row, reading in zip(
            rows[1:], readings, strict=True)])


def test_only_images_open_to_them_have_their_other_readings_read(images, engine):
    sure = [prepare_encoded(data, config=engine.config.preprocess) for data in images["sure"]]
    sure_rows = engine.model.predict(np.stack([p.pixels for p in sure]))
    assert not any(open_to_alternatives(prediction_from(Scores(row, 1), engine.threshold))
                   for row in sure_rows)
    assert sum(len(p.alternatives()) for p in sure) >= 2  # they have some: a frame's guess
    opened = [prepare_encoded(data, config=engine.config.preprocess) for data in images["open"]]
    others = sum(len(p.alternatives()) for p in opened)
    assert others >= len(opened)
    data = images["open"] + images["sure"]
    answers = engine.classify([ImageInput(d, encoded=True) for d in data], timeout_s=60)
    assert engine.stats().images == len(data) + others  # the sure photos' others never ran
    expected = [read_at_once(engine, d) for d in data]
    assert [(a.status, a.digit, a.box) for a in answers] == [
        (e.status, e.digit, e.box) for e in expected]
    np.testing.assert_allclose([a.confidence for a in answers],
                               [e.confidence for e in expected], atol=1e-5)
    assert all(a.status is Status.DIGIT for a in answers)


def test_the_main_reading_answers_when_the_second_round_cannot_be_queued(images, engine,
                                                                          caplog):
    inputs = [ImageInput(d, encoded=True) for d in images["open"]]
    pending = engine.submit(inputs)
    wait_all(futures_of(pending), 60)
    assert all(item.others is not None for item in pending)
    engine.close()  # the batcher takes no more images
    with caplog.at_level(logging.WARNING, logger="serving.engine"):
        second = engine.submit_alternatives(pending)
    assert [item.alternatives for item in second] == [()] * len(inputs)
    assert all(item.others is None for item in second)  # nothing held for a round not coming
    assert [engine.outcome(item).status for item in second] == [Status.NOT_A_DIGIT] * len(inputs)
    assert "answer with their main readings" in caplog.text


def test_a_failure_rendering_other_readings_fails_no_image(images, engine, monkeypatch, caplog):
    def broken(self: OtherReadings):
        raise RuntimeError("a bug")

    monkeypatch.setattr(OtherReadings, "render", broken)
    data = images["open"] + images["sure"]
    with caplog.at_level(logging.ERROR, logger="serving.predictions"):
        answers = engine.classify([ImageInput(d, encoded=True) for d in data], timeout_s=60)
    statuses = [a.status for a in answers]
    assert statuses == [Status.NOT_A_DIGIT] * len(images["open"]) + [Status.DIGIT] * len(
        images["sure"])
    assert caplog.text.count("main reading answers") == len(images["open"])


def test_a_stream_answers_every_image_when_a_second_round_fails(images, engine, monkeypatch,
                                                                caplog):
    async def broken(self: DigitEngine, pending):
        raise RuntimeError("no executor")

    monkeypatch.setattr(DigitEngine, "submit_alternatives_async", broken)
    data = images["open"] + images["sure"]

    async def stream() -> dict[int, Prediction]:
        async def batches():
            for start in range(0, len(data), 3):
                yield [ImageInput(d, encoded=True) for d in data[start:start + 3]]
        answers = {}
        async for ready in engine.classify_stream(batches(), max_in_flight=6, timeout_s=60):
            answers.update(ready)
        return answers

    with caplog.at_level(logging.ERROR, logger="serving.stream"):
        answers = asyncio.run(stream())
    assert [answers[i].status for i in range(len(data))] == (
        [Status.NOT_A_DIGIT] * len(images["open"]) + [Status.DIGIT] * len(images["sure"]))
    assert caplog.text.count("were not queued") == len(images["open"])

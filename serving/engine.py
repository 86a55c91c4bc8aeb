"""Classification without gRPC: preprocessing, the dynamic batcher and the ONNX model together."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterable, AsyncIterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from serving.batcher import BatcherConfig, BatcherStats, DynamicBatcher
from serving.errors import DigitsError
from serving.model import ModelMetadata, OnnxModel, RuntimeConfig
from serving.neighbour_reading import read_crossings
from serving.number_layout import (
    NumberLayout,
    ReaderDigits,
    layout_encoded,
    layout_raw,
    read_layout,
)
from serving.number_reader import NumberReaderModel, frames_or_none
from serving.numbers import NumberReading, NumberStatus
from serving.predictions import (
    ImageInput,
    Pending,
    Prediction,
    Scores,
    Status,
    main_reading,
    outcome,
    rendered_alternatives,
    scores_of,
    wants_alternatives,
)
from serving.preprocess import (
    Alternative,
    ImageLimits,
    PreparedImage,
    PreprocessConfig,
    prepare_encoded,
    prepare_raw,
)
from serving.stream import Stream
from serving.waiting import futures_of, time_left, wait_all, wait_all_async

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PendingNumber:
    """An image of ReadNumber on its way: answered already, or its candidates' model runs."""

    layout: NumberLayout | NumberReading  # a NumberReading is final (error or blank)
    futures: tuple[Future[Scores], ...]  # one per candidate of the layout
    reader: ReaderDigits | None = None  # the sequence reader's digits of the layout's line


@dataclass(frozen=True)
class EngineConfig:
    """Everything the engine needs besides the model file."""

    batcher: BatcherConfig = field(default_factory=BatcherConfig)
    runtime: RuntimeConfig = field(default_factory=RuntimeConfig)
    image_limits: ImageLimits = field(default_factory=ImageLimits)
    preprocess: PreprocessConfig = field(default_factory=PreprocessConfig)  # how digits are
    # found in images; PreprocessConfig.first_version() is the benchmarks' baseline
    number_reader: bool = True  # the number reader exported beside the model
    # (number_reader.json), when there is one, reads ReadNumber's numbers and the digits among
    # neighbours' fragments (serving.neighbour_reading); False: the classifier and the lattice
    # of candidates alone


class DigitEngine:
    """Turns images into predictions; one bad image never affects the others."""

    def __init__(self, model: OnnxModel, config: EngineConfig | None = None,
                 reader: NumberReaderModel | None = None) -> None:
        self.config = config or EngineConfig()
        self.model = model
        self.reader = reader  # reads ReadNumber's numbers and the digits among neighbours'
        # fragments; None: the lattice and the classifier alone do
        self._batcher: DynamicBatcher[Scores] = DynamicBatcher(
            lambda images: scores_of(model.predict(images)), self.config.batcher)
        self.threshold = model.metadata.not_digit_threshold

    @classmethod
    def load(cls, model_path: Path, config: EngineConfig | None = None) -> DigitEngine:
        """The classifier at model_path, and the number reader exported beside it
        (number_reader.json) when there is one."""
        config = config or EngineConfig()
        reader = (NumberReaderModel.beside(model_path, config.runtime) if config.number_reader
                  else None)
        return cls(OnnxModel.load(model_path, config.runtime), config, reader)

    @property
    def metadata(self) -> ModelMetadata:
        return self.model.metadata

    def _prepare(self, image: ImageInput) -> PreparedImage | Prediction:
        try:
            if image.encoded:
                return prepare_encoded(image.data, self.config.image_limits, self.config.preprocess)
            return prepare_raw(image.data, self.config.preprocess)
        except DigitsError as err:
            return Prediction(Status.ERROR, error=str(err))

    def submit(self, images: Sequence[ImageInput]) -> list[Pending]:
        """One Pending per image, its main reading queued (read it with `self.outcome` once
        `submit_alternatives` has had it, which turns a failed model run into an ERROR
        Prediction); raises OverloadedError or UnavailableError, queueing nothing, when the
        batcher cannot take the images."""
        pending: list[Pending | PreparedImage] = []
        prepared_images = [self._prepare(image) for image in images]
        read = read_crossings(self.reader, prepared_images)
        for prepared, crossing_answer in zip(prepared_images, read, strict=True):
            if isinstance(prepared, Prediction):
                pending.append(Pending(None, prepared))
            elif crossing_answer is not None:  # a digit among its neighbours' fragments
                pending.append(Pending(None, crossing_answer))
            elif prepared.blank or prepared.pixels is None:
                pending.append(Pending(None, Prediction(Status.BLANK)))
            else:
                pending.append(prepared)
        pixels = [item.pixels for item in pending if isinstance(item, PreparedImage)]
        futures = iter(self._batcher.submit(np.stack(pixels)) if pixels else ())
        return [Pending(next(futures), box=item.ink_box, others=item.others)
                if isinstance(item, PreparedImage) else item for item in pending]

    def submit_alternatives(self, pending: Sequence[Pending]) -> list[Pending]:
        """The second round, once the main readings are done: the other readings of each image
        whose main reading is open to them (no digit, or an unsure one) rendered and queued in
        one unit; every image's `others` dropped. Where rendering fails or the batcher cannot
        take them (overloaded, closing), the main readings answer."""
        rendered = [self._other_readings(item) for item in pending]
        pixels = [alternative.pixels for readings in rendered for alternative in readings]
        try:
            futures = iter(self._batcher.submit(np.stack(pixels)) if pixels else ())
        except DigitsError as err:
            log.warning("%d images answer with their main readings, their %d others unread: %s",
                        sum(map(bool, rendered)), len(pixels), err)
            rendered, futures = [()] * len(pending), iter(())
        return [replace(item, others=None,
                        alternatives=tuple((next(futures), reading) for reading in readings))
                for item, readings in zip(pending, rendered, strict=True)]

    async def submit_alternatives_async(self, pending: Sequence[Pending]) -> list[Pending]:
        """As `submit_alternatives`, for an asyncio caller (rendering runs off the event loop)."""
        if any(wants_alternatives(item, self.threshold) for item in pending):
            return await asyncio.get_running_loop().run_in_executor(
                None, self.submit_alternatives, pending)
        return self.submit_alternatives(pending)  # nothing to render

    def _other_readings(self, pending: Pending) -> tuple[Alternative, ...]:
        main = main_reading(pending, self.threshold)
        return () if main is None else rendered_alternatives(pending.others, main)

    def outcome(self, pending: Pending) -> Prediction:
        return outcome(pending, self.threshold)

    def classify(self, images: Sequence[ImageInput], timeout_s: float | None) -> list[Prediction]:
        """Submit and wait (both rounds); raises TimeoutError (after cancelling what is left) past
        timeout_s."""
        pending = self.submit(images)
        start = time.monotonic()
        wait_all(futures_of(pending), timeout_s)
        pending = self.submit_alternatives(pending)
        wait_all(futures_of(pending), time_left(timeout_s, start))
        return [self.outcome(item) for item in pending]

    async def classify_async(self, images: Sequence[ImageInput],
                             timeout_s: float | None) -> list[Prediction]:
        """As `classify`, for an asyncio caller: the event loop is woken once per request and
        round, not once per image, and the futures are cancelled if the caller is cancelled."""
        pending = await self.submit_async(images)
        start = time.monotonic()
        await wait_all_async(futures_of(pending), timeout_s)
        pending = await self.submit_alternatives_async(pending)
        await wait_all_async(futures_of(pending), time_left(timeout_s, start))
        return [self.outcome(item) for item in pending]

    def _layout(self, image: ImageInput) -> NumberLayout | NumberReading:
        try:
            layout = (layout_encoded(image.data, self.config.image_limits, self.config.preprocess)
                      if image.encoded else layout_raw(image.data))
        except DigitsError as err:
            return NumberReading(NumberStatus.ERROR, error=str(err))
        return NumberReading(NumberStatus.BLANK) if layout is None else layout

    def submit_numbers(self, images: Sequence[ImageInput]) -> list[PendingNumber]:
        """Find each image's digit candidates and queue all of them in one unit; raises as
        `submit`."""
        layouts = [self._layout(image) for image in images]
        found = [layout for layout in layouts if isinstance(layout, NumberLayout)]
        futures = iter(self._batcher.submit(np.concatenate([layout.pixels for layout in found]))
                       if found else ())
        readers = iter(self._read_lines(found))
        return [PendingNumber(layout, tuple(next(futures) for _ in layout.pixels), next(readers))
                if isinstance(layout, NumberLayout) else PendingNumber(layout, ())
                for layout in layouts]

    def _read_lines(self, layouts: list[NumberLayout]) -> list[ReaderDigits | None]:
        """The reader's digits of each layout's line (one batch for the call); Nones without a
        reader or a line, or when the reader fails (the lattice then reads alone)."""
        lines = [layout.line for layout in layouts]
        read = frames_or_none(self.reader, [line.pixels for line in lines if line is not None],
                              "the lattice reads these numbers alone")
        if read is None:
            return [None] * len(layouts)
        frames = iter(read)
        stride = self.reader.metadata.frame_stride  # type: ignore[union-attr]  # it read them
        return [None if line is None else ReaderDigits.of(next(frames), stride) for line in lines]

    def number_outcome(self, pending: PendingNumber) -> NumberReading:
        """The reading of a finished image; a failed model run makes it an ERROR reading."""
        if isinstance(pending.layout, NumberReading):
            return pending.layout
        rows = []
        for future in pending.futures:
            prediction = outcome(Pending(future), self.threshold)
            if prediction.status is Status.ERROR:
                return NumberReading(NumberStatus.ERROR, error=prediction.error)
            rows.append(future.result().probabilities)
        return read_layout(pending.layout, rows, self.threshold, pending.reader)

    def read_number(self, images: Sequence[ImageInput],
                    timeout_s: float | None) -> list[NumberReading]:
        """The number written in each image; TimeoutError past timeout_s (as `classify`)."""
        pending = self.submit_numbers(images)
        wait_all([f for item in pending for f in item.futures], timeout_s)
        return [self.number_outcome(item) for item in pending]

    async def read_number_async(self, images: Sequence[ImageInput],
                                timeout_s: float | None) -> list[NumberReading]:
        """As `read_number`, for an asyncio caller (finding digits runs off the event loop)."""
        if any(image.encoded for image in images):
            pending = await asyncio.get_running_loop().run_in_executor(
                None, self.submit_numbers, images)
        else:
            pending = self.submit_numbers(images)
        await wait_all_async([f for item in pending for f in item.futures], timeout_s)
        return [self.number_outcome(item) for item in pending]

    async def classify_stream(self, batches: AsyncIterable[Sequence[ImageInput]],
                              max_in_flight: int, timeout_s: float | None,
                              ) -> AsyncIterator[list[tuple[int, Prediction]]]:
        """Classify a long job given as batches; yield (stream-wide index, prediction) lists as
        they are ready (completion order). A reader task takes `batches` but keeps at most
        `max_in_flight` images unanswered. An exception raised while reading `batches` is raised
        here after the predictions of the batches read before it; TimeoutError past timeout_s."""
        stream = Stream(self, max_in_flight)
        reader = asyncio.ensure_future(stream.read(batches))
        try:
            async for ready in stream.results(timeout_s):
                yield ready
        finally:
            reader.cancel()
            stream.stop()

    async def submit_async(self, images: Sequence[ImageInput]) -> list[Pending]:
        """As `submit`, for an asyncio caller."""
        if any(image.encoded for image in images):
            # Decoding image files takes milliseconds each (PIL releases the GIL): off the loop.
            return await asyncio.get_running_loop().run_in_executor(None, self.submit, images)
        return self.submit(images)  # raw images: a few microseconds each

    def stats(self) -> BatcherStats:
        return self._batcher.stats()

    def close(self, timeout_s: float | None = None) -> None:
        """Finish the queued images, then stop the batcher."""
        self._batcher.close(timeout_s)

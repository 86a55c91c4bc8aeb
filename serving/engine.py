"""Classification without gRPC: preprocessing, the dynamic batcher and the ONNX model together."""

from __future__ import annotations

import asyncio
import concurrent.futures
import enum
import functools
import logging
import threading
import time
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from serving.batcher import BatcherConfig, BatcherStats, DynamicBatcher
from serving.errors import DigitsError, InvalidRequestError
from serving.model import (
    NOT_DIGIT_CLASS,
    NUM_CLASSES,
    ModelMetadata,
    OnnxModel,
    RuntimeConfig,
    decide,
)
from serving.number_layout import NumberLayout, layout_encoded, layout_raw, read_layout
from serving.numbers import Box, NumberReading, NumberStatus
from serving.preprocess import (
    ImageLimits,
    PreparedImage,
    PreprocessConfig,
    prepare_encoded,
    prepare_raw,
)

log = logging.getLogger(__name__)

INTERNAL_IMAGE_ERROR = "internal error while classifying this image; the server log has details"


class Status(enum.Enum):
    """What the engine concluded about one image."""

    DIGIT = "digit"
    NOT_A_DIGIT = "not_a_digit"
    BLANK = "blank"
    ERROR = "error"




@dataclass(frozen=True)
class ImageInput:
    """One image as it arrives: 784 raw MNIST-convention bytes, or an encoded image file."""

    data: bytes
    encoded: bool  # True: an image file (PNG, JPEG...); False: 28 × 28 raw uint8 pixels


@dataclass(frozen=True)
class Prediction:
    """The engine's answer for one image; failures are values, never exceptions."""

    status: Status
    digit: int | None = None  # 0–9, the most probable digit; set when status is DIGIT
    confidence: float = 0.0  # probability that the image shows `digit`; 0 unless DIGIT
    probabilities: tuple[float, ...] = ()  # 10 values for digits 0–9 given that it is a digit;
    # () unless DIGIT or NOT_A_DIGIT
    batch_size: int = 0  # images in the model run that classified this one; 0 if not run
    error: str = ""  # why the image failed, safe to show users; "" unless ERROR
    not_digit_probability: float = 0.0  # probability that the image holds no digit; 0 if not run
    box: Box | None = None  # where the classified ink is; None for raw images and unless run


@dataclass(frozen=True)
class Scores:
    """One image's row of a model run."""

    probabilities: np.ndarray  # float32 [10] or [11] (the 11th: not a digit)
    batch_size: int  # images in that run


def scores_of(probabilities: np.ndarray) -> list[Scores]:
    """One Scores per row of a model run's output [N, 10 or 11]."""
    size = len(probabilities)
    return [Scores(row, size) for row in probabilities]


def prediction_from(scores: Scores, threshold: float, box: Box | None = None) -> Prediction:
    """DIGIT or NOT_A_DIGIT from a model row: NOT_A_DIGIT when the 11th probability ≥ threshold.

    The ten digit probabilities are renormalised to "given that it is a digit"; the confidence
    stays joint (the probability that the image is a digit and is this one).
    """
    row = scores.probabilities.astype(np.float64)
    not_digit = float(row[NOT_DIGIT_CLASS]) if row.size > NOT_DIGIT_CLASS else 0.0
    digits = row[:NUM_CLASSES]
    given_digit = digits / max(float(digits.sum()), 1e-12)
    best, is_digit = (int(v[0]) for v in decide(row[None], threshold))
    common = dict(probabilities=tuple(given_digit.tolist()), batch_size=scores.batch_size,
                  not_digit_probability=not_digit, box=box)
    if not is_digit:
        return Prediction(Status.NOT_A_DIGIT, **common)
    return Prediction(Status.DIGIT, digit=best, confidence=float(digits[best]), **common)


@dataclass(frozen=True)
class Pending:
    """An image on its way: either answered already, or waiting for its model run(s)."""

    future: Future[Scores] | None  # None: `answer` is final (error or blank)
    answer: Prediction | None = None
    box: Box | None = None
    alternatives: tuple[tuple[Future[Scores], Box], ...] = ()  # other readings of the image
    # (PreparedImage.alternatives) and their boxes, used when `future`'s finds no digit

    @property
    def futures(self) -> tuple[Future[Scores], ...]:
        """Every model run this image waits for."""
        main = () if self.future is None else (self.future,)
        return main + tuple(future for future, _ in self.alternatives)


def outcome(pending: Pending, threshold: float) -> Prediction:
    """The Prediction of a finished image; a failed model run becomes an ERROR Prediction.

    When the main reading is not a digit, the surest alternative reading that is one wins (a
    digit touching a neighbour in a crop from a number, its middle piece cut out).
    """
    future = pending.future
    if future is None:
        assert pending.answer is not None  # invariant of Pending
        return pending.answer
    main = _reading(future, threshold, pending.box)
    if main.status is not Status.NOT_A_DIGIT:
        return main
    return best_reading(main, [_reading(alternative, threshold, box)
                               for alternative, box in pending.alternatives])


def best_reading(main: Prediction, alternatives: Sequence[Prediction]) -> Prediction:
    """The answer for an image from its main reading and its alternatives' (PreparedImage.
    alternatives): the main one unless it is NOT_A_DIGIT and an alternative is a digit; then the
    surest of those."""
    if main.status is not Status.NOT_A_DIGIT:
        return main
    digits = [reading for reading in alternatives if reading.status is Status.DIGIT]
    return max(digits, key=lambda reading: reading.confidence, default=main)


def _reading(future: Future[Scores], threshold: float, box: Box | None) -> Prediction:
    if future.cancelled():
        return Prediction(Status.ERROR, error="cancelled before it was classified")
    err = future.exception()
    if err is None:
        return prediction_from(future.result(), threshold, box)
    if isinstance(err, DigitsError):
        return Prediction(Status.ERROR, error=str(err))
    return Prediction(Status.ERROR, error=INTERNAL_IMAGE_ERROR)  # the batcher logged it


@dataclass(frozen=True)
class PendingNumber:
    """An image of ReadNumber on its way: answered already, or its candidates' model runs."""

    layout: NumberLayout | NumberReading  # a NumberReading is final (error or blank)
    futures: tuple[Future[Scores], ...]  # one per candidate of the layout


@dataclass(frozen=True)
class EngineConfig:
    """Everything the engine needs besides the model file."""

    batcher: BatcherConfig = field(default_factory=BatcherConfig)
    runtime: RuntimeConfig = field(default_factory=RuntimeConfig)
    image_limits: ImageLimits = field(default_factory=ImageLimits)
    preprocess: PreprocessConfig = field(default_factory=PreprocessConfig)  # how digits are
    # found in images; PreprocessConfig.first_version() is the benchmarks' baseline


class DigitEngine:
    """Turns images into predictions; one bad image never affects the others."""

    def __init__(self, model: OnnxModel, config: EngineConfig | None = None) -> None:
        self.config = config or EngineConfig()
        self.model = model
        self._batcher: DynamicBatcher[Scores] = DynamicBatcher(
            lambda images: scores_of(model.predict(images)), self.config.batcher)
        self.threshold = model.metadata.not_digit_threshold

    @classmethod
    def load(cls, model_path: Path, config: EngineConfig | None = None) -> DigitEngine:
        config = config or EngineConfig()
        return cls(OnnxModel.load(model_path, config.runtime), config)

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
        """One Pending per image (read it with `self.outcome`, which turns a failed model run into
        an ERROR Prediction); raises OverloadedError or UnavailableError, queueing nothing, when
        the batcher cannot take the images."""
        pending: list[Pending | PreparedImage] = []
        pixels: list[np.ndarray] = []
        for image in images:
            prepared = self._prepare(image)
            if isinstance(prepared, Prediction):
                pending.append(Pending(None, prepared))
            elif prepared.blank or prepared.pixels is None:
                pending.append(Pending(None, Prediction(Status.BLANK)))
            else:
                pending.append(prepared)
                pixels.append(prepared.pixels)
                pixels.extend(alternative.pixels for alternative in prepared.alternatives)
        futures = iter(self._batcher.submit(np.stack(pixels)) if pixels else ())
        return [_waiting(item, futures) if isinstance(item, PreparedImage) else item
                for item in pending]

    def outcome(self, pending: Pending) -> Prediction:
        return outcome(pending, self.threshold)

    def classify(self, images: Sequence[ImageInput], timeout_s: float | None) -> list[Prediction]:
        """Submit and wait; raises TimeoutError (after cancelling what is left) past timeout_s."""
        pending = self.submit(images)
        wait_all(futures_of(pending), timeout_s)
        return [self.outcome(item) for item in pending]

    async def classify_async(self, images: Sequence[ImageInput],
                             timeout_s: float | None) -> list[Prediction]:
        """As `classify`, for an asyncio caller: the event loop is woken once per request, not
        once per image, and the futures are cancelled if the caller is cancelled."""
        pending = await self.submit_async(images)
        await wait_all_async(futures_of(pending), timeout_s)
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
        return [PendingNumber(layout, tuple(next(futures) for _ in layout.pixels))
                if isinstance(layout, NumberLayout) else PendingNumber(layout, ())
                for layout in layouts]

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
        return read_layout(pending.layout, rows, self.threshold)

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
        stream = _Stream(self, max_in_flight)
        reader = asyncio.ensure_future(stream.read(batches))
        try:
            async for ready in stream.results(timeout_s):
                yield ready
        finally:
            reader.cancel()

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


@dataclass(frozen=True)
class _EndOfStream:
    submitted: int  # images submitted before the end
    error: BaseException | None  # why reading stopped early, if it did


class _Stream:
    """The state shared by a stream's reader task and its consumer (one event loop)."""

    def __init__(self, engine: DigitEngine, max_in_flight: int) -> None:
        if max_in_flight < 1:
            raise ValueError(f"max_in_flight must be ≥ 1, got {max_in_flight}")
        self._engine = engine
        self._max_in_flight = max_in_flight
        self._in_flight = 0  # images submitted and not yet yielded
        self._freed = asyncio.Event()  # set when yielded results make room
        self._loop = asyncio.get_running_loop()
        self._done: asyncio.Queue[tuple[int, Prediction] | _EndOfStream] = asyncio.Queue()

    def _post(self, index: int, pending: Pending) -> None:
        """Done callback, run by the batcher thread: hand the outcome to the loop."""
        self._loop.call_soon_threadsafe(self._done.put_nowait,
                                        (index, self._engine.outcome(pending)))

    async def read(self, batches: AsyncIterable[Sequence[ImageInput]]) -> None:
        submitted = 0
        try:
            async for batch in batches:
                if len(batch) > self._max_in_flight:
                    raise InvalidRequestError(f"a stream message may hold at most "
                                              f"{self._max_in_flight} images, got {len(batch)}")
                while self._in_flight + len(batch) > self._max_in_flight:
                    self._freed.clear()
                    await self._freed.wait()
                pending = await self._engine.submit_async(batch)
                self._in_flight += len(batch)
                for offset, item in enumerate(pending):
                    _when_done(item.futures,
                               functools.partial(self._post, submitted + offset, item))
                submitted += len(batch)
        except Exception as err:  # handed to the consumer, which raises it
            self._done.put_nowait(_EndOfStream(submitted, err))
        else:
            self._done.put_nowait(_EndOfStream(submitted, None))

    async def results(self, timeout_s: float | None,
                      ) -> AsyncIterator[list[tuple[int, Prediction]]]:
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        received, end = 0, None
        while end is None or received < end.submitted:
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                items = [await asyncio.wait_for(self._done.get(), remaining)]
            except TimeoutError:
                raise TimeoutError(f"stream results not ready in time ({received} sent)") from None
            while not self._done.empty():
                items.append(self._done.get_nowait())
            ready = [item for item in items if not isinstance(item, _EndOfStream)]
            end = next((item for item in items if isinstance(item, _EndOfStream)), end)
            if ready:
                received += len(ready)
                self._in_flight -= len(ready)
                self._freed.set()
                yield ready
        if end.error is not None:
            raise end.error


def _waiting(prepared: PreparedImage, futures: Iterator[Future[Scores]]) -> Pending:
    """The Pending of a prepared image whose pixels, then alternatives, were submitted in order."""
    main = next(futures)
    return Pending(main, box=prepared.ink_box, alternatives=tuple(
        (next(futures), alternative.ink_box) for alternative in prepared.alternatives))


def futures_of(pending: Sequence[Pending]) -> list[Future[Scores]]:
    """The futures of the images that wait for model runs."""
    return [future for item in pending for future in item.futures]


def wait_all(futures: Sequence[Future[Scores]], timeout_s: float | None) -> None:
    """Wait for `futures`; TimeoutError (the others cancelled) past timeout_s."""
    _, pending = concurrent.futures.wait(futures, timeout=timeout_s)
    if pending:
        for future in pending:
            future.cancel()
        raise TimeoutError(f"{len(pending)} of {len(futures)} images were not classified in time")


async def wait_all_async(futures: Sequence[Future[Scores]], timeout_s: float | None) -> None:
    """Wait until every future is done, waking the event loop once (by the last one); past
    timeout_s, or if the caller is cancelled, cancel what is left (TimeoutError past timeout_s)."""
    if not futures:
        return
    loop = asyncio.get_running_loop()
    all_done: asyncio.Future[None] = loop.create_future()
    _when_done(futures, lambda: loop.call_soon_threadsafe(_resolve, all_done))
    try:
        await asyncio.wait_for(all_done, timeout_s)
    except TimeoutError:
        left = _cancel_pending(futures)
        raise TimeoutError(f"{left} of {len(futures)} images were not classified in time") from None
    except asyncio.CancelledError:
        _cancel_pending(futures)
        raise


def _when_done(futures: Sequence[Future[Scores]], callback: Callable[[], None]) -> None:
    """Call `callback` once, when every one of `futures` is done (now, if there are none)."""
    if not futures:
        callback()
        return
    left = len(futures)
    lock = threading.Lock()  # done callbacks run in the batcher thread (or here, if done)

    def one_done(_: Future[Scores]) -> None:
        nonlocal left
        with lock:
            left -= 1
            last = left == 0
        if last:
            callback()

    for future in futures:
        future.add_done_callback(one_done)


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():  # not cancelled by a timeout meanwhile
        future.set_result(None)


def _cancel_pending(futures: Sequence[Future[Scores]]) -> int:
    pending = [future for future in futures if not future.done()]
    for future in pending:
        future.cancel()
    return len(pending)

"""Classification without gRPC: preprocessing, the dynamic batcher and the ONNX model together."""

from __future__ import annotations

import asyncio
import concurrent.futures
import enum
import functools
import logging
import threading
import time
from collections.abc import AsyncIterable, AsyncIterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from serving.batcher import BatcherConfig, BatcherStats, DynamicBatcher
from serving.errors import DigitsError, InvalidRequestError
from serving.model import ModelMetadata, OnnxModel, RuntimeConfig
from serving.preprocess import ImageLimits, PreparedImage, prepare_encoded, prepare_raw

log = logging.getLogger(__name__)

INTERNAL_IMAGE_ERROR = "internal error while classifying this image; the server log has details"


class Status(enum.Enum):
    """What the engine concluded about one image."""

    DIGIT = "digit"
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
    confidence: float = 0.0  # probability of `digit`, in [0, 1]; 0 unless DIGIT
    probabilities: tuple[float, ...] = ()  # 10 softmax values for digits 0–9; () unless DIGIT
    batch_size: int = 0  # images in the model run that classified this one; 0 unless DIGIT
    error: str = ""  # why the image failed, safe to show users; "" unless ERROR


def predictions_of(probabilities: np.ndarray) -> list[Prediction]:
    """One DIGIT Prediction per row of a model run's output [N, 10] (batch_size N)."""
    digits = probabilities.argmax(axis=1).tolist()
    confidences = probabilities.max(axis=1).tolist()
    size = len(probabilities)
    return [Prediction(Status.DIGIT, digit, confidence, tuple(row), size)
            for digit, confidence, row in zip(digits, confidences, probabilities.tolist(),
                                              strict=True)]


def outcome(future: Future[Prediction]) -> Prediction:
    """The Prediction of a finished future; a failed model run becomes an ERROR Prediction."""
    if future.cancelled():
        return Prediction(Status.ERROR, error="cancelled before it was classified")
    err = future.exception()
    if err is None:
        return future.result()
    if isinstance(err, DigitsError):
        return Prediction(Status.ERROR, error=str(err))
    return Prediction(Status.ERROR, error=INTERNAL_IMAGE_ERROR)  # the batcher logged it


@dataclass(frozen=True)
class EngineConfig:
    """Everything the engine needs besides the model file."""

    batcher: BatcherConfig = field(default_factory=BatcherConfig)
    runtime: RuntimeConfig = field(default_factory=RuntimeConfig)
    image_limits: ImageLimits = field(default_factory=ImageLimits)


def _done(prediction: Prediction) -> Future[Prediction]:
    future: Future[Prediction] = Future()
    future.set_result(prediction)
    return future


class DigitEngine:
    """Turns images into predictions; one bad image never affects the others."""

    def __init__(self, model: OnnxModel, config: EngineConfig | None = None) -> None:
        self.config = config or EngineConfig()
        self.model = model
        self._batcher: DynamicBatcher[Prediction] = DynamicBatcher(
            lambda images: predictions_of(model.predict(images)), self.config.batcher)

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
                return prepare_encoded(image.data, self.config.image_limits)
            return prepare_raw(image.data)
        except DigitsError as err:
            return Prediction(Status.ERROR, error=str(err))

    def submit(self, images: Sequence[ImageInput]) -> list[Future[Prediction]]:
        """One future per image (read it with `outcome`, which turns a failed model run into an
        ERROR Prediction); raises OverloadedError or UnavailableError, queueing nothing, when
        the batcher cannot take the images."""
        futures: list[Future[Prediction] | None] = []
        pixels: list[np.ndarray] = []
        for image in images:
            prepared = self._prepare(image)
            if isinstance(prepared, Prediction):
                futures.append(_done(prepared))
            elif prepared.blank or prepared.pixels is None:
                futures.append(_done(Prediction(Status.BLANK)))
            else:
                futures.append(None)
                pixels.append(prepared.pixels)
        if pixels:
            inner = iter(self._batcher.submit(np.stack(pixels)))
            for i, future in enumerate(futures):
                if future is None:
                    futures[i] = next(inner)
        return futures  # type: ignore[return-value]  # every None was replaced above

    def classify(self, images: Sequence[ImageInput], timeout_s: float | None) -> list[Prediction]:
        """Submit and wait; raises TimeoutError (after cancelling what is left) past timeout_s."""
        return wait_all(self.submit(images), timeout_s)

    async def classify_async(self, images: Sequence[ImageInput],
                             timeout_s: float | None) -> list[Prediction]:
        """As `classify`, for an asyncio caller: the event loop is woken once per request, not
        once per image, and the futures are cancelled if the caller is cancelled."""
        futures = await self.submit_async(images)
        await wait_all_async(futures, timeout_s)
        return [outcome(future) for future in futures]

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

    async def submit_async(self, images: Sequence[ImageInput]) -> list[Future[Prediction]]:
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

    def _post(self, index: int, future: Future[Prediction]) -> None:
        """Done callback, run by the batcher thread: hand the outcome to the loop."""
        self._loop.call_soon_threadsafe(self._done.put_nowait, (index, outcome(future)))

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
                futures = await self._engine.submit_async(batch)
                self._in_flight += len(batch)
                for offset, future in enumerate(futures):
                    future.add_done_callback(functools.partial(self._post, submitted + offset))
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


def wait_all(futures: Sequence[Future[Prediction]], timeout_s: float | None) -> list[Prediction]:
    """The predictions of `futures` in order; TimeoutError (others cancelled) past timeout_s."""
    _, pending = concurrent.futures.wait(futures, timeout=timeout_s)
    if pending:
        for future in pending:
            future.cancel()
        raise TimeoutError(f"{len(pending)} of {len(futures)} images were not classified in time")
    return [outcome(future) for future in futures]


async def wait_all_async(futures: Sequence[Future[Prediction]], timeout_s: float | None) -> None:
    """Wait until every future is done, waking the event loop once (by the last one); past
    timeout_s, or if the caller is cancelled, cancel what is left (TimeoutError past timeout_s)."""
    if not futures:
        return
    loop = asyncio.get_running_loop()
    all_done: asyncio.Future[None] = loop.create_future()
    pending = len(futures)
    lock = threading.Lock()  # done callbacks run in the batcher thread (or here, if done)

    def one_done(_: Future[Prediction]) -> None:
        nonlocal pending
        with lock:
            pending -= 1
            last = pending == 0
        if last:
            loop.call_soon_threadsafe(_resolve, all_done)

    for future in futures:
        future.add_done_callback(one_done)
    try:
        await asyncio.wait_for(all_done, timeout_s)
    except TimeoutError:
        left = _cancel_pending(futures)
        raise TimeoutError(f"{left} of {len(futures)} images were not classified in time") from None
    except asyncio.CancelledError:
        _cancel_pending(futures)
        raise


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():  # not cancelled by a timeout meanwhile
        future.set_result(None)


def _cancel_pending(futures: Sequence[Future[Prediction]]) -> int:
    pending = [future for future in futures if not future.done()]
    for future in pending:
        future.cancel()
    return len(pending)

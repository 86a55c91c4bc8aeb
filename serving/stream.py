"""ClassifyStream's state: a reader task that submits the caller's batches, keeping at most a
set number of images unanswered, and the consumer that yields results as they are ready."""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import AsyncIterable, AsyncIterator, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from serving.errors import InvalidRequestError
from serving.predictions import ImageInput, Pending, Prediction, wants_alternatives
from serving.waiting import time_left, when_done

if TYPE_CHECKING:
    from serving.engine import DigitEngine

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _EndOfStream:
    submitted: int  # images submitted before the end
    error: BaseException | None  # why reading stopped early, if it did


class Stream:
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
        self._rounds: set[asyncio.Future[None]] = set()  # second rounds rendering other readings

    def _main_done(self, index: int, pending: Pending) -> None:
        """Done callback of an image's main reading, run by the batcher thread: its outcome to
        the loop, or, when its other readings are wanted, their round."""
        if wants_alternatives(pending, self._engine.threshold):
            self._loop.call_soon_threadsafe(self._start_second_round, index, pending)
        else:
            self._post(index, pending)

    def _post(self, index: int, pending: Pending) -> None:
        """Hand an image's outcome to the loop (from the batcher thread, or the loop)."""
        self._loop.call_soon_threadsafe(self._done.put_nowait,
                                        (index, self._engine.outcome(pending)))

    def _start_second_round(self, index: int, pending: Pending) -> None:
        task = asyncio.ensure_future(self._second_round(index, pending))
        self._rounds.add(task)  # the loop keeps only weak references to tasks
        task.add_done_callback(self._rounds.discard)

    async def _second_round(self, index: int, pending: Pending) -> None:
        try:
            [pending] = await self._engine.submit_alternatives_async([pending])
        except Exception:  # e.g. no executor while the server stops: the main reading answers
            log.exception("the other readings of stream image %d were not queued", index)
            pending = replace(pending, others=None)
        when_done(pending.futures, functools.partial(self._post, index, pending))

    def stop(self) -> None:
        """Cancel the second rounds still rendering (their images' results are not wanted)."""
        for task in self._rounds:
            task.cancel()

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
                    when_done(item.futures,
                               functools.partial(self._main_done, submitted + offset, item))
                submitted += len(batch)
        except Exception as err:  # handed to the consumer, which raises it
            self._done.put_nowait(_EndOfStream(submitted, err))
        else:
            self._done.put_nowait(_EndOfStream(submitted, None))

    async def results(self, timeout_s: float | None,
                      ) -> AsyncIterator[list[tuple[int, Prediction]]]:
        start = time.monotonic()
        received, end = 0, None
        while end is None or received < end.submitted:
            try:
                items = [await asyncio.wait_for(self._done.get(), time_left(timeout_s, start))]
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

"""Waiting for model runs: all of a request's futures at once, from a thread or an event loop,
with a deadline that cancels what is left."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future

from serving.predictions import Pending, Scores


def futures_of(pending: Sequence[Pending]) -> list[Future[Scores]]:
    """The futures of the images that wait for model runs."""
    return [future for item in pending for future in item.futures]


def time_left(timeout_s: float | None, start: float) -> float | None:
    """What is left of timeout_s since `start` (time.monotonic()), never negative; None: no
    deadline."""
    return None if timeout_s is None else max(0.0, timeout_s - (time.monotonic() - start))


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
    when_done(futures, lambda: loop.call_soon_threadsafe(_resolve, all_done))
    try:
        await asyncio.wait_for(all_done, timeout_s)
    except TimeoutError:
        left = _cancel_pending(futures)
        raise TimeoutError(f"{left} of {len(futures)} images were not classified in time") from None
    except asyncio.CancelledError:
        _cancel_pending(futures)
        raise


def when_done(futures: Sequence[Future[Scores]], callback: Callable[[], None]) -> None:
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

"""The engine's asyncio paths, for tests that check they answer as `classify` does."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from serving.engine import DigitEngine, ImageInput, Prediction


def async_and_streamed(engine: DigitEngine, inputs: list[ImageInput],
                       batch: int = 3) -> tuple[list[Prediction], list[Prediction]]:
    """(classify_async's answers, classify_stream's answers in input order) for `inputs`, the
    stream fed `batch` images at a time with at most 4 in flight."""
    answers = asyncio.run(engine.classify_async(inputs, timeout_s=60))

    async def batches() -> AsyncIterator[list[ImageInput]]:
        for start in range(0, len(inputs), batch):
            yield inputs[start:start + batch]

    async def stream() -> dict[int, Prediction]:
        streamed = {}
        async for ready in engine.classify_stream(batches(), max_in_flight=4, timeout_s=60):
            streamed.update(ready)
        return streamed

    streamed = asyncio.run(stream())
    return answers, [streamed[i] for i in range(len(inputs))]

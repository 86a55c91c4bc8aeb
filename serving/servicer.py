"""The DigitClassifier servicer: proto ↔ engine types, and serving errors → gRPC status codes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass

import grpc

from serving.engine import DigitEngine, ImageInput, Prediction, Status
from serving.errors import (
    InvalidImageError,
    InvalidRequestError,
    ModelLoadError,
    OverloadedError,
    UnavailableError,
)
from serving.generated.digits.v1 import digits_pb2 as pb
from serving.generated.digits.v1 import digits_pb2_grpc as pb_grpc
from serving.model import IMAGE_SIZE
from serving.numbers import NumberReading, NumberStatus

log = logging.getLogger(__name__)

MiB = 1024 * 1024

# The one table from the serving error hierarchy to gRPC status codes; first match wins.
STATUS_CODES: tuple[tuple[type[BaseException], grpc.StatusCode], ...] = (
    (InvalidRequestError, grpc.StatusCode.INVALID_ARGUMENT),
    (InvalidImageError, grpc.StatusCode.INVALID_ARGUMENT),
    (OverloadedError, grpc.StatusCode.RESOURCE_EXHAUSTED),
    (UnavailableError, grpc.StatusCode.UNAVAILABLE),
    (ModelLoadError, grpc.StatusCode.UNAVAILABLE),
    (TimeoutError, grpc.StatusCode.DEADLINE_EXCEEDED),
)
INTERNAL_MESSAGE = "internal server error; the server log has details"

_STATUS_TO_PROTO = {
    Status.DIGIT: pb.RESULT_STATUS_DIGIT,
    Status.NOT_A_DIGIT: pb.RESULT_STATUS_NOT_A_DIGIT,
    Status.BLANK: pb.RESULT_STATUS_BLANK,
    Status.ERROR: pb.RESULT_STATUS_ERROR,
}
_NUMBER_STATUS_TO_PROTO = {
    NumberStatus.NUMBER: pb.NUMBER_STATUS_NUMBER,
    NumberStatus.NOT_A_NUMBER: pb.NUMBER_STATUS_NOT_A_NUMBER,
    NumberStatus.BLANK: pb.NUMBER_STATUS_BLANK,
    NumberStatus.ERROR: pb.NUMBER_STATUS_ERROR,
}
_POLARITY_TO_PROTO = {
    "light_on_dark": pb.POLARITY_LIGHT_ON_DARK,
    "dark_on_light": pb.POLARITY_DARK_ON_LIGHT,
}


@dataclass(frozen=True)
class RequestLimits:
    """Request-level limits; per-image limits are the engine's ImageLimits."""

    max_images_per_request: int = 1024  # images in one request or stream message, ≥ 1
    max_message_bytes: int = 16 * MiB  # one request message, bytes (gRPC enforces it), ≥ 1 KiB

    def __post_init__(self) -> None:
        if self.max_images_per_request < 1:
            raise ValueError(f"max_images_per_request must be ≥ 1, got "
                             f"{self.max_images_per_request}")
        if self.max_message_bytes < 1024:
            raise ValueError(f"max_message_bytes must be ≥ 1024, got {self.max_message_bytes}")


def status_for(err: BaseException) -> tuple[grpc.StatusCode, str]:
    """The status code and client-safe message for an exception (INTERNAL if unknown)."""
    for kind, code in STATUS_CODES:
        if isinstance(err, kind):
            return code, str(err)
    return grpc.StatusCode.INTERNAL, INTERNAL_MESSAGE


def to_box(box: tuple[int, int, int, int] | None) -> pb.Box | None:
    if box is None:
        return None
    left, top, right, bottom = box
    return pb.Box(left=left, top=top, right=right, bottom=bottom)


def to_result(index: int, image_id: str, prediction: Prediction) -> pb.Result:
    result = pb.Result(index=index, id=image_id, status=_STATUS_TO_PROTO[prediction.status],
                       error=prediction.error)
    if prediction.status in (Status.DIGIT, Status.NOT_A_DIGIT):
        result.probabilities.extend(prediction.probabilities)
        result.batch_size = prediction.batch_size
        result.not_digit_probability = prediction.not_digit_probability
        if prediction.box is not None:
            result.box.CopyFrom(to_box(prediction.box))
    if prediction.status is Status.DIGIT:
        result.digit = prediction.digit
        result.confidence = prediction.confidence
    return result


def to_number_result(index: int, image_id: str, reading: NumberReading) -> pb.NumberResult:
    result = pb.NumberResult(index=index, id=image_id,
                             status=_NUMBER_STATUS_TO_PROTO[reading.status], error=reading.error)
    if reading.status is NumberStatus.NUMBER:
        result.number = reading.number
        result.confidence = reading.confidence
        result.digits.extend(pb.DigitReading(digit=d.digit, confidence=d.confidence,
                                             box=to_box(d.box)) for d in reading.digits)
    return result


class DigitClassifierServicer(pb_grpc.DigitClassifierServicer):
    """Each RPC converts its request, awaits the engine, and converts the answer back (grpc.aio:
    every RPC runs on the server's one event loop, so handlers never block)."""

    def __init__(self, engine: DigitEngine, limits: RequestLimits | None = None) -> None:
        self._engine = engine
        self._limits = limits or RequestLimits()

    def _inputs(self, request: pb.ClassifyRequest | pb.ReadNumberRequest) -> list[ImageInput]:
        count, limit = len(request.images), self._limits.max_images_per_request
        if count == 0:
            raise InvalidRequestError("the request has no images; send 1 or more")
        if count > limit:
            raise InvalidRequestError(f"the request has {count} images, more than the limit "
                                      f"of {limit}; split it into several requests")
        return [ImageInput(image.encoded, encoded=True) if image.WhichOneof("data") == "encoded"
                else ImageInput(image.raw, encoded=False) for image in request.images]

    @contextlib.asynccontextmanager
    async def _call(self, context: grpc.aio.ServicerContext,
                    method: str) -> AsyncIterator[dict[str, int]]:
        """Log one line per call; turn any exception into the status of STATUS_CODES."""
        start, counts = time.perf_counter(), {"images": 0}
        code = grpc.StatusCode.OK
        try:
            yield counts
        except asyncio.CancelledError:  # the client cancelled or its deadline passed
            code = grpc.StatusCode.CANCELLED
            raise
        except Exception as err:
            code, message = status_for(err)
            if code is grpc.StatusCode.INTERNAL:
                log.exception("%s failed unexpectedly", method)
            await context.abort(code, message)
        finally:
            log.info("%s images=%d status=%s latency_ms=%.1f peer=%s", method, counts["images"],
                     code.name, (time.perf_counter() - start) * 1000, context.peer())

    async def Classify(self, request: pb.ClassifyRequest,  # noqa: N802 (gRPC method name)
                       context: grpc.aio.ServicerContext) -> pb.ClassifyResponse:
        async with self._call(context, "Classify") as counts:
            counts["images"] = len(request.images)
            log.debug("Classify received %d images", len(request.images))
            predictions = await self._engine.classify_async(self._inputs(request),
                                                            context.time_remaining())
            meta = self._engine.metadata
            return pb.ClassifyResponse(
                results=[to_result(i, image.id, p)
                         for i, (image, p) in enumerate(zip(request.images, predictions,
                                                            strict=True))],
                model_name=meta.name, model_version=meta.version)

    async def ReadNumber(self, request: pb.ReadNumberRequest,  # noqa: N802 (gRPC method name)
                         context: grpc.aio.ServicerContext) -> pb.ReadNumberResponse:
        async with self._call(context, "ReadNumber") as counts:
            counts["images"] = len(request.images)
            readings = await self._engine.read_number_async(self._inputs(request),
                                                            context.time_remaining())
            meta = self._engine.metadata
            return pb.ReadNumberResponse(
                results=[to_number_result(i, image.id, r)
                         for i, (image, r) in enumerate(zip(request.images, readings,
                                                            strict=True))],
                model_name=meta.name, model_version=meta.version)

    async def ClassifyStream(self,  # noqa: N802 (gRPC method name)
                             request_iterator: AsyncIterable[pb.ClassifyRequest],
                             context: grpc.aio.ServicerContext,
                             ) -> AsyncIterator[pb.ClassifyStreamResponse]:
        ids: list[str] = []  # appended by the reader task before the results can exist

        async def batches() -> AsyncIterator[list[ImageInput]]:
            async for request in request_iterator:
                inputs = self._inputs(request)
                ids.extend(image.id for image in request.images)
                yield inputs

        async with self._call(context, "ClassifyStream") as counts:
            async for ready in self._engine.classify_stream(
                batches(), self._limits.max_images_per_request, context.time_remaining()
            ):
                counts["images"] += len(ready)
                yield pb.ClassifyStreamResponse(
                    results=[to_result(index, ids[index], p) for index, p in ready])

    async def GetModelInfo(self, request: pb.GetModelInfoRequest,  # noqa: N802
                           context: grpc.aio.ServicerContext) -> pb.GetModelInfoResponse:
        async with self._call(context, "GetModelInfo"):
            meta, config = self._engine.metadata, self._engine.config
            return pb.GetModelInfoResponse(
                name=meta.name, version=meta.version, test_accuracy=meta.test_accuracy,
                input=pb.InputContract(width=IMAGE_SIZE, height=IMAGE_SIZE, dtype=meta.input_dtype,
                                       polarity=_POLARITY_TO_PROTO[meta.polarity]),
                max_batch_size=config.batcher.max_batch_size,
                max_images_per_request=self._limits.max_images_per_request,
                max_message_bytes=self._limits.max_message_bytes,
                max_encoded_image_bytes=config.image_limits.max_encoded_bytes,
                max_decoded_pixels=config.image_limits.max_pixels,
                created=meta.created,
                not_digit_threshold=meta.not_digit_threshold,
                number_reader_version=("" if self._engine.reader is None
                                       else self._engine.reader.metadata.version),
            )

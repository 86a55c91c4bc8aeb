"""AsyncDigitsClient: the asyncio (grpc.aio) client, with the same behaviour as DigitsClient."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any, TypeVar

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from serving.client.config import DEFAULT_TARGET, ClientConfig
from serving.client.errors import translate
from serving.client.images import ImageLike, chunks, to_image, to_images
from serving.client.results import Classification, ModelInfo, NumberReading
from serving.client.sync import SERVICE_NAME
from serving.generated.digits.v1 import digits_pb2 as pb
from serving.generated.digits.v1 import digits_pb2_grpc as pb_grpc

Request = TypeVar("Request")
Response = TypeVar("Response")
Answer = TypeVar("Answer")


class AsyncDigitsClient:
    """Asyncio client of the Digits service; `async with` it. Targets, load balancing,
    deadlines, retries on UNAVAILABLE and exceptions as DigitsClient."""

    def __init__(self, target: str = DEFAULT_TARGET, config: ClientConfig | None = None) -> None:
        self.target = target
        self.config = config or ClientConfig()
        self._channel = grpc.aio.insecure_channel(target, options=self.config.channel_options())
        self._stub = pb_grpc.DigitClassifierStub(self._channel)
        self._health = health_pb2_grpc.HealthStub(self._channel)

    async def __aenter__(self) -> AsyncDigitsClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        await self._channel.close()

    async def _call(self, rpc: Callable[..., Awaitable[Response]], request: Request) -> Response:
        """One unary call; the channel's retry policy retries it on UNAVAILABLE."""
        try:
            return await rpc(request, timeout=self.config.timeout_s)
        except grpc.RpcError as err:
            raise translate(err, self.target) from err

    async def _per_image(self, rpc: Callable[..., Any], request_type: Callable[..., Any],
                         images: Iterable[ImageLike],
                         convert: Callable[[Any, int], Answer]) -> list[Answer]:
        """Send `images` in chunks, one `rpc` call each; one answer per image, in input order."""
        answers: list[Answer] = []
        for chunk in chunks(to_images(images), self.config):
            response = await self._call(rpc, request_type(images=chunk))
            offset = len(answers)
            answers.extend(convert(r, offset + r.index) for r in response.results)
        return answers

    async def classify(self, images: Iterable[ImageLike]) -> list[Classification]:
        """One Classification per image, in input order; large lists go in several calls."""
        return await self._per_image(self._stub.Classify, pb.ClassifyRequest, images,
                                     Classification.from_proto)

    async def read_number(self, images: Iterable[ImageLike]) -> list[NumberReading]:
        """One NumberReading per image (each holding one whole number, e.g. "0417"), in input
        order; large lists go in several calls. A raw 28 × 28 array reads as one digit."""
        return await self._per_image(self._stub.ReadNumber, pb.ReadNumberRequest, images,
                                     NumberReading.from_proto)

    async def classify_one(self, image: ImageLike) -> Classification:
        return (await self.classify([image]))[0]

    async def classify_stream(self, images: Iterable[ImageLike],
                              timeout_s: float | None = None) -> AsyncIterator[Classification]:
        """As DigitsClient.classify_stream: results in completion order over one stream."""
        requests = (pb.ClassifyRequest(images=chunk)
                    for chunk in chunks(map(to_image, images), self.config))
        call = self._stub.ClassifyStream(requests, timeout=timeout_s or self.config.timeout_s)
        try:
            async for response in call:
                for result in response.results:
                    yield Classification.from_proto(result, result.index)
        except grpc.RpcError as err:
            raise translate(err, self.target) from err

    async def model_info(self) -> ModelInfo:
        response = await self._call(self._stub.GetModelInfo, pb.GetModelInfoRequest())
        return ModelInfo.from_proto(response)

    async def health(self) -> str:
        """As DigitsClient.health: "SERVING", or ServiceUnavailableError with health checking."""
        response = await self._call(self._health.Check,
                                    health_pb2.HealthCheckRequest(service=SERVICE_NAME))
        return health_pb2.HealthCheckResponse.ServingStatus.Name(response.status)

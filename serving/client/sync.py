"""DigitsClient: the blocking client (chunking, deadlines, errors; retries and balancing are
the channel's, see ClientConfig)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from serving.client.config import DEFAULT_TARGET, ClientConfig
from serving.client.errors import translate
from serving.client.images import ImageLike, chunks, to_image, to_images
from serving.client.results import Classification, ModelInfo, NumberReading
from serving.generated.digits.v1 import digits_pb2 as pb
from serving.generated.digits.v1 import digits_pb2_grpc as pb_grpc

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["DigitClassifier"].full_name

Request = TypeVar("Request")
Response = TypeVar("Response")
Answer = TypeVar("Answer")


class DigitsClient:
    """Blocking client of the Digits service; use as a context manager (closes the channel).

    `target` is one server (`host:port`) or many replicas (`dns:///name:port`,
    `ipv4:h1:p1,h2:p2`): calls are spread over them round robin (ClientConfig). Every call has a
    deadline (config.timeout_s, retries included) and is retried on UNAVAILABLE with exponential
    backoff; failures raise DigitsClientError subclasses, never grpc.RpcError.
    """

    def __init__(self, target: str = DEFAULT_TARGET, config: ClientConfig | None = None) -> None:
        self.target = target
        self.config = config or ClientConfig()
        self._channel = grpc.insecure_channel(target, options=self.config.channel_options())
        self._stub = pb_grpc.DigitClassifierStub(self._channel)
        self._health = health_pb2_grpc.HealthStub(self._channel)

    def __enter__(self) -> DigitsClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._channel.close()

    def _call(self, rpc: Callable[..., Response], request: Request) -> Response:
        """One unary call; the channel's retry policy retries it on UNAVAILABLE."""
        try:
            return rpc(request, timeout=self.config.timeout_s)
        except grpc.RpcError as err:
            raise translate(err, self.target) from err

    def _per_image(self, rpc: Callable[..., Any], request_type: Callable[..., Any],
                   images: Iterable[ImageLike],
                   convert: Callable[[Any, int], Answer]) -> list[Answer]:
        """Send `images` in chunks, one `rpc` call each; one answer per image, in input order."""
        answers: list[Answer] = []
        for chunk in chunks(to_images(images), self.config):
            response = self._call(rpc, request_type(images=chunk))
            offset = len(answers)
            answers.extend(convert(r, offset + r.index) for r in response.results)
        return answers

    def classify(self, images: Iterable[ImageLike]) -> list[Classification]:
        """One Classification per image, in input order; large lists go in several calls."""
        return self._per_image(self._stub.Classify, pb.ClassifyRequest, images,
                               Classification.from_proto)

    def read_number(self, images: Iterable[ImageLike]) -> list[NumberReading]:
        """One NumberReading per image (each holding one whole number, e.g. "0417"), in input
        order; large lists go in several calls. A raw 28 × 28 array reads as one digit."""
        return self._per_image(self._stub.ReadNumber, pb.ReadNumberRequest, images,
                               NumberReading.from_proto)

    def classify_one(self, image: ImageLike) -> Classification:
        return self.classify([image])[0]

    def classify_stream(self, images: Iterable[ImageLike],
                        timeout_s: float | None = None) -> Iterator[Classification]:
        """Classify a long job over one stream; yields results as they are ready (completion
        order; `index` gives the input position). The deadline covers the whole stream
        (default config.timeout_s); streams are not retried."""
        requests = (pb.ClassifyRequest(images=chunk)
                    for chunk in chunks(map(to_image, images), self.config))
        responses = self._stub.ClassifyStream(requests, timeout=timeout_s or self.config.timeout_s)
        try:
            for response in responses:
                for result in response.results:
                    yield Classification.from_proto(result, result.index)
        except grpc.RpcError as err:
            raise translate(err, self.target) from err

    def model_info(self) -> ModelInfo:
        return ModelInfo.from_proto(self._call(self._stub.GetModelInfo, pb.GetModelInfoRequest()))

    def health(self) -> str:
        """The grpc.health.v1 status of the classifier: "SERVING", "NOT_SERVING"... With
        config.health_checking (the default) only SERVING addresses get calls, so this returns
        "SERVING" or raises ServiceUnavailableError."""
        response = self._call(self._health.Check,
                              health_pb2.HealthCheckRequest(service=SERVICE_NAME))
        return health_pb2.HealthCheckResponse.ServingStatus.Name(response.status)

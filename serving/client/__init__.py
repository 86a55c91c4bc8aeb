"""Client library of the Digits service: sync and asyncio clients, typed results, own errors."""

from serving.client.aio import AsyncDigitsClient
from serving.client.config import ClientConfig
from serving.client.errors import (
    DeadlineExceededError,
    DigitsClientError,
    ImageInputError,
    RequestRejectedError,
    ServiceUnavailableError,
)
from serving.client.images import ImageLike
from serving.client.results import (
    Classification,
    DigitReading,
    ModelInfo,
    NumberReading,
    NumberStatus,
    ResultStatus,
)
from serving.client.sync import DigitsClient

__all__ = [
    "AsyncDigitsClient",
    "Classification",
    "ClientConfig",
    "DeadlineExceededError",
    "DigitReading",
    "DigitsClient",
    "DigitsClientError",
    "ImageInputError",
    "ImageLike",
    "ModelInfo",
    "NumberReading",
    "NumberStatus",
    "RequestRejectedError",
    "ResultStatus",
    "ServiceUnavailableError",
]

"""The client's own exceptions; gRPC errors are translated here, never raised to callers."""

from __future__ import annotations

import grpc


class DigitsClientError(Exception):
    """Base of every error the Digits client raises; `code` is the gRPC status name, if any."""

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code


class ServiceUnavailableError(DigitsClientError):
    """The server cannot be reached or is shutting down, even after the retries."""


class DeadlineExceededError(DigitsClientError):
    """The server did not answer within the call's deadline (ClientConfig.timeout_s)."""


class RequestRejectedError(DigitsClientError):
    """The server refused the request (invalid, too large, or overloaded); see the message."""


class ImageInputError(DigitsClientError):
    """An input cannot be turned into an image to send (unreadable file, unsupported array)."""


_REJECTED = {grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.RESOURCE_EXHAUSTED,
             grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.OUT_OF_RANGE}


def translate(err: grpc.RpcError, target: str) -> DigitsClientError:
    """The client exception for a failed RPC to `target`."""
    code = err.code()  # type: ignore[attr-defined]  # every RpcError raised by a call has it
    details = err.details() or code.name  # type: ignore[attr-defined]
    if code is grpc.StatusCode.UNAVAILABLE:
        return ServiceUnavailableError(
            f"the Digits server at {target} is unavailable: {details}", code.name)
    if code is grpc.StatusCode.DEADLINE_EXCEEDED:
        return DeadlineExceededError(
            f"the Digits server at {target} did not answer in time: {details}", code.name)
    if code in _REJECTED:
        return RequestRejectedError(f"the Digits server refused the request: {details}",
                                    code.name)
    return DigitsClientError(f"the Digits server at {target} failed: {code.name}: {details}",
                             code.name)

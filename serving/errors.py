"""The one exception hierarchy of the serving side; the servicer maps it to gRPC status codes."""

from __future__ import annotations


class DigitsError(Exception):
    """Base of every error the serving side raises on purpose; its message is safe to show users."""


class InvalidImageError(DigitsError):
    """One image cannot be used: undecodable bytes, wrong raw pixel count, unsupported mode."""


class ImageTooLargeError(InvalidImageError):
    """One image exceeds a limit: encoded byte size or decoded pixel count (decompression bomb)."""


class InvalidRequestError(DigitsError):
    """The request as a whole is unusable: empty, too many images, bad options."""


class ModelLoadError(DigitsError):
    """The exported model or its metadata file is missing, unreadable or inconsistent."""


class OverloadedError(DigitsError):
    """The server's queue is full; the client should retry later."""


class UnavailableError(DigitsError):
    """The service is shutting down (or not ready); the client should retry, maybe elsewhere."""

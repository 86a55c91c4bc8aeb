"""Turning the client's inputs (paths, bytes, arrays, PIL images) into request chunks."""

from __future__ import annotations

import io
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
from PIL import Image as PILImage

from serving.client.config import ClientConfig
from serving.client.errors import ImageInputError
from serving.generated.digits.v1 import digits_pb2 as pb

RAW_SHAPE = (28, 28)  # a uint8 array of this shape is sent raw, in the MNIST convention

# A file path; bytes of an image file; a numpy array (uint8 [28, 28] = raw MNIST convention,
# other uint8 [H, W] / [H, W, 3|4] arrays are sent PNG-encoded); or a PIL image.
ImageLike = str | os.PathLike | bytes | bytearray | memoryview | np.ndarray | PILImage.Image


def _png(image: PILImage.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _from_array(array: np.ndarray) -> pb.Image:
    if array.dtype != np.uint8:
        raise ImageInputError(f"arrays must be uint8, got {array.dtype}; scale to 0–255 first")
    if array.shape == RAW_SHAPE:
        return pb.Image(raw=np.ascontiguousarray(array).tobytes())
    if array.ndim == 2 or (array.ndim == 3 and array.shape[2] in (3, 4)):
        return pb.Image(encoded=_png(PILImage.fromarray(array)))
    raise ImageInputError(f"arrays must be [28, 28] (raw MNIST) or [H, W], [H, W, 3|4]; "
                          f"got shape {array.shape}")


def to_image(item: ImageLike) -> pb.Image:
    """The request Image for one input; raises ImageInputError for what cannot be sent."""
    if isinstance(item, (str, os.PathLike)):
        path = Path(item)
        try:
            return pb.Image(encoded=path.read_bytes(), id=str(path))
        except OSError as err:
            raise ImageInputError(f"cannot read image file {path}: {err.strerror}") from err
    if isinstance(item, (bytes, bytearray, memoryview)):
        return pb.Image(encoded=bytes(item))
    if isinstance(item, np.ndarray):
        return _from_array(item)
    if isinstance(item, PILImage.Image):
        return pb.Image(encoded=_png(item))
    raise ImageInputError(f"cannot send a {type(item).__name__} as an image; pass a path, "
                          f"bytes of an image file, a uint8 numpy array or a PIL image")


def _size(image: pb.Image) -> int:
    return len(image.raw) + len(image.encoded) + len(image.id)


def chunks(images: Iterable[pb.Image], config: ClientConfig) -> Iterator[list[pb.Image]]:
    """Lazy slices of at most chunk_images images and chunk_bytes bytes each (an image larger
    than chunk_bytes travels alone)."""
    chunk: list[pb.Image] = []
    size = 0
    for image in images:
        image_size = _size(image)
        if chunk and (len(chunk) >= config.chunk_images
                      or size + image_size > config.chunk_bytes):
            yield chunk
            chunk, size = [], 0
        chunk.append(image)
        size += image_size
    if chunk:
        yield chunk


def to_images(items: Iterable[ImageLike]) -> list[pb.Image]:
    return [to_image(item) for item in items]

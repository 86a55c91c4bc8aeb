"""Typed results of the client: one Classification per image, and the server's ModelInfo."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from serving.generated.digits.v1 import digits_pb2 as pb


class ResultStatus(enum.StrEnum):
    """What the server concluded about one image."""

    DIGIT = "digit"  # classified: digit, confidence and probabilities are set
    BLANK = "blank"  # no ink found; not classified
    ERROR = "error"  # this image failed alone; `error` says why


_FROM_PROTO = {
    pb.RESULT_STATUS_DIGIT: ResultStatus.DIGIT,
    pb.RESULT_STATUS_BLANK: ResultStatus.BLANK,
    pb.RESULT_STATUS_ERROR: ResultStatus.ERROR,
}


@dataclass(frozen=True)
class Classification:
    """The server's answer for one input image."""

    index: int  # position of the image in the list given to classify()
    id: str  # the image's id: the file path for path inputs, else ""
    status: ResultStatus
    digit: int | None  # 0–9 when status is DIGIT, else None
    confidence: float  # probability of `digit`, in [0, 1]; 0 unless DIGIT
    probabilities: tuple[float, ...]  # 10 softmax values for digits 0–9; () unless DIGIT
    error: str  # why the image failed; "" unless ERROR
    batch_size: int  # images in the server's model run that classified it; 0 unless DIGIT

    @classmethod
    def from_proto(cls, result: pb.Result, index: int) -> Classification:
        status = _FROM_PROTO.get(result.status, ResultStatus.ERROR)
        return cls(
            index=index, id=result.id, status=status,
            digit=result.digit if result.HasField("digit") else None,
            confidence=result.confidence, probabilities=tuple(result.probabilities),
            error=result.error or ("" if status is not ResultStatus.ERROR else "unknown status"),
            batch_size=result.batch_size,
        )


@dataclass(frozen=True)
class ModelInfo:
    """The served model and the server's limits (GetModelInfo)."""

    name: str
    version: str
    test_accuracy: float  # MNIST test accuracy of the served file, in [0, 1]
    input_width: int  # pixels
    input_height: int  # pixels
    input_dtype: str  # "uint8"
    polarity: str  # "light_on_dark" for raw images
    max_batch_size: int  # images per model run
    max_images_per_request: int  # images per Classify call
    max_message_bytes: int  # bytes per request message
    max_encoded_image_bytes: int  # bytes per encoded image
    max_decoded_pixels: int  # width × height per decoded image
    created: str  # ISO date the model was exported

    @classmethod
    def from_proto(cls, info: pb.GetModelInfoResponse) -> ModelInfo:
        return cls(
            name=info.name, version=info.version, test_accuracy=info.test_accuracy,
            input_width=info.input.width, input_height=info.input.height,
            input_dtype=info.input.dtype,
            polarity=pb.Polarity.Name(info.input.polarity).removeprefix("POLARITY_").lower(),
            max_batch_size=info.max_batch_size,
            max_images_per_request=info.max_images_per_request,
            max_message_bytes=info.max_message_bytes,
            max_encoded_image_bytes=info.max_encoded_image_bytes,
            max_decoded_pixels=info.max_decoded_pixels, created=info.created,
        )

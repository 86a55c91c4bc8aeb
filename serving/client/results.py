"""Typed results of the client: a Classification or NumberReading per image, and ModelInfo."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from serving.generated.digits.v1 import digits_pb2 as pb

Box = tuple[int, int, int, int]  # (left, top, right, bottom) in the input image's pixels


class ResultStatus(enum.StrEnum):
    """What the server concluded about one image of classify()."""

    DIGIT = "digit"  # classified: digit, confidence and probabilities are set
    NOT_A_DIGIT = "not_a_digit"  # ink, but not a digit: digit is None, probabilities are set
    BLANK = "blank"  # no ink found; not classified
    ERROR = "error"  # this image failed alone; `error` says why


class NumberStatus(enum.StrEnum):
    """What the server concluded about one image of read_number()."""

    NUMBER = "number"  # read: number, digits and confidence are set
    NOT_A_NUMBER = "not_a_number"  # ink, but no digit in it
    BLANK = "blank"  # no ink found
    ERROR = "error"  # this image failed alone; `error` says why


_RESULT_STATUS = {
    pb.RESULT_STATUS_DIGIT: ResultStatus.DIGIT,
    pb.RESULT_STATUS_NOT_A_DIGIT: ResultStatus.NOT_A_DIGIT,
    pb.RESULT_STATUS_BLANK: ResultStatus.BLANK,
    pb.RESULT_STATUS_ERROR: ResultStatus.ERROR,
}
_NUMBER_STATUS = {
    pb.NUMBER_STATUS_NUMBER: NumberStatus.NUMBER,
    pb.NUMBER_STATUS_NOT_A_NUMBER: NumberStatus.NOT_A_NUMBER,
    pb.NUMBER_STATUS_BLANK: NumberStatus.BLANK,
    pb.NUMBER_STATUS_ERROR: NumberStatus.ERROR,
}
# A status this client does not know (a newer server) becomes ERROR with this message, so
# callers never mistake it for a result.
UNKNOWN_STATUS = "the server sent a status this client does not know; upgrade the client"


def box_of(box: pb.Box) -> Box:
    return (box.left, box.top, box.right, box.bottom)


def box_json(box: Box | None) -> dict[str, int] | None:
    """A box as the JSON object {left, top, right, bottom} that the CLI and the demo print."""
    if box is None:
        return None
    left, top, right, bottom = box
    return {"left": left, "top": top, "right": right, "bottom": bottom}


@dataclass(frozen=True)
class Classification:
    """The server's answer for one input image of classify()."""

    index: int  # position of the image in the list given to classify()
    id: str  # the image's id: the file path for path inputs, else ""
    status: ResultStatus
    digit: int | None  # 0–9 when status is DIGIT, else None
    confidence: float  # probability of `digit` (and of being a digit), in [0, 1]; 0 unless DIGIT
    probabilities: tuple[float, ...]  # 10 values for digits 0–9 given that it is a digit;
    # () unless DIGIT or NOT_A_DIGIT
    error: str  # why the image failed; "" unless ERROR
    batch_size: int  # images in the server's model run that classified it; 0 if not run
    not_digit_probability: float  # probability that the image holds no digit, in [0, 1];
    # 0 unless DIGIT or NOT_A_DIGIT (and always 0 for a model without a "not a digit" output)
    box: Box | None  # where the classified ink is, in the image's pixels; None for raw
    # 28 × 28 arrays and unless DIGIT or NOT_A_DIGIT

    @classmethod
    def from_proto(cls, result: pb.Result, index: int) -> Classification:
        status = _RESULT_STATUS.get(result.status, ResultStatus.ERROR)
        is_digit = status is ResultStatus.DIGIT and result.HasField("digit")
        return cls(
            index=index, id=result.id, status=status, digit=result.digit if is_digit else None,
            confidence=result.confidence, probabilities=tuple(result.probabilities),
            error=result.error or ("" if status is not ResultStatus.ERROR else UNKNOWN_STATUS),
            batch_size=result.batch_size, not_digit_probability=result.not_digit_probability,
            box=box_of(result.box) if result.HasField("box") else None,
        )


@dataclass(frozen=True)
class DigitReading:
    """One digit of a number read by read_number()."""

    digit: int  # 0–9
    confidence: float  # probability that this part of the image shows `digit`, in [0, 1]
    box: Box  # where the digit's ink is, in the image's pixels; (0, 0, 28, 28) for raw arrays


@dataclass(frozen=True)
class NumberReading:
    """The server's answer for one input image of read_number()."""

    index: int  # position of the image in the list given to read_number()
    id: str  # the image's id: the file path for path inputs, else ""
    status: NumberStatus
    number: str  # the digits left to right, leading zeros kept ("0417"); "" unless NUMBER
    digits: tuple[DigitReading, ...]  # one per character of `number`; () unless NUMBER
    confidence: float  # probability that the whole number is right, in [0, 1]; 0 unless NUMBER
    error: str  # why the image failed; "" unless ERROR

    @classmethod
    def from_proto(cls, result: pb.NumberResult, index: int) -> NumberReading:
        status = _NUMBER_STATUS.get(result.status, NumberStatus.ERROR)
        return cls(
            index=index, id=result.id, status=status, number=result.number,
            digits=tuple(DigitReading(d.digit, d.confidence, box_of(d.box))
                         for d in result.digits),
            confidence=result.confidence,
            error=result.error or ("" if status is not NumberStatus.ERROR else UNKNOWN_STATUS),
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
    max_images_per_request: int  # images per Classify or ReadNumber call
    max_message_bytes: int  # bytes per request message
    max_encoded_image_bytes: int  # bytes per encoded image
    max_decoded_pixels: int  # width × height per decoded image
    created: str  # ISO date the model was exported
    not_digit_threshold: float  # not_digit_probability from which an image is NOT_A_DIGIT, in
    # (0, 1]; 1 when the model has no "not a digit" output
    number_reader_version: str = ""  # the model that reads ReadNumber's digits; "" when none

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
            not_digit_threshold=info.not_digit_threshold,
            number_reader_version=info.number_reader_version,
        )

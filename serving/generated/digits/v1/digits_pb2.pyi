from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ResultStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RESULT_STATUS_UNSPECIFIED: _ClassVar[ResultStatus]
    RESULT_STATUS_DIGIT: _ClassVar[ResultStatus]
    RESULT_STATUS_BLANK: _ClassVar[ResultStatus]
    RESULT_STATUS_ERROR: _ClassVar[ResultStatus]
    RESULT_STATUS_NOT_A_DIGIT: _ClassVar[ResultStatus]

class NumberStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    NUMBER_STATUS_UNSPECIFIED: _ClassVar[NumberStatus]
    NUMBER_STATUS_NUMBER: _ClassVar[NumberStatus]
    NUMBER_STATUS_BLANK: _ClassVar[NumberStatus]
    NUMBER_STATUS_ERROR: _ClassVar[NumberStatus]
    NUMBER_STATUS_NOT_A_NUMBER: _ClassVar[NumberStatus]

class Polarity(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    POLARITY_UNSPECIFIED: _ClassVar[Polarity]
    POLARITY_LIGHT_ON_DARK: _ClassVar[Polarity]
    POLARITY_DARK_ON_LIGHT: _ClassVar[Polarity]
RESULT_STATUS_UNSPECIFIED: ResultStatus
RESULT_STATUS_DIGIT: ResultStatus
RESULT_STATUS_BLANK: ResultStatus
RESULT_STATUS_ERROR: ResultStatus
RESULT_STATUS_NOT_A_DIGIT: ResultStatus
NUMBER_STATUS_UNSPECIFIED: NumberStatus
NUMBER_STATUS_NUMBER: NumberStatus
NUMBER_STATUS_BLANK: NumberStatus
NUMBER_STATUS_ERROR: NumberStatus
NUMBER_STATUS_NOT_A_NUMBER: NumberStatus
POLARITY_UNSPECIFIED: Polarity
POLARITY_LIGHT_ON_DARK: Polarity
POLARITY_DARK_ON_LIGHT: Polarity

class Image(_message.Message):
    __slots__ = ("raw", "encoded", "id")
    RAW_FIELD_NUMBER: _ClassVar[int]
    ENCODED_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    raw: bytes
    encoded: bytes
    id: str
    def __init__(self, raw: _Optional[bytes] = ..., encoded: _Optional[bytes] = ..., id: _Optional[str] = ...) -> None: ...

class ClassifyRequest(_message.Message):
    __slots__ = ("images",)
    IMAGES_FIELD_NUMBER: _ClassVar[int]
    images: _containers.RepeatedCompositeFieldContainer[Image]
    def __init__(self, images: _Optional[_Iterable[_Union[Image, _Mapping]]] = ...) -> None: ...

class Box(_message.Message):
    __slots__ = ("left", "top", "right", "bottom")
    LEFT_FIELD_NUMBER: _ClassVar[int]
    TOP_FIELD_NUMBER: _ClassVar[int]
    RIGHT_FIELD_NUMBER: _ClassVar[int]
    BOTTOM_FIELD_NUMBER: _ClassVar[int]
    left: int
    top: int
    right: int
    bottom: int
    def __init__(self, left: _Optional[int] = ..., top: _Optional[int] = ..., right: _Optional[int] = ..., bottom: _Optional[int] = ...) -> None: ...

class Result(_message.Message):
    __slots__ = ("index", "id", "status", "digit", "confidence", "probabilities", "error", "batch_size", "not_digit_probability", "box")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    DIGIT_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    PROBABILITIES_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    BATCH_SIZE_FIELD_NUMBER: _ClassVar[int]
    NOT_DIGIT_PROBABILITY_FIELD_NUMBER: _ClassVar[int]
    BOX_FIELD_NUMBER: _ClassVar[int]
    index: int
    id: str
    status: ResultStatus
    digit: int
    confidence: float
    probabilities: _containers.RepeatedScalarFieldContainer[float]
    error: str
    batch_size: int
    not_digit_probability: float
    box: Box
    def __init__(self, index: _Optional[int] = ..., id: _Optional[str] = ..., status: _Optional[_Union[ResultStatus, str]] = ..., digit: _Optional[int] = ..., confidence: _Optional[float] = ..., probabilities: _Optional[_Iterable[float]] = ..., error: _Optional[str] = ..., batch_size: _Optional[int] = ..., not_digit_probability: _Optional[float] = ..., box: _Optional[_Union[Box, _Mapping]] = ...) -> None: ...

class ClassifyResponse(_message.Message):
    __slots__ = ("results", "model_name", "model_version")
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    MODEL_NAME_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[Result]
    model_name: str
    model_version: str
    def __init__(self, results: _Optional[_Iterable[_Union[Result, _Mapping]]] = ..., model_name: _Optional[str] = ..., model_version: _Optional[str] = ...) -> None: ...

class ClassifyStreamResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[Result]
    def __init__(self, results: _Optional[_Iterable[_Union[Result, _Mapping]]] = ...) -> None: ...

class ReadNumberRequest(_message.Message):
    __slots__ = ("images",)
    IMAGES_FIELD_NUMBER: _ClassVar[int]
    images: _containers.RepeatedCompositeFieldContainer[Image]
    def __init__(self, images: _Optional[_Iterable[_Union[Image, _Mapping]]] = ...) -> None: ...

class DigitReading(_message.Message):
    __slots__ = ("digit", "confidence", "box")
    DIGIT_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    BOX_FIELD_NUMBER: _ClassVar[int]
    digit: int
    confidence: float
    box: Box
    def __init__(self, digit: _Optional[int] = ..., confidence: _Optional[float] = ..., box: _Optional[_Union[Box, _Mapping]] = ...) -> None: ...

class NumberResult(_message.Message):
    __slots__ = ("index", "id", "status", "number", "digits", "confidence", "error")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    DIGITS_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    index: int
    id: str
    status: NumberStatus
    number: str
    digits: _containers.RepeatedCompositeFieldContainer[DigitReading]
    confidence: float
    error: str
    def __init__(self, index: _Optional[int] = ..., id: _Optional[str] = ..., status: _Optional[_Union[NumberStatus, str]] = ..., number: _Optional[str] = ..., digits: _Optional[_Iterable[_Union[DigitReading, _Mapping]]] = ..., confidence: _Optional[float] = ..., error: _Optional[str] = ...) -> None: ...

class ReadNumberResponse(_message.Message):
    __slots__ = ("results", "model_name", "model_version")
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    MODEL_NAME_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[NumberResult]
    model_name: str
    model_version: str
    def __init__(self, results: _Optional[_Iterable[_Union[NumberResult, _Mapping]]] = ..., model_name: _Optional[str] = ..., model_version: _Optional[str] = ...) -> None: ...

class GetModelInfoRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class InputContract(_message.Message):
    __slots__ = ("width", "height", "dtype", "polarity")
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    DTYPE_FIELD_NUMBER: _ClassVar[int]
    POLARITY_FIELD_NUMBER: _ClassVar[int]
    width: int
    height: int
    dtype: str
    polarity: Polarity
    def __init__(self, width: _Optional[int] = ..., height: _Optional[int] = ..., dtype: _Optional[str] = ..., polarity: _Optional[_Union[Polarity, str]] = ...) -> None: ...

class GetModelInfoResponse(_message.Message):
    __slots__ = ("name", "version", "test_accuracy", "input", "max_batch_size", "max_images_per_request", "max_message_bytes", "max_encoded_image_bytes", "max_decoded_pixels", "created", "not_digit_threshold", "number_reader_version")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    TEST_ACCURACY_FIELD_NUMBER: _ClassVar[int]
    INPUT_FIELD_NUMBER: _ClassVar[int]
    MAX_BATCH_SIZE_FIELD_NUMBER: _ClassVar[int]
    MAX_IMAGES_PER_REQUEST_FIELD_NUMBER: _ClassVar[int]
    MAX_MESSAGE_BYTES_FIELD_NUMBER: _ClassVar[int]
    MAX_ENCODED_IMAGE_BYTES_FIELD_NUMBER: _ClassVar[int]
    MAX_DECODED_PIXELS_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    NOT_DIGIT_THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    NUMBER_READER_VERSION_FIELD_NUMBER: _ClassVar[int]
    name: str
    version: str
    test_accuracy: float
    input: InputContract
    max_batch_size: int
    max_images_per_request: int
    max_message_bytes: int
    max_encoded_image_bytes: int
    max_decoded_pixels: int
    created: str
    not_digit_threshold: float
    number_reader_version: str
    def __init__(self, name: _Optional[str] = ..., version: _Optional[str] = ..., test_accuracy: _Optional[float] = ..., input: _Optional[_Union[InputContract, _Mapping]] = ..., max_batch_size: _Optional[int] = ..., max_images_per_request: _Optional[int] = ..., max_message_bytes: _Optional[int] = ..., max_encoded_image_bytes: _Optional[int] = ..., max_decoded_pixels: _Optional[int] = ..., created: _Optional[str] = ..., not_digit_threshold: _Optional[float] = ..., number_reader_version: _Optional[str] = ...) -> None: ...

"""The client's typed results from proto messages, including statuses it does not know."""

from __future__ import annotations

import pytest

from serving.client import (
    Classification,
    DigitReading,
    ModelInfo,
    NumberReading,
    NumberStatus,
    ResultStatus,
)
from serving.engine import Prediction, Status
from serving.generated.digits.v1 import digits_pb2 as pb
from serving.numbers import DigitReading as EngineDigit
from serving.numbers import NumberReading as EngineNumber
from serving.numbers import NumberStatus as EngineNumberStatus
from serving.servicer import to_number_result, to_result

PROBABILITIES = (0.1,) * 10


def test_not_a_digit_from_the_servicer_has_no_digit_but_probabilities_and_box() -> None:
    prediction = Prediction(Status.NOT_A_DIGIT, probabilities=PROBABILITIES, batch_size=2,
                            not_digit_probability=0.875, box=(1, 2, 30, 40))
    result = Classification.from_proto(to_result(0, "q.png", prediction), 7)
    assert (result.index, result.id, result.status) == (7, "q.png", ResultStatus.NOT_A_DIGIT)
    assert result.status == "not_a_digit"
    assert result.digit is None and result.confidence == 0
    assert result.probabilities == pytest.approx(PROBABILITIES)
    assert result.not_digit_probability == 0.875 and result.box == (1, 2, 30, 40)
    assert result.error == ""


def test_digit_without_box_and_blank() -> None:
    digit = Classification.from_proto(to_result(0, "", Prediction(
        Status.DIGIT, digit=3, confidence=0.5, probabilities=PROBABILITIES, batch_size=1)), 0)
    blank = Classification.from_proto(to_result(1, "", Prediction(Status.BLANK)), 1)
    assert (digit.status, digit.digit, digit.box) == (ResultStatus.DIGIT, 3, None)
    assert (blank.status, blank.digit, blank.box, blank.probabilities) == (
        ResultStatus.BLANK, None, None, ())


def test_number_reading_from_the_servicer() -> None:
    engine_reading = EngineNumber(EngineNumberStatus.NUMBER, confidence=0.5, digits=(
        EngineDigit(0, 1.0, (0, 0, 9, 9)), EngineDigit(7, 0.5, (10, 0, 19, 9))))
    reading = NumberReading.from_proto(to_number_result(0, "n.png", engine_reading), 3)
    assert (reading.index, reading.id, reading.status) == (3, "n.png", NumberStatus.NUMBER)
    assert reading.number == "07" and reading.confidence == 0.5 and reading.error == ""
    assert reading.digits == (DigitReading(0, 1.0, (0, 0, 9, 9)),
                              DigitReading(7, 0.5, (10, 0, 19, 9)))


def test_unknown_statuses_become_errors_with_a_message() -> None:
    result = Classification.from_proto(pb.Result(status=99), 0)
    reading = NumberReading.from_proto(pb.NumberResult(status=99), 0)
    assert result.status is ResultStatus.ERROR and "does not know" in result.error
    assert reading.status is NumberStatus.ERROR and "does not know" in reading.error


def test_model_info_carries_the_not_digit_threshold() -> None:
    info = ModelInfo.from_proto(pb.GetModelInfoResponse(
        name="m", input=pb.InputContract(polarity=pb.POLARITY_LIGHT_ON_DARK),
        not_digit_threshold=0.5))
    assert info.not_digit_threshold == 0.5 and info.polarity == "light_on_dark"

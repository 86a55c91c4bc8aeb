"""The servicer's conversions from engine answers to proto messages, without a server."""

from __future__ import annotations

import pytest

from serving.engine import Prediction, Status
from serving.generated.digits.v1 import digits_pb2 as pb
from serving.numbers import DigitReading, NumberReading, NumberStatus
from serving.servicer import to_number_result, to_result

PROBABILITIES = (0.05, 0.05, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.2)


def test_not_a_digit_keeps_probabilities_and_box_but_has_no_digit() -> None:
    prediction = Prediction(Status.NOT_A_DIGIT, probabilities=PROBABILITIES, batch_size=3,
                            not_digit_probability=0.93, box=(4, 5, 40, 60))
    result = to_result(2, "x.png", prediction)
    assert (result.index, result.id, result.status) == (2, "x.png", pb.RESULT_STATUS_NOT_A_DIGIT)
    assert not result.HasField("digit") and result.confidence == 0
    assert list(result.probabilities) == pytest.approx(PROBABILITIES)
    assert result.not_digit_probability == pytest.approx(0.93)
    assert (result.box.left, result.box.top, result.box.right, result.box.bottom) == (4, 5, 40, 60)
    assert result.batch_size == 3 and result.error == ""


def test_digit_carries_not_digit_probability_and_a_raw_image_has_no_box() -> None:
    prediction = Prediction(Status.DIGIT, digit=9, confidence=0.19, probabilities=PROBABILITIES,
                            batch_size=1, not_digit_probability=0.05)
    result = to_result(0, "", prediction)
    assert result.status == pb.RESULT_STATUS_DIGIT and result.digit == 9
    assert result.not_digit_probability == pytest.approx(0.05)
    assert not result.HasField("box")


def test_blank_sets_nothing_but_its_status() -> None:
    result = to_result(0, "", Prediction(Status.BLANK))
    assert result.status == pb.RESULT_STATUS_BLANK
    assert not result.HasField("digit") and not result.HasField("box")
    assert len(result.probabilities) == 0 and result.not_digit_probability == 0


def test_a_number_becomes_its_digits_left_to_right_with_leading_zero() -> None:
    reading = NumberReading(NumberStatus.NUMBER, confidence=0.72, digits=(
        DigitReading(0, 0.9, (0, 1, 10, 20)), DigitReading(4, 0.8, (12, 0, 22, 21))))
    result = to_number_result(1, "n.png", reading)
    assert (result.index, result.id, result.status) == (1, "n.png", pb.NUMBER_STATUS_NUMBER)
    assert result.number == "04" and result.confidence == pytest.approx(0.72)
    assert [(d.digit, round(d.confidence, 6)) for d in result.digits] == [(0, 0.9), (4, 0.8)]
    assert [(d.box.left, d.box.top, d.box.right, d.box.bottom) for d in result.digits] == [
        (0, 1, 10, 20), (12, 0, 22, 21)]


@pytest.mark.parametrize(("reading", "status"), [
    (NumberReading(NumberStatus.BLANK), pb.NUMBER_STATUS_BLANK),
    (NumberReading(NumberStatus.NOT_A_NUMBER), pb.NUMBER_STATUS_NOT_A_NUMBER),
    (NumberReading(NumberStatus.ERROR, error="cannot decode"), pb.NUMBER_STATUS_ERROR),
])
def test_other_number_statuses_carry_no_number(reading: NumberReading, status: int) -> None:
    result = to_number_result(0, "", reading)
    assert result.status == status and result.error == reading.error
    assert result.number == "" and len(result.digits) == 0 and result.confidence == 0

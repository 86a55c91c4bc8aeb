"""Reading a whole number in one image: the answer types (segmentation lives in serving/segment.py)."""

from __future__ import annotations

import enum
from dataclasses import dataclass

Box = tuple[int, int, int, int]  # (left, top, right, bottom) in the input image's pixels


class NumberStatus(enum.Enum):
    """What the engine concluded about one image of ReadNumber."""

    NUMBER = "number"
    NOT_A_NUMBER = "not_a_number"
    BLANK = "blank"
    ERROR = "error"


@dataclass(frozen=True)
class DigitReading:
    """One digit of a number."""

    digit: int  # 0–9
    confidence: float  # probability that this part of the image shows `digit`, in [0, 1]
    box: Box  # where the digit's ink is


@dataclass(frozen=True)
class NumberReading:
    """The engine's answer for one image of ReadNumber; failures are values, never exceptions."""

    status: NumberStatus
    digits: tuple[DigitReading, ...] = ()  # left to right; () unless NUMBER
    confidence: float = 0.0  # probability that every digit is right (product); 0 unless NUMBER
    error: str = ""  # why the image failed, safe to show users; "" unless ERROR

    @property
    def number(self) -> str:
        """The digits as text, leading zeros kept ("" unless NUMBER)."""
        return "".join(str(d.digit) for d in self.digits)

"""How the command line prints answers: aligned tables or JSON lines, for predict and read-number."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from serving.client.files import FileAnswer
from serving.client.results import (
    Classification,
    NumberReading,
    NumberStatus,
    ResultStatus,
    box_json,
)

JsonObject = dict[str, Any]
Cells = tuple[tuple[str, ...], str]  # the cells after the path, and a message for the line's end

DIGITS = 6  # decimals of probabilities in JSON: float32 carries about 7 significant digits
_PREDICT_WORDS = {ResultStatus.DIGIT: "digit", ResultStatus.NOT_A_DIGIT: "not a digit",
                  ResultStatus.BLANK: "blank", ResultStatus.ERROR: "error"}
_NUMBER_WORDS = {NumberStatus.NUMBER: "number", NumberStatus.NOT_A_NUMBER: "not a number",
                 NumberStatus.BLANK: "blank", NumberStatus.ERROR: "error"}


def _failure_json(row: FileAnswer[Any]) -> JsonObject:
    return {"path": row.path, "status": "error", "error": row.message}


def classification_json(row: FileAnswer[Classification]) -> JsonObject:
    """predict --json: status, digit (null unless a digit), the probabilities, box; or error."""
    r = row.answer
    if row.failed or r is None:
        return _failure_json(row)
    return {"path": row.path, "status": r.status.value, "digit": r.digit,
            "confidence": round(r.confidence, DIGITS),
            "not_digit_probability": round(r.not_digit_probability, DIGITS),
            "probabilities": [round(p, DIGITS) for p in r.probabilities],
            "box": box_json(r.box)}


def number_json(row: FileAnswer[NumberReading]) -> JsonObject:
    """read-number --json: status, number (a string, null unless read), confidence, digits."""
    r = row.answer
    if row.failed or r is None:
        return _failure_json(row)
    return {"path": row.path, "status": r.status.value,
            "number": r.number if r.status is NumberStatus.NUMBER else None,
            "confidence": round(r.confidence, DIGITS),
            "digits": [{"digit": d.digit, "confidence": round(d.confidence, DIGITS),
                        "box": box_json(d.box)} for d in r.digits]}


def classification_cells(row: FileAnswer[Classification]) -> Cells:
    r = row.answer
    if row.failed or r is None:
        return ("error", "-", "-"), row.message
    if r.status is ResultStatus.DIGIT:
        return ("digit", str(r.digit), f"{r.confidence:.3f}"), ""
    return (_PREDICT_WORDS[r.status], "-", "-"), ""


def number_cells(row: FileAnswer[NumberReading]) -> Cells:
    r = row.answer
    if row.failed or r is None:
        return ("error", "-", "-", "-"), row.message
    if r.status is NumberStatus.NUMBER:
        return ("number", r.number, f"{r.confidence:.3f}",
                " ".join(f"{d.confidence:.2f}" for d in r.digits)), ""
    return (_NUMBER_WORDS[r.status], "-", "-", "-"), ""


@dataclass(frozen=True)
class Column:
    title: str
    width: int  # characters; longer cells push the rest of their line to the right
    right: bool = False  # right-aligned (numbers)


@dataclass(frozen=True)
class Format:
    """How one command prints a FileAnswer: table columns after the path, and JSON."""

    columns: tuple[Column, ...]
    cells: Callable[[FileAnswer[Any]], Cells]
    as_json: Callable[[FileAnswer[Any]], JsonObject]


PREDICT = Format((Column("status", 11), Column("digit", 5, right=True),
                  Column("confidence", 10, right=True)), classification_cells, classification_json)
READ_NUMBER = Format((Column("status", 12), Column("number", 10, right=True),
                      Column("confidence", 10, right=True), Column("digits", 0)),
                     number_cells, number_json)


class Printer:
    """Writes each FileAnswer as one JSON line, or as one line of a table whose path column is
    as wide as the longest path."""

    def __init__(self, fmt: Format, paths: Sequence[Path], out: TextIO, as_json: bool) -> None:
        self._format = fmt
        self._out = out
        self._as_json = as_json
        self._width = max([len("path"), *(len(str(p)) for p in paths)])
        self._header_written = False

    def _line(self, path: str, cells: Sequence[str], message: str = "") -> None:
        parts = [f"{path:<{self._width}}"]
        parts += [f"{cell:>{c.width}}" if c.right else f"{cell:<{c.width}}"
                  for c, cell in zip(self._format.columns, cells, strict=True)]
        if message:
            parts.append(message)
        self._out.write("  ".join(parts).rstrip() + "\n")

    def write(self, row: FileAnswer[Any]) -> None:
        if self._as_json:
            self._out.write(json.dumps(self._format.as_json(row)) + "\n")
            return
        if not self._header_written:  # only once a result exists: no header above an error line
            self._line("path", [c.title for c in self._format.columns])
            self._header_written = True
        self._line(row.path, *self._format.cells(row))

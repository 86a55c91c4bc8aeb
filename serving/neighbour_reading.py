"""A digit cropped from a written number, its neighbours' fragments running into both side edges,
read by the number reader.

The classifier sees one digit-sized picture and must guess which ink is the digit; cut off, a
neighbour's fragment can look like part of it. The number reader (serving.number_reader) reads
the whole line, fragments included, as the digits they are: its digit nearest the image's middle
is the one the crop was centred on.

It answers only where (chosen on the heldout twins, never on the test split):
- the strokes run into both side edges (serving.number_line.crossing_line): elsewhere the
  reader, which never saw non-digits, read letters and shapes as digits (tuning non-digits
  answered with confidence ≥ 0.9: 0.8 → 2–3.6 % without this condition);
- its digit there is read with at least MIN_CONFIDENCE, its middle within MAX_OFFSET line
  columns of the image's middle. With the reader 1.0.0+large.e19, heldout neighbour crops
  (900 / 300 others) and tuning non-digits answered ≥ 0.9 (2,000), for confidence / offset:
  0.9 / 16: 97.9 / 97.7 / 1.00 %; 0.95 / 8: 98.1 / 97.3 / 0.85 %; 0.98 / 8: 98.1 / 97.3 / 0.80 %;
  0.99 / 8: 98.0 / 97.0 / 0.80 %.
Through the engine: heldout neighbour crops 95.1 → 98.1 % (900) and 95.3 → 97.3 % (300 others),
the other heldout kinds unchanged (300 each), tuning non-digits answered with confidence ≥ 0.9
0.80 → 0.80 % (2,000).

Tried and reverted: a less sure reading (≥ 0.95 within 10 columns) answering where the classifier
finds no digit or an unsure one read 4 more of 3,900 twin neighbour crops right, but answered 5
more of 4,000 tuning non-digits as digits with confidence ≥ 0.9 (0.80 → 0.93 %): the classifier
had rightly called them "not a digit".
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from serving.number_layout import ReaderDigits, frame_boxes
from serving.number_line import CrossingLine
from serving.number_reader import BLANK, FrameDigit, NumberReaderModel, frames_or_none
from serving.predictions import Prediction, Status
from serving.preprocess import PreparedImage

MIN_CONFIDENCE = 0.98  # the reader's digit answers from this confidence on
MAX_OFFSET = 8.0  # line columns (a quarter of the line's height) between its middle and the
# image's


def read_crossings(reader: NumberReaderModel | None,
                   images: Sequence[PreparedImage | Prediction]) -> list[Prediction | None]:
    """The reader's answer for each prepared image with a crossing line, in one reader run; None
    for the others, where it is unsure, and for all when there is no reader or it fails."""
    crossings = [image.crossing if isinstance(image, PreparedImage) else None for image in images]
    present = [crossing.line.pixels for crossing in crossings if crossing is not None]
    read = frames_or_none(reader, present, "the classifier answers for these crops alone")
    if read is None:
        return [None] * len(images)
    frames = iter(read)
    stride = reader.metadata.frame_stride  # type: ignore[union-attr]  # it read them
    return [None if crossing is None else _answer(crossing, next(frames), stride, len(present))
            for crossing in crossings]


def _answer(crossing: CrossingLine, probabilities: np.ndarray, stride: int,
            batch_size: int) -> Prediction | None:
    """The digit read nearest the image's middle, if sure and near enough; else None."""
    read = ReaderDigits.of(probabilities, stride)
    digits = read.digits
    if not digits:
        return None
    index = min(range(len(digits)),
                key=lambda i: abs(_middle(digits[i], stride) - crossing.centre))
    middle = digits[index]
    if (middle.confidence < MIN_CONFIDENCE
            or abs(_middle(middle, stride) - crossing.centre) > MAX_OFFSET):
        return None
    first, stop = middle.frames
    peak = first + int(probabilities[middle.digit + 1, first:stop].argmax())
    column = probabilities[:, peak].astype(np.float64)
    digit_p = np.delete(column, BLANK)
    return Prediction(
        Status.DIGIT, digit=middle.digit, confidence=middle.confidence,
        probabilities=tuple((digit_p / max(float(digit_p.sum()), 1e-12)).tolist()),
        batch_size=batch_size,
        not_digit_probability=float(column[BLANK]),  # the reader's "no digit here" at its peak
        box=frame_boxes(crossing.line, read)[index])


def _middle(found: FrameDigit, stride: int) -> float:
    """Line column of the middle of a digit's frames."""
    return (found.frames[0] + found.frames[1]) / 2 * stride

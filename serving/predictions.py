"""The engine's answer for one image: its status, the Prediction, and how a model row, or an
image waiting for its model runs, becomes one."""

from __future__ import annotations

import enum
import logging
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass

import numpy as np

from serving.errors import DigitsError
from serving.model import NOT_DIGIT_CLASS, NUM_CLASSES, decide
from serving.numbers import Box
from serving.preprocess import ALL_READINGS, Alternative, OtherReadings, Reading

log = logging.getLogger(__name__)

INTERNAL_IMAGE_ERROR = "internal error while classifying this image; the server log has details"
UNSURE_DIGIT = 0.7  # a main digit read with less confidence than this gives way to a middle
SURE_REPLACEMENT = 0.9  # piece or the digit inside a frame read as another digit with at least
# this confidence (replacement_floor).
# - A middle piece: a neighbour's fragment touching the digit in a crop makes the whole an unsure
#   other digit. Heldout neighbour crops: 93.7 → 95.1 % on 900 (chosen there: (0.5–0.97,
#   0.9–0.99) all gave 94.8–95.3 %), 95.3 → 95.6 % on 900 fresh ones (8 fixed, 6 broken); heldout
#   forms 95.0 → 96.3 % (300), 95.9 → 96.4 % (900 fresh, none broken); tuning non-digits answered
#   ≥ 0.9 unchanged (16 of 2,000).
# - The digit inside a frame: a form box's sides kept with the digit make it an unsure other one
#   (an 8 read as a 7, a 3 as a 5). Tuning forms: 300, 3 fixed; 900 fresh, 97.1 → 97.7 % (6 fixed,
#   1 broken); of the other tuning kinds (300 each) 1 sticky note broken. Heldout forms (900)
#   97.1 → 97.7 % (5 fixed, none broken), 1 of 900 heldout neighbour crops broken, the heldout
#   kinds at 300 each unchanged; non-digits answered ≥ 0.9: 8 of 1,000 before and after, tuning
#   and heldout. (Letting it replace digits read below 0.9 at SURE_REPLACEMENT, tuning: forms +4
#   of 300, 8 of 900, but a note and a phone photo broken.)
DOUBTFUL_DIGIT = 0.98  # ... and a main digit read below this gives way to the digit inside a
SURE_FRAME = 0.99  # frame read as another digit with at least this: kept sides make a sure-looking
# wrong digit too (a 3 in a box read as a 5 at 0.96, a 9 as a 3 at 0.87). Tuning forms: 300, 1
# more fixed, 900, 3 more fixed, none broken, the other tuning kinds (300 each) unchanged; heldout
# forms (900) 97.7 → 98.3 % (6 fixed, none broken), 1 heldout sticky note of 900 broken, the
# heldout kinds at 300 each and non-digits (1,000) unchanged. (Chosen on the tuning twins among
# (0.95–0.98, 0.99–0.995); alone, without the tier above, 0.98 / 0.99 broke 2 of 900 tuning forms.)


def replacement_floor(reading: Reading, main_digit: int | None,
                      main_confidence: float) -> float | None:
    """The confidence from which an alternative `reading`, read as another digit, replaces a
    main reading of `main_digit` with `main_confidence`; None when it cannot."""
    if reading is Reading.DARK:
        return None  # the dark-ink reading only stands in for no digit
    if reading is Reading.RING and main_digit == 0:
        # A 0 with strokes inside it is a ring around them: a circled 1 read as a 0 at 0.98 or
        # more (heldout circled digits, 400: 16 of 40 circled 1s). Not a frame reading: a 0 whose
        # flat top is taken off as a "side" is a C, read as a 6 at 0.99.
        return SURE_REPLACEMENT
    if main_confidence < UNSURE_DIGIT:
        return SURE_REPLACEMENT
    if reading in (Reading.FRAME, Reading.RING) and main_confidence < DOUBTFUL_DIGIT:
        return SURE_FRAME
    return None


class Status(enum.Enum):
    """What the engine concluded about one image."""

    DIGIT = "digit"
    NOT_A_DIGIT = "not_a_digit"
    BLANK = "blank"
    ERROR = "error"


@dataclass(frozen=True)
class ImageInput:
    """One image as it arrives: 784 raw MNIST-convention bytes, or an encoded image file."""

    data: bytes
    encoded: bool  # True: an image file (PNG, JPEG...); False: 28 × 28 raw uint8 pixels


@dataclass(frozen=True)
class Prediction:
    """The engine's answer for one image; failures are values, never exceptions."""

    status: Status
    digit: int | None = None  # 0–9, the most probable digit; set when status is DIGIT
    confidence: float = 0.0  # probability that the image shows `digit`; 0 unless DIGIT
    probabilities: tuple[float, ...] = ()  # 10 values for digits 0–9 given that it is a digit;
    # () unless DIGIT or NOT_A_DIGIT
    batch_size: int = 0  # images in the model run that classified this one; 0 if not run
    error: str = ""  # why the image failed, safe to show users; "" unless ERROR
    not_digit_probability: float = 0.0  # probability that the image holds no digit; 0 if not run
    box: Box | None = None  # where the classified ink is; None for raw images and unless run


@dataclass(frozen=True)
class Scores:
    """One image's row of a model run."""

    probabilities: np.ndarray  # float32 [10] or [11] (the 11th: not a digit)
    batch_size: int  # images in that run


def scores_of(probabilities: np.ndarray) -> list[Scores]:
    """One Scores per row of a model run's output [N, 10 or 11]."""
    size = len(probabilities)
    return [Scores(row, size) for row in probabilities]


def prediction_from(scores: Scores, threshold: float, box: Box | None = None) -> Prediction:
    """DIGIT or NOT_A_DIGIT from a model row: NOT_A_DIGIT when the 11th probability ≥ threshold.

    The ten digit probabilities are renormalised to "given that it is a digit"; the confidence
    stays joint (the probability that the image is a digit and is this one).
    """
    row = scores.probabilities.astype(np.float64)
    not_digit = float(row[NOT_DIGIT_CLASS]) if row.size > NOT_DIGIT_CLASS else 0.0
    digits = row[:NUM_CLASSES]
    given_digit = digits / max(float(digits.sum()), 1e-12)
    best, is_digit = (int(v[0]) for v in decide(row[None], threshold))
    common = dict(probabilities=tuple(given_digit.tolist()), batch_size=scores.batch_size,
                  not_digit_probability=not_digit, box=box)
    if not is_digit:
        return Prediction(Status.NOT_A_DIGIT, **common)
    return Prediction(Status.DIGIT, digit=best, confidence=float(digits[best]), **common)


@dataclass(frozen=True)
class Pending:
    """An image on its way: either answered already, or waiting for its model run(s)."""

    future: Future[Scores] | None  # None: `answer` is final (error or blank)
    answer: Prediction | None = None
    box: Box | None = None
    others: OtherReadings | None = None  # what the image's other readings are made from, until
    # the main reading is done: they are rendered and read only when it is open to them
    # (wants_alternatives)
    alternatives: tuple[tuple[Future[Scores], Alternative], ...] = ()  # the other readings
    # queued (PreparedImage.others rendered), used when `future`'s is open to them
    # (open_to_alternatives: no digit, or a digit read with too little confidence)

    @property
    def futures(self) -> tuple[Future[Scores], ...]:
        """Every model run this image waits for now."""
        main = () if self.future is None else (self.future,)
        return main + tuple(future for future, _ in self.alternatives)


def wants_alternatives(pending: Pending, threshold: float) -> bool:
    """Whether an image's other readings are to be rendered and read: it has some, and its main
    reading is done and open to them."""
    main = main_reading(pending, threshold)
    return pending.others is not None and main is not None and open_to_alternatives(main)


def main_reading(pending: Pending, threshold: float) -> Prediction | None:
    """The Prediction of an image's main model run once it is done (before any other reading);
    None while it runs, or for an image answered without one."""
    future = pending.future
    if future is None or not future.done():
        return None
    return _reading(future, threshold, pending.box)


def rendered_alternatives(others: OtherReadings | None,
                          main: Prediction) -> tuple[Alternative, ...]:
    """The other readings to read for an image whose main reading is `main`: those that may
    answer instead of it (answering_readings), rendered. If rendering fails (a bug, logged), the
    main reading answers alone."""
    readings = answering_readings(main)
    if others is None or not readings:
        return ()
    try:
        return others.render(readings)
    except Exception:
        log.exception("rendering an image's other readings failed; its main reading answers")
        return ()


def outcome(pending: Pending, threshold: float) -> Prediction:
    """The Prediction of a finished image; a failed model run becomes an ERROR Prediction.

    When the main reading is not a digit, the surest alternative reading that is one wins (a
    digit touching a neighbour in a crop from a number, its middle piece cut out).
    """
    future = pending.future
    if future is None:
        assert pending.answer is not None  # invariant of Pending
        return pending.answer
    main = _reading(future, threshold, pending.box)
    if not open_to_alternatives(main):
        return main  # most images: their alternatives' rows are not read
    return best_reading(main, [(_reading(reading, alternative.threshold(threshold),
                                         alternative.ink_box), alternative)
                               for reading, alternative in pending.alternatives])


def answering_readings(main: Prediction) -> tuple[Reading, ...]:
    """The kinds of alternative reading that may answer instead of a main reading: every kind
    when it is no digit; for a digit, those whose replacement_floor allows it; else none."""
    if main.status is Status.NOT_A_DIGIT:
        return ALL_READINGS
    if main.status is Status.DIGIT:
        return tuple(reading for reading in ALL_READINGS
                     if replacement_floor(reading, main.digit, main.confidence) is not None)
    return ()


def open_to_alternatives(main: Prediction) -> bool:
    """Whether an alternative reading may answer instead of the main one: it is no digit, or a
    digit read with too little confidence for some kind of reading (replacement_floor)."""
    return bool(answering_readings(main))


def best_reading(main: Prediction,
                 alternatives: Sequence[tuple[Prediction, Alternative]]) -> Prediction:
    """The answer for an image from its main reading and its alternatives' readings (with the
    PreparedImage.alternatives they read): when the main one is NOT_A_DIGIT, the surest
    alternative that is a digit; when it is a digit, the surest alternative read as another
    digit with at least its replacement_floor; else the main one."""
    if main.status is Status.NOT_A_DIGIT:
        digits = [reading for reading, _ in alternatives if reading.status is Status.DIGIT]
    elif main.status is Status.DIGIT:
        digits = [reading for reading, alternative in alternatives
                  if reading.status is Status.DIGIT and reading.digit != main.digit
                  and _replaces(alternative.reading, main, reading.confidence)]
    else:
        return main
    return max(digits, key=lambda reading: reading.confidence, default=main)


def _replaces(reading: Reading, main: Prediction, confidence: float) -> bool:
    floor = replacement_floor(reading, main.digit, main.confidence)
    return floor is not None and confidence >= floor


def _reading(future: Future[Scores], threshold: float, box: Box | None) -> Prediction:
    if future.cancelled():
        return Prediction(Status.ERROR, error="cancelled before it was classified")
    err = future.exception()
    if err is None:
        return prediction_from(future.result(), threshold, box)
    if isinstance(err, DigitsError):
        return Prediction(Status.ERROR, error=str(err))
    return Prediction(Status.ERROR, error=INTERNAL_IMAGE_ERROR)  # the batcher logged it

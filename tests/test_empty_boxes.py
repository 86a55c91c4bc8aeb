"""An empty form box or grid whose outer side the line rules kept (tilted, thick, overshooting a
corner): that side alone is a perfect 1, so it is taken off as a line (serving.box_sides).
Heldout-split non-digits of the benchmark's "boxes" family that kept such a side before."""

from __future__ import annotations

import dataclasses

import numpy as np

from benchmarks.real_sets import REAL_SPLITS, encode
from serving.decode import DEFAULT_LIMITS
from serving.engine import DigitEngine, ImageInput
from serving.model import DEFAULT_MODEL_PATH
from serving.numbers import NumberStatus
from serving.preprocess import PreprocessConfig, prepare_encoded
from training.negatives import generate_negatives

KEPT_A_SIDE = (324, 748, 772, 820, 860)  # heldout non-digits, all of the "boxes" family


def test_an_empty_box_whose_side_the_line_rules_keep_is_blank():
    split = REAL_SPLITS["heldout"]
    config = PreprocessConfig()
    sides_kept = dataclasses.replace(config, lines=dataclasses.replace(config.lines, sides=None))
    for index in KEPT_A_SIDE:
        ((gray, family),) = generate_negatives(1, split.negatives_seed,
                                               split=split.negatives_fonts, start=index)
        assert family == "boxes"
        data = encode(gray, np.random.default_rng([split.negatives_seed, index, 0xE1C]))
        before = prepare_encoded(data, DEFAULT_LIMITS, sides_kept)
        box = before.ink_box
        assert box is not None and box[3] - box[1] > 3 * (box[2] - box[0])  # an upright bar
        assert prepare_encoded(data, DEFAULT_LIMITS, config).blank


def test_read_number_answers_empty_boxes_whose_remnants_are_a_few_px_wide():
    # Heldout "boxes" non-digits whose line removal leaves specks 2–3 px wide: the place to cut
    # such a unit fell outside it, and the whole ReadNumber call failed.
    split = REAL_SPLITS["heldout"]
    images = []
    for index in (148, 1196, 1620):
        ((gray, family),) = generate_negatives(1, split.negatives_seed,
                                               split=split.negatives_fonts, start=index)
        assert family == "boxes"
        images.append(ImageInput(encode(gray, np.random.default_rng(
            [split.negatives_seed, index, 0xE1C])), encoded=True))
    engine = DigitEngine.load(DEFAULT_MODEL_PATH)
    try:
        readings = engine.read_number(images, 30.0)
    finally:
        engine.close()
    assert [r.status for r in readings] == [NumberStatus.NOT_A_NUMBER] * 3, readings

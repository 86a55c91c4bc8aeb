"""Tests of `make bench-real`: its scores, its sets, and a tiny run of the whole table."""

from __future__ import annotations

import io
import itertools
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from benchmarks.bench_real import main
from benchmarks.real_scores import auroc, no_digit_score, score_digits, score_numbers
from benchmarks.real_sets import REAL_SPLITS, SetSizes, build_sets, continental_set, negative_set
from benchmarks.scenes import SCENE_KINDS, SPLITS, generate_scenes, split_digits
from benchmarks.served_preprocessing import served_preparation
from serving.client import Classification, NumberReading, NumberStatus, ResultStatus
from serving.preprocess import DEFAULT_CONFIG, prepare_encoded
from training.config import TrainConfig
from training.dataset import split_mnist


def answer(status: ResultStatus, digit: int | None = None, not_digit: float = 0.0,
           confidence: float = 0.0) -> Classification:
    return Classification(index=0, id="", status=status, digit=digit, confidence=confidence,
                          probabilities=(), error="", batch_size=1,
                          not_digit_probability=not_digit, box=None)


def test_auroc_is_one_when_separated_zero_when_reversed_and_counts_ties_half():
    assert auroc([0.9, 0.8], [0.1, 0.2, 0.3]) == 1.0
    assert auroc([0.1], [0.9, 0.8]) == 0.0
    assert auroc([0.5, 0.5], [0.5]) == 0.5
    assert auroc([0.4, 0.6], [0.5, 0.5]) == pytest.approx(0.5)
    assert auroc([0.7, 0.2], [0.3, 0.1]) == pytest.approx(0.75)
    with pytest.raises(ValueError, match="at least one"):
        auroc([], [0.1])


def test_blank_and_not_a_digit_answers_count_as_wrong():
    answers = [answer(ResultStatus.DIGIT, 3), answer(ResultStatus.DIGIT, 5),
               answer(ResultStatus.BLANK), answer(ResultStatus.NOT_A_DIGIT)]
    score = score_digits(answers, [3, 4, 1, 1])
    assert (score.correct, score.blank, score.not_a_digit, score.accuracy) == (1, 1, 1, 0.25)


def test_a_blank_verdict_scores_as_surely_no_digit():
    assert no_digit_score(answer(ResultStatus.BLANK)) == 1.0
    assert no_digit_score(answer(ResultStatus.DIGIT, 1, not_digit=0.2)) == 0.2


def test_numbers_count_only_exact_readings_per_length():
    read = NumberReading(index=0, id="", status=NumberStatus.NUMBER, number="0417", digits=(),
                         confidence=0.9, error="")
    wrong = NumberReading(index=1, id="", status=NumberStatus.NUMBER, number="417", digits=(),
                          confidence=0.9, error="")
    score = score_numbers([read, wrong], ["0417", "0417"])
    assert score.total == {4: 2} and score.exact == {4: 1} and score.accuracy == 0.5


def test_continental_and_non_digit_sets_are_seeded_and_balanced():
    first = continental_set(8, 5, range(1000, 1010))
    assert [item.data for item in first] == [item.data for item in continental_set(8, 5, range(1000, 1010))]
    assert sorted(item.label for item in first) == [1, 1, 2, 2, 2, 4, 7, 9]  # one of each form
    negatives, _ = negative_set(3, 5, "heldout")
    assert all(item.label is None for item in negatives) and len({item.group for item in negatives}) == 3
    with pytest.raises(ValueError, match="per_kind must be ≥ 1"):
        SetSizes(per_kind=0)


def test_a_tiny_run_prints_every_row_and_writes_json(tmp_path: Path, mnist_dir: Path,
                                                     capsys: pytest.CaptureFixture[str]):
    out = tmp_path / "real.json"
    assert main(["--per-kind", "1", "--continental", "8", "--numbers", "7", "--negatives", "16",
                 "--sklearn", "10", "--mnist-test", "50", "--out", str(out),
                 "--data-dir", str(mnist_dir)]) == 0
    text = capsys.readouterr().out
    header, *rows = text.splitlines()
    assert header.split()[:3] == ["measure", "baseline", "Digits"]
    for row in [*SCENE_KINDS, "continental forms (8)", "numbers read exactly (7)",
                *(f"  {n} digits (1)" for n in range(2, 9)), "non-digits: AUROC",
                "non-digits: answered a digit ≥ 0.9",
                "  left out as lone strokes (1): answered a digit ≥ 0.9",
                "  all 17 with them: answered a digit ≥ 0.9", "sklearn digits (10), outside check",
                "Fashion-MNIST, outside check", "MNIST test, served (raw bytes, 50)",
                "preprocessing CPU ms/image, scene photos (8)",
                "  of it, decoding the file (mean)", "  of it, the pipeline after decoding (mean)",
                "  continental (8)",
                "  non_digits (16)", "  sklearn_digits (10)"]:
        assert any(line.startswith(row) for line in rows), f"no row {row!r}"
    assert "not available offline" in text
    report = json.loads(out.read_text())
    assert set(report["results"]) == {"baseline", "Digits"}
    assert report["headline"]["Digits"]["mnist_test"] is not None
    assert report["results"]["Digits"]["lone_strokes"]["images"] == 1
    photos = report["results"]["Digits"]["timing"]["photos"]
    assert 0 < photos["decode_ms_mean"] < photos["ms_mean"]
    assert report["environment"]["onnxruntime"]


def test_served_preparation_times_decoding_within_the_whole_and_prepares_as_the_service():
    image = np.full((120, 90), 255, np.uint8)
    image[30:90, 40:50] = 0  # a 1
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    ticks = itertools.count()
    prepared, spent = served_preparation(buffer.getvalue(), DEFAULT_CONFIG, None,
                                         clock=lambda: float(next(ticks)))
    # The clock is read before decoding, after it, and after the pipeline: 1 tick each.
    assert (spent.decode_ms, spent.total_ms) == (1000.0, 2000.0)
    expected = prepare_encoded(buffer.getvalue())
    assert np.array_equal(prepared.pixels, expected.pixels) and prepared.ink_box == expected.ink_box


def test_the_heldout_twin_is_drawn_from_the_digits_training_holds_out(mnist):
    images, labels = split_digits(mnist, SPLITS["heldout"])
    recipe = TrainConfig()
    validation = split_mnist(mnist, recipe.val_size, recipe.seed).val
    assert np.array_equal(images, validation.images[:, 0].numpy())
    assert np.array_equal(labels, validation.labels.numpy())
    sets = build_sets(mnist, REAL_SPLITS["heldout"], SetSizes(1, 8, 7, 8, 10))
    assert sets.outside == {}  # the outside checks stay out of tuning
    scene = next(generate_scenes(images, labels, [0], ["ruled_paper"], SPLITS["heldout"].seed,
                                 images))
    assert sets.digits["ruled_paper"][0].data == scene.scene.data

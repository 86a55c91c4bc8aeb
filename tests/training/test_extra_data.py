"""Tests of training.extra_data and training.not_digit: synthetic training images, threshold."""

from __future__ import annotations

import numpy as np

from training.config import ExtraDataConfig
from training.extra_data import NOT_A_DIGIT, build_extra, digit_pieces, preprocessed_digits
from training.not_digit import choose_threshold, serving_accuracy


def test_digit_pieces_are_seeded_mnist_shaped_images(mnist):
    digits, labels = mnist.train_images[:300], mnist.train_labels[:300]
    first = digit_pieces(digits, labels, 12, seed=3)
    assert first.shape == (12, 28, 28) and first.dtype == np.uint8
    assert (first.reshape(12, -1).max(axis=1) > 0).all()  # every piece has ink
    np.testing.assert_array_equal(first, digit_pieces(digits, labels, 12, seed=3))
    assert not np.array_equal(first, digit_pieces(digits, labels, 12, seed=4))


def test_photographed_digits_keep_their_labels(mnist):
    digits, labels = mnist.train_images[:200], mnist.train_labels[:200]
    made = preprocessed_digits(digits, labels, 10, seed=1)
    again = preprocessed_digits(digits, labels, 10, seed=1)
    assert len(made.labels) == len(made.images) >= 9  # a blank result may be dropped
    np.testing.assert_array_equal(made.images, again.images)
    np.testing.assert_array_equal(made.labels, again.labels)
    assert set(made.labels.tolist()) <= set(labels.tolist())


def test_build_extra_caches_its_images(tmp_path):
    config = ExtraDataConfig(continental_train=16, continental_val=8)
    first = build_extra(config, "train", tmp_path)
    assert len(list(tmp_path.glob("extra-train-*.npz"))) == 1
    cached = build_extra(config, "train", tmp_path)
    np.testing.assert_array_equal(first.images, cached.images)
    assert len(first.labels) == 16 + 8  # the forms, and half of them photographed
    assert NOT_A_DIGIT not in first.labels


def test_threshold_takes_the_middle_of_the_best_range_and_accuracy_follows_it():
    # Two digits and two non-digits; any threshold in (0.3, 0.8] separates them perfectly.
    probabilities = np.zeros((4, 11), np.float32)
    probabilities[0, 3], probabilities[0, 10] = 0.9, 0.1
    probabilities[1, 5], probabilities[1, 10] = 0.7, 0.3
    probabilities[2, 1], probabilities[2, 10] = 0.2, 0.8
    probabilities[3, 10] = 0.95
    labels = np.array([3, 5, NOT_A_DIGIT, NOT_A_DIGIT])
    choice = choose_threshold(probabilities, labels)
    assert 0.3 < choice.threshold <= 0.8
    assert choice.threshold not in (0.325, 0.8)  # neither end of the tie
    assert choice.digits_rejected == 0 and choice.non_digits_accepted == 0
    assert serving_accuracy(probabilities, labels, choice.threshold) == 1.0
    assert serving_accuracy(probabilities, labels, 0.25) == 0.75  # the second digit rejected

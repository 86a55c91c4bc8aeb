"""Continental digit forms: seeded, MNIST-shaped and centred, balanced, writers kept apart."""

import dataclasses

import numpy as np
import pytest

from training.continental import (
    CONTINENTAL_FORMS,
    TEST_WRITERS,
    TRAIN_WRITERS,
    WriterStyle,
    generate_continental,
    render_form,
    render_form_image,
    writer_style,
)


def _centre_of_mass(image: np.ndarray) -> np.ndarray:
    weights = image.astype(np.float64)
    rows, cols = np.mgrid[0: image.shape[0], 0: image.shape[1]]
    return np.array([(weights * rows).sum(), (weights * cols).sum()]) / weights.sum()


def test_same_seed_gives_identical_images():
    a = generate_continental(24, seed=4, writers=TRAIN_WRITERS)
    b = generate_continental(24, seed=4, writers=TRAIN_WRITERS)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1]) and a[2] == b[2]
    assert not np.array_equal(a[0], generate_continental(24, seed=5, writers=TRAIN_WRITERS)[0])


def test_shapes_dtypes_labels_and_balance():
    images, labels, names = generate_continental(3 * len(CONTINENTAL_FORMS), 1, TEST_WRITERS)
    assert images.dtype == np.uint8 and images.shape == (len(names), 28, 28)
    assert labels.dtype == np.int64 and labels.tolist() == [CONTINENTAL_FORMS[n] for n in names]
    assert all(names.count(form) == 3 for form in CONTINENTAL_FORMS)


@pytest.mark.parametrize("form", CONTINENTAL_FORMS)
def test_every_form_is_an_mnist_style_digit(form):
    """Light ink on black, the ink's longer side 20 px, mass centred by whole-pixel shifts (≤ 0.5)."""
    for writer in (0, 123, 1042):
        image = render_form(form, writer_style(writer), np.random.default_rng([9, writer]))
        assert image.shape == (28, 28) and image.dtype == np.uint8 and image.max() == 255
        rows, cols = np.nonzero(image.any(axis=1))[0], np.nonzero(image.any(axis=0))[0]
        assert max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1 == 20
        assert np.all(np.abs(_centre_of_mass(image) - 14.0) <= 0.5 + 1e-9)


@pytest.mark.parametrize("form", CONTINENTAL_FORMS)
def test_photo_version_is_dark_ink_on_light_paper(form):
    image = render_form_image(form, writer_style(7), np.random.default_rng(3), side=64)
    assert image.shape == (64, 64) and image.dtype == np.uint8
    assert np.median(image) - np.percentile(image, 1) > 60


def test_writer_styles_are_fixed_per_id_and_test_writers_are_unseen():
    assert writer_style(17) == writer_style(17) and writer_style(17) != writer_style(18)
    assert not set(TRAIN_WRITERS) & set(TEST_WRITERS)


def test_writer_style_refuses_out_of_range_values():
    with pytest.raises(ValueError, match="pen_px"):
        dataclasses.replace(writer_style(0), pen_px=9.0)
    assert isinstance(writer_style(0), WriterStyle)


def test_unknown_form_is_refused():
    with pytest.raises(ValueError, match="unknown form"):
        render_form("crossed_3", writer_style(0), np.random.default_rng(0))

"""Non-digit images: seeded, sized and inked as documented, no digit look-alikes, fonts split."""

import string

import numpy as np
import pytest
from PIL import Image, ImageFilter

from training.fonts import font_files, fonts_for, glyphs
from training.negative_families import AMBIGUOUS_CHARACTERS, LETTERS, SYMBOLS
from training.negatives import NEGATIVE_FAMILIES, generate_negatives, render_negative

# The strongest ink against the paper, uint8 levels after a 3×3 box blur (which keeps pixel noise,
# σ ≤ 10, below ~15). Over 300 images per family the weakest was 39 (a fine ruler on a small
# canvas); drawings start at 0.45 × 255 before blur, light falloff and noise.
MIN_INK_CONTRAST = 30


def _ink_contrast(image: np.ndarray) -> float:
    smooth = np.asarray(Image.fromarray(image).filter(ImageFilter.BoxBlur(1)), np.float32)
    return float(np.abs(smooth - np.median(smooth)).max())


def test_same_seed_gives_identical_images():
    a = list(generate_negatives(16, seed=5))
    b = list(generate_negatives(16, seed=5))
    assert [f for _, f in a] == [f for _, f in b]
    assert all(np.array_equal(x, y) for (x, _), (y, _) in zip(a, b, strict=True))


def test_image_depends_on_seed_and_index_not_on_count():
    short = [image for image, _ in generate_negatives(4, seed=5)]
    long = [image for image, _ in generate_negatives(8, seed=5)]
    assert all(np.array_equal(x, y) for x, y in zip(short, long[:4], strict=True))
    other = [image for image, _ in generate_negatives(4, seed=6)]
    assert not all(x.shape == y.shape and np.array_equal(x, y) for x, y in zip(short, other, strict=True))


def test_families_take_turns():
    families = [f for _, f in generate_negatives(2 * len(NEGATIVE_FAMILIES), seed=1)]
    assert families == list(NEGATIVE_FAMILIES) * 2


@pytest.mark.parametrize("family", NEGATIVE_FAMILIES)
@pytest.mark.parametrize("split", ["train", "heldout"])
def test_every_family_renders_gray_uint8_within_size_and_aspect(family, split):
    for i in range(6):
        image = render_negative(family, np.random.default_rng([2, i]), split)
        assert image.dtype == np.uint8 and image.ndim == 2
        height, width = image.shape
        assert 28 <= height <= 200 and 28 <= width <= 200 and 0.5 <= width / height <= 2
        if family != "textures":
            assert _ink_contrast(image) >= MIN_INK_CONTRAST, f"{family} #{i} is nearly blank"


def test_mostly_dark_ink_on_light_paper():
    papers = [np.median(image) for image, family in generate_negatives(80, seed=3)
              if family != "textures"]
    assert 0.7 <= np.mean(np.array(papers) > 127) < 1.0


def test_text_alphabets_hold_no_digit_look_alikes():
    drawn = set(LETTERS) | set(SYMBOLS)
    assert not drawn & set(AMBIGUOUS_CHARACTERS)
    assert not drawn & set(string.digits)
    assert {"O", "l", "I", "S", "Z", "B", "g", "q", "$"} <= set(AMBIGUOUS_CHARACTERS)


def test_characters_a_font_lacks_are_not_drawn():
    path = (font_files() or (None,))[0]
    assert glyphs(path, "A\ue000K") == "AK"


def test_heldout_fonts_are_never_training_fonts():
    train, heldout = set(fonts_for("train")), set(fonts_for("heldout"))
    assert not train & heldout
    assert train | heldout == set(font_files())
    if len(font_files()) >= 8:  # the hash puts about a quarter of a real font folder aside
        assert train and heldout


def test_unknown_family_or_split_is_refused():
    with pytest.raises(ValueError, match="unknown family"):
        render_negative("digits", np.random.default_rng(0))
    with pytest.raises(ValueError, match="unknown split"):
        next(generate_negatives(1, seed=0, split="test"))

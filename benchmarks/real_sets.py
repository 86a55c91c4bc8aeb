"""The labelled image sets of `make bench-real`: reported sets and their tuning twins, reproducibly.

Every set is generated from seeds (no model in the loop) and encoded as the files users send:
scene kinds and numbers from MNIST digits (benchmarks.scenes), continental forms from stroke-drawn
synthetic writers, non-digits from benchmarks' held-out fonts and seeds, and scikit-learn's bundled
digits as an outside check. The reported split ("test") uses MNIST test digits, TEST_WRITERS and
held-out non-digit fonts; its twin ("tune") uses training digits, TRAIN_WRITERS and training fonts
under seeds that training never used; "heldout" is the same with the training digits that
training holds out for validation. Tune on those twins only.
"""

from __future__ import annotations

import io
import itertools
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from benchmarks.scenes import (
    SCENE_KINDS,
    SPLITS,
    LabelledNumber,
    Split,
    generate_numbers,
    generate_scenes,
    split_digits,
)
from serving.preprocess import prepare_encoded
from training.continental import (
    CONTINENTAL_FORMS,
    TEST_WRITERS,
    TRAIN_WRITERS,
    render_form_image,
    writer_style,
)
from training.lone_strokes import is_lone_stroke
from training.mnist import MnistArrays
from training.negatives import generate_negatives

CONTINENTAL = "continental"  # the group name of the continental forms beside the scene kinds
NUMBER_LENGTHS = tuple(range(2, 9))  # digits per written number; generate_numbers takes turns
CONTINENTAL_SIDE_PX = (48, 256)  # side range of the square continental photos, px
JPEG_QUALITY = (70, 95)  # quality range of the JPEG-encoded continental and non-digit images
SKLEARN_BOX_PX = 46  # the 8 × 8 sklearn digit is enlarged to this, then framed in SKLEARN_SIDE_PX:
SKLEARN_SIDE_PX = 64  # its ink fills its 8 × 8 frame, so it is framed as MNIST frames 20 px in 28
SKLEARN_DIGITS = 1797  # images in sklearn.datasets.load_digits


@dataclass(frozen=True)
class RealSplit:
    """Where every set of one split comes from: digits, writers, fonts and seeds."""

    name: str  # "test" (reported), or a twin to tune on: "tune" or "heldout"
    scenes: Split  # MNIST split and seed of the scene kinds; the numbers use the same
    continental_writers: range  # synthetic writer ids of the continental forms
    continental_seed: int  # never 7 or 8 (training's continental images use those)
    negatives_fonts: str  # training.fonts split: "heldout" fonts or "train" fonts
    negatives_seed: int  # never 7 or 8 (training's non-digits use those)


REAL_SPLITS = {split.name: split for split in (
    RealSplit("test", SPLITS["test"], TEST_WRITERS, 1000, "heldout", 1000),
    RealSplit("tune", SPLITS["tune"], TRAIN_WRITERS, 2000, "train", 2000),
    # digits the model never trained on, with the tuning writers, fonts and seeds beside them
    RealSplit("heldout", SPLITS["heldout"], TRAIN_WRITERS, 2000, "train", 2000),
)}


@dataclass(frozen=True)
class SetSizes:
    """How many images each set holds."""

    per_kind: int = 1000  # images per scene kind, ≥ 1 (the issue asks for ≥ 250): at 250 one
    # image is 0.4 points and a kind's figure has a standard error of about 1 point near 97 %, at
    # 1,000 half a point (the test split's 8,000 scenes then use 8,000 of MNIST's 10,000 test
    # digits, each once)
    continental: int = 504  # continental form photos, ≥ 1; a multiple of the 8 forms keeps them
    # balanced (the issue asks for ≥ 500)
    numbers: int = 350  # written numbers, ≥ 1; lengths 2–8 take turns (50 of each)
    negatives: int = 2000  # non-digit images, ≥ 1; the 8 families take turns
    sklearn: int = SKLEARN_DIGITS  # scikit-learn digits sent (the first ones), 1–1797

    def __post_init__(self) -> None:
        for name in ("per_kind", "continental", "numbers", "negatives", "sklearn"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be ≥ 1, got {getattr(self, name)}")
        if self.sklearn > SKLEARN_DIGITS:
            raise ValueError(f"scikit-learn has {SKLEARN_DIGITS} digits, asked for {self.sklearn}")


@dataclass(frozen=True)
class LabelledImage:
    """One encoded image file and what it shows."""

    data: bytes  # PNG or JPEG file
    label: int | None  # the digit 0–9; None for a non-digit
    group: str  # scene kind, "continental", a non-digit family or "sklearn_digits"


@dataclass(frozen=True)
class RealSets:
    """Every generated set of one split."""

    split: RealSplit
    digits: dict[str, list[LabelledImage]]  # per scene kind, then "continental"
    numbers: list[LabelledNumber]
    negatives: list[LabelledImage]
    outside: dict[str, list[LabelledImage]] = field(default_factory=dict)  # outside checks; empty
    # for the tuning split (they stay out of tuning)
    lone_strokes: list[LabelledImage] = field(default_factory=list)  # non-digits that
    # preprocessing renders as one straight stroke, kept out of `negatives` (see negative_set)

    def all_digits(self) -> list[LabelledImage]:
        return [item for items in self.digits.values() for item in items]


def encode(gray: np.ndarray, rng: np.random.Generator) -> bytes:
    """A uint8 image as PNG or (half of the time) JPEG, as screenshots and photos arrive."""
    buffer = io.BytesIO()
    if rng.random() < 0.5:
        Image.fromarray(gray).save(buffer, format="PNG")
    else:
        Image.fromarray(gray).save(buffer, format="JPEG", quality=int(rng.integers(*JPEG_QUALITY)))
    return buffer.getvalue()


def scene_set(images: np.ndarray, labels: np.ndarray, kind: str, count: int,
              split: Split) -> list[LabelledImage]:
    """`count` scenes of one kind; each kind draws its own digits (kind k starts at k × count),
    so the kinds together show count × 8 different digits while there are enough."""
    start = list(SCENE_KINDS).index(kind) * count
    indices = [(start + i) % len(images) for i in range(count)]
    return [LabelledImage(item.scene.data, item.label, kind)
            for item in generate_scenes(images, labels, indices, [kind], split.seed, images)]


def continental_set(count: int, seed: int, writers: range) -> list[LabelledImage]:
    """`count` photo-like continental forms (forms take turns), each by a writer drawn from
    `writers`, on its own generator (seed, i)."""
    forms = list(CONTINENTAL_FORMS)
    items = []
    for i in range(count):
        rng = np.random.default_rng([seed, i])
        form = forms[i % len(forms)]
        writer = writer_style(writers[int(rng.integers(len(writers)))])
        gray = render_form_image(form, writer, rng, int(rng.integers(*CONTINENTAL_SIDE_PX)))
        items.append(LabelledImage(encode(gray, rng), CONTINENTAL_FORMS[form], CONTINENTAL))
    return items


def negative_set(count: int, seed: int, fonts: str) -> tuple[list[LabelledImage], list[LabelledImage]]:
    """`count` non-digits (families take turns), image i encoded with its own generator (seed, i),
    and apart from them the images skipped on the way: those that preprocessing renders as one
    straight stroke, which reads as a 1 (training leaves them out of its non-digits too:
    training.lone_strokes). The benchmark shows what the service answers to those separately."""
    kept: list[LabelledImage] = []
    lone: list[LabelledImage] = []
    for index in itertools.count():
        ((gray, family),) = generate_negatives(1, seed, split=fonts, start=index)
        data = encode(gray, np.random.default_rng([seed, index, 0xE1C]))
        pixels = prepare_encoded(data).pixels
        (lone if pixels is not None and is_lone_stroke(pixels) else kept).append(
            LabelledImage(data, None, family))
        if len(kept) == count:
            return kept, lone
    raise AssertionError("unreachable: itertools.count() never ends")


def sklearn_digits(count: int = SKLEARN_DIGITS) -> list[LabelledImage]:
    """The first `count` of scikit-learn's bundled 8 × 8 digits (0–16, ink bright) as 64 × 64
    PNGs, light ink on dark as they come."""
    try:
        from sklearn.datasets import load_digits  # a dev dependency, needed for this check only
    except ImportError as err:
        raise RuntimeError("the outside check needs scikit-learn: pip install -e '.[dev]'") from err
    bunch = load_digits()
    items = []
    for values, label in zip(bunch.images[:count], bunch.target[:count], strict=True):
        small = Image.fromarray(np.round(values * 255 / 16).astype(np.uint8))
        large = small.resize((SKLEARN_BOX_PX,) * 2, Image.Resampling.BILINEAR)
        framed = Image.new("L", (SKLEARN_SIDE_PX,) * 2, 0)
        framed.paste(large, ((SKLEARN_SIDE_PX - SKLEARN_BOX_PX) // 2,) * 2)
        buffer = io.BytesIO()
        framed.save(buffer, format="PNG")
        items.append(LabelledImage(buffer.getvalue(), int(label), "sklearn_digits"))
    return items


def build_sets(mnist: MnistArrays, split: RealSplit, sizes: SetSizes) -> RealSets:
    """Generate every set of the split (tens of ms per image; a minute or two at full size)."""
    images, labels = split_digits(mnist, split.scenes)
    digits = {kind: scene_set(images, labels, kind, sizes.per_kind, split.scenes)
              for kind in SCENE_KINDS}
    digits[CONTINENTAL] = continental_set(sizes.continental, split.continental_seed,
                                          split.continental_writers)
    numbers = list(generate_numbers(images, labels, sizes.numbers, split.scenes.seed,
                                    NUMBER_LENGTHS))
    negatives, lone_strokes = negative_set(sizes.negatives, split.negatives_seed,
                                           split.negatives_fonts)
    outside = {"sklearn_digits": sklearn_digits(sizes.sklearn)} if split.name == "test" else {}
    return RealSets(split, digits, numbers, negatives, outside, lone_strokes)

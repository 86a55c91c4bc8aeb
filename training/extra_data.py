"""Training data beyond MNIST: "not a digit" images (class 10) and continental digit forms.

Negatives are rendered as whole images and passed through the service's own preprocessing, so
the model learns from exactly what serving will show it. Everything is seeded and cached in the
run directory, so a resumed run trains on the same images.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

from serving.preprocess import prepare_array, prepare_encoded
from training.config import ExtraDataConfig
from training.continental import TRAIN_WRITERS, generate_continental
from training.dataset import LabelledImages, Splits, with_extra
from training.lone_strokes import is_lone_stroke
from training.negatives import generate_negatives

NOT_A_DIGIT = 10  # class index of "not a digit"
_CHUNK = 500  # images per worker task
MIN_BOX_IOU = 0.6  # a preprocessed scene is a training digit only when its found ink box and the
# digit's true box overlap this much (intersection over union)
IMAGES_VERSION = 2  # part of the cache key: raised when the same config makes other images
# (2: lone straight strokes left out of the non-digits)
PAIR_SHARE = 0.7  # of the digit pieces, the share that are touching pairs (the rest: cut digits,
# which can look like other digits and are kept few)


@dataclass(frozen=True)
class ExtraImages:
    """Synthetic uint8 MNIST-convention images [N, 28, 28] with int64 labels [N]."""

    images: np.ndarray
    labels: np.ndarray

    @classmethod
    def empty(cls) -> ExtraImages:
        return cls(np.zeros((0, 28, 28), np.uint8), np.zeros(0, np.int64))

    def __add__(self, other: ExtraImages) -> ExtraImages:
        return ExtraImages(np.concatenate([self.images, other.images]),
                           np.concatenate([self.labels, other.labels]))


def _negative_chunk(task: tuple[int, int, int, str]) -> tuple[np.ndarray, np.ndarray]:
    """Worker: `count` negatives from index `start` of stream `seed`, preprocessed, labelled
    NOT_A_DIGIT; blanks (a faint texture can be one) and lone straight strokes (they read as a 1)
    are dropped."""
    seed, start, count, split = task
    out = []
    for image, _family in generate_negatives(count, seed, split=split, start=start):
        prepared = prepare_array(image)
        if prepared.pixels is not None and not is_lone_stroke(prepared.pixels):
            out.append(prepared.pixels)
    images = np.stack(out) if out else np.zeros((0, 28, 28), np.uint8)
    return images, np.full(len(images), NOT_A_DIGIT, np.int64)


def preprocessed_negatives(count: int, seed: int, split: str,
                           on_chunk: Callable[[int], None] | None = None) -> ExtraImages:
    """`count` rendered negatives through serving's preprocessing (blanks and lone strokes
    dropped)."""
    tasks = [(seed, start, min(_CHUNK, count - start), split) for start in range(0, count, _CHUNK)]
    return _labelled_in_pool(_negative_chunk, tasks, on_chunk)


def _photographed(digit: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """An MNIST digit as a user's picture of it: enlarged, on a margin, either polarity, with
    uneven contrast, noise and blur; gray uint8."""
    side = int(rng.integers(40, 161))
    image = np.asarray(Image.fromarray(digit).resize((side, side), Image.Resampling.BICUBIC),
                       np.float32) / 255
    margin = rng.integers(2, max(3, side // 2), size=4)
    image = np.pad(image, ((margin[0], margin[1]), (margin[2], margin[3])))
    paper, ink = rng.uniform(0.6, 1.0), rng.uniform(0.0, 0.35)
    if rng.random() < 0.2:  # light ink on a dark board or screen
        paper, ink = 1 - paper, 1 - ink
    image = paper + (ink - paper) * np.clip(image, 0, 1)
    image = image + rng.normal(0, rng.uniform(0, 0.04), image.shape)
    picture = Image.fromarray(np.clip(image * 255, 0, 255).astype(np.uint8))
    if rng.random() < 0.4:
        picture = picture.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.5)))
    return np.asarray(picture)


def _digit_chunk(task: tuple[np.ndarray, np.ndarray, int]) -> tuple[np.ndarray, np.ndarray]:
    """Worker: digits photographed and preprocessed (blank results dropped)."""
    digits, labels, seed = task
    rng = np.random.default_rng([seed, 0xD161])
    kept, out = [], []
    for i, digit in enumerate(digits):
        prepared = prepare_array(_photographed(digit, rng))
        if prepared.pixels is not None:
            kept.append(i)
            out.append(prepared.pixels)
    return (np.stack(out) if out else np.zeros((0, 28, 28), np.uint8)), labels[kept]


def _labelled_in_pool(worker: Callable[..., tuple[np.ndarray, np.ndarray]], tasks: list,
                      on_chunk: Callable[[int], None] | None) -> ExtraImages:
    """Run `worker` over `tasks` on every CPU; its (images, labels) chunks joined in order."""
    images, kept_labels = [], []
    with ProcessPoolExecutor(len(os.sched_getaffinity(0))) as pool:
        for chunk, chunk_labels in pool.map(worker, tasks):
            images.append(chunk)
            kept_labels.append(chunk_labels)
            if on_chunk is not None:
                on_chunk(len(chunk))
    if not images:
        return ExtraImages.empty()
    return ExtraImages(np.concatenate(images), np.concatenate(kept_labels).astype(np.int64))


def preprocessed_digits(digits: np.ndarray, labels: np.ndarray, count: int, seed: int,
                        on_chunk: Callable[[int], None] | None = None) -> ExtraImages:
    """`count` digits of the split photographed (_photographed) and passed through serving's
    preprocessing: the "not a digit" images are preprocessed renderings, so digits must be too,
    or the model learns to tell renderings from MNIST instead of digits from non-digits (it did:
    every preprocessed photo of a digit came out "not a digit")."""
    pick = np.random.default_rng([seed, 0xD1]).choice(len(digits), size=count, replace=True)
    tasks = [(digits[pick[i: i + _CHUNK]], labels[pick[i: i + _CHUNK]], seed * 100_000 + i)
             for i in range(0, count, _CHUNK)]
    return _labelled_in_pool(_digit_chunk, tasks, on_chunk)


def _scene_chunk(task: tuple[np.ndarray, np.ndarray, np.ndarray, int]) -> tuple[np.ndarray,
                                                                              np.ndarray]:
    """Worker: each digit rendered in one scene kind (in turn) and preprocessed."""
    from benchmarks.scenes import SCENE_KINDS, render_scene  # the scene generators

    digits, labels, pool, seed = task
    kinds = tuple(SCENE_KINDS)
    kept, out = [], []
    for i, digit in enumerate(digits):
        rng = np.random.default_rng([seed, i, 0x5CE])
        neighbours = pool[rng.integers(len(pool), size=2)]
        scene = render_scene(kinds[i % len(kinds)], digit, rng, neighbours)
        prepared = prepare_encoded(scene.data)
        # Only scenes where preprocessing found the digit's own ink: the others (a form's box
        # taken for the digit, a neighbour's fragment) would teach that such leftovers are digits.
        if prepared.pixels is not None and _overlap(prepared.ink_box, scene.box) >= MIN_BOX_IOU:
            kept.append(i)
            out.append(prepared.pixels)
    return (np.stack(out) if out else np.zeros((0, 28, 28), np.uint8)), labels[kept]


def _overlap(found: tuple[int, int, int, int] | None, true: tuple[int, int, int, int]) -> float:
    """Intersection over union of two (left, top, right, bottom) boxes; 0 without `found`."""
    if found is None:
        return 0.0
    width = min(found[2], true[2]) - max(found[0], true[0])
    height = min(found[3], true[3]) - max(found[1], true[1])
    if width <= 0 or height <= 0:
        return 0.0
    area = (found[2] - found[0]) * (found[3] - found[1]) + (true[2] - true[0]) * (true[3] - true[1])
    return width * height / (area - width * height)


def scene_digits(digits: np.ndarray, labels: np.ndarray, count: int, seed: int,
                 on_chunk: Callable[[int], None] | None = None) -> ExtraImages:
    """`count` digits of the split in the benchmark's scene kinds (ruled paper, forms, notes,
    pencil, phone photos, low resolution, crops of numbers, whiteboards), preprocessed by
    serving. Seeds differ from the benchmark's test and tuning sets (1 and 1001), and only the
    split's own digits are used: trained on photographed digits alone, the model called marker
    strokes with uneven ink and forms' leftovers "not a digit"."""
    pick = np.random.default_rng([seed, 0x5C]).choice(len(digits), size=count, replace=True)
    tasks = [(digits[pick[i: i + _CHUNK]], labels[pick[i: i + _CHUNK]], digits,
              seed * 100_000 + i) for i in range(0, count, _CHUNK)]
    return _labelled_in_pool(_scene_chunk, tasks, on_chunk)


def digit_pieces(digits: np.ndarray, labels: np.ndarray, count: int, seed: int) -> np.ndarray:
    """"Not a digit" candidates that reading a number produces when it cuts in the wrong place:
    a digit cut through its middle, or two touching digits taken as one; uint8 [count, 28, 28]
    as preprocessing renders them. Made from `digits` (uint8 [N, 28, 28]) of the same split."""
    rng = np.random.default_rng([seed, 0xF2A6])
    out = np.zeros((count, 28, 28), np.uint8)
    made = 0
    while made < count:
        first = int(rng.integers(len(digits)))
        if rng.random() < PAIR_SHARE:
            canvas = _touching_pair(digits[first], digits[int(rng.integers(len(digits)))], rng)
        elif labels[first] in (1, 7):
            continue  # a piece of a 1 is still a 1; a 7's stem is one too
        else:
            canvas = _cut(digits[first], rng)
            if canvas is None:
                continue
        prepared = prepare_array(canvas)
        if prepared.pixels is not None and not is_lone_stroke(prepared.pixels):
            out[made] = prepared.pixels
            made += 1
    return out


def _ink_columns(digit: np.ndarray) -> np.ndarray:
    return np.flatnonzero(digit.max(axis=0) > 64)


def _touching_pair(left: np.ndarray, right: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Two digits side by side, `right` moved so its ink starts 3 px inside to 1 px past `left`'s."""
    a, b = _ink_columns(left), _ink_columns(right)
    shift = int(a[-1] - b[0] + rng.integers(-3, 2)) if a.size and b.size else 14
    canvas = np.zeros((28, 28 + 28 + 8), np.uint8)
    canvas[:, 4:32] = left
    start = 4 + shift
    canvas[:, start: start + 28] = np.maximum(canvas[:, start: start + 28], right)
    return canvas


def _cut(digit: np.ndarray, rng: np.random.Generator) -> np.ndarray | None:
    """The left or right 35–65 % of a digit's ink columns; None when that piece is narrow (a
    thin stroke reads as a 1)."""
    cols = _ink_columns(digit)
    if cols.size < 8:
        return None
    cut = cols[0] + round(rng.uniform(0.35, 0.65) * cols.size)
    piece = digit.copy()
    if rng.random() < 0.5:
        piece[:, cut:] = 0
    else:
        piece[:, :cut] = 0
    rows = np.flatnonzero(piece.max(axis=1) > 64)
    kept = _ink_columns(piece)
    if rows.size == 0 or kept.size < 0.5 * rows.size:
        return None
    return piece


def build_extra(config: ExtraDataConfig, split: str, cache_dir: Path | None,
                on_chunk: Callable[[int], None] | None = None,
                digits: tuple[np.ndarray, np.ndarray] | None = None) -> ExtraImages:
    """The synthetic images of one split ("train" or "val"), cached under `cache_dir`; digit
    pieces are cut from `digits` (images, labels) of that split."""
    negatives = config.negatives_train if split == "train" else config.negatives_val
    continental = config.continental_train if split == "train" else config.continental_val
    seed = config.seed if split == "train" else config.seed + 1
    key = hashlib.sha256(json.dumps([asdict(config), split, IMAGES_VERSION]).encode()).hexdigest()[:16]
    cache = cache_dir / f"extra-{split}-{key}.npz" if cache_dir else None
    if cache is not None and cache.is_file():
        with np.load(cache) as saved:
            return ExtraImages(saved["images"], saved["labels"])
    extra = ExtraImages.empty()
    if negatives:
        extra = extra + preprocessed_negatives(negatives, seed, "train", on_chunk)
    photographed = config.photographed_train if split == "train" else config.photographed_val
    if photographed and digits is not None:
        extra = extra + preprocessed_digits(*digits, photographed, seed, on_chunk)
    scenes = config.scenes_train if split == "train" else config.scenes_val
    if scenes and digits is not None:
        extra = extra + scene_digits(*digits, scenes, seed + 3000, on_chunk)
    pieces = round(config.pieces_share * negatives)
    if pieces and digits is not None:
        images = digit_pieces(*digits, pieces, seed)
        extra = extra + ExtraImages(images, np.full(len(images), NOT_A_DIGIT, np.int64))
    if continental:
        images, labels, _forms = generate_continental(continental, seed, TRAIN_WRITERS)
        extra = extra + ExtraImages(images, labels.astype(np.int64))
        # ... and as photographed, like the MNIST digits above.
        extra = extra + preprocessed_digits(images, labels, continental // 2, seed + 50, on_chunk)
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        partial = cache.with_suffix(".partial.npz")
        np.savez(partial, images=extra.images, labels=extra.labels)
        os.replace(partial, cache)
    return extra


def add_extra(splits: Splits, config: ExtraDataConfig, cache_dir: Path | None,
              on_chunk: Callable[[int], None] | None = None) -> Splits:
    """The MNIST splits with the synthetic images appended to train and validation; the test
    split stays MNIST's alone."""
    def arrays(data: LabelledImages) -> tuple[np.ndarray, np.ndarray]:
        return data.images[:, 0].numpy(), data.labels.numpy()

    train = build_extra(config, "train", cache_dir, on_chunk, arrays(splits.train))
    val = build_extra(config, "val", cache_dir, on_chunk, arrays(splits.val))
    return Splits(train=with_extra(splits.train, train.images, train.labels),
                  val=with_extra(splits.val, val.images, val.labels), test=splits.test)

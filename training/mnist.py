"""The MNIST data set: its four files, their checksums, and loading them from a folder or mirrors."""

from __future__ import annotations

import argparse
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from training.download import DEFAULT_MIRRORS, DownloadError, fetch_verified
from training.idx import parse_idx, read_idx_bytes

# SHA-256 of each file's *decompressed* content, as published for the official MNIST files.
# Checking the content (not the .gz) accepts any faithful recompression.
MNIST_SHA256 = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}

ENV_MNIST_DIR = "MNIST_DIR"  # environment variable naming a local folder of the four files
ENV_MNIST_MIRRORS = "MNIST_MIRRORS"  # comma-separated base URLs replacing the default mirrors
DEFAULT_CACHE_DIR = Path("data") / "mnist"  # relative to the working directory


class MnistUnavailableError(RuntimeError):
    """MNIST could be neither found locally nor downloaded; the message says what to do."""


def add_data_dir_argument(parser: argparse.ArgumentParser) -> None:
    """The `--data-dir` flag every command that reads MNIST takes; use with MnistSource.from_env."""
    parser.add_argument("--data-dir", type=Path, default=None,
                        help=f"local folder with the four MNIST IDX files, no download "
                        f"(default: ${ENV_MNIST_DIR}, else download into {DEFAULT_CACHE_DIR})")


@dataclass(frozen=True)
class MnistSource:
    """Where MNIST comes from: a local folder (no network), else a download cache and mirrors."""

    local_dir: Path | None = None  # folder with the four IDX files (.gz or plain); no download
    cache_dir: Path = DEFAULT_CACHE_DIR  # where downloads are kept and re-used
    mirrors: tuple[str, ...] = DEFAULT_MIRRORS  # base URLs tried in order
    timeout_s: float = 30.0  # per-request network timeout, seconds

    @classmethod
    def from_env(cls, data_dir: Path | None = None) -> MnistSource:
        """An explicit `data_dir` wins, then $MNIST_DIR, then downloading into the cache
        from $MNIST_MIRRORS or the default mirrors."""
        if data_dir is not None:
            return cls(local_dir=Path(data_dir))
        env = os.environ.get(ENV_MNIST_DIR)
        if env:
            return cls(local_dir=Path(env))
        mirrors = [m.strip() for m in os.environ.get(ENV_MNIST_MIRRORS, "").split(",") if m.strip()]
        return cls(mirrors=tuple(mirrors)) if mirrors else cls()


@dataclass(frozen=True)
class MnistArrays:
    """MNIST as uint8 images [N, 28, 28] (0 = background) and int64 labels [N]."""

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    sha256: dict[str, str]  # decompressed-content checksum of each file that was loaded


def validation_split(count: int, val_size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(validation indices, training indices) of `count` MNIST training images: `val_size` held
    out, chosen by `seed` alone."""
    order = np.random.default_rng(seed).permutation(count)
    return order[:val_size], order[val_size:]


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _find_local(folder: Path, stem: str) -> Path:
    for candidate in (folder / f"{stem}.gz", folder / stem, folder / stem.replace("-idx", ".idx")):
        if candidate.is_file():
            return candidate
    raise MnistUnavailableError(
        f"{folder} has no {stem}.gz or {stem}; a local MNIST folder needs all four IDX files "
        f"({', '.join(MNIST_SHA256)})"
    )


def _load_verified(path: Path, stem: str) -> np.ndarray:
    data = read_idx_bytes(path)
    if _sha256(data) != MNIST_SHA256[stem]:
        raise MnistUnavailableError(
            f"{path} does not match the official MNIST checksum; the file is corrupt or not MNIST"
        )
    return parse_idx(data, str(path))


def load_mnist(source: MnistSource) -> MnistArrays:
    """Load and verify all four MNIST files from `source`."""
    if source.local_dir is not None:
        if not source.local_dir.is_dir():
            raise MnistUnavailableError(
                f"MNIST folder {source.local_dir} does not exist (set by --data-dir or "
                f"${ENV_MNIST_DIR})"
            )
        paths = {stem: _find_local(source.local_dir, stem) for stem in MNIST_SHA256}
    else:
        try:
            paths = {
                stem: fetch_verified(
                    f"{stem}.gz", source.cache_dir, source.mirrors, sha256, source.timeout_s,
                    hint=f"set ${ENV_MNIST_DIR} (or --data-dir) to a folder holding the four "
                    f"MNIST IDX files to work offline",
                )
                for stem, sha256 in MNIST_SHA256.items()
            }
        except DownloadError as err:
            raise MnistUnavailableError(str(err)) from err
    arrays = {stem: _load_verified(path, stem) for stem, path in paths.items()}
    _check_shapes(arrays)
    return MnistArrays(
        train_images=arrays["train-images-idx3-ubyte"],
        train_labels=arrays["train-labels-idx1-ubyte"].astype(np.int64),
        test_images=arrays["t10k-images-idx3-ubyte"],
        test_labels=arrays["t10k-labels-idx1-ubyte"].astype(np.int64),
        sha256=dict(MNIST_SHA256),
    )


def _check_shapes(arrays: dict[str, np.ndarray]) -> None:
    expected = {
        "train-images-idx3-ubyte": (60_000, 28, 28),
        "train-labels-idx1-ubyte": (60_000,),
        "t10k-images-idx3-ubyte": (10_000, 28, 28),
        "t10k-labels-idx1-ubyte": (10_000,),
    }
    for stem, shape in expected.items():
        if arrays[stem].shape != shape:
            raise MnistUnavailableError(f"{stem} has shape {arrays[stem].shape}, expected {shape}")
